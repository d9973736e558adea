"""The org id uploads carry (``X-CRM-ORG``, Zoho's ``zgid``): from ``--org``, then
``ZBULK_ORG_ID``, then the profile (``org_id`` in its ``config.toml`` table, set by the user,
or the one zbulk kept), else one ``GET /crm/{version}/org`` whose answer is kept.

What zbulk keeps is machine-owned state beside ``config.toml`` (``orgs.json``, one entry per
profile and API domain, replaced atomically), never the user's config file. Not secret.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from contextlib import suppress
from typing import Any, NamedTuple

from zbulk.errors import ApiError, UsageError


class Org(NamedTuple):
    id: str
    name: str | None
    origin: str  # where it came from: "--org", "ZBULK_ORG_ID", "the profile", "the API"


def check_org_id(value: str, origin: str) -> str:
    value = value.strip()
    if not (value.isascii() and value.isdigit() and len(value) <= 30):
        raise UsageError(
            f"{origin} {value!r} is not an org id: it is all digits (the zgid of `GET /crm/v8/org`)"
        )
    return value


def _path(env: Mapping[str, str] | None = None) -> Any:
    from zbulk.config import config_dir

    return config_dir(env) / "orgs.json"


def _key(profile: str, api_domain: str) -> str:
    return f"{profile} {api_domain}"


def _read(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    try:
        data = json.loads(_path(env).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def known(
    option: str | None, profile: str, api_domain: str, env: Mapping[str, str] | None = None
) -> Org | None:
    """The org id if it is known without asking the API; None otherwise."""
    env = os.environ if env is None else env
    if option is not None:
        return Org(check_org_id(option, "--org"), None, "--org")
    if env.get("ZBULK_ORG_ID"):
        return Org(check_org_id(env["ZBULK_ORG_ID"], "ZBULK_ORG_ID"), None, "ZBULK_ORG_ID")
    from zbulk.config import load_profile

    configured = load_profile(profile, env).get("org_id")
    if configured is not None:
        return Org(check_org_id(str(configured), "the profile's org_id"), None, "the profile")
    kept = _read(env).get(_key(profile, api_domain))
    if isinstance(kept, dict) and isinstance(kept.get("id"), str) and _digits(kept["id"]):
        name = kept.get("name") if isinstance(kept.get("name"), str) else None
        return Org(kept["id"], name, "the profile")
    return None


def _digits(value: str) -> bool:
    """ASCII digits only (``str.isdigit`` also takes ``１２３`` and ``²``)."""
    return value.isascii() and value.isdigit()


def from_answer(doc: Mapping[str, Any]) -> Org:
    """The org in a ``GET /crm/{version}/org`` answer: ``{"org": [{"zgid", …}]}``."""
    orgs = doc.get("org")
    first = orgs[0] if isinstance(orgs, list) and orgs and isinstance(orgs[0], dict) else {}
    zgid = first.get("zgid")
    if isinstance(zgid, int) and not isinstance(zgid, bool):
        zgid = str(zgid)
    if not isinstance(zgid, str) or not _digits(zgid):
        raise ApiError(
            "the org answer holds no org id (zgid)", hint="pass it with --org, or set ZBULK_ORG_ID"
        )
    name = first.get("company_name")
    return Org(zgid, name if isinstance(name, str) else None, "the API")


def keep(profile: str, api_domain: str, org: Org, env: Mapping[str, str] | None = None) -> None:
    """Remember the org for the profile and API domain. A convenience: failing to write
    never fails the command (the next one asks the API again)."""
    path = _path(env)
    with suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        data = _read(env)
        data[_key(profile, api_domain)] = {"id": org.id, "name": org.name}
        tmp = path.with_name(f".orgs.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, path)
