"""The org id uploads carry (``X-CRM-ORG``, Zoho's ``zgid``): from ``--org``, then
``ZBULK_ORG_ID``, then the profile (``org_id`` in its ``config.toml`` table, set by the user,
or the one zbulk kept), else one ``GET /crm/{version}/org`` whose answer is kept.

What zbulk keeps is machine-owned state: ``orgs.json`` in the state directory (one entry per
profile and API domain, replaced atomically through ``zbulk.files``), never the user's config
file. Not secret. An older zbulk kept it beside ``config.toml``: that file is still read
when the state directory has none, and removed once the new one is written.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from contextlib import suppress
from pathlib import Path
from typing import Any, NamedTuple

from zbulk.errors import ApiError, UsageError
from zbulk.files import LocalFileError, config_dir, state_dir, write_private

ORGS_FILE = "orgs.json"
MAX_BYTES = 1 << 20  # a bigger cache is junk: ignored, and replaced on the next write


class Org(NamedTuple):
    id: str
    name: str | None
    origin: str  # where it came from: "--org", "ZBULK_ORG_ID", "the profile", "the API"


def is_org_id(value: object) -> bool:
    """An org id is ASCII digits (``１２３`` is not: ``str.isdigit`` says it is)."""
    return isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 30


def check_org_id(value: str, origin: str) -> str:
    value = value.strip()
    if not is_org_id(value):
        raise UsageError(
            f"{origin} {value!r} is not an org id: it is all digits (the zgid of `GET /crm/v8/org`)"
        )
    return value


def _path(env: Mapping[str, str] | None = None) -> Path:
    return state_dir(env) / ORGS_FILE


def _old_path(env: Mapping[str, str] | None = None) -> Path:
    """Where an older zbulk kept the cache: in the config directory."""
    return config_dir(env) / ORGS_FILE


def _key(profile: str, api_domain: str) -> str:
    return f"{profile} {api_domain}"


def _read(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    for path in (_path(env), _old_path(env)):
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            continue
        except OSError:
            return {}
        try:
            data = json.loads(raw[:MAX_BYTES].decode("utf-8")) if len(raw) <= MAX_BYTES else {}
        except (ValueError, UnicodeDecodeError, RecursionError):
            return {}
        return data if isinstance(data, dict) else {}
    return {}


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
    if isinstance(kept, dict) and is_org_id(kept.get("id")):
        name = kept.get("name") if isinstance(kept.get("name"), str) else None
        return Org(kept["id"], name, "the profile")
    return None


def from_answer(doc: Mapping[str, Any]) -> Org:
    """The org in a ``GET /crm/{version}/org`` answer: ``{"org": [{"zgid", …}]}``."""
    orgs = doc.get("org")
    first = orgs[0] if isinstance(orgs, list) and orgs and isinstance(orgs[0], dict) else {}
    zgid = first.get("zgid")
    if isinstance(zgid, int) and not isinstance(zgid, bool):
        zgid = str(zgid)
    if not is_org_id(zgid):
        said = "holds no org id (zgid)"
        if zgid is not None:
            said = f"gives the org id {str(zgid)[:40]!r}, which is not all ASCII digits"
        raise ApiError(f"the org answer {said}", hint="pass it with --org, or set ZBULK_ORG_ID")
    name = first.get("company_name")
    return Org(str(zgid), name if isinstance(name, str) else None, "the API")


def keep(profile: str, api_domain: str, org: Org, env: Mapping[str, str] | None = None) -> None:
    """Remember the org for the profile and API domain. A convenience: failing to write
    never fails the command (the next one asks the API again)."""
    with suppress(OSError, LocalFileError):
        data = _read(env)
        data[_key(profile, api_domain)] = {"id": org.id, "name": org.name}
        write_private(_path(env), json.dumps(data, indent=2, sort_keys=True) + "\n")
        old = _old_path(env)
        if old.is_file() and not old.is_symlink():
            old.unlink()  # moved: the state directory holds it now
