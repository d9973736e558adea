"""Zoho's accounts server: the token endpoint, revocation and the device flow. Prints
nothing.

Zoho answers most OAuth errors with HTTP 200 and ``{"error": "…"}``: every answer's body is
checked, not only its status. Every number in an answer is bounded before use: a lying
``expires_in`` or ``interval`` (``"nan"``, ``1e400``, ``-1e18``) never reaches a clock.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from zbulk.datacentres import DataCentre, for_location
from zbulk.errors import CredentialsError, NetworkError

# What the device login asks for: the bulk API, and what job import and retry need (records,
# the upload, the org id). A Self Client's scopes are chosen in Zoho's console instead:
# `auth login --self-client` names this same list when it asks for the grant code.
SCOPE = "ZohoCRM.bulk.ALL,ZohoCRM.modules.ALL,ZohoFiles.files.ALL,ZohoCRM.org.READ"
SLOW_DOWN_INTERVAL = 30.0  # after "slow_down", poll at most once per 30 s (Zoho's pace)
DEFAULT_TOKEN_LIFETIME = 3600.0
MAX_TOKEN_LIFETIME = 86400.0
DEFAULT_DEVICE_TTL, MAX_DEVICE_TTL = 300.0, 1800.0
DEFAULT_INTERVAL, MIN_INTERVAL, MAX_INTERVAL = 5.0, 0.01, 60.0
# Zoho's older documents give the device flow's numbers in milliseconds: an interval above
# this many seconds, or a code lifetime above MAX_DEVICE_TTL, is read as milliseconds.
MS_INTERVAL_THRESHOLD = 100.0

Post = Callable[[str, Mapping[str, str]], dict[str, Any]]


class OAuthApp(NamedTuple):
    """A Zoho OAuth client at one accounts server. ``repr`` never shows the secret."""

    accounts: str
    client_id: str
    client_secret: str = ""

    def __repr__(self) -> str:
        return f"OAuthApp(accounts={self.accounts!r}, client_id={self.client_id!r})"


class Tokens(NamedTuple):
    access_token: str
    expires_at: float  # wall-clock seconds (time.time())
    api_domain: str | None
    refresh_token: str | None
    scope: str | None = None

    def __repr__(self) -> str:
        return f"Tokens(expires_at={self.expires_at!r}, api_domain={self.api_domain!r})"


class DeviceCode(NamedTuple):
    user_code: str
    device_code: str
    verification_url: str
    expires_in: float
    interval: float


_ERROR_TEXT = {
    "invalid_client": "Zoho does not know this client id",
    "invalid_code": "the code or refresh token was rejected (wrong, used, expired or revoked)",
    "invalid_client_secret": "the client secret is wrong",
    "access_denied": "access was denied",
    "Access Denied": "Zoho refused: too many token requests in a short time; wait a few minutes",
    "expired": "the code expired before it was approved",
}


def number(raw: object, *, default: float, low: float, high: float) -> float:
    """A number from an answer, ``default`` when absent or not a finite number, clamped to
    [low, high]. Strings such as ``"1e400"`` or ``"nan"`` never get through."""
    if isinstance(raw, bool):
        return default
    try:
        value = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return default
    if not math.isfinite(value):
        return default
    return min(max(value, low), high)


def header_safe(value: object) -> bool:
    """True for a token that can go into an HTTP header as is."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= 4096
        and value.isascii()
        and value.isprintable()
        and " " not in value
    )


def _check(
    body: dict[str, Any], what: str, hints: Mapping[str, str] | None = None
) -> dict[str, Any]:
    error = body.get("error")
    if error:
        text = _ERROR_TEXT.get(str(error), str(error))
        raise CredentialsError(
            f"{what} failed: {text} ({str(error)[:80]!r})", hint=(hints or {}).get(str(error))
        )
    if not body.get("access_token"):
        raise NetworkError(f"{what} failed: Zoho's answer has no access token")
    for name in ("access_token", "refresh_token"):
        if name in body and not header_safe(body[name]):
            raise NetworkError(
                f"{what} failed: the {name.replace('_', ' ')} in Zoho's answer is not a "
                "usable token (not printable ASCII)"
            )
    return body


def _tokens(body: dict[str, Any], now: float) -> Tokens:
    raw = body.get("expires_in_sec", body.get("expires_in"))
    lifetime = number(raw, default=DEFAULT_TOKEN_LIFETIME, low=0.0, high=math.inf)
    if lifetime > MAX_TOKEN_LIFETIME and "expires_in_sec" not in body:
        lifetime /= 1000  # Zoho's older answers give milliseconds
    if lifetime <= 0:
        lifetime = DEFAULT_TOKEN_LIFETIME
    lifetime = min(lifetime, MAX_TOKEN_LIFETIME)
    domain, refresh, scope = body.get("api_domain"), body.get("refresh_token"), body.get("scope")
    return Tokens(
        access_token=body["access_token"],
        expires_at=now + lifetime,
        api_domain=domain if isinstance(domain, str) and domain else None,
        refresh_token=refresh if isinstance(refresh, str) and refresh else None,
        scope=scope if isinstance(scope, str) else None,
    )


def _grant(
    post: Post,
    app: OAuthApp,
    fields: Mapping[str, str],
    *,
    what: str,
    now: Callable[[], float],
    hints: Mapping[str, str] | None = None,
) -> Tokens:
    body = post(f"{app.accounts}/oauth/v2/token", fields)
    return _tokens(_check(body, what, hints), now())


def code_hint(accounts: str) -> str:
    """What to do about a grant code Zoho (or the sandbox) refused: it works once, and
    only for minutes."""
    from urllib.parse import urlsplit

    from zbulk.config import is_loopback_host

    if is_loopback_host(urlsplit(accounts).hostname or ""):
        return (
            "a sandbox grant code works once, for 3 minutes: stop the sandbox (Ctrl-C) and "
            "run `zbulk sandbox` again, then run the `zbulk auth login --self-client …` "
            "line it prints"
        )
    return (
        "a grant code works once, for the minutes chosen when it was made: generate a new "
        "one at https://api-console.zoho.com (Self Client, Generate Code) and run "
        "`zbulk auth login --self-client` again"
    )


def exchange_code(
    post: Post, app: OAuthApp, code: str, *, now: Callable[[], float] = time.time
) -> Tokens:
    """Self client: trade a grant code for an access and a refresh token."""
    fields = {
        "grant_type": "authorization_code",
        "client_id": app.client_id,
        "client_secret": app.client_secret,
        "code": code,
    }
    tokens = _grant(
        post,
        app,
        fields,
        what="exchanging the grant code",
        now=now,
        hints={"invalid_code": code_hint(app.accounts)},
    )
    if not tokens.refresh_token:
        raise CredentialsError(
            "Zoho returned no refresh token for this grant code",
            hint="generate the code with access type offline (Self Client does by default)",
        )
    return tokens


def refresh(
    post: Post, app: OAuthApp, refresh_token: str, *, now: Callable[[], float] = time.time
) -> Tokens:
    """A new access token from the refresh token (at most 10 per 10 minutes at Zoho)."""
    fields = {
        "grant_type": "refresh_token",
        "client_id": app.client_id,
        "client_secret": app.client_secret,
        "refresh_token": refresh_token,
    }
    return _grant(post, app, fields, what="refreshing the access token", now=now)


def revoke(post: Post, app: OAuthApp, token: str) -> None:
    """Revoke a refresh token at Zoho (``/oauth/v2/token/revoke``)."""
    body = post(f"{app.accounts}/oauth/v2/token/revoke", {"token": token})
    if body.get("error") or body.get("status") not in (None, "success"):
        error = body.get("error") or body.get("error_description") or body.get("status")
        raise CredentialsError(f"revoking the refresh token at Zoho failed: {str(error)[:200]}")


def request_device_code(post: Post, app: OAuthApp) -> DeviceCode:
    body = post(
        f"{app.accounts}/oauth/v3/device/code",
        {
            "client_id": app.client_id,
            "grant_type": "device_request",
            "scope": SCOPE,
            "access_type": "offline",
        },
    )
    if body.get("error"):
        _check(body, "starting the device login")
    fields = [body.get(k) for k in ("user_code", "device_code", "verification_url")]
    if not all(isinstance(f, str) and f and f.isprintable() for f in fields):
        raise NetworkError("starting the device login failed: Zoho's answer is incomplete")
    ttl = number(body.get("expires_in"), default=DEFAULT_DEVICE_TTL, low=0.0, high=math.inf)
    if ttl > MAX_DEVICE_TTL:
        ttl /= 1000  # milliseconds
    interval = number(body.get("interval"), default=DEFAULT_INTERVAL, low=0.0, high=math.inf)
    if interval > MS_INTERVAL_THRESHOLD:
        interval /= 1000  # milliseconds
    return DeviceCode(
        user_code=str(fields[0]),
        device_code=str(fields[1]),
        verification_url=str(fields[2]),
        expires_in=min(max(ttl, 1.0), MAX_DEVICE_TTL) if ttl > 0 else DEFAULT_DEVICE_TTL,
        interval=min(max(interval, MIN_INTERVAL), MAX_INTERVAL),
    )


def poll_device(
    post: Post,
    app: OAuthApp,
    code: DeviceCode,
    *,
    known: Mapping[str, DataCentre] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    now: Callable[[], float] = time.time,
    on_switch: Callable[[DataCentre], None] | None = None,
) -> tuple[Tokens, str]:
    """Poll until the user approves the code; return the tokens and the accounts server
    that issued them (``other_dc`` moves polling to the user's own data centre)."""
    accounts = app.accounts
    interval = code.interval
    deadline = clock() + code.expires_in
    while True:
        sleep(interval)
        if clock() > deadline:
            raise CredentialsError(
                "the device code expired before it was approved",
                hint="run the login again and approve sooner",
            )
        body = post(
            f"{accounts}/oauth/v3/device/token",
            {
                "client_id": app.client_id,
                "client_secret": app.client_secret,
                "grant_type": "device_token",
                "code": code.device_code,
            },
        )
        error = body.get("error")
        if error == "authorization_pending":
            continue
        if error == "slow_down":
            interval = max(interval, SLOW_DOWN_INTERVAL)
            continue
        if error == "other_dc":
            dc = for_location(str(body.get("user_location") or ""), known or {})
            if dc.accounts == accounts:
                raise CredentialsError("Zoho sent the login to the data centre it came from")
            accounts = dc.accounts
            if on_switch:
                on_switch(dc)
            continue
        return _tokens(_check(body, "the device login"), now()), accounts
