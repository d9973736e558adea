"""The CLI in-process against the sandbox: commands, settings, exit codes, output rules."""

from __future__ import annotations

import json
import re

import pytest
from docs import RECORDED_V2, RECORDED_V2_ID, RECORDED_V21, RECORDED_V21_ID, huge_job

from zbulk import __version__
from zbulk.errors import ExitCode
from zbulk.sandbox import DEMO_JOBS, Fault


def test_version(run) -> None:
    r = run("--version")
    assert r.code == 0 and r.out.strip() == f"zbulk {__version__}"


def test_commands_are_made_as_they_are_run(run, monkeypatch) -> None:
    """``zbulk --version`` reads no command's signature (a quarter of its start-up), and
    ``zbulk job show`` makes the ``job`` group and its ``show`` only; help lists them all."""
    from zbulk import cli

    monkeypatch.setattr(cli, "_ROOT", [])
    r = run("--version")
    assert r.code == 0 and r.out.strip() == f"zbulk {__version__}"
    assert cli.command_tree().commands == {}
    r = run("job", "show", "--help")
    assert r.code == 0 and "--json" in r.out
    assert list(cli.command_tree().commands) == ["job"]
    assert list(cli.command_tree().commands["job"].commands) == ["show"]
    r = run("--version", "--help")
    assert r.code == 0 and r.out.strip() == f"zbulk {__version__}"
    r = run("--help")
    assert r.code == 0 and all(f"  {name} " in r.out for name in ("job", "auth", "demo"))


def test_help_lists_commands(run) -> None:
    r = run("--help")
    assert r.code == 0
    for word in ("job", "sandbox", "demo", "--api-domain", "--profile", "ZBULK_TOKEN"):
        assert word in r.out
    r = run("job", "show", "--help")
    assert r.code == 0 and "--json" in r.out


def test_no_arguments_shows_help(run) -> None:
    r = run()
    assert r.code == 0 and "Usage: zbulk" in r.out and "job" in r.out and r.err == ""


def test_unknown_command_is_a_usage_error(run) -> None:
    r = run("jobb")
    assert r.code == ExitCode.USAGE and "Traceback" not in r.err


def test_show_recorded_v2(zbulk, sandbox) -> None:
    sandbox.put_document(RECORDED_V2_ID, RECORDED_V2)
    r = zbulk("job", "show", RECORDED_V2_ID)
    assert r.code == 0, r.err
    assert "Job 4150868000005392002  INPROGRESS" in r.out
    assert "Field mappings (5)" in r.out
    assert r.err == ""
    assert "\x1b" not in r.out


def test_json_is_the_document_as_sent(zbulk, sandbox) -> None:
    doc = dict(RECORDED_V21, future_key={"nested": [1, None, "x"]}, another=None)
    sandbox.put_document(RECORDED_V21_ID, doc)
    r = zbulk("job", "show", "--json", RECORDED_V21_ID)
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0]) == doc
    assert list(json.loads(lines[0])) == list(doc)  # key order kept


def test_several_ids_one_line_each_in_order(zbulk, sandbox) -> None:
    sandbox.put_document(RECORDED_V2_ID, RECORDED_V2)
    sandbox.put_document(RECORDED_V21_ID, RECORDED_V21)
    ids = [RECORDED_V21_ID, RECORDED_V2_ID, RECORDED_V21_ID]
    r = zbulk("job", "show", "--json", *ids)
    assert r.code == 0
    assert [json.loads(line)["id"] for line in r.out.splitlines()] == ids


def test_several_ids_human(zbulk, sandbox) -> None:
    r = zbulk("job", "show", DEMO_JOBS["upsert"], DEMO_JOBS["completed"])
    assert r.code == 0
    assert r.out.index(DEMO_JOBS["upsert"]) < r.out.index(DEMO_JOBS["completed"])


def test_version_shapes(zbulk) -> None:
    for version in ("v2", "v2.1", "v8"):
        r = zbulk("--api-version", version, "job", "show", DEMO_JOBS["upsert"])
        assert r.code == 0, (version, r.err)
        assert "Resource 3/3" in r.out


@pytest.mark.parametrize("bad", ["abc", "../../users", "12 3", "", "-1", "1.5", "١٢٣"])
def test_bad_job_ids_send_nothing(zbulk, sandbox, bad) -> None:
    r = zbulk("job", "show", DEMO_JOBS["upsert"], "--", bad)
    assert r.code == ExitCode.USAGE
    assert "job id" in r.err and "Traceback" not in r.err
    assert sandbox.request_count() == 0


@pytest.mark.parametrize(
    "domain",
    ["ftp://www.zohoapis.com", "http://www.zohoapis.com", "http://192.168.1.10:8790", "not a url"],
)
def test_bad_api_domain_sends_nothing(zbulk, sandbox, domain) -> None:
    r = zbulk("--api-domain", domain, "job", "show", DEMO_JOBS["upsert"])
    assert r.code == ExitCode.USAGE
    assert "API domain" in r.err
    assert sandbox.request_count() == 0


def test_bad_api_domain_from_environment(zbulk, sandbox) -> None:
    r = zbulk("job", "show", DEMO_JOBS["upsert"], ZBULK_API_DOMAIN="http://example.com")
    assert r.code == ExitCode.USAGE and sandbox.request_count() == 0


def test_no_credentials(run, sandbox) -> None:
    r = run("--api-domain", sandbox.url, "job", "show", DEMO_JOBS["upsert"])
    assert r.code == ExitCode.CREDENTIALS
    assert "no credentials" in r.err and "ZBULK_TOKEN" in r.err
    assert sandbox.request_count() == 0


@pytest.mark.parametrize("token", ["", "   ", "two words", "tok\nen"])
def test_unusable_token(zbulk, sandbox, token) -> None:
    r = zbulk("job", "show", DEMO_JOBS["upsert"], ZBULK_TOKEN=token)
    assert r.code == ExitCode.CREDENTIALS
    assert sandbox.request_count() == 0


def test_token_with_surrounding_whitespace_is_trimmed(zbulk, sandbox) -> None:
    r = zbulk("job", "show", DEMO_JOBS["upsert"], ZBULK_TOKEN=f"  {sandbox.token}\n")
    assert r.code == 0, r.err


def test_documented_authorization_header(zbulk, sandbox) -> None:
    zbulk("job", "show", DEMO_JOBS["upsert"])
    (request,) = sandbox.requests
    assert request.headers["Authorization"] == f"Zoho-oauthtoken {sandbox.token}"
    assert request.headers["User-Agent"] == f"zbulk/{__version__}"
    assert request.path == f"/crm/bulk/v8/write/{DEMO_JOBS['upsert']}"


def test_rejected_token(zbulk, sandbox) -> None:
    r = zbulk("job", "show", DEMO_JOBS["upsert"], ZBULK_TOKEN="wrong-token")
    assert r.code == ExitCode.CREDENTIALS
    assert "INVALID_TOKEN" in r.err and "ZBULK_TOKEN" in r.err
    assert "wrong-token" not in r.err and "Traceback" not in r.err
    assert sandbox.request_count() == 1  # a 401 is not retried


def test_not_found(zbulk, sandbox) -> None:
    r = zbulk("job", "show", "4150868000000000001")
    assert r.code == ExitCode.NOT_FOUND
    assert "no bulk write job 4150868000000000001" in r.err
    assert "hint:" in r.err
    assert sandbox.request_count() == 1


def test_not_found_among_several_shows_the_rest(zbulk, sandbox) -> None:
    r = zbulk(
        "job", "show", "--json", DEMO_JOBS["upsert"], "4150868000000000001", DEMO_JOBS["completed"]
    )
    assert r.code == ExitCode.NOT_FOUND
    assert [json.loads(x)["id"] for x in r.out.splitlines()] == [
        DEMO_JOBS["upsert"],
        DEMO_JOBS["completed"],
    ]
    assert "4150868000000000001" in r.err


def test_html_502_is_retried_then_reported(zbulk, sandbox) -> None:
    sandbox.add_fault(Fault("status", status=502, times=None))
    r = zbulk("job", "show", DEMO_JOBS["upsert"])
    assert r.code == ExitCode.NETWORK
    assert "502" in r.err and "after 3 retries" in r.err and "<html" not in r.err.lower()
    assert sandbox.request_count() == 4


def test_transient_503_recovers(zbulk, sandbox) -> None:
    sandbox.add_fault(Fault("status", status=503, times=2))
    r = zbulk("job", "show", "--json", DEMO_JOBS["upsert"])
    assert r.code == 0 and json.loads(r.out)["id"] == DEMO_JOBS["upsert"]
    assert sandbox.request_count() == 3


def test_429_honours_retry_after(zbulk, sandbox, clock, monkeypatch) -> None:
    """urllib3 sleeps the Retry-After (on the fake clock here) before the one retry."""
    import urllib3.util.retry

    monkeypatch.setattr(urllib3.util.retry.time, "sleep", clock.sleep)
    sandbox.add_fault(Fault("status", status=429, headers={"Retry-After": "7"}, times=1))
    r = zbulk("job", "show", "--json", DEMO_JOBS["upsert"])
    assert r.code == 0
    assert clock.sleeps == [7.0]
    assert [q.status for q in sandbox.requests] == [429, 200]


@pytest.mark.parametrize("status", [400, 403, 404, 500, 501])
def test_statuses_not_retried(zbulk, sandbox, status) -> None:
    sandbox.add_fault(Fault("status", status=status, times=None))
    r = zbulk("job", "show", DEMO_JOBS["upsert"])
    assert r.code == (ExitCode.NETWORK if status >= 500 else ExitCode.ERROR)
    assert sandbox.request_count() == 1
    assert str(status) in r.err


def test_invalid_url_pattern_hint(zbulk, sandbox) -> None:
    body = json.dumps(
        {
            "code": "INVALID_URL_PATTERN",
            "details": {},
            "message": "Please check if the URL trying to access is a correct one",
            "status": "error",
        }
    )
    sandbox.add_fault(Fault("status", status=404, body=body))
    r = zbulk("job", "show", DEMO_JOBS["upsert"])
    assert r.code == ExitCode.ERROR
    assert "INVALID_URL_PATTERN" in r.err and "--api-version" in r.err


def test_scope_mismatch_hint(zbulk, sandbox) -> None:
    body = json.dumps(
        {"code": "NO_PERMISSION", "details": {}, "message": "permission denied", "status": "error"}
    )
    sandbox.add_fault(Fault("status", status=403, body=body))
    r = zbulk("job", "show", DEMO_JOBS["upsert"])
    assert r.code == ExitCode.ERROR and "ZohoCRM.bulk.ALL" in r.err


def test_error_envelope_in_a_200(zbulk, sandbox) -> None:
    sandbox.put_document(
        "4150868000000000077",
        {"status": "error", "code": "RESOURCE_NOT_FOUND", "message": "gone", "details": {}},
    )
    r = zbulk("job", "show", "4150868000000000077")
    assert r.code == ExitCode.NOT_FOUND


@pytest.mark.parametrize(
    "body",
    [
        '{"status": "COMPL',
        "<html>oops</html>",
        "",
        "[1, 2]",
        '"just a string"',
        "NaN",
        '{"a": NaN}',
        "\xff\xfe garbage",
    ],
)
def test_body_that_is_not_the_json_promised(zbulk, sandbox, body) -> None:
    sandbox.put_document("4150868000000000042", body)
    r = zbulk("job", "show", "4150868000000000042")
    assert r.code == ExitCode.NETWORK
    assert "not the JSON promised" in r.err and "Traceback" not in r.err


def test_malformed_fault(zbulk, sandbox) -> None:
    sandbox.add_fault(Fault("malformed"))
    r = zbulk("job", "show", DEMO_JOBS["upsert"])
    assert r.code == ExitCode.NETWORK


def test_stalled_server_times_out(zbulk, sandbox) -> None:
    sandbox.add_fault(Fault("stall", delay=2.0))
    r = zbulk("--request-timeout", "0.3", "job", "show", DEMO_JOBS["upsert"])
    assert r.code == ExitCode.NETWORK
    assert "did not answer within 0.3s" in r.err and "--request-timeout" in r.err


def test_dropped_connection_is_retried(zbulk, sandbox) -> None:
    sandbox.add_fault(Fault("drop", times=1))
    r = zbulk("job", "show", "--json", DEMO_JOBS["upsert"])
    assert r.code == 0, r.err
    assert sandbox.request_count() == 2


def test_closed_port(run) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = run("--api-domain", f"http://127.0.0.1:{port}", "job", "show", "123", ZBULK_TOKEN="t")
    assert r.code == ExitCode.NETWORK
    assert "cannot reach 127.0.0.1" in r.err and "refused" in r.err.lower()


def test_verbose_logs_requests_without_the_token(zbulk, sandbox) -> None:
    sandbox.add_fault(Fault("status", status=502, times=1))
    r = zbulk("-v", "job", "show", "--json", DEMO_JOBS["upsert"])
    assert r.code == 0
    assert f"GET {sandbox.url}/crm/bulk/v8/write/{DEMO_JOBS['upsert']}" in r.err
    assert "retry 1/3 after HTTP 502" in r.err
    assert re.search(r"200 OK in \d+\.\d{3}s", r.err)
    assert sandbox.token not in r.err + r.out


def test_hostile_text_in_errors_is_literal(zbulk, sandbox) -> None:
    body = json.dumps({"code": "[bold]X[/bold]", "message": "\x1b[2Jboom", "status": "error"})
    sandbox.add_fault(Fault("status", status=400, body=body))
    r = zbulk("job", "show", DEMO_JOBS["upsert"])
    assert r.code == ExitCode.ERROR
    assert "[bold]X[/bold]" in r.err and "\\x1b[2Jboom" in r.err and "\x1b" not in r.err


def test_huge_job(zbulk, sandbox) -> None:
    doc = huge_job()
    sandbox.put_document(doc["id"], doc)
    r = zbulk("job", "show", "--json", doc["id"])
    assert r.code == 0 and json.loads(r.out) == doc
    r = zbulk("job", "show", doc["id"])
    assert r.code == 0 and r.out.count("Field_") == 50_000


def test_profile_config_supplies_the_domain(zbulk, sandbox, env) -> None:
    from pathlib import Path

    path = Path(env["ZBULK_CONFIG_DIR"]) / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text(f'[profiles.lab]\napi_domain = "{sandbox.url}"\napi_version = "v2"\n')
    r = zbulk("--profile", "lab", "job", "show", DEMO_JOBS["upsert"], ZBULK_API_DOMAIN=None)
    assert r.code == 0, r.err
    assert sandbox.requests[0].path.startswith("/crm/bulk/v2/write/")


def test_bad_profile_name(zbulk) -> None:
    r = zbulk("--profile", "../etc", "job", "show", "1")
    assert r.code == ExitCode.USAGE and "profile" in r.err


def test_sandbox_refuses_non_loopback(run) -> None:
    r = run("sandbox", "--host", "0.0.0.0")
    assert r.code == ExitCode.USAGE and "loopback" in r.err


def test_demo(demo) -> None:
    r = demo()
    assert r.code == 0, r.err
    assert "Field mappings" in r.out and "no bulk write job 1234567890" in r.err
    assert '"id":"4150868000005392002"' in r.out
    assert "Traceback" not in r.err
    upsert = "4150868000006801001"
    tour = [
        f"$ zbulk job show {upsert}",
        f"$ zbulk job watch {upsert}",
        f"$ zbulk job results {upsert}",
    ]
    assert [r.out.index(step) for step in tour] == sorted(r.out.index(step) for step in tour)
    assert f"✓ {upsert}  COMPLETED  2,150/2,150 (100%)" in r.out  # watched to the end
    assert "(exit status 0)" in r.out and "(exit status 4)" in r.out
    assert "Leads (leads.csv)  1,200 records  added 780 · updated 400 · skipped 20" in r.out


def test_a_netrc_entry_for_the_host_never_replaces_the_token(zbulk, sandbox) -> None:
    """With no auth of its own, requests read ~/.netrc and put that entry's Basic
    credentials in place of zbulk's header: the API said the token was bad, and the
    entry's password went to the API host. Neither the API nor the download sees it."""
    import os
    from pathlib import Path

    netrc = Path(os.environ["HOME"]) / ".netrc"
    netrc.write_text("machine 127.0.0.1 login someone password netrc-secret\n")
    netrc.chmod(0o600)
    assert zbulk("job", "show", "--brief", DEMO_JOBS["upsert"]).code == 0
    assert zbulk("job", "results", DEMO_JOBS["completed"]).code == 0
    sent = [(q.path, q.headers.get("Authorization")) for q in sandbox.requests]
    assert len(sent) >= 3 and {auth for _, auth in sent} == {f"Zoho-oauthtoken {sandbox.token}"}
