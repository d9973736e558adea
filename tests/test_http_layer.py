"""One HTTP layer for every host (issue 22, Why 3, 7, 8 and 10): the accounts server, uploads
and creates get the API's rules. Real HTTP over loopback to the sandbox and to hostile
servers (tests/hostile/server.py); each test here failed before zbulk/http.py."""

from __future__ import annotations

import contextlib
import json
import socket
import time
from pathlib import Path

import pytest
from hostile.server import HostileServer, Seen, answer, trickle

from zbulk.errors import ExitCode
from zbulk.sandbox import DEMO_JOBS, Fault

JOB = DEMO_JOBS["completed"]
UPLOAD = "/crm/v8/upload"
CREATE = "/crm/bulk/v8/write"
ORG = "/crm/v8/org"
IMPORT = ("job", "import", "--module", "Leads", "--operation", "insert", "--yes")


@pytest.fixture
def logged_in(run, sandbox, dc_config, memory_keyring, client_env, env):
    """A Self Client login to the sandbox whose access token has expired: the next command
    refreshes it at the login record's accounts server. Returns a function that points the
    record at another accounts server."""
    code = sandbox.issue_grant_code()
    r = run("auth", "login", "--self-client", "--dc", "sandbox", "--code", code, **client_env)
    assert r.code == 0, r.err
    key = ("zbulk", "default")
    secrets = json.loads(memory_keyring.items[key])
    secrets["expires_at"] = time.time() - 10
    memory_keyring.items[key] = json.dumps(secrets)
    logins = Path(env["ZBULK_CONFIG_DIR"]) / "logins.json"

    def point_at(accounts: str) -> str:
        data = json.loads(logins.read_text())
        data["profiles"]["default"]["accounts_url"] = accounts
        logins.write_text(json.dumps(data))
        return secrets["client_secret"]

    return point_at


@pytest.fixture
def two_leads(tmp_path: Path) -> Path:
    path = tmp_path / "leads.csv"
    path.write_text("Last_Name,Email\nLovelace,ada@example.com\nHopper,grace@example.com\n")
    return path


# -- Why 3: the accounts server gets the API's rules -----------------------------------------


@pytest.mark.parametrize(
    "accounts", ["http://accounts.zoho.com", "https://accounts.example.com", "https://zoho.com@x"]
)
def test_an_accounts_url_read_back_from_logins_json_is_checked(
    run, sandbox, logged_in, accounts: str
) -> None:
    """Before: the refresh (client secret, refresh token) went to any URL in logins.json."""
    logged_in(accounts)
    r = run("job", "show", JOB)
    assert r.code == ExitCode.USAGE, r.err
    assert "refusing to send your credentials" in r.err and "nothing was sent" in r.err
    assert sandbox.refresh_count == 0


def test_no_proxy_ever_carries_a_plain_http_refresh(run, sandbox, logged_in) -> None:
    """Before: HTTP_PROXY received client_secret and refresh_token in clear."""
    with HostileServer() as proxy:
        proxy.route("", answer({"error": "proxy"}))
        r = run("job", "show", JOB, HTTP_PROXY=proxy.url, http_proxy=proxy.url, ALL_PROXY=proxy.url)
        assert r.code == 0, r.err
        assert proxy.connections == 0
    assert sandbox.refresh_count == 1


def test_a_trickling_accounts_server_cannot_outlast_watch_timeout(run, sandbox, logged_in) -> None:
    """Before: one byte every 0.2 s from the token endpoint kept `job watch --timeout` alive
    for as long as the answer lasted (each read had 30 s; the answer none)."""
    with HostileServer() as accounts:
        accounts.route("/oauth/v2/token", trickle(b'{"access_token": "x"}' + b" " * 400, 0.1))
        logged_in(accounts.url)
        started = time.monotonic()
        r = run("--request-timeout", "60", "job", "watch", "--timeout", "1", JOB)
        took = time.monotonic() - started
    assert r.code == ExitCode.TIMEOUT, r.err
    assert "Traceback" not in r.err
    assert took < 6, took


def test_a_huge_token_answer_is_not_read_into_memory(run, sandbox, logged_in) -> None:
    """Before: a token answer of any size was read whole (3 GB: 3 GB)."""
    huge = answer(b'{"access_token": "tok"' + b" " * (2 * 1024 * 1024) + b"}")

    def after_the_form(conn: socket.socket, seen: Seen) -> None:
        conn.settimeout(0.3)  # take the form first: unread, closing would reset the line
        with contextlib.suppress(OSError):
            while conn.recv(65536):
                pass
        conn.settimeout(30)
        huge(conn, seen)

    with HostileServer() as accounts:
        accounts.route("/oauth/v2/token", after_the_form)
        logged_in(accounts.url)
        r = run("job", "show", JOB)
    assert r.code == ExitCode.NETWORK, r.err
    assert "larger than 1 MiB" in r.err


# -- Why 8 and Build 3: Retry-After within the time left ---------------------------------------


def test_an_uploads_retry_after_respects_request_timeout(zbulk, sandbox, two_leads) -> None:
    """Before: `Retry-After: 3600` on the upload slept 60 s, three times, whatever
    --request-timeout said."""
    sandbox.add_fault(
        Fault("status", status=503, headers={"Retry-After": "3600"}, path_prefix=UPLOAD, times=None)
    )
    started = time.monotonic()
    r = zbulk("--request-timeout", "5", *IMPORT, str(two_leads))
    assert r.code == ExitCode.NETWORK, r.err
    assert time.monotonic() - started < 4
    assert "asks to wait 3,600s" in r.err and "--request-timeout" in r.err
    assert not any(q.path.startswith(CREATE) for q in sandbox.requests)


def test_a_get_retry_after_longer_than_request_timeout_ends_at_once(zbulk, sandbox) -> None:
    """Before: a Retry-After of 30 s was waited for three times (90 s) under
    --request-timeout 5."""
    sandbox.add_fault(Fault("status", status=503, headers={"Retry-After": "30"}, times=None))
    started = time.monotonic()
    r = zbulk("--request-timeout", "5", "job", "show", JOB)
    assert r.code == ExitCode.NETWORK, r.err
    assert time.monotonic() - started < 4
    assert "asks to wait 30s" in r.err


def test_a_retry_after_past_watch_timeout_is_124_at_once(zbulk, sandbox) -> None:
    sandbox.add_fault(Fault("status", status=503, headers={"Retry-After": "40"}, times=None))
    started = time.monotonic()
    r = zbulk("--request-timeout", "60", "job", "watch", "--timeout", "20", JOB)
    assert r.code == ExitCode.TIMEOUT, r.err
    assert time.monotonic() - started < 5
    assert "asks to wait 40s" in r.err and "--timeout" in r.err


# -- Why 8 and Build 8: a create that may have reached Zoho ------------------------------------


@pytest.mark.parametrize(
    "fault",
    [
        Fault("status", status=500, path_prefix=CREATE),
        Fault("status", status=503, headers={"Retry-After": "1"}, path_prefix=CREATE),
        Fault("malformed", path_prefix=CREATE),
    ],
    ids=["500", "503", "non-JSON 200"],
)
def test_a_create_that_may_have_reached_zoho_says_so_and_is_sent_once(
    zbulk, sandbox, two_leads, fault: Fault
) -> None:
    """Before: a 5xx or a non-JSON 200 said "try again later"; the job may exist."""
    sandbox.import_duration = 0
    sandbox.add_fault(fault)
    r = zbulk(*IMPORT, str(two_leads))
    assert r.code == ExitCode.NETWORK, r.err
    assert "the job may have been created" in r.err
    assert "Import History" in r.err and "try again later" not in r.err
    assert sum(q.path == CREATE and q.method == "POST" for q in sandbox.requests) == 1


def test_a_created_job_id_that_is_not_ascii_digits(zbulk, sandbox, two_leads) -> None:
    """Before: `４１５` was printed as the new job's id, and --watch then exited 2."""
    body = json.dumps(
        {"status": "success", "code": "ADDED_SUCCESSFULLY", "details": {"id": "４１５"}}
    )
    sandbox.add_fault(Fault("status", status=201, body=body, path_prefix=CREATE))
    r = zbulk(*IMPORT, "--watch", str(two_leads))
    assert r.code == ExitCode.ERROR, r.err
    assert "'４１５', which is not all digits" in r.err and "may have been created" in r.err
    assert r.out == ""


# -- Why 7: values from outside, checked before use ---------------------------------------------


@pytest.mark.parametrize(
    "domain",
    [
        "https://www.zohoapis.com\r",
        " https://www.zohoapis.com",
        "https://www.zoho apis.com",
        "https://www.zohoapis.com\t",
        "https://www.zohoapis.com\x00",
    ],
)
@pytest.mark.parametrize("source", ["flag", "environment", "config", "login record"])
def test_an_api_domain_with_white_space_or_controls_is_a_usage_error(
    run, env, domain: str, source: str
) -> None:
    """Before: a trailing \\r or a leading space was accepted, then LocationParseError (70)."""
    config = Path(env["ZBULK_CONFIG_DIR"])
    config.mkdir(parents=True, exist_ok=True)
    args: tuple[str, ...] = ("job", "show", JOB)
    environ = {"ZBULK_TOKEN": "tok", "ZBULK_API_DOMAIN": None}
    if source == "flag":
        args = ("--api-domain", domain, *args)
    elif source == "environment":
        if "\x00" in domain:
            pytest.skip("no environment variable can hold a NUL")
        environ["ZBULK_API_DOMAIN"] = domain
    elif source == "config":
        (config / "config.toml").write_text(
            f"[profiles.default]\napi_domain = {json.dumps(domain)}\n"
        )
    else:
        record = {"mode": "token", "storage": "keyring", "dc": "us", "api_domain": domain}
        (config / "logins.json").write_text(
            json.dumps({"version": 1, "profiles": {"default": record}})
        )
    r = run(*args, **environ)
    assert r.code == ExitCode.USAGE, r.err
    assert "white space or a control character" in r.err


@pytest.mark.parametrize(
    "callback",
    [
        "http://[::1",
        "http://example.com/cb",
        "https://ex ample.com/cb",
        "https://a\\b.com/",
        "https://user@example.com/cb",
        "ftp://example.com/cb",
    ],
)
def test_a_callback_that_is_not_a_valid_https_url_is_a_usage_error(
    zbulk, sandbox, two_leads, callback: str
) -> None:
    """Before: `--callback 'http://[::1'` raised ValueError from urlsplit (exit 70)."""
    r = zbulk(*IMPORT, str(two_leads), "--callback", callback)
    assert r.code == ExitCode.USAGE, r.err
    assert "is not a valid https URL" in r.err
    assert sandbox.requests == []


def test_an_org_id_that_is_not_ascii_digits_is_never_kept(zbulk, sandbox, two_leads, env) -> None:
    """Before: `１２３` from the org answer was kept in orgs.json and sent as X-CRM-ORG."""
    body = json.dumps({"org": [{"zgid": "１２３", "company_name": "Full Width"}]})
    sandbox.add_fault(Fault("status", status=200, body=body, path_prefix=ORG))
    r = zbulk(*IMPORT, str(two_leads))
    assert r.code == ExitCode.ERROR, r.err
    assert "'１２３', which is not all ASCII digits" in r.err
    assert not (Path(env["ZBULK_CONFIG_DIR"]) / "orgs.json").exists()
    sent = [q.path for q in sandbox.requests]
    assert sent[-1] == ORG and not any(p.startswith((UPLOAD, CREATE)) for p in sent), sent


# -- Why 10: auth login verifies where later commands will go ----------------------------------


def test_login_with_token_verifies_at_the_api_domain_of_the_environment(
    run, sandbox, memory_keyring, monkeypatch
) -> None:
    """Before: `ZBULK_API_DOMAIN=… zbulk auth login --with-token` verified at
    www.zohoapis.com (the default data centre's) and failed."""
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(sandbox.token))
    r = run("auth", "login", "--with-token", ZBULK_API_DOMAIN=sandbox.url, ZBULK_TOKEN=None)
    assert r.code == 0, r.err
    assert f"verified with {sandbox.url}" in r.err
    assert [q.path for q in sandbox.requests] == ["/crm/bulk/v8/write/0"]
    r = run("job", "show", "--json", JOB, ZBULK_API_DOMAIN=None, ZBULK_TOKEN=None)
    assert r.code == 0, r.err


@pytest.mark.parametrize("where", ["--api-domain", "environment", "config"])
def test_self_client_login_verifies_at_the_api_domain_later_commands_use(
    run, sandbox, make_sandbox, dc_config, memory_keyring, client_env, where: str
) -> None:
    """The accounts server is the data centre's; the API domain is the one given."""
    api = make_sandbox(token=sandbox.token)
    args: tuple[str, ...] = ()
    environ = dict(client_env)
    if where == "--api-domain":
        args = ("--api-domain", api.url)
    elif where == "environment":
        environ["ZBULK_API_DOMAIN"] = api.url
    else:
        dc_config.write_text(
            dc_config.read_text() + f'\n[profiles.default]\napi_domain = "{api.url}"\n'
        )
    code = sandbox.issue_grant_code()
    r = run(*args, "auth", "login", "--self-client", "--dc", "sandbox", "--code", code, **environ)
    assert r.code == ExitCode.CREDENTIALS, r.err  # the API at `api` knows no such token
    assert f"the API domain {api.url}" in r.err and "nothing was stored" in r.err
    assert [q.path for q in api.requests] == ["/crm/bulk/v8/write/0"]
    assert not any(q.path.startswith("/crm/") for q in sandbox.requests)


@pytest.mark.parametrize("mode", [("--self-client", "--code", "1000.x.y"), ("--device",)])
def test_login_refuses_an_accounts_server_it_does_not_know_before_asking(
    run, memory_keyring, client_env, mode: tuple[str, ...]
) -> None:
    """Before: `--dc https://any.host` received the client secret and the grant code."""
    r = run("auth", "login", *mode, "--dc", "https://accounts.example.com", **client_env)
    assert r.code == ExitCode.USAGE, r.err
    assert "refusing to send your credentials" in r.err and "[data_centres.NAME]" in r.err
