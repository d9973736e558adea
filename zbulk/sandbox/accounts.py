"""Zoho's accounts server in the sandbox, on the API's host and port: self client grant codes,
refresh tokens (at most ``REFRESH_LIMIT`` per ``REFRESH_WINDOW`` seconds each, the next one
answered as Zoho does: HTTP 400, ``"status": "failure"``, ``Access Denied``; at most
``ACTIVE_LIMIT`` access tokens alive per refresh token, the next one ending the oldest),
revocation (``/oauth/v2/token/revoke``, which ends the refresh token's access tokens too) and
the device flow (polls closer than ``device_pace`` seconds, 30 as at Zoho, answered
``slow_down``), whose code a person can approve on the ``/device`` page. Like Zoho, it
answers other OAuth errors as HTTP 200 with a JSON body such as ``{"error": "invalid_code"}``,
and names the scope granted in every token answer. Parameters come in the query string, a
form body, or both (the body wins). Times are on the sandbox's injected clock.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qsl

from zbulk.sandbox.jobs import Answer

if TYPE_CHECKING:
    from zbulk.sandbox.messages import RecordedRequest, Request

TOKEN_PATH = "/oauth/v2/token"  # noqa: S105 (a path)
REVOKE_PATH = "/oauth/v2/token/revoke"
# The scopes each endpoint takes, any one of them, as Zoho's pages say: job details (and
# their result file) ZohoCRM.bulk.CREATE or .ALL (READ is the bulk *read* API's scope); a
# create, those and the module's scope (``module_scope``); an upload, ZohoFiles.files.ALL.
JOB_SCOPES = ("ZohoCRM.bulk.CREATE", "ZohoCRM.bulk.ALL")
CREATE_SCOPES = JOB_SCOPES
UPLOAD_SCOPES = ("ZohoFiles.files.ALL",)
ORG_SCOPES = ("ZohoCRM.org.READ", "ZohoCRM.org.ALL")
# What a grant code carries unless a test asks otherwise: what job import needs.
IMPORT_SCOPE = "ZohoCRM.bulk.ALL,ZohoCRM.modules.ALL,ZohoFiles.files.ALL,ZohoCRM.org.READ"
GRANT_CODE_TTL = 180.0
DEVICE_CODE_TTL = 300
REFRESH_LIMIT, REFRESH_WINDOW = 10, 600.0
ACTIVE_LIMIT = 15  # access tokens alive per refresh token; the 16th ends the oldest
DEVICE_PACE = 30.0  # Zoho: at most one device-token poll per 30 s, else slow_down
OAUTH_JSON = "application/json;charset=UTF-8"
FORM = "application/x-www-form-urlencoded"
TOO_MANY = {
    "error_description": "You have made too many requests continuously. "
    "Please try again after some time.",
    "error": "Access Denied",
    "status": "failure",
}
_USER_CODE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I or O
_DEVICE_PAGE = (
    "<!doctype html><html><head><title>zbulk sandbox: device sign-in</title></head><body>"
    "<h1>Device sign-in</h1><p>This is the zbulk sandbox: nobody signs in here. Enter the "
    "code <code>zbulk auth login --device</code> shows, then approve or deny it. (From "
    "Python: <code>sandbox.approve_device(user_code)</code>, or "
    "<code>curl -d user_code=CODE -d action=approve URL/device</code>.)</p>"
    '<form method="post" action="/device"><label>Code <input name="user_code" '
    'autocomplete="off" autofocus></label> <button name="action" value="approve">Approve'
    '</button> <button name="action" value="deny">Deny</button></form>{message}</body></html>'
)
DeviceState = Literal["pending", "approved", "denied", "other_dc"]
Body = dict[str, Any]


@dataclass
class DeviceRequest:
    """A device code issued by /oauth/v3/device/code; ``polls`` counts proper polls (not those
    answered ``slow_down``), ``last_poll`` is the latest of them."""

    user_code: str
    device_code: str
    scope: str
    created: float
    state: DeviceState = "pending"
    user_location: str | None = None
    polls: int = 0
    last_poll: float | None = None


@dataclass
class _GrantCode:
    scope: str
    expires: float
    used: bool = False


@dataclass
class _RefreshToken:
    scope: str
    recent: deque[float]  # when it was used, in the last REFRESH_WINDOW
    minted: deque[str] = field(default_factory=deque)  # its access tokens, oldest first


def granted_scopes(scope: str) -> frozenset[str]:
    return frozenset(s.strip().lower() for s in scope.replace(" ", ",").split(",") if s.strip())


def allows(granted: frozenset[str] | None, wanted: tuple[str, ...]) -> bool:
    """Whether ``granted`` (None: the sandbox's own token, every scope) holds one of ``wanted``."""
    return granted is None or any(w.lower() in granted for w in wanted)


def module_scope(module: str) -> tuple[str, ...]:
    """The scopes that let a bulk write job create records of ``module``."""
    return (
        "ZohoCRM.modules.ALL",
        f"ZohoCRM.modules.{module}.ALL",
        f"ZohoCRM.modules.{module}.CREATE",
    )


def params(request: Request) -> dict[str, str]:
    """The query string's parameters, then a form body's over them (blank ones left out)."""
    merged = dict(parse_qsl(request.query))
    if request.headers.get("Content-Type") is None or request.headers.get_content_type() == FORM:
        merged.update(parse_qsl(request.body.decode("utf-8", "replace")))
    return merged


def _json(body: Body, status: int = 200) -> Answer:
    return status, json.dumps(body).encode(), OAUTH_JSON, {}


def _html(message: str = "", status: int = 200) -> Answer:
    import html

    text = _DEVICE_PAGE.replace(
        "{message}", f"<p><strong>{html.escape(message)}</strong></p>" if message else ""
    )
    return status, text.encode(), "text/html;charset=utf-8", {}


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


class Accounts:
    """The state of the accounts server: grant codes, tokens and device codes, under a lock."""

    def __init__(
        self,
        url: Callable[[], str],
        clock: Callable[[], float],
        client_id: str,
        client_secret: str,
        token_ttl: float,
        device_interval: float,
        device_pace: float = DEVICE_PACE,
    ) -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.token_ttl, self.device_interval = token_ttl, device_interval
        self.device_pace = device_pace
        self.refresh_count = 0
        self._url, self._clock = url, clock
        self._lock = threading.Lock()
        self._codes: dict[str, _GrantCode] = {}
        self._refresh: dict[str, _RefreshToken] = {}  # live refresh token: scope, recent uses
        self._issued: list[str] = []  # every refresh token, revoked or not
        self._access: dict[str, tuple[float, str]] = {}  # access token: expiry, scope
        self._devices: dict[str, DeviceRequest] = {}  # device code: request, oldest first
        self._used_devices: set[str] = set()
        self.routes: tuple[tuple[str, str, Callable[[Request], Answer]], ...] = (
            (TOKEN_PATH, "POST", self._token),
            (REVOKE_PATH, "POST", self._revoke),
            (r"/oauth/v3/device/code", "POST", self._device_code),
            (r"/oauth/v3/device/token", "POST", self._device_token),
            (r"/device", "GET POST", self._device_page),
        )

    # for the tests, through the Sandbox
    def issue_grant_code(self, scope: str) -> str:
        code = f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}"
        with self._lock:
            self._codes[code] = _GrantCode(scope, self._clock() + GRANT_CODE_TTL)
        return code

    def valid_access_token(self, token: str) -> bool:
        with self._lock:
            found = self._access.get(token)
            return found is not None and self._clock() < found[0]

    def scopes(self, token: str) -> frozenset[str]:
        """The scopes a minted access token was granted (lower case: Zoho reads them so)."""
        with self._lock:
            found = self._access.get(token)
        return granted_scopes(found[1] if found else "")

    def expire_access_tokens(self) -> None:
        with self._lock:
            self._access = {t: (float("-inf"), s) for t, (_, s) in self._access.items()}

    def revoke_refresh_token(self, token: str) -> None:
        with self._lock:
            self._end_refresh_token(token)

    @property
    def refresh_tokens(self) -> list[str]:
        with self._lock:
            return list(self._issued)

    @property
    def device_requests(self) -> list[DeviceRequest]:
        with self._lock:
            return list(self._devices.values())

    def set_device(self, user_code: str, state: DeviceState, location: str | None = None) -> None:
        """Approve, deny or send elsewhere the device request of ``user_code`` (KeyError if
        there is none)."""
        with self._lock:
            found = [d for d in self._devices.values() if d.user_code == user_code]
            if not found:
                raise KeyError(user_code)
            found[0].state, found[0].user_location = state, location

    def adopt_device(self, request: DeviceRequest) -> None:
        """Know another server's device code, approved here (the user's own data centre)."""
        import dataclasses

        with self._lock:
            self._devices[request.device_code] = dataclasses.replace(
                request, state="approved", user_location=None, polls=0, last_poll=None
            )

    # the endpoints
    def _token(self, request: Request) -> Answer:
        p = params(request)
        with self._lock:
            if p.get("grant_type") == "authorization_code":
                return _json(self._code_grant(p))
            if p.get("grant_type") == "refresh_token":
                body = self._refresh_grant(p)
                return _json(body, 400 if body.get("status") == "failure" else 200)
        return _json({"error": "unsupported_grant_type"})

    def _code_grant(self, p: dict[str, str]) -> Body:
        problem = self._check_client(p, "client_secret", "code")
        if problem is not None:
            return problem
        code = self._codes.get(p["code"])
        if code is None or code.used or self._clock() >= code.expires:
            return {"error": "invalid_code"}
        code.used = True
        return self._mint(code.scope, refresh=True)

    def _refresh_grant(self, p: dict[str, str]) -> Body:
        problem = self._check_client(p, "client_secret", "refresh_token")
        if problem is not None:
            return problem
        token = self._refresh.get(p["refresh_token"])
        if token is None:
            return {"error": "invalid_code"}
        recent = token.recent
        now = self._clock()
        while recent and now - recent[0] >= REFRESH_WINDOW:
            recent.popleft()
        if len(recent) >= REFRESH_LIMIT:
            return dict(TOO_MANY)
        recent.append(now)
        self.refresh_count += 1
        return self._mint(token.scope, refresh=False, parent=token)

    def _device_code(self, request: Request) -> Answer:
        p = params(request)
        if p.get("grant_type") != "device_request":
            return _json({"error": "unsupported_grant_type"})
        problem = self._check_client(p, "scope")
        if problem is not None:
            return _json(problem)
        with self._lock:
            taken = {d.user_code for d in self._devices.values()}
            user_code = next(c for c in iter(self._user_code, "") if c not in taken)
            device = DeviceRequest(
                user_code, f"1004.{secrets.token_hex(16)}", p["scope"], self._clock()
            )
            self._devices[device.device_code] = device
        return _json(
            {
                "user_code": user_code,
                "device_code": device.device_code,
                "verification_url": f"{self._url()}/device",
                "expires_in": DEVICE_CODE_TTL,
                "interval": _number(self.device_interval),
            }
        )

    def _device_token(self, request: Request) -> Answer:
        p = params(request)
        if p.get("grant_type") != "device_token":
            return _json({"error": "unsupported_grant_type"})
        with self._lock:
            return _json(self._check_client(p, "client_secret", "code") or self._poll(p["code"]))

    def _poll(self, device_code: str) -> Body:
        device = self._devices.get(device_code)
        if device is None or device_code in self._used_devices:
            return {"error": "invalid_code"}
        now = self._clock()
        if now - device.created >= DEVICE_CODE_TTL:
            return {"error": "expired"}
        if device.last_poll is not None and now - device.last_poll < self.device_pace:
            return {"error": "slow_down"}
        device.polls, device.last_poll = device.polls + 1, now
        if device.state == "denied":
            return {"error": "access_denied"}
        if device.state == "other_dc":
            return {"error": "other_dc", "user_location": device.user_location}
        if device.state == "pending":
            return {"error": "authorization_pending"}
        self._used_devices.add(device_code)
        return self._mint(device.scope, refresh=True)

    def _revoke(self, request: Request) -> Answer:
        """Zoho's revocation of a refresh token: ``{"status": "success"}``."""
        token = params(request).get("token", "")
        with self._lock:
            if not self._end_refresh_token(token):
                return _json({"error": "invalid_token", "status": "failure"}, 400)
        return _json({"status": "success"})

    def _device_page(self, request: Request) -> Answer:
        """The page a person opens to approve (or deny) a device code, by hand."""
        if request.method == "GET":
            return _html()
        p = params(request)
        code = p.get("user_code", "").strip().upper().replace("-", "")
        action = p.get("action")
        if not code or action not in ("approve", "deny"):
            return _html("Enter the code and press Approve or Deny.", 400)
        try:
            self.set_device(code, "approved" if action == "approve" else "denied")
        except KeyError:
            return _html(f"No pending sign-in has the code {code}.", 404)
        return _html(
            f"Code {code} {'approved' if action == 'approve' else 'denied'}: "
            "go back to your terminal."
        )

    # helpers, called with the lock held
    def _check_client(self, p: dict[str, str], *names: str) -> Body | None:
        if not all(p.get(name) for name in ("client_id", *names)):
            return {"error": "invalid_request"}
        if p["client_id"] != self.client_id:
            return {"error": "invalid_client"}
        if "client_secret" in names and p["client_secret"] != self.client_secret:
            return {"error": "invalid_client_secret"}
        return None

    def _end_refresh_token(self, token: str) -> bool:
        """Revoke a refresh token and every access token minted from it (as Zoho does)."""
        found = self._refresh.pop(token, None)
        for access in found.minted if found else ():
            self._access.pop(access, None)
        return found is not None

    def _mint(self, scope: str, refresh: bool, parent: _RefreshToken | None = None) -> Body:
        access = f"1000.{secrets.token_hex(16)}"
        self._access[access] = (self._clock() + self.token_ttl, scope)
        body: Body = {"access_token": access}
        if refresh:
            token = f"1000.{secrets.token_hex(16)}"
            parent = self._refresh[token] = _RefreshToken(scope, deque())
            self._issued.append(token)
            body["refresh_token"] = token
        if parent is not None:
            now = self._clock()
            alive = [a for a in parent.minted if a in self._access and now < self._access[a][0]]
            parent.minted = deque([*alive, access])
            while len(parent.minted) > ACTIVE_LIMIT:  # the 16th ends the oldest
                self._access.pop(parent.minted.popleft(), None)
        body["scope"] = scope
        body["api_domain"], body["token_type"] = self._url(), "Bearer"
        body["expires_in"] = int(self.token_ttl)
        return body

    @staticmethod
    def _user_code() -> str:
        return "".join(secrets.choice(_USER_CODE_LETTERS) for _ in range(8))


class AccountsMixin:
    """What the Sandbox shows of its accounts server."""

    _accounts: Accounts
    _lock: threading.Lock
    requests: list[RecordedRequest]

    @property
    def client_id(self) -> str:
        return self._accounts.client_id

    @property
    def client_secret(self) -> str:
        return self._accounts.client_secret

    def issue_grant_code(self, scope: str = IMPORT_SCOPE) -> str:
        """A fresh single-use grant code, as the self client console gives; valid 180 s.
        By default it carries the scopes job import needs (``IMPORT_SCOPE``)."""
        return self._accounts.issue_grant_code(scope)

    @property
    def refresh_count(self) -> int:
        """Successful refresh_token grants so far."""
        return self._accounts.refresh_count

    @property
    def token_requests(self) -> int:
        """Every POST to /oauth/v2/token so far, faulted ones included."""
        with self._lock:
            return sum(
                r.method == "POST" and r.path.split("?", 1)[0] == TOKEN_PATH for r in self.requests
            )

    def revoke_refresh_token(self, token: str) -> None:
        self._accounts.revoke_refresh_token(token)

    def expire_access_tokens(self) -> None:
        """Every access token minted so far is now expired (``sandbox.token`` still works)."""
        self._accounts.expire_access_tokens()

    @property
    def refresh_tokens(self) -> list[str]:
        """Every refresh token issued, oldest first, revoked ones included."""
        return self._accounts.refresh_tokens

    @property
    def device_requests(self) -> list[DeviceRequest]:
        """The device codes issued, newest last."""
        return self._accounts.device_requests

    def approve_device(self, user_code: str) -> None:
        self._accounts.set_device(user_code, "approved")

    def deny_device(self, user_code: str) -> None:
        self._accounts.set_device(user_code, "denied")

    def send_device_elsewhere(self, user_code: str, user_location: str) -> None:
        """Polls from now on answer ``other_dc`` with this ``user_location``."""
        self._accounts.set_device(user_code, "other_dc", user_location)

    def adopt_device(self, request: DeviceRequest) -> None:
        """Answer polls of another sandbox's device code, approved (the other_dc target)."""
        self._accounts.adopt_device(request)
