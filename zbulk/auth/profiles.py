"""The profile use-cases of ``zbulk auth``: log in, show status, log out. Prints nothing;
callers pass in prompts and the output functions they want used, and get typed results.

Every login proves itself before anything is stored: one job lookup of an id that cannot
exist. ``RESOURCE_NOT_FOUND`` means the token was accepted with the bulk scope; a 401 or
``OAUTH_SCOPE_MISMATCH`` means it was not, and nothing is kept.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zbulk import config
from zbulk.auth import oauth, state, stores
from zbulk.auth.model import LoginMode, LoginRecord, ProfileStatus, Storage, login_command
from zbulk.auth.stores import (
    Deadline,
    FileStore,
    KeyringStore,
    SecretStore,
    secrets_dir,
    store_for,
)
from zbulk.auth.tokens import TOKEN_ENV
from zbulk.datacentres import DataCentre
from zbulk.errors import CredentialsError, NotFoundError, ZbulkError

#: a bulk write job id no org can have: looking it up proves a token without side effects
VERIFY_JOB_ID = "0"

#: verify(token=…, api_domain=…) raises CredentialsError when Zoho refuses the token
Verify = Callable[..., None]


@dataclass(frozen=True, kw_only=True)
class LoginResult:
    profile: str
    record: LoginRecord
    stored_in: str
    expires_at: float | None


@dataclass(frozen=True, kw_only=True)
class LogoutResult:
    profile: str
    had_secrets: bool
    revoked: bool = False
    note: str | None = None


def pick_store(profile: str, *, insecure: bool, directory: Path) -> SecretStore:
    """The keyring, checked usable now (before a grant code is spent); or, only when
    asked, the owner-only file."""
    if insecure:
        return FileStore(secrets_dir(directory))
    store = KeyringStore()
    store.backend()  # raises CredentialsError with the cause and the alternatives
    store.load(profile)  # a locked or hung keyring shows itself here, bounded in time
    return store


def verifier(lookup: Callable[..., None]) -> Verify:
    """The check every login makes: ``lookup(token=…, api_domain=…)`` looks up job
    ``VERIFY_JOB_ID`` with the new token (the command builds it on the API client; auth
    sends nothing itself)."""

    def verify(*, token: str, api_domain: str) -> None:
        try:
            lookup(token=token, api_domain=api_domain)
        except NotFoundError:
            return  # RESOURCE_NOT_FOUND: the token and its bulk scope were accepted
        except CredentialsError as exc:
            raise CredentialsError(
                f"verifying the login failed: {exc.message.replace(' from the new login', '')}"
                "; nothing was stored",
                hint="check the token's scope (ZohoCRM.bulk.ALL), and that the API domain "
                f"{api_domain} is the one of your data centre (--dc, --api-domain)",
            ) from None
        except ZbulkError as exc:
            raise type(exc)(
                f"verifying the login failed: {exc.message}; nothing was stored", hint=exc.hint
            ) from None

    return verify


def _keep(
    *,
    profile: str,
    record: LoginRecord,
    secrets: Mapping[str, Any],
    store: SecretStore,
    env: Mapping[str, str] | None,
) -> LoginResult:
    """Store the secrets, then the record; leave no copy in the other store."""
    try:
        previous = state.load(profile, env)
    except CredentialsError:
        previous = None
    store.save(profile, secrets)
    if isinstance(store, KeyringStore):
        record = _with_backend(record, store.chosen)
    state.save(profile, record, env)
    if store.kind is Storage.KEYRING:
        FileStore(secrets_dir(config.config_dir(env))).delete(profile)
    elif previous is not None and previous.storage is Storage.KEYRING:
        with contextlib.suppress(ZbulkError):  # an unusable keyring holds nothing to remove
            KeyringStore(backend=previous.keyring_backend).delete(profile)
    expires = secrets.get("expires_at")
    return LoginResult(
        profile=profile,
        record=record,
        stored_in=store.where,
        expires_at=expires if isinstance(expires, float | int) else None,
    )


def _with_backend(record: LoginRecord, backend: str | None) -> LoginRecord:
    from dataclasses import replace

    return replace(record, keyring_backend=backend)


def login_with_token(
    *,
    profile: str,
    token: str,
    dc: DataCentre,
    store: SecretStore,
    verify: Verify,
    env: Mapping[str, str] | None = None,
    api_domain: str | None = None,
) -> LoginResult:
    """Keep a pasted access token (it lives an hour at Zoho and cannot be refreshed).
    ``api_domain``: the one later commands will use (--api-domain, ZBULK_API_DOMAIN, the
    profile's), verified and kept instead of the data centre's."""
    domain = api_domain or dc.api_domain
    verify(token=token, api_domain=domain)
    record = LoginRecord(mode=LoginMode.TOKEN, storage=store.kind, dc=dc.name, api_domain=domain)
    return _keep(
        profile=profile, record=record, secrets={"access_token": token}, store=store, env=env
    )


def login_self_client(
    *,
    profile: str,
    dc: DataCentre,
    app: oauth.OAuthApp,
    code: str,
    store: SecretStore,
    post: oauth.Post,
    verify: Verify,
    env: Mapping[str, str] | None = None,
    api_domain: str | None = None,
) -> LoginResult:
    tokens = oauth.exchange_code(post, app, code)
    return _keep_tokens(
        profile=profile,
        mode=LoginMode.SELF_CLIENT,
        dc=dc,
        app=app,
        tokens=tokens,
        store=store,
        verify=verify,
        env=env,
        api_domain=api_domain,
    )


def login_device(
    *,
    profile: str,
    dc: DataCentre,
    app: oauth.OAuthApp,
    store: SecretStore,
    post: oauth.Post,
    verify: Verify,
    show_code: Callable[[oauth.DeviceCode], None],
    on_switch: Callable[[DataCentre], None],
    env: Mapping[str, str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    api_domain: str | None = None,
) -> LoginResult:
    from zbulk.datacentres import overrides

    code = oauth.request_device_code(post, app)
    show_code(code)
    switched: list[DataCentre] = []

    def switch(to: DataCentre) -> None:
        switched.append(to)
        on_switch(to)

    tokens, accounts = oauth.poll_device(
        post, app, code, known=overrides(env), sleep=sleep, clock=clock, on_switch=switch
    )
    final = switched[-1] if switched else dc
    return _keep_tokens(
        profile=profile,
        mode=LoginMode.DEVICE,
        dc=final,
        app=app._replace(accounts=accounts),
        tokens=tokens,
        store=store,
        verify=verify,
        env=env,
        api_domain=api_domain,
    )


def _keep_tokens(
    *,
    profile: str,
    mode: LoginMode,
    dc: DataCentre,
    app: oauth.OAuthApp,
    tokens: oauth.Tokens,
    store: SecretStore,
    verify: Verify,
    env: Mapping[str, str] | None,
    api_domain: str | None,
) -> LoginResult:
    """``api_domain``: the one later commands will use, when set (--api-domain,
    ZBULK_API_DOMAIN, the profile's); else the one Zoho gave, else the data centre's."""
    api_domain = config.check_api_domain(
        api_domain or tokens.api_domain or dc.api_domain, "the API domain to verify with"
    )
    verify(token=tokens.access_token, api_domain=api_domain)
    secrets = {
        "refresh_token": tokens.refresh_token,
        "client_secret": app.client_secret,
        "access_token": tokens.access_token,
        "expires_at": tokens.expires_at,
    }
    record = LoginRecord(
        mode=mode,
        storage=store.kind,
        dc=dc.name,
        api_domain=api_domain,
        accounts_url=app.accounts,
        client_id=app.client_id,
    )
    return _keep(profile=profile, record=record, secrets=secrets, store=store, env=env)


def status(
    *,
    active: str,
    env: Mapping[str, str],
    now: Callable[[], float] = time.time,
    timeout: float | None = None,
) -> list[ProfileStatus]:
    """One entry per logged-in profile, one for ZBULK_TOKEN when set, and one for the
    profile in use when it is not logged in; never a secret. All keyring reads share one
    time budget: a hung keyring costs it once, not once per profile."""
    entries: list[ProfileStatus] = []
    env_token = env.get(TOKEN_ENV) is not None
    if env_token:
        entries.append(
            ProfileStatus(
                profile=None,
                active=True,
                source="environment",
                kind="access token",
                detail=f"{TOKEN_ENV} is set and wins over every stored login",
            )
        )
    directory = config.config_dir(env)
    deadline = Deadline(stores.KEYRING_TIMEOUT if timeout is None else timeout)
    records = state.all_records(env)
    for name, record in records.items():
        if isinstance(record, CredentialsError):
            entries.append(
                ProfileStatus(
                    profile=name,
                    active=name == active and not env_token,
                    error=record.message,
                    login_command=login_command(name, None),
                )
            )
            continue
        is_active = name == active and not env_token
        entries.append(
            _profile_status(
                name, record, active=is_active, directory=directory, deadline=deadline, now=now
            )
        )
    if active not in records and not env_token:
        entries.append(
            ProfileStatus(
                profile=active,
                active=True,
                logged_in=False,
                error=f"profile {active!r} is not logged in",
                login_command=login_command(active, None),
            )
        )
    return entries


def _profile_status(
    name: str,
    record: LoginRecord,
    *,
    active: bool,
    directory: Path,
    deadline: Deadline,
    now: Callable[[], float],
) -> ProfileStatus:
    entry = ProfileStatus(
        profile=name,
        active=active,
        source=record.storage.value,
        kind="refresh token" if record.mode.refreshes else "access token",
        login=record.mode,
        dc=record.dc,
        api_domain=record.api_domain,
        client_id=record.client_id,
        login_command=login_command(name, record),
    )
    if record.storage is Storage.FILE:
        entry.warning = "secrets in a plain file readable only by you (--insecure-storage)"
    store = store_for(record.storage, directory, backend=record.keyring_backend, deadline=deadline)
    try:
        secrets = store.load(name)
    except ZbulkError as exc:
        entry.error = exc.message
        return entry
    entry.stored_in = store.where
    if not secrets:
        entry.error = f"no secrets in {store.where}"
    elif isinstance(secrets.get("expires_at"), int | float):
        entry.expires_at = float(secrets["expires_at"])
        entry.expires_in = round(entry.expires_at - now())
    return entry


#: the POST to a login's accounts server (the HTTP layer's, with its allow-list)
PostFor = Callable[[LoginRecord], oauth.Post]


def logout(
    names: list[str],
    *,
    revoke: bool = False,
    env: Mapping[str, str] | None = None,
    post: PostFor | None = None,
) -> list[LogoutResult]:
    """Remove each profile's secrets and login record; with ``revoke``, first revoke its
    refresh token at Zoho (a failure there keeps everything, so it can be tried again)."""
    directory = config.config_dir(env)
    done = []
    for name in names:
        config.check_profile_name(name)
        try:
            record = state.load(name, env)
        except CredentialsError:
            record = None
        storage = record.storage if record else Storage.FILE
        store = store_for(storage, directory, backend=record.keyring_backend if record else None)
        revoked, note = False, None
        if revoke and record is not None:
            revoked, note = _revoke(name, record=record, store=store, post=post)
        removed = store.delete(name) if record is not None or storage is Storage.FILE else False
        if record is not None and record.storage is Storage.KEYRING:
            removed = FileStore(secrets_dir(directory)).delete(name) or removed
        state.remove(name, env)
        done.append(LogoutResult(profile=name, had_secrets=removed, revoked=revoked, note=note))
    return done


def _revoke(
    name: str, *, record: LoginRecord, store: SecretStore, post: PostFor | None
) -> tuple[bool, str | None]:
    if not record.mode.refreshes:
        return False, "a pasted access token cannot be revoked; it expires within the hour"
    secrets = store.load(name) or {}
    token = secrets.get("refresh_token")
    if not (isinstance(token, str) and token and record.accounts_url and post):
        return False, "no refresh token was stored: nothing to revoke"
    app = oauth.OAuthApp(record.accounts_url, str(record.client_id))
    oauth.revoke(post(record), app, token)
    return True, None


def logged_in_profiles(env: Mapping[str, str] | None = None) -> list[str]:
    """Every profile with a login record or, from an older zbulk, a secret file."""
    names = list(state.all_records(env))
    orphans = FileStore(secrets_dir(config.config_dir(env))).orphans(set(names))
    return sorted({*names, *orphans})
