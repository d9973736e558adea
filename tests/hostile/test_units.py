"""The decisions behind the hostile suite, tested directly: the URL gate, the bounds on
numbers from outside, and the watch loop given any float."""

from __future__ import annotations

import math

import pytest
from sandbox_support import Clock

from zbulk.client import UrlGate
from zbulk.errors import ExitCode, NetworkError
from zbulk.models import MAX_WAIT, FileInfo, Job, integer, parse_time, retry_after_seconds
from zbulk.watch import WatchOptions, effective_timeout, watch

API = "https://www.zohoapis.com"


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example\\.zoho.com/x.zip",  # urllib3 ends the host at the backslash
        "https://evil.example\\@download.zoho.com/x.zip",
        "https://download.zoho.com@evil.example/x.zip",
        "https://user:pw@download.zoho.com/x.zip",
        "https://download.zoho.com:444/x.zip",
        "http://download.zoho.com/x.zip",
        "ftp://download.zoho.com/x.zip",
        "https://download.zoho.com.evil.example/x.zip",
        "https://evilzoho.com/x.zip",
        "https://download.zoho.com%2eevil.example/x.zip",
        "https://download.zoho.com\t.evil.example/x.zip",
        "https://download.zoho.com /x.zip",
        "https://dównload.zoho.com/x.zip",
        "https://download.zoho.com./x.zip",
        "//download.zoho.com/x.zip",
        "https:///x.zip",
        "https://[::1]:443/x.zip",
        "http://127.0.0.1:8080/x.zip",  # loopback, but the API domain is not
        "",
    ],
)
def test_the_gate_refuses(url: str) -> None:
    assert UrlGate(API).problem(url), url


@pytest.mark.parametrize(
    "url",
    [
        "https://download-accl.zoho.com/v2/crm/1/bulk-write/2/2.zip",
        "https://DOWNLOAD.Zoho.com/x.zip",
        "https://download.zoho.com:443/x.zip",
        "https://content.zohoapis.com/crm/v8/upload",
        "https://www.zohoapis.com/crm/bulk/v8/write/1",
        "https://download.zohocloud.ca/x.zip",
    ],
)
def test_the_gate_allows(url: str) -> None:
    assert UrlGate(API).problem(url) is None


def test_the_gate_for_the_sandbox() -> None:
    gate = UrlGate("http://127.0.0.1:8790")
    assert gate.allows("http://127.0.0.1:8790/download/x.zip")
    assert gate.allows("http://localhost:9/x.zip")
    assert gate.problem("http://localhost:9/x.zip", redirect=True)  # redirects: API domain only
    assert gate.problem("http://127.0.0.1:8790/x", redirect=True) is None
    assert gate.problem("http://192.0.2.2/x.zip")


@pytest.mark.parametrize(
    "value", [10**400, -(10**400), "9" * 400, 1e300, math.inf, math.nan, "١٢", "+5", " 1 2 ", True]
)
def test_counts_beyond_any_file_are_unreadable(value: object) -> None:
    assert integer(value) is None


def test_counts_and_percent_stay_finite() -> None:
    info = FileInfo.read({"added_count": 10**15, "total_count": 1, "skipped_count": "12"})
    assert info is not None and info.percent == 100.0 and info.skipped == 12


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        ("9" * 5000, MAX_WAIT),
        ("0", 0.0),
        ("-5", None),
        ("1e9", None),
        ("soon", None),
        ("Wed, 21 Oct 99999 07:28:00 GMT", None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
        (None, None),
        ("", None),
    ],
)
def test_retry_after_is_read_defensively(value: object, expected: float | None) -> None:
    assert retry_after_seconds(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "0001-01-01T00:00:00+05:00",
        "9999-12-31T23:59:59-05:00",
        "2024-01-01T00:00:00",
        "not a time",
        5,
    ],
)
def test_times_a_datetime_cannot_carry(value: object) -> None:
    assert parse_time(value) is None


RUNNING = {
    "id": "1",
    "status": "IN PROGRESS",
    "resource": [{"file": {"added_count": 1, "total_count": 10**15}}],
}


@pytest.mark.parametrize("interval", [math.nan, math.inf, -1.0, 0.0, 1e300])
@pytest.mark.parametrize("timeout", [math.nan, math.inf, -5.0, 30.0])
def test_watch_loop_survives_any_float(interval: float, timeout: float) -> None:
    """Item 9 (the loop's side): `--interval nan` made 2,743 requests in 5 s; inf crashed."""
    fake, polls = Clock(0.0), []

    def fetch(job_id: str) -> Job:
        polls.append(fake.now)
        if len(polls) > 2000:
            raise AssertionError("a request storm")
        return Job.read(RUNNING)

    options = WatchOptions(interval=interval, max_interval=interval, timeout=timeout)
    if timeout == math.inf:
        options.timeout = 100.0  # the same loop, but one that ends in the test
    code, _ = watch(fetch, ["1"], options, lambda k, w: None, clock=fake, sleep=fake.sleep)
    assert code == ExitCode.TIMEOUT
    assert len(polls) <= 2 + 100 / 0.1
    assert all(s <= MAX_WAIT for s in fake.sleeps)


def test_effective_timeout() -> None:
    assert effective_timeout(math.inf) is None and effective_timeout(None) is None
    assert effective_timeout(math.nan) == 0.0 and effective_timeout(-1) == 0.0


def test_failing_polls_back_off_within_bounds() -> None:
    fake, polls = Clock(0.0), []

    def fetch(job_id: str) -> Job:
        polls.append(fake.now)
        raise NetworkError("down")

    options = WatchOptions(interval=math.nan, max_interval=math.inf, timeout=None, error_budget=50)
    code, _ = watch(fetch, ["1"], options, lambda k, w: None, clock=fake, sleep=fake.sleep)
    assert code == ExitCode.NETWORK and len(polls) == 51
    assert all(s <= MAX_WAIT for s in fake.sleeps)
