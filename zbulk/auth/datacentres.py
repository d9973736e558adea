"""Zoho's data centres: each one's accounts server and API domain, plus the
``[data_centres.NAME]`` tables of ``config.toml`` (a private deployment, or the sandbox)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

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


def overrides(env: Mapping[str, str] | None = None) -> dict[str, DataCentre]:
    """Extra or replaced data centres from ``[data_centres.NAME]`` tables of config.toml
    (``accounts`` and ``api_domain``)."""
    from zbulk import config

    found: dict[str, DataCentre] = {}
    for name, table in config.data_centre_tables(env).items():
        if table.get("accounts") and table.get("api_domain"):
            found[name.lower()] = DataCentre(
                name.lower(),
                config.check_api_domain(str(table["accounts"])),
                config.check_api_domain(str(table["api_domain"])),
            )
    return found


def data_centre(name: str, known: Mapping[str, DataCentre] | None = None) -> DataCentre:
    """A data centre by its code (``eu``), or a URL serving both the accounts endpoints and
    the API (a private deployment, or ``zbulk sandbox``)."""
    if "://" in name:
        from zbulk.config import check_api_domain

        url = check_api_domain(name)
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
