"""The login records: a machine-owned JSON file beside ``config.toml`` (``logins.json``),
one record per profile, changed only under the config dir's lock and replaced atomically,
so parallel logins of different profiles all survive.

A profile logged in by an older zbulk has its record in its ``config.toml`` table; it is
read from there, and moved out (in place, comments kept) by the next login or logout.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from zbulk import config
from zbulk.auth.model import LoginMode, LoginRecord, Storage
from zbulk.errors import CredentialsError

VERSION = 1


def _legacy(table: Mapping[str, object], env: Mapping[str, str] | None) -> LoginRecord | None:
    if table.get("credential") not in ("access_token", "refresh_token"):
        return None
    mode = str(table.get("login") or "")
    if mode not in tuple(LoginMode):
        mode = "token" if table.get("credential") == "access_token" else "self_client"
    data = {**table, "mode": mode, "storage": table.get("storage") or "keyring"}
    data.setdefault("api_domain", config.DEFAULT_API_DOMAIN)
    data.setdefault("dc", "us")
    return LoginRecord.from_json(data, str(config.config_path(env)))


def load(profile: str, env: Mapping[str, str] | None = None) -> LoginRecord | None:
    """The profile's login record; None when it is not logged in."""
    raw = config.read_logins(env).get(profile)
    if raw is not None:
        return LoginRecord.from_json(raw, str(config.logins_path(env)))
    return _legacy(config.load_profile(profile, env), env)


def all_records(env: Mapping[str, str] | None = None) -> dict[str, LoginRecord | CredentialsError]:
    """Every logged-in profile with a valid name: its record, or why it cannot be read.
    Names that could not be a profile (``../../x``) are left out: no path is built of them."""
    found: dict[str, LoginRecord | CredentialsError] = {}
    candidates = dict.fromkeys(config.read_logins(env), "logins")
    candidates.update(
        {
            n: "config"
            for n, t in config.profiles(env).items()
            if t.get("credential") and n not in candidates
        }
    )
    for name in candidates:
        if not valid_name(name):
            continue
        try:
            record = load(name, env)
        except CredentialsError as exc:
            found[name] = exc
        else:
            if record is not None:
                found[name] = record
    return dict(sorted(found.items()))


def valid_name(name: object) -> bool:
    try:
        config.check_profile_name(name)  # type: ignore[arg-type]
    except (config.UsageError, TypeError):
        return False
    return True


def _write(profiles: Mapping[str, object], env: Mapping[str, str] | None) -> None:
    text = json.dumps({"version": VERSION, "profiles": profiles}, indent=2, sort_keys=True)
    config.write_atomic(config.logins_path(env), text + "\n")


def save(profile: str, record: LoginRecord, env: Mapping[str, str] | None = None) -> None:
    """Keep ``record`` for ``profile`` (the rest untouched), under the lock, atomically."""
    config.check_profile_name(profile)
    with config.locked(env):
        profiles = dict(config.read_logins(env))
        profiles[profile] = record.as_json()
        _write(profiles, env)
        _drop_legacy(profile, env)


def remove(profile: str, env: Mapping[str, str] | None = None) -> bool:
    """Forget the profile's login; True if there was one."""
    with config.locked(env):
        profiles = dict(config.read_logins(env))
        had = profiles.pop(profile, None) is not None
        if had:
            _write(profiles, env)
        return _drop_legacy(profile, env) or had


def _drop_legacy(profile: str, env: Mapping[str, str] | None) -> bool:
    table = config.load_profile(profile, env)
    keys = tuple(k for k in config.LEGACY_LOGIN_KEYS if k in table)
    if not (table.get("credential") and keys):
        return False
    return config.edit(env, drop={profile: keys})


__all__ = ["LoginMode", "LoginRecord", "Storage", "all_records", "load", "remove", "save"]
