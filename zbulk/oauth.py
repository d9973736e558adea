"""Zoho OAuth: data centres, the token endpoint and the device flow. Prints nothing.

Zoho answers most OAuth errors with HTTP 200 and ``{"error": "…"}``: every answer's
body is checked, not only its status.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from zbulk.errors import CredentialsError, NetworkError

SCOPE = "ZohoCRM.bulk.ALL"
DEFAULT_DC = "us"
SLOW_DOWN_INTERVAL = 30.0  # after "slow_down", poll at most once per 30 s


class DataCentre(NamedTuple):
    name: str
    accounts: str
    api_domain: str


DATA_CENTRES: dict[str, DataCentre] = {
    dc.name: dc
    for dc in (
        DataCentre("us", "https://accounts.zoho.com", "https://www.zohoapis.com"),
        DataCentre("eu", "https://accounts.zoho.eu", "https://www.zohoapis.eu"),
        DataCentre("in", "https://accounts.zoho.in", "https://www.zohoapis.in"),
        DataCentre("au", "https://accounts.zoho.com.au", "https://www.zohoapis.com.au"),
        DataCentre("jp", "https://accounts.zoho.jp", "https://www.zohoapis.jp"),
        DataCentre("ca", "https://accounts.zohocloud.ca", "https://www.zohoapis.ca"),
        DataCentre("sa", "https://accounts.zoho.sa", "https://www.zohoapis.sa"),
        DataCentre("uk", "https://accounts.zoho.uk", "https://www.zohoapis.uk"),
        DataCentre("cn", "https://accounts.zoho.com.cn", "https://www.zohoapis.com.cn"),
    )
}


class Tokens(NamedTuple):
    access_token: str
    expires_at: float  # wall-clock seconds (time.time())
    api_domain: str | None
    refresh_token: str | None


class DeviceCode(NamedTuple):
    user_code: str
    device_code: str
    verification_url: str
    expires_in: float
    interval: float


Post = Callable[[str, Mapping[str, str]], dict[str, Any]]

_ERROR_TEXT = {
    "invalid_client": "Zoho does not know this client id and secret",
    "invalid_code": "the code or refresh token was rejected (wrong, used, expired or revoked)",
    "invalid_client_secret": "the client secret is wrong",
    "access_denied": "access was denied",
    "Access Denied": "Zoho refused: too many token requests in a short time; wait a few minutes",
    "expired": "the code expired before it was approved",
}


def data_centre(name: str, overrides: Mapping[str, DataCentre] | None = None) -> DataCentre:
    """A data centre by its code (``eu``), or a URL serving both the accounts endpoints and
    the API (a private deployment, or ``zbulk sandbox``)."""
    if "://" in name:
        from zbulk.config import check_api_domain

        url = check_api_domain(name)
        return DataCentre(url, url, url)
    known = {**DATA_CENTRES, **(overrides or {})}
    dc = known.get(name.lower())
    if dc is None:
        from zbulk.errors import UsageError

        raise UsageError(
            f"unknown data centre {name!r}", hint=f"use one of: {', '.join(sorted(known))}"
        )
    return dc


def data_centre_for_location(location: str, overrides: Mapping[str, DataCentre]) -> DataCentre:
    """The DC named by a device flow's ``user_location`` (a DC code, or an accounts URL)."""
    known = {**DATA_CENTRES, **overrides}
    loc = location.strip().rstrip("/").lower()
    for dc in known.values():
        if loc in (dc.name, dc.accounts.lower(), dc.accounts.lower().split("://", 1)[-1]):
            return dc
    raise CredentialsError(
        f"Zoho says your account lives in data centre {location!r}, which zbulk does not know",
        hint="log in again with --dc set to your data centre",
    )


def _check(body: dict[str, Any], what: str) -> dict[str, Any]:
    error = body.get("error")
    if error:
        text = _ERROR_TEXT.get(str(error), str(error))
        raise CredentialsError(f"{what} failed: {text} ({error})")
    if not isinstance(body.get("access_token"), str) or not body["access_token"]:
        raise NetworkError(f"{what} failed: Zoho's answer has no access token")
    return body


def _tokens(body: dict[str, Any], now: float) -> Tokens:
    try:
        lifetime = float(body.get("expires_in") or 3600)
    except (TypeError, ValueError):
        lifetime = 3600.0
    domain = body.get("api_domain")
    refresh = body.get("refresh_token")
    return Tokens(
        access_token=body["access_token"],
        expires_at=now + lifetime,
        api_domain=domain if isinstance(domain, str) and domain else None,
        refresh_token=refresh if isinstance(refresh, str) and refresh else None,
    )


def _grant(post: Post, accounts: str, fields: Mapping[str, str], what: str,
           now: Callable[[], float]) -> Tokens:  # fmt: skip
    return _tokens(_check(post(f"{accounts}/oauth/v2/token", fields), what), now())


def exchange_code(post: Post, accounts: str, client_id: str, client_secret: str, code: str,
                  now: Callable[[], float] = time.time) -> Tokens:  # fmt: skip
    """Self client: trade a grant code for an access and a refresh token."""
    tokens = _grant(
        post, accounts,
        {"grant_type": "authorization_code", "client_id": client_id,
         "client_secret": client_secret, "code": code},
        "exchanging the grant code", now,
    )  # fmt: skip
    if not tokens.refresh_token:
        raise CredentialsError(
            "Zoho returned no refresh token for this grant code",
            hint="generate the code with access type offline (Self Client does by default)",
        )
    return tokens


def refresh(post: Post, accounts: str, client_id: str, client_secret: str, refresh_token: str,
            now: Callable[[], float] = time.time) -> Tokens:  # fmt: skip
    """A new access token from the refresh token (at most 10 per 10 minutes at Zoho)."""
    return _grant(
        post, accounts,
        {"grant_type": "refresh_token", "client_id": client_id,
         "client_secret": client_secret, "refresh_token": refresh_token},
        "refreshing the access token", now,
    )  # fmt: skip


def request_device_code(post: Post, accounts: str, client_id: str) -> DeviceCode:
    body = post(
        f"{accounts}/oauth/v3/device/code",
        {"client_id": client_id, "grant_type": "device_request", "scope": SCOPE,
         "access_type": "offline"},
    )  # fmt: skip
    if body.get("error"):
        _check(body, "starting the device login")
    try:
        return DeviceCode(
            user_code=str(body["user_code"]),
            device_code=str(body["device_code"]),
            verification_url=str(body["verification_url"]),
            expires_in=float(body.get("expires_in") or 300),
            interval=max(float(body.get("interval") or 5), 0.0),
        )
    except (KeyError, TypeError, ValueError):
        raise NetworkError(
            "starting the device login failed: Zoho's answer is incomplete"
        ) from None


def poll_device(
    post: Post,
    accounts: str,
    client_id: str,
    client_secret: str,
    code: DeviceCode,
    *,
    overrides: Mapping[str, DataCentre] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    now: Callable[[], float] = time.time,
    on_switch: Callable[[DataCentre], None] | None = None,
) -> tuple[Tokens, str]:
    """Poll until the user approves the code; return the tokens and the accounts server
    that issued them (``other_dc`` moves polling to the user's own data centre)."""
    interval = code.interval
    deadline = clock() + code.expires_in
    while True:
        sleep(interval)
        if clock() > deadline:
            raise CredentialsError("the device code expired before it was approved",
                                   hint="run the login again and approve sooner")  # fmt: skip
        body = post(
            f"{accounts}/oauth/v3/device/token",
            {"client_id": client_id, "client_secret": client_secret,
             "grant_type": "device_token", "code": code.device_code},
        )  # fmt: skip
        error = body.get("error")
        if error == "authorization_pending":
            continue
        if error == "slow_down":
            interval = max(interval, SLOW_DOWN_INTERVAL)
            continue
        if error == "other_dc":
            dc = data_centre_for_location(str(body.get("user_location") or ""), overrides or {})
            if dc.accounts == accounts:
                raise CredentialsError("Zoho sent the login to the data centre it came from")
            accounts = dc.accounts
            if on_switch:
                on_switch(dc)
            continue
        return _tokens(_check(body, "the device login"), now()), accounts
