"""Zoho's data centres: each one's accounts server, API domain and upload host, plus the
``[data_centres.NAME]`` tables of ``config.toml`` (a private deployment, or the sandbox)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import NamedTuple
from urllib.parse import urlsplit

from zbulk.errors import CredentialsError, UsageError

DEFAULT_DC = "us"


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


# Upload hosts by the API domain's suffix: Zoho's upload page names the faster upload-accl
# hosts for .com, .eu and .in; for the others, the hosts Zoho's Python SDK uses
# (zohocrmsdk8-0, src/com/zoho/crm/api/dc/*_data_center.py).
UPLOAD_HOSTS: dict[str, str] = {
    "com": "upload-accl.zoho.com",
    "eu": "upload-accl.zoho.eu",
    "in": "upload-accl.zoho.in",
    "com.au": "content.zohoapis.com.au",
    "jp": "content.zohoapis.jp",
    "uk": "content.zohoapis.uk",
    "com.cn": "content.zohoapis.com.cn",
    "ca": "upload.zohocloud.ca",
    "sa": "files.zoho.sa",
}
# Zoho's API domains: production (www), and its sandbox and developer orgs, per data centre.
_ZOHO_API_HOST = r"(?:www|sandbox|developer)\.zohoapis\.(com\.au|com\.cn|com|eu|in|jp|uk|ca|sa)"


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    return (
        scheme,
        (parts.hostname or "").lower(),
        parts.port or {"http": 80, "https": 443}.get(scheme),
    )


def configured_upload(api_domain: str, env: Mapping[str, str] | None = None) -> str | None:
    """The ``upload`` of the ``[data_centres.NAME]`` table whose ``api_domain`` is this one
    (``zbulk.config.configured_upload``: the URL gate reads it too, below auth)."""
    from zbulk import config

    return config.configured_upload(api_domain, env)


def upload_origin(api_domain: str, env: Mapping[str, str] | None = None) -> str:
    """Where uploads for ``api_domain`` go (scheme, host and port): the upload host configured
    for it, else Zoho's for its data centre, else (a loopback domain: the sandbox or a local
    stand-in) the same host. Any other domain is a usage error: nothing is sent."""
    from zbulk import config

    configured = configured_upload(api_domain, env)
    if configured is not None:
        return configured
    scheme, host, port = _origin(api_domain)
    if config.is_loopback_host(host):
        return api_domain.strip().rstrip("/")
    found = re.fullmatch(_ZOHO_API_HOST, host)
    if found is not None and scheme == "https" and port == 443:
        return f"https://{UPLOAD_HOSTS[found[1]]}"
    names = [
        n
        for n, t in config.data_centre_tables(env).items()
        if isinstance(t.get("api_domain"), str) and _origin(t["api_domain"]) == _origin(api_domain)
    ]
    key = f"data_centres.{names[0] if names else 'custom'}"
    first = "" if names else f"zbulk config set {key}.api_domain {api_domain.rstrip('/')} && "
    raise UsageError(
        f"no upload host is known for the API domain {api_domain.rstrip('/')}: it is not one "
        "of Zoho's data centres; nothing was sent",
        hint=f"name your upload host: {first}zbulk config set {key}.upload https://<upload host>",
    )


def overrides(env: Mapping[str, str] | None = None) -> dict[str, DataCentre]:
    """Extra or replaced data centres from ``[data_centres.NAME]`` tables of config.toml
    (``accounts`` and ``api_domain``)."""
    from zbulk import config

    found: dict[str, DataCentre] = {}
    for name, table in config.data_centre_tables(env).items():
        if table.get("accounts") and table.get("api_domain"):
            where = f"[data_centres.{name}] in {config.config_path(env)}"
            found[name.lower()] = DataCentre(
                name.lower(),
                config.check_api_domain(str(table["accounts"]), f"accounts of {where}"),
                config.check_api_domain(str(table["api_domain"]), f"api_domain of {where}"),
            )
    return found


def accounts_servers(known: Mapping[str, DataCentre] | None = None) -> list[str]:
    """Every accounts server credentials may go to: the known data centres' and those of
    the ``[data_centres.NAME]`` tables (the HTTP layer's ``AccountsGate`` allow-list)."""
    return [dc.accounts for dc in {**DATA_CENTRES, **(known or {})}.values()]


def data_centre(name: str, known: Mapping[str, DataCentre] | None = None) -> DataCentre:
    """A data centre by its code (``eu``), or a URL serving both the accounts endpoints and
    the API (a private deployment, or ``zbulk sandbox``)."""
    if "://" in name:
        from zbulk.config import check_api_domain

        url = check_api_domain(name, "--dc")
        return DataCentre(url, url, url)
    every = {**DATA_CENTRES, **(known or {})}
    dc = every.get(name.lower())
    if dc is None:
        raise UsageError(
            f"unknown data centre {name!r}", hint=f"use one of: {', '.join(sorted(every))}"
        )
    return dc


def for_location(location: str, known: Mapping[str, DataCentre]) -> DataCentre:
    """The DC named by a device flow's ``user_location`` (a DC code, or an accounts URL)."""
    every = {**DATA_CENTRES, **known}
    loc = location.strip().rstrip("/").lower()
    for dc in every.values():
        if loc in (dc.name, dc.accounts.lower(), dc.accounts.lower().split("://", 1)[-1]):
            return dc
    raise CredentialsError(
        f"Zoho says your account lives in data centre {location!r}, which zbulk does not know",
        hint="log in again with --dc set to your data centre",
    )
