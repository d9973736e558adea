"""Hostile servers: where the token goes, and how long zbulk waits."""

from __future__ import annotations

import json

import pytest

from hostile.conftest import JOB, TOKEN, job_path
from hostile.files import csv_bytes, failed_rows, zip_bytes
from hostile.server import (
    HostileServer,
    answer,
    huge_headers,
    job_doc,
    lying_length,
    redirect,
    sequence,
    trickle,
)

DOC = json.dumps(job_doc(JOB)).encode()
# Deadlines are measured from the first request the server saw to the end of the process
# (start-up is not theirs to bound, and is slow on a loaded machine), with this much slack.
# Unbounded, each case takes a minute or more. bench/deadlines.py times the whole commands.
SLACK = 1.0


def test_backslash_in_the_download_url_sends_no_token_anywhere(hostile, zb) -> None:
    """Item 1: urllib3 ends the host at the backslash; the allow-list read it as a Zoho host."""
    with HostileServer() as spy:
        url = f"https://127.0.0.1:{spy.port}\\.zoho.com/x.zip"
        hostile.route(job_path(), answer(job_doc(JOB, url)))
        r = zb("job", "results", JOB).clean(1)
        assert "refusing to send your token" in r.err
        assert spy.connections == 0


@pytest.mark.parametrize(
    "url",
    [
        "https://download.zoho.com@{spy}/x.zip",  # userinfo
        "http://download-accl.zoho.com/x.zip",  # not https
        "https://download-accl.zoho.com:8443/x.zip",  # odd port
        "https://{spy}/x.zip",  # not Zoho
    ],
)
def test_download_urls_off_the_allow_list_are_refused(hostile, zb, url: str) -> None:
    with HostileServer() as spy:
        hostile.route(job_path(), answer(job_doc(JOB, url.format(spy=f"127.0.0.1:{spy.port}"))))
        zb("job", "results", JOB).clean(1)
        assert spy.connections == 0


def test_trickling_answer_is_bounded_by_request_timeout(hostile, zb) -> None:
    """Item 7: one byte every 0.2 s kept `job show` for minutes; --request-timeout bounds it."""
    hostile.route(job_path(), trickle(DOC, 0.2))
    r = zb("--request-timeout", "0.5", "job", "show", JOB).clean(5)
    assert r.since(hostile) <= 0.5 + SLACK, r.since(hostile)
    assert "did not answer within 0.5s" in r.err


def test_trickling_headers_are_bounded_too(hostile, zb) -> None:
    hostile.route(job_path(), trickle(DOC, 0.1, headers_too=True))
    r = zb("--request-timeout", "0.5", "job", "show", JOB).clean(5)
    assert r.since(hostile) <= 0.5 + SLACK, r.since(hostile)


def test_trickling_download_is_bounded(hostile, zb) -> None:
    data = zip_bytes([("Leads.csv", csv_bytes(failed_rows(50)))])
    hostile.route(job_path(), answer(job_doc(JOB, f"{hostile.url}/download/{JOB}.zip")))
    hostile.route("/download/", trickle(data, 0.05))
    r = zb("--request-timeout", "0.5", "job", "results", JOB).clean(5)
    assert r.since(hostile) <= 0.5 + SLACK, r.since(hostile)


def test_lying_content_length(hostile, zb) -> None:
    hostile.route(job_path(), lying_length(DOC, len(DOC) + 1000))
    zb("--request-timeout", "5", "job", "show", JOB).clean(5)


def test_lying_content_length_held_open_is_bounded(hostile, zb) -> None:
    hostile.route(job_path(), lying_length(DOC, len(DOC) + 1000, hold=30))
    r = zb("--request-timeout", "0.5", "job", "show", JOB).clean(5)
    assert r.since(hostile) <= 0.5 + SLACK, r.since(hostile)


@pytest.mark.parametrize("size", [70_000, 2_000_000])
def test_huge_headers(hostile, zb, size: int) -> None:
    """A header line longer than any parser takes: retried as a broken answer, then read."""
    hostile.route(job_path(), sequence(huge_headers(size), answer(DOC)))
    zb("job", "show", JOB).clean(0)


def test_watch_timeout_bounds_retry_after_waits(hostile, zb) -> None:
    """Item 8: `503 Retry-After: 1000000000` kept `watch --timeout 3` polling at 300 s."""
    hostile.route(job_path(), answer({"code": "BUSY"}, 503, {"Retry-After": "1000000000"}))
    r = zb("job", "watch", "--timeout", "0.5", JOB).clean(124)
    assert r.since(hostile) <= 0.5 + 1 + SLACK, r.since(hostile)  # + the last poll's second


def test_watch_timeout_bounds_a_trickling_poll(hostile, zb) -> None:
    hostile.route(job_path(), trickle(DOC, 0.25))
    r = zb("job", "watch", "--timeout", "0.5", JOB).clean(124)
    assert r.since(hostile) <= 0.5 + 1 + SLACK, r.since(hostile)


def test_retry_after_of_5000_digits(hostile, zb) -> None:
    """Item 5: int() of 5,000 digits raised ValueError (a traceback)."""
    hostile.route(job_path(), answer({"code": "BUSY"}, 503, {"Retry-After": "9" * 5000}))
    r = zb("job", "show", JOB).clean(5)
    assert r.seconds < 10 and "a day or more" in r.err


@pytest.mark.parametrize("value", ["Wed, 21 Oct 99999 07:28:00 GMT", "soon", "-5", "1e9", ""])
def test_odd_retry_after_values(hostile, zb, value: str) -> None:
    hostile.route(job_path(), sequence(answer(b"", 503, {"Retry-After": value}), answer(DOC)))
    r = zb("job", "show", JOB).clean(0)
    assert r.seconds < 10


def test_redirect_to_plain_http_elsewhere_is_an_error(hostile, zb) -> None:
    """Item 13: redirects were followed to any host and scheme (and shown with exit 0)."""
    with HostileServer() as spy:
        spy.route(job_path(), answer(DOC))
        hostile.route(job_path(), redirect(f"{spy.url}{job_path()}"))
        r = zb("job", "show", JOB).clean(1)
        assert "not followed" in r.err
        assert spy.connections == 0


def test_redirect_to_https_zoho_host_is_allowed_to_be_tried(hostile, zb) -> None:
    hostile.route(job_path(), redirect("https://www.zohoapis.invalid.zoho.com:8443/x"))
    r = zb("job", "show", JOB).clean(1)  # port 8443 is not Zoho's: refused, not tried
    assert "not followed" in r.err


def test_redirect_chain_on_the_api_domain(hostile, zb) -> None:
    hostile.route(job_path(), redirect("/hop/1"))
    hostile.route("/hop/1", redirect(f"{hostile.url}/hop/2"))
    hostile.route("/hop/2", answer(DOC))
    r = zb("job", "show", "--json", JOB).clean(0)
    assert json.loads(r.out)["id"] == JOB
    assert [s.authorization for s in hostile.seen] == [f"Zoho-oauthtoken {TOKEN}"] * 3


def test_endless_redirects(hostile, zb) -> None:
    hostile.route(job_path(), redirect("/loop"))
    hostile.route("/loop", redirect("/loop"))
    r = zb("job", "show", JOB).clean(5)
    assert "redirects" in r.err


def test_an_https_api_domain_goes_through_https_proxy(hostile, zb) -> None:
    """The environment's proxy is still used for https: the proxy is asked to CONNECT,
    and never sees the token."""
    with HostileServer() as proxy:
        proxy.route("", answer(b"no", status=403))
        env = {"ZBULK_API_DOMAIN": "https://www.zohoapis.com", "HTTPS_PROXY": proxy.url}
        r = zb("job", "show", JOB, "2" + JOB[1:], env=env)
        assert r.code == 5 and "Traceback" not in r.err, r.err
        assert proxy.seen and {(s.method, s.path) for s in proxy.seen} == {
            ("CONNECT", "www.zohoapis.com:443")
        }
        assert TOKEN not in repr(proxy.seen)
    assert hostile.seen == []


def test_no_proxy_for_a_plain_http_api_domain(hostile, zb) -> None:
    """Item 14: HTTP_PROXY received the token in clear for a loopback http:// API domain."""
    hostile.route(job_path(), answer(DOC))
    with HostileServer() as proxy:
        proxy.route("", answer(DOC))
        env = {"HTTP_PROXY": proxy.url, "http_proxy": proxy.url, "ALL_PROXY": proxy.url}
        zb("job", "show", JOB, env=env).clean(0)
        assert proxy.connections == 0
    assert hostile.tokens_seen == [f"Zoho-oauthtoken {TOKEN}"]
