"""The sandbox's accounts server over real loopback HTTP: grant codes, refresh tokens and their
limit, revocation, minted access tokens on the API, the device flow, parameters in the query
string or the body, faults and recording. Times move on a fake clock."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from zbulk.sandbox import DEMO_JOBS, DeviceRequest, Fault, Sandbox
from zbulk.sandbox.accounts import IMPORT_SCOPE

TOKEN = "tok-123"
START = 1000.0
TOKEN_PATH = "/oauth/v2/token"
DEVICE_CODE_PATH = "/oauth/v3/device/code"
DEVICE_TOKEN_PATH = "/oauth/v3/device/token"
TOKEN_KEYS = ["access_token", "refresh_token", "scope", "api_domain", "token_type", "expires_in"]
TOO_MANY = {
    "error_description": "You have made too many requests continuously. "
    "Please try again after some time.",
    "error": "Access Denied",
    "status": "failure",
}


@pytest.fixture
def now() -> list[float]:
    """The sandbox clock: tests move it by changing now[0]."""
    return [START]


@pytest.fixture
def sb(now: list[float]) -> Iterator[Sandbox]:
    with Sandbox(token=TOKEN, clock=lambda: now[0]) as server:
        yield server


def post(sb: Sandbox, path: str, **data: str) -> dict[str, Any]:
    """POST ``data`` as a form; the answer must be a 200 with JSON (errors included), or,
    as Zoho answers too many refreshes, a 400 with "status": "failure"."""
    r = requests.post(sb.url + path, data=data, timeout=5)
    assert r.status_code == (400 if r.json().get("status") == "failure" else 200), r.text
    assert r.headers["Content-Type"] == "application/json;charset=UTF-8"
    return r.json()


def client(sb: Sandbox) -> dict[str, str]:
    return {"client_id": sb.client_id, "client_secret": sb.client_secret}


def exchange(sb: Sandbox, code: str, **extra: str) -> dict[str, Any]:
    fields = {"grant_type": "authorization_code", "code": code, **client(sb)}
    return post(sb, TOKEN_PATH, **fields | extra)


def refresh(sb: Sandbox, token: str, **extra: str) -> dict[str, Any]:
    fields = {"grant_type": "refresh_token", "refresh_token": token, **client(sb)}
    return post(sb, TOKEN_PATH, **fields | extra)


def login(sb: Sandbox) -> dict[str, Any]:
    return exchange(sb, sb.issue_grant_code())


def device_code(sb: Sandbox, **extra: str) -> dict[str, Any]:
    fields = {
        "client_id": sb.client_id,
        "grant_type": "device_request",
        "scope": "ZohoCRM.bulk.ALL",
    }
    return post(sb, DEVICE_CODE_PATH, **fields | {"access_type": "offline"} | extra)


def poll(sb: Sandbox, code: str, **extra: str) -> dict[str, Any]:
    fields = {"grant_type": "device_token", "code": code, **client(sb)}
    return post(sb, DEVICE_TOKEN_PATH, **fields | extra)


def api_status(sb: Sandbox, token: str) -> tuple[int, str | None]:
    url = f"{sb.url}/crm/bulk/v8/write/{DEMO_JOBS['upsert']}"
    r = requests.get(url, headers={"Authorization": f"Zoho-oauthtoken {token}"}, timeout=5)
    return r.status_code, r.json().get("code")


# --- grant codes ---------------------------------------------------------------------------


def test_defaults_and_code_format(sb: Sandbox) -> None:
    assert (sb.client_id, sb.client_secret) == ("1000.SANDBOXCLIENT", "sandbox-secret")
    codes = {sb.issue_grant_code() for _ in range(3)}
    assert len(codes) == 3
    assert all(re.fullmatch(r"1000\.[0-9a-f]+\.[0-9a-f]+", c) for c in codes)
    assert sb.refresh_tokens == [] and sb.device_requests == []
    assert (sb.refresh_count, sb.token_requests) == (0, 0)


def test_grant_code_gives_working_tokens_once(sb: Sandbox) -> None:
    code = sb.issue_grant_code("ZohoCRM.bulk.CREATE")
    body = exchange(sb, code, redirect_uri="https://example.com/ignored")
    assert list(body) == TOKEN_KEYS
    assert re.fullmatch(r"1000\.[0-9a-f]+", body["access_token"])
    assert re.fullmatch(r"1000\.[0-9a-f]+", body["refresh_token"])
    assert body["api_domain"] == sb.url
    assert (body["token_type"], body["expires_in"]) == ("Bearer", 3600)
    assert sb.refresh_tokens == [body["refresh_token"]]
    assert api_status(sb, body["access_token"]) == (200, None)
    assert api_status(sb, TOKEN) == (200, None)  # the sandbox's own token still works
    assert exchange(sb, code) == {"error": "invalid_code"}  # single use
    assert exchange(sb, "1000.abc.def") == {"error": "invalid_code"}
    assert sb.token_requests == 3 and sb.refresh_count == 0


def test_grant_code_expires_after_180_seconds(sb: Sandbox, now: list[float]) -> None:
    early, late = sb.issue_grant_code(), sb.issue_grant_code()
    now[0] += 179.9
    assert "access_token" in exchange(sb, early)
    now[0] += 0.1
    assert exchange(sb, late) == {"error": "invalid_code"}


def test_access_token_expires_on_the_clock(now: list[float]) -> None:
    with Sandbox(clock=lambda: now[0], token_ttl=60.5) as sb:
        body = login(sb)
        assert body["expires_in"] == 60
        now[0] += 60.4
        assert api_status(sb, body["access_token"]) == (200, None)
        now[0] += 0.1
        assert api_status(sb, body["access_token"]) == (401, "INVALID_TOKEN")
        assert api_status(sb, "1000.unknown") == (401, "INVALID_TOKEN")


def test_expire_access_tokens(sb: Sandbox) -> None:
    body = login(sb)
    sb.expire_access_tokens()
    assert api_status(sb, body["access_token"]) == (401, "INVALID_TOKEN")
    assert api_status(sb, TOKEN) == (200, None)
    fresh = refresh(sb, body["refresh_token"])["access_token"]
    assert api_status(sb, fresh) == (200, None)  # minted after: fine


# --- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wrong", "error"),
    [("client_id", "invalid_client"), ("client_secret", "invalid_client_secret")],
)
def test_wrong_client(sb: Sandbox, wrong: str, error: str) -> None:
    bad = {wrong: "nope"}
    code = sb.issue_grant_code()
    assert exchange(sb, code, **bad) == {"error": error}
    assert "access_token" in exchange(sb, code)  # the failed try did not use the code
    rt = sb.refresh_tokens[0]
    assert refresh(sb, rt, **bad) == {"error": error}
    assert poll(sb, device_code(sb)["device_code"], **bad) == {"error": error}
    assert sb.refresh_count == 0


def test_device_code_wrong_client(sb: Sandbox) -> None:
    assert device_code(sb, client_id="1000.OTHER") == {"error": "invalid_client"}
    assert sb.device_requests == []


@pytest.mark.parametrize(
    "path", [TOKEN_PATH, DEVICE_CODE_PATH, DEVICE_TOKEN_PATH], ids=["token", "code", "poll"]
)
@pytest.mark.parametrize("grant_type", [None, "password", "client_credentials"])
def test_unsupported_grant_type(sb: Sandbox, path: str, grant_type: str | None) -> None:
    fields = {**client(sb), "scope": "x", "code": "c", "refresh_token": "r"}
    if grant_type is not None:
        fields["grant_type"] = grant_type
    assert post(sb, path, **fields) == {"error": "unsupported_grant_type"}


@pytest.mark.parametrize("missing", ["client_id", "client_secret", "code"])
def test_missing_parameters(sb: Sandbox, missing: str) -> None:
    code = sb.issue_grant_code()
    fields = {"grant_type": "authorization_code", "code": code, **client(sb)}
    assert post(sb, TOKEN_PATH, **fields | {missing: ""}) == {"error": "invalid_request"}
    del fields[missing]
    assert post(sb, TOKEN_PATH, **fields) == {"error": "invalid_request"}
    rt = login(sb)["refresh_token"]
    fields = {"grant_type": "refresh_token", "refresh_token": rt, **client(sb)}
    del fields["refresh_token" if missing == "code" else missing]
    assert post(sb, TOKEN_PATH, **fields) == {"error": "invalid_request"}
    assert device_code(sb, scope="") == {"error": "invalid_request"}
    assert device_code(sb, client_id="") == {"error": "invalid_request"}
    assert poll(sb, "") == {"error": "invalid_request"}


# --- refresh tokens ----------------------------------------------------------------------


def test_refresh_counts_and_mints(sb: Sandbox) -> None:
    rt = login(sb)["refresh_token"]
    first, second = refresh(sb, rt), refresh(sb, rt)
    assert list(first) == ["access_token", "scope", "api_domain", "token_type", "expires_in"]
    assert first["scope"] == IMPORT_SCOPE  # a grant code's scopes, by default import's
    assert first["access_token"] != second["access_token"]
    assert (first["api_domain"], first["token_type"], first["expires_in"]) == (
        sb.url,
        "Bearer",
        3600,
    )
    assert api_status(sb, first["access_token"]) == (200, None)
    assert refresh(sb, "1000.unknown") == {"error": "invalid_code"}
    assert (sb.refresh_count, sb.token_requests) == (2, 4)
    assert sb.refresh_tokens == [rt]


def test_revoke(sb: Sandbox) -> None:
    kept, revoked = login(sb)["refresh_token"], login(sb)["refresh_token"]
    sb.revoke_refresh_token(revoked)
    sb.revoke_refresh_token("1000.never-issued")  # a no-op
    assert refresh(sb, revoked) == {"error": "invalid_code"}
    assert "access_token" in refresh(sb, kept)
    assert sb.refresh_tokens == [kept, revoked] and sb.refresh_count == 1


def test_ten_refreshes_per_ten_minutes(sb: Sandbox, now: list[float]) -> None:
    rt, other = login(sb)["refresh_token"], login(sb)["refresh_token"]
    for _ in range(5):
        assert "access_token" in refresh(sb, rt)
    now[0] += 300
    for _ in range(5):
        assert "access_token" in refresh(sb, rt)
    assert refresh(sb, rt) == TOO_MANY
    assert "access_token" in refresh(sb, other)  # per refresh token
    now[0] += 299.9
    assert refresh(sb, rt) == TOO_MANY
    now[0] += 0.1  # the first five are now 600 s old
    for _ in range(5):
        assert "access_token" in refresh(sb, rt)
    assert refresh(sb, rt) == TOO_MANY
    assert sb.refresh_count == 16


# --- device flow -------------------------------------------------------------------------


def test_device_flow(sb: Sandbox, now: list[float]) -> None:
    started = device_code(sb)
    assert list(started) == [
        "user_code",
        "device_code",
        "verification_url",
        "expires_in",
        "interval",
    ]
    assert re.fullmatch(r"[A-Z]{6,8}", started["user_code"])
    assert re.fullmatch(r"1004\.[0-9a-f]+", started["device_code"])
    assert started["verification_url"] == f"{sb.url}/device"
    assert (started["expires_in"], started["interval"]) == (300, 5)
    assert isinstance(started["interval"], int)
    code, user_code = started["device_code"], started["user_code"]
    (req,) = sb.device_requests
    assert isinstance(req, DeviceRequest)
    assert (req.user_code, req.device_code, req.scope, req.created) == (
        user_code,
        code,
        "ZohoCRM.bulk.ALL",
        START,
    )
    assert (req.state, req.user_location, req.polls, req.last_poll) == ("pending", None, 0, None)

    assert poll(sb, code) == {"error": "authorization_pending"}
    assert (req.polls, req.last_poll) == (1, START)
    now[0] += 5  # the advertised interval, but Zoho wants 30 s between polls
    assert poll(sb, code) == {"error": "slow_down"}
    assert (req.polls, req.last_poll) == (1, START)  # not a proper poll
    now[0] += 24.9
    assert poll(sb, code) == {"error": "slow_down"}
    now[0] += 0.1
    assert poll(sb, code) == {"error": "authorization_pending"}
    assert req.polls == 2
    sb.approve_device(user_code)
    assert req.state == "approved"
    assert poll(sb, code) == {"error": "slow_down"}
    now[0] += 30
    body = poll(sb, code)
    assert list(body) == TOKEN_KEYS
    assert api_status(sb, body["access_token"]) == (200, None)
    assert sb.refresh_tokens == [body["refresh_token"]]
    assert "access_token" in refresh(sb, body["refresh_token"])
    now[0] += 30
    assert poll(sb, code) == {"error": "invalid_code"}  # used up
    assert poll(sb, "1004.unknown") == {"error": "invalid_code"}


def test_device_denied_expired_and_elsewhere(sb: Sandbox, now: list[float]) -> None:
    denied, moved, idle = (device_code(sb) for _ in range(3))
    assert [r.device_code for r in sb.device_requests] == [
        d["device_code"] for d in (denied, moved, idle)
    ]
    assert len({d["user_code"] for d in (denied, moved, idle)}) == 3
    sb.deny_device(denied["user_code"])
    sb.send_device_elsewhere(moved["user_code"], "eu")
    assert poll(sb, denied["device_code"]) == {"error": "access_denied"}
    other_dc = {"error": "other_dc", "user_location": "eu"}
    assert poll(sb, moved["device_code"]) == other_dc
    now[0] += 30
    assert poll(sb, moved["device_code"]) == other_dc  # and on every poll after
    assert sb.device_requests[1].state == "other_dc"
    assert sb.device_requests[1].user_location == "eu"
    now[0] += 269.9
    assert poll(sb, idle["device_code"]) == {"error": "authorization_pending"}
    now[0] += 0.1
    assert poll(sb, idle["device_code"]) == {"error": "expired"}
    sb.approve_device(idle["user_code"])
    assert poll(sb, idle["device_code"]) == {"error": "expired"}  # too late
    with pytest.raises(KeyError):
        sb.approve_device("NOSUCHCODE")


def test_fractional_interval(now: list[float]) -> None:
    with Sandbox(clock=lambda: now[0], device_interval=0.5, device_pace=0.5) as sb:
        started = device_code(sb)
        assert started["interval"] == 0.5
        assert poll(sb, started["device_code"]) == {"error": "authorization_pending"}
        now[0] += 0.5
        assert poll(sb, started["device_code"]) == {"error": "authorization_pending"}


# --- parameters, routes, faults, recording -------------------------------------------------


def test_parameters_in_query_string_body_or_both(sb: Sandbox) -> None:
    url = sb.url + TOKEN_PATH
    fields = {"grant_type": "authorization_code", "code": sb.issue_grant_code(), **client(sb)}
    assert "access_token" in requests.post(url, params=fields, timeout=5).json()
    split = {"grant_type": "authorization_code", "code": sb.issue_grant_code()}
    r = requests.post(url, params=client(sb), data=split, timeout=5)
    assert "access_token" in r.json()
    split["code"] = sb.issue_grant_code()
    r = requests.post(url, params={"client_id": "wrong"}, data=split | client(sb), timeout=5)
    assert "access_token" in r.json()  # the body wins
    raw = f"grant_type=device_request&client_id={sb.client_id}&scope=s".encode()
    r = requests.post(sb.url + DEVICE_CODE_PATH, data=raw, timeout=5)  # no Content-Type
    assert "device_code" in r.json()
    r = requests.post(url, json=fields, timeout=5)  # not a form: not read
    assert r.json() == {"error": "unsupported_grant_type"}


def test_device_page_and_methods(sb: Sandbox) -> None:
    r = requests.get(sb.url + "/device", timeout=5)
    assert r.status_code == 200 and r.headers["Content-Type"] == "text/html;charset=utf-8"
    assert "approve_device" in r.text and '<button name="action" value="approve"' in r.text
    assert requests.post(sb.url + "/device", timeout=5).status_code == 400
    r = requests.get(sb.url + TOKEN_PATH, timeout=5)
    assert (r.status_code, r.json()["code"]) == (400, "INVALID_REQUEST_METHOD")


def test_faults_come_first_and_requests_are_recorded(sb: Sandbox) -> None:
    code = sb.issue_grant_code()
    sb.add_fault(Fault("status", status=502, path_prefix="/oauth/"))
    r = requests.post(sb.url + TOKEN_PATH + "?x=1", data={"code": code}, timeout=5)
    assert r.status_code == 502 and "502 Bad Gateway" in r.text
    assert "access_token" in exchange(sb, code)  # the faulted request used nothing
    assert sb.token_requests == 2 and sb.request_count(TOKEN_PATH) == 2
    assert [(q.method, q.path, q.status) for q in sb.requests] == [
        ("POST", TOKEN_PATH + "?x=1", 502),
        ("POST", TOKEN_PATH, 200),
    ]


# --- issue 12: revocation, scope, the device page by hand, Zoho's refresh limit answer ------


def test_revoke_endpoint(sb: Sandbox) -> None:
    rt = login(sb)["refresh_token"]
    r = requests.post(sb.url + "/oauth/v2/token/revoke", data={"token": rt}, timeout=5)
    assert (r.status_code, r.json()) == (200, {"status": "success"})
    assert refresh(sb, rt) == {"error": "invalid_code"}
    r = requests.post(sb.url + "/oauth/v2/token/revoke", params={"token": rt}, timeout=5)
    assert r.status_code == 400 and r.json()["status"] == "failure"


def test_scope_in_answers_and_scope_mismatch_on_the_api(sb: Sandbox) -> None:
    body = exchange(sb, sb.issue_grant_code("ZohoCRM.users.READ"))
    assert body["scope"] == "ZohoCRM.users.READ"
    assert refresh(sb, body["refresh_token"])["scope"] == "ZohoCRM.users.READ"
    assert api_status(sb, body["access_token"]) == (401, "OAUTH_SCOPE_MISMATCH")
    assert api_status(sb, login(sb)["access_token"]) == (200, None)


def test_eleventh_refresh_is_a_400_failure(sb: Sandbox) -> None:
    rt = login(sb)["refresh_token"]
    for _ in range(10):
        assert "access_token" in refresh(sb, rt)
    fields = {"grant_type": "refresh_token", "refresh_token": rt, **client(sb)}
    r = requests.post(sb.url + TOKEN_PATH, data=fields, timeout=5)
    assert r.status_code == 400 and r.json() == TOO_MANY


def test_device_page_approves_by_hand(sb: Sandbox) -> None:
    started = device_code(sb)
    r = requests.post(
        sb.url + "/device",
        data={"user_code": started["user_code"].lower(), "action": "approve"},
        timeout=5,
    )
    assert r.status_code == 200 and "approved" in r.text
    assert "access_token" in poll(sb, started["device_code"])
    r = requests.post(sb.url + "/device", data={"user_code": "NOPE", "action": "deny"}, timeout=5)
    assert r.status_code == 404 and "NOPE" in r.text
    other = device_code(sb)
    requests.post(
        sb.url + "/device", data={"user_code": other["user_code"], "action": "deny"}, timeout=5
    )
    assert poll(sb, other["device_code"]) == {"error": "access_denied"}


# --- issue 26 item 18: revocation, the active-token cap and device pacing as at Zoho --------


def test_revoking_a_refresh_token_revokes_its_access_tokens(sb: Sandbox) -> None:
    first = login(sb)
    rt, other = first["refresh_token"], login(sb)
    minted = refresh(sb, rt)["access_token"]
    r = requests.post(sb.url + "/oauth/v2/token/revoke", data={"token": rt}, timeout=5)
    assert r.json() == {"status": "success"}
    assert api_status(sb, first["access_token"]) == (401, "INVALID_TOKEN")
    assert api_status(sb, minted) == (401, "INVALID_TOKEN")
    assert api_status(sb, other["access_token"]) == (200, None)  # another login's: kept
    sb.revoke_refresh_token(other["refresh_token"])  # the Python door does the same
    assert api_status(sb, other["access_token"]) == (401, "INVALID_TOKEN")


def test_sixteenth_access_token_ends_the_oldest(sb: Sandbox, now: list[float]) -> None:
    body = login(sb)  # its access token is the first of fifteen
    rt, tokens = body["refresh_token"], [body["access_token"]]
    for i in range(14):
        if i and i % 9 == 0:
            now[0] += 600  # past the ten-per-ten-minutes limit
        tokens.append(refresh(sb, rt)["access_token"])
    assert [api_status(sb, t)[0] for t in tokens] == [200] * 15
    tokens.append(refresh(sb, rt)["access_token"])  # the sixteenth
    assert api_status(sb, tokens[0]) == (401, "INVALID_TOKEN")
    assert [api_status(sb, t)[0] for t in tokens[1:]] == [200] * 15
    assert api_status(sb, login(sb)["access_token"]) == (200, None)  # per refresh token


def test_expired_access_tokens_do_not_count_towards_the_cap(now: list[float]) -> None:
    with Sandbox(token=TOKEN, clock=lambda: now[0], token_ttl=3600) as sb:
        body = login(sb)
        rt, old = body["refresh_token"], [body["access_token"]]
        for _ in range(9):
            old.append(refresh(sb, rt)["access_token"])
        now[0] += 3600  # all ten have expired
        fresh = [refresh(sb, rt)["access_token"] for _ in range(10)]
        now[0] += 600
        fresh += [refresh(sb, rt)["access_token"] for _ in range(5)]
        assert [api_status(sb, t)[0] for t in fresh] == [200] * 15


def test_device_polls_closer_than_30_seconds_slow_down(sb: Sandbox, now: list[float]) -> None:
    started = device_code(sb)
    code = started["device_code"]
    assert started["interval"] == 5  # advertised, yet Zoho wants 30 s between polls
    assert poll(sb, code) == {"error": "authorization_pending"}
    now[0] = START + 29.9
    assert poll(sb, code) == {"error": "slow_down"}
    now[0] = START + 30
    assert poll(sb, code) == {"error": "authorization_pending"}


# --- issue 26 item 13: scopes per endpoint, as Zoho's pages say -----------------------------


def token_with(sb: Sandbox, scope: str) -> str:
    return exchange(sb, sb.issue_grant_code(scope))["access_token"]


def upload_status(sb: Sandbox, token: str) -> tuple[int, str | None]:
    import io
    import zipfile

    from zbulk.sandbox.jobs import ORG_ID

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("leads.csv", "Last_Name\nLovelace\n")
    headers = {
        "Authorization": f"Zoho-oauthtoken {token}",
        "feature": "bulk-write",
        "X-CRM-ORG": ORG_ID,
    }
    r = requests.post(
        f"{sb.url}/crm/v8/upload",
        headers=headers,
        timeout=5,
        files={"file": ("leads.zip", buffer.getvalue())},
    )
    doc = r.json()
    return r.status_code, doc.get("code") if doc.get("status") == "error" else doc["details"][
        "file_id"
    ]


def create_status(sb: Sandbox, token: str, module: str = "Leads") -> tuple[int, str | None]:
    file_id = upload_status(sb, TOKEN)[1]
    body = {
        "operation": "insert",
        "resource": [{"type": "data", "module": {"api_name": module}, "file_id": file_id}],
    }
    r = requests.post(
        f"{sb.url}/crm/bulk/v8/write",
        json=body,
        timeout=5,
        headers={"Authorization": f"Zoho-oauthtoken {token}"},
    )
    return r.status_code, r.json()["code"]


@pytest.mark.parametrize(
    ("scope", "allowed"),
    [
        ("ZohoCRM.bulk.CREATE", True),
        ("ZohoCRM.bulk.ALL", True),
        ("zohocrm.bulk.create", True),  # Zoho reads scopes without regard to case
        ("ZohoCRM.bulk.READ", False),  # the bulk *read* API's scope
        ("ZohoCRM.modules.ALL,ZohoFiles.files.ALL", False),
    ],
)
def test_job_details_need_bulk_create_or_all(sb: Sandbox, scope: str, allowed: bool) -> None:
    want = (200, None) if allowed else (401, "OAUTH_SCOPE_MISMATCH")
    assert api_status(sb, token_with(sb, scope)) == want


@pytest.mark.parametrize(
    ("scope", "allowed"),
    [
        ("ZohoFiles.files.ALL", True),
        ("ZohoCRM.bulk.ALL", False),
        ("ZohoCRM.bulk.ALL,ZohoCRM.modules.ALL,ZohoCRM.org.READ", False),
    ],
)
def test_upload_needs_zohofiles(sb: Sandbox, scope: str, allowed: bool) -> None:
    status, said = upload_status(sb, token_with(sb, scope))
    assert (
        (status == 200 and said is not None)
        if allowed
        else (status, said) == (401, "OAUTH_SCOPE_MISMATCH")
    )


@pytest.mark.parametrize(
    ("scope", "allowed"),
    [
        ("ZohoCRM.bulk.CREATE,ZohoCRM.modules.ALL", True),
        ("ZohoCRM.bulk.ALL,ZohoCRM.modules.Leads.CREATE", True),
        ("ZohoCRM.bulk.ALL,ZohoCRM.modules.leads.ALL", True),
        ("ZohoCRM.bulk.ALL", False),  # no module scope
        ("ZohoCRM.bulk.ALL,ZohoCRM.modules.Contacts.ALL", False),  # another module's
        ("ZohoCRM.modules.ALL", False),  # no bulk scope
        ("ZohoCRM.bulk.READ,ZohoCRM.modules.ALL", False),
    ],
)
def test_create_needs_bulk_create_and_the_modules_scope(
    sb: Sandbox, scope: str, allowed: bool
) -> None:
    want = (201, "SUCCESS") if allowed else (401, "OAUTH_SCOPE_MISMATCH")
    assert create_status(sb, token_with(sb, scope)) == want


def test_the_default_grant_code_can_import(sb: Sandbox) -> None:
    token = login(sb)["access_token"]
    assert upload_status(sb, token)[0] == 200
    assert create_status(sb, token) == (201, "SUCCESS")
    r = requests.get(
        f"{sb.url}/crm/v8/org", timeout=5, headers={"Authorization": f"Zoho-oauthtoken {token}"}
    )
    assert r.status_code == 200
