"""Logging in, status and logging out: the core of ``zbulk auth``. Prints nothing;
callers pass in prompts and the output functions they want used."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from zbulk import config, oauth
from zbulk.credentials import (
    TOKEN_ENV,
    FileStore,
    KeyringStore,
    SecretStore,
    login_command,
    store_for,
)
from zbulk.errors import CredentialsError

# Keys of a profile's config table that belong to its login (removed by logout).
LOGIN_KEYS = ("credential", "login", "storage", "client_id", "accounts_url", "dc")


def pick_store(
    profile: str, insecure: bool, directory: Path, warn: Callable[[str], None]
) -> SecretStore:
    """The keyring, checked usable now (before a grant code is spent); or, only when
    asked, the owner-only file."""
    if insecure:
        return FileStore(directory / "secrets", warn)
    store = KeyringStore()
    store.backend()  # raises CredentialsError with the cause and the alternatives
    store.load(profile)  # a locked or hung keyring shows itself here, bounded in time
    return store


def _save(
    profile: str,
    store: SecretStore,
    secrets: Mapping[str, Any],
    values: Mapping[str, Any],
    env: Mapping[str, str] | None,
) -> None:
    store.save(profile, secrets)
    values = {**values, "storage": store.kind}
    stale = tuple(k for k in LOGIN_KEYS if k not in values)
    config.update_profile(profile, values, remove=stale, env=env)
    other = "file" if store.kind == "keyring" else "keyring"
    # A login moved between stores: leave no copy of the secrets behind.
    if other == "file":
        FileStore(config.config_dir(env) / "secrets").delete(profile)


def with_token(profile: str, token: str, dc: oauth.DataCentre, store: SecretStore,
               env: Mapping[str, str] | None = None) -> None:  # fmt: skip
    """Keep a pasted access token (it lives an hour at Zoho and cannot be refreshed)."""
    _save(profile, store, {"access_token": token},
          {"credential": "access_token", "login": "token", "dc": dc.name,
           "api_domain": dc.api_domain}, env)  # fmt: skip


def self_client(
    profile: str,
    dc: oauth.DataCentre,
    client_id: str,
    client_secret: str,
    code: str,
    store: SecretStore,
    post: oauth.Post,
    env: Mapping[str, str] | None = None,
) -> oauth.Tokens:
    tokens = oauth.exchange_code(post, dc.accounts, client_id, client_secret, code)
    _keep(profile, dc, dc.accounts, client_id, client_secret, tokens, "self_client", store, env)
    return tokens


def device(
    profile: str,
    dc: oauth.DataCentre,
    client_id: str,
    client_secret: str,
    store: SecretStore,
    post: oauth.Post,
    show_code: Callable[[oauth.DeviceCode], None],
    on_switch: Callable[[oauth.DataCentre], None],
    env: Mapping[str, str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> oauth.Tokens:
    code = oauth.request_device_code(post, dc.accounts, client_id)
    show_code(code)
    switched: list[oauth.DataCentre] = []

    def switch(to: oauth.DataCentre) -> None:
        switched.append(to)
        on_switch(to)

    tokens, accounts = oauth.poll_device(
        post, dc.accounts, client_id, client_secret, code,
        overrides=config.data_centre_overrides(env), sleep=sleep, clock=clock, on_switch=switch,
    )  # fmt: skip
    final = switched[-1] if switched else dc
    _keep(profile, final, accounts, client_id, client_secret, tokens, "device", store, env)
    return tokens


def _keep(profile: str, dc: oauth.DataCentre, accounts: str, client_id: str,
          client_secret: str, tokens: oauth.Tokens, how: str, store: SecretStore,
          env: Mapping[str, str] | None) -> None:  # fmt: skip
    secrets = {
        "refresh_token": tokens.refresh_token,
        "client_secret": client_secret,
        "access_token": tokens.access_token,
        "expires_at": tokens.expires_at,
    }
    api_domain = config.check_api_domain(tokens.api_domain or dc.api_domain)
    _save(profile, store, secrets,
          {"credential": "refresh_token", "login": how, "dc": dc.name, "accounts_url": accounts,
           "client_id": client_id, "api_domain": api_domain}, env)  # fmt: skip


def status(
    active: str,
    env: Mapping[str, str],
    warn: Callable[[str], None] | None = None,
    now: Callable[[], float] = time.time,
) -> list[dict[str, Any]]:
    """One entry per profile (and one for ZBULK_TOKEN when set); never a secret."""
    entries: list[dict[str, Any]] = []
    if env.get(TOKEN_ENV) is not None:
        entries.append({"profile": None, "active": True, "source": "environment",
                        "kind": "access token", "detail": f"{TOKEN_ENV} is set and wins over "
                        "every stored login"})  # fmt: skip
    directory = config.config_dir(env)
    for name, table in sorted(config.profiles(env).items()):
        if table.get("credential") not in ("access_token", "refresh_token"):
            continue
        entry: dict[str, Any] = {
            "profile": name,
            "active": name == active and env.get(TOKEN_ENV) is None,
            "source": table.get("storage", "keyring"),
            "kind": "refresh token" if table["credential"] == "refresh_token" else "access token",
            "login": table.get("login"),
            "dc": table.get("dc"),
            "api_domain": table.get("api_domain"),
            "client_id": table.get("client_id"),
            "expires_at": None,
            "login_command": login_command(name, table),
        }
        store = store_for(str(table.get("storage")), directory, warn)
        try:
            secrets = store.load(name)
        except CredentialsError as exc:
            entry["error"] = exc.message
        else:
            entry["stored_in"] = store.where
            if not secrets:
                entry["error"] = f"no secrets in {store.where}"
            elif isinstance(secrets.get("expires_at"), int | float):
                entry["expires_at"] = secrets["expires_at"]
                entry["expires_in"] = round(secrets["expires_at"] - now())
        entries.append(entry)
    return entries


def logout(names: list[str], env: Mapping[str, str] | None = None,
           warn: Callable[[str], None] | None = None) -> list[tuple[str, bool]]:  # fmt: skip
    """Remove each profile's secrets and login settings; (name, had secrets) for each."""
    directory = config.config_dir(env)
    done = []
    for name in names:
        table = config.load_profile(name, env)
        store = store_for(str(table.get("storage")), directory, warn)
        removed = store.delete(name) if table.get("credential") else False
        if table:
            config.update_profile(name, {}, remove=LOGIN_KEYS, env=env)
        done.append((name, removed))
    return done


def logged_in_profiles(env: Mapping[str, str] | None = None) -> list[str]:
    return [n for n, t in config.profiles(env).items() if t.get("credential")]
