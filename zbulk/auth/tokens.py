"""The access token for a command: ``ZBULK_TOKEN`` (used as is, never stored), else the
profile's stored login. A ``TokenSource`` hands the client a token and is told when the
API rejected it, so a refreshing source can renew it (once) and let the client retry.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zbulk.auth.model import LoginRecord, Storage, login_command, profile_flag
from zbulk.auth.oauth import header_safe
from zbulk.auth.stores import SecretStore, store_for
from zbulk.errors import CredentialsError

if TYPE_CHECKING:
    from zbulk.http import Post, TokenSource

TOKEN_ENV = "ZBULK_TOKEN"  # noqa: S105  (a variable name, not a secret)
REFRESH_MARGIN = 60.0


class StaticToken:
    """A token used exactly as given (``ZBULK_TOKEN``, a pasted token); nothing to refresh."""

    __slots__ = ("origin", "token")

    def __init__(self, token: str, origin: str) -> None:
        self.token = token
        self.origin = origin

    def __repr__(self) -> str:  # never the token itself
        return f"StaticToken(origin={self.origin!r})"

    def access_token(self) -> str:
        return self.token

    def rejected(self) -> bool:
        return False


def clean_token(raw: str, origin: str) -> str:
    """Strip surrounding white space; refuse what cannot go into a header."""
    token = raw.strip()
    if not token:
        raise CredentialsError(f"the access token from {origin} is empty")
    if not header_safe(token):
        raise CredentialsError(
            f"the access token from {origin} contains spaces or control characters, or is "
            "not ASCII",
            hint="paste the token alone, as Zoho's API console shows it",
        )
    return token


@contextmanager
def refresh_lock(config_dir: Path, profile: str, timeout: float = 30.0) -> Iterator[None]:
    """An exclusive lock per profile across processes (``zbulk.files.lock``: flock on
    Unix, msvcrt on Windows), so that two zbulk processes never refresh at the same time
    (a refresh token mints only 10 access tokens per 10 minutes)."""
    from zbulk import files

    locks = files.private_dir(config_dir / "locks")
    held = ExitStack()
    try:
        held.enter_context(files.lock(locks / f"{profile}.lock", timeout))
    except files.LockTimeout:
        raise CredentialsError(
            f"another zbulk has been refreshing profile {profile!r} for {timeout:g}s; giving up"
        ) from None
    with held:
        yield


Refresher = Callable[[Mapping[str, Any]], tuple[str, float]]


class RefreshingToken:
    """An access token cached with its expiry, refreshed from the stored refresh token
    only when under a minute is left, or once after a 401."""

    def __init__(
        self,
        *,
        profile: str,
        store: SecretStore,
        secrets: dict[str, Any],
        refresher: Refresher,
        config_dir: Path,
        login_hint: str,
        clock: Callable[[], float] = time.time,
        margin: float = REFRESH_MARGIN,
    ) -> None:
        self.profile = profile
        self.store = store
        self.secrets = secrets
        self.refresher = refresher
        self.config_dir = config_dir
        self.login_hint = login_hint
        self.clock = clock
        self.margin = margin
        self.origin = f"profile {profile!r} in {store.where}"
        self._renewed = False

    def __repr__(self) -> str:
        return f"RefreshingToken(origin={self.origin!r})"

    def _fresh(self, secrets: Mapping[str, Any]) -> bool:
        expires = secrets.get("expires_at")
        return (
            header_safe(secrets.get("access_token"))
            and isinstance(expires, int | float)
            and (expires - self.clock() > self.margin)
        )

    def access_token(self) -> str:
        if not self._fresh(self.secrets):
            self._refresh(stale=self.secrets.get("access_token"))
        return str(self.secrets["access_token"])

    def rejected(self) -> bool:
        if self._renewed:
            return False  # a token refreshed just now was rejected too: give up
        self._refresh(stale=self.secrets.get("access_token"))
        return True

    def _refresh(self, stale: object) -> None:
        with refresh_lock(self.config_dir, self.profile):
            current = self.store.load(self.profile) or {}
            if current.get("access_token") != stale and self._fresh(current):
                self.secrets = current  # another process refreshed while we waited
                self._renewed = True
                return
            try:
                token, expires_at = self.refresher(current or self.secrets)
            except CredentialsError as exc:
                raise CredentialsError(
                    f"could not refresh the access token of profile {self.profile!r}: "
                    f"{exc.message}",
                    hint=f"log in again: {self.login_hint}",
                ) from None
            self.secrets = {**current, "access_token": token, "expires_at": expires_at}
            self.store.save(self.profile, self.secrets)
            self._renewed = True


def token_source(
    profile: str,
    env: Mapping[str, str] | None = None,
    *,
    warn: Callable[[str], None] | None = None,
    post: Callable[[LoginRecord], Post] | None = None,
) -> TokenSource:
    """The token for a command: ``ZBULK_TOKEN``, else the profile's stored login.
    ``post(record)`` gives what reaches the record's accounts server for a refresh (the
    HTTP layer's form poster, with the command's timeouts and the accounts allow-list);
    without it a stored login that needs a refresh cannot get one."""
    env = os.environ if env is None else env
    raw = env.get(TOKEN_ENV)
    if raw is not None:
        origin = f"the environment ({TOKEN_ENV})"
        return StaticToken(clean_token(raw, origin), origin)
    from zbulk import config
    from zbulk.auth import state

    record = state.load(profile, env)
    if record is None:
        raise CredentialsError(
            f"no credentials for profile {profile!r}",
            hint=f"run `zbulk auth login{profile_flag(profile)}`, or set {TOKEN_ENV} to an "
            "access token; `zbulk demo` shows zbulk with no account",
        )
    if warn and config.load_profile(profile, env).get("insecure_storage_warning") is False:
        warn = None
    directory = config.config_dir(env)
    store = store_for(record.storage, directory, backend=record.keyring_backend, warn=warn)
    source = functools.partial(
        _stored,
        profile=profile,
        record=record,
        store=store,
        directory=directory,
        post=post,
    )
    if record.storage is Storage.KEYRING:
        return Prefetched(source, f"profile {profile!r} in {store.where}")
    return source()


class Prefetched:
    """A stored login read in the background from the moment it is asked for: the keyring's
    round trips overlap the loading of the HTTP stack. Its errors come at first use."""

    def __init__(self, build: Callable[[], TokenSource], origin: str) -> None:
        self.origin = origin
        self._result: list[TokenSource] = []
        self._failure: list[BaseException] = []
        self._thread = threading.Thread(
            target=self._run, args=(build,), daemon=True, name="zbulk-stored-login"
        )
        self._thread.start()

    def _run(self, build: Callable[[], TokenSource]) -> None:
        try:
            self._result.append(build())
        except BaseException as exc:  # handed to the caller's thread
            self._failure.append(exc)

    def _source(self) -> TokenSource:
        self._thread.join()  # bounded: every keyring call inside has its deadline
        if self._failure:
            raise self._failure[0]
        source = self._result[0]
        self.origin = source.origin
        return source

    def __repr__(self) -> str:
        return f"Prefetched(origin={self.origin!r})"

    def access_token(self) -> str:
        return self._source().access_token()

    def rejected(self) -> bool:
        return self._source().rejected()


def _stored(
    *,
    profile: str,
    record: LoginRecord,
    store: SecretStore,
    directory: Path,
    post: Callable[[LoginRecord], Post] | None,
) -> TokenSource:
    login_hint = login_command(profile, record)
    secrets = store.load(profile)
    if not secrets:
        raise CredentialsError(
            f"profile {profile!r} has no secrets in {store.where} any more",
            hint=f"log in again: {login_hint}",
        )
    if not record.mode.refreshes:
        return StaticToken(
            clean_token(str(secrets.get("access_token", "")), store.where),
            f"profile {profile!r} in {store.where}",
        )
    return RefreshingToken(
        profile=profile,
        store=store,
        secrets=secrets,
        refresher=_refresher(record, post),
        config_dir=directory,
        login_hint=login_hint,
    )


def _refresher(record: LoginRecord, post: Callable[[LoginRecord], Post] | None) -> Refresher:
    def refresh(secrets: Mapping[str, Any]) -> tuple[str, float]:
        from zbulk.auth import oauth

        if post is None:
            raise CredentialsError("the access token has expired, and nothing here can refresh it")
        app = oauth.OAuthApp(
            str(record.accounts_url), str(record.client_id), str(secrets.get("client_secret", ""))
        )
        tokens = oauth.refresh(post(record), app, str(secrets.get("refresh_token", "")))
        return tokens.access_token, tokens.expires_at

    return refresh
