"""Where the access token comes from, and where secrets are kept.

Order: ``ZBULK_TOKEN`` (used as is, never stored), then the profile's stored login.
Secrets (refresh token, client secret, cached access token and its expiry) live in
the OS keyring as one entry per profile; only with ``--insecure-storage`` in a file
that only its owner can read, with a warning each time it is used. The profile's
non-secret settings (data centre, API domain, client id, where the secret is) are in
config.toml.

A ``TokenSource`` hands the client a token and is told when the API rejected it, so
a refreshing source can renew it (once) and let the client retry.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol, TypeVar

from zbulk.errors import CredentialsError

TOKEN_ENV = "ZBULK_TOKEN"  # noqa: S105  (a variable name, not a secret)
SERVICE = "zbulk"
KEYRING_TIMEOUT = 5.0
T = TypeVar("T")


class TokenSource(Protocol):
    #: a human description of where the token comes from, never the token
    origin: str

    def access_token(self) -> str: ...

    def rejected(self) -> bool:
        """The API answered 401 to the last token. True if a new one is ready to try."""
        ...


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
    if not (token.isascii() and token.isprintable() and " " not in token):
        raise CredentialsError(
            f"the access token from {origin} contains spaces or control characters",
            hint="paste the token alone, as Zoho's API console shows it",
        )
    return token


# --- secret stores -------------------------------------------------------------------


class SecretStore(Protocol):
    #: where the secrets are, for messages and `auth status`
    where: str
    kind: str  # "keyring" or "file"

    def load(self, profile: str) -> dict[str, Any] | None: ...

    def save(self, profile: str, secrets: Mapping[str, Any]) -> None: ...

    def delete(self, profile: str) -> bool: ...


def _bounded(what: str, fn: Callable[[], T], timeout: float) -> T:
    """Run a keyring call in a thread and give up after ``timeout`` seconds, so that a
    locked or hung keyring (a D-Bus call waiting on an unlock prompt) cannot freeze zbulk."""
    result: list[Any] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            result.append(fn())
        except BaseException as exc:  # handed to the caller's thread
            failure.append(exc)

    thread = threading.Thread(target=target, name=f"zbulk-keyring-{what}", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise CredentialsError(
            f"the keyring did not answer within {timeout:g}s ({what}); it may be locked "
            "or waiting for an unlock prompt",
            hint=NO_KEYRING_HINT,
        )
    if failure:
        exc = failure[0]
        raise CredentialsError(
            f"the keyring failed ({what}): {type(exc).__name__}: {exc}", hint=NO_KEYRING_HINT
        ) from None
    return result[0]


NO_KEYRING_HINT = (
    "use ZBULK_TOKEN for this shell, install or unlock a keyring backend (e.g. "
    "gnome-keyring, KWallet, macOS Keychain), or log in with --insecure-storage to keep "
    "the secret in a file only you can read"
)


class KeyringStore:
    """The OS keyring through the ``keyring`` library: one JSON entry per profile."""

    kind = "keyring"

    def __init__(self, timeout: float | None = None) -> None:
        self.timeout = KEYRING_TIMEOUT if timeout is None else timeout
        self._backend: Any = None
        self.where = "the keyring"

    def backend(self) -> Any:
        """The usable keyring backend, or a CredentialsError naming the real cause."""
        if self._backend is None:

            def pick() -> Any:
                import keyring
                from keyring.backends import fail

                chosen = keyring.get_keyring()
                usable = [chosen]
                if hasattr(chosen, "backends"):  # a ChainerBackend
                    usable = list(chosen.backends)
                if not usable or all(isinstance(b, fail.Keyring) for b in usable):
                    raise LookupError("no keyring backend is available on this machine")
                if getattr(chosen, "priority", 1) <= 0 and not hasattr(chosen, "backends"):
                    raise LookupError(f"the keyring backend {type(chosen).__name__} is not usable")
                return chosen

            try:
                self._backend = _bounded("finding a backend", pick, self.timeout)
            except CredentialsError as exc:
                raise CredentialsError(
                    exc.message.replace("the keyring failed (finding a backend): LookupError: ",
                                        "no usable keyring: "),
                    hint=NO_KEYRING_HINT,
                ) from None  # fmt: skip
            name = getattr(self._backend, "name", None) or type(self._backend).__name__
            self.where = f"the keyring ({name})"
        return self._backend

    def load(self, profile: str) -> dict[str, Any] | None:
        backend = self.backend()
        raw = _bounded("reading", lambda: backend.get_password(SERVICE, profile), self.timeout)
        return _decode(raw, self.where)

    def save(self, profile: str, secrets: Mapping[str, Any]) -> None:
        backend = self.backend()
        text = json.dumps(dict(secrets))
        _bounded("writing", lambda: backend.set_password(SERVICE, profile, text), self.timeout)

    def delete(self, profile: str) -> bool:
        if self.load(profile) is None:
            return False
        backend = self.backend()
        _bounded("deleting", lambda: backend.delete_password(SERVICE, profile), self.timeout)
        return True


class FileStore:
    """``--insecure-storage``: a JSON file per profile, mode 0600 in a 0700 directory.
    ``warn`` is called every time it is read or written."""

    kind = "file"

    def __init__(self, directory: Path, warn: Callable[[str], None] | None = None) -> None:
        self.directory = directory
        self.warn = warn
        self.where = f"an owner-only file in {directory}"

    def path(self, profile: str) -> Path:
        return self.directory / f"{profile}.json"

    def _warn(self, profile: str) -> None:
        if self.warn:
            self.warn(
                f"profile {profile!r} keeps its secrets in plain text in {self.path(profile)} "
                "(readable only by you); log in again without --insecure-storage to use the keyring"
            )

    def load(self, profile: str) -> dict[str, Any] | None:
        self._warn(profile)
        try:
            raw = self.path(profile).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise CredentialsError(f"cannot read {self.path(profile)}: {exc.strerror}") from None
        return _decode(raw, str(self.path(profile)))

    def save(self, profile: str, secrets: Mapping[str, Any]) -> None:
        self._warn(profile)
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.directory, 0o700)
        tmp = self.directory / f".{profile}.{os.getpid()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(dict(secrets), fh)
        os.replace(tmp, self.path(profile))

    def delete(self, profile: str) -> bool:
        try:
            self.path(profile).unlink()
        except FileNotFoundError:
            return False
        return True


def _decode(raw: str | None, where: str) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise CredentialsError(f"the stored credentials in {where} are damaged",
                               hint="log in again with `zbulk auth login`")  # fmt: skip
    return data


def store_for(kind: str, config_dir: Path, warn: Callable[[str], None] | None) -> SecretStore:
    return FileStore(config_dir / "secrets", warn) if kind == "file" else KeyringStore()


# --- refreshing ----------------------------------------------------------------------


@contextmanager
def refresh_lock(config_dir: Path, profile: str, timeout: float = 30.0) -> Iterator[None]:
    """An exclusive lock per profile across processes, so that two zbulk processes never
    refresh at the same time (a refresh token mints only 10 access tokens per 10 minutes)."""
    import fcntl

    locks = config_dir / "locks"
    locks.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(locks / f"{profile}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise CredentialsError(
                        f"another zbulk has been refreshing profile {profile!r} for "
                        f"{timeout:g}s; giving up"
                    ) from None
                time.sleep(0.02)
        yield
    finally:
        os.close(fd)  # releases the lock


Refresher = Callable[[Mapping[str, Any]], tuple[str, float]]


class RefreshingToken:
    """An access token cached with its expiry, refreshed from the stored refresh token
    only when under a minute is left, or once after a 401."""

    def __init__(
        self,
        profile: str,
        store: SecretStore,
        secrets: dict[str, Any],
        refresher: Refresher,
        config_dir: Path,
        login_hint: str,
        clock: Callable[[], float] = time.time,
        margin: float = 60.0,
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
            bool(secrets.get("access_token"))
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
    log: Callable[[str], None] | None = None,
    request_timeout: float = 30.0,
) -> TokenSource:
    """The token for a command: ``ZBULK_TOKEN``, else the profile's stored login."""
    env = os.environ if env is None else env
    raw = env.get(TOKEN_ENV)
    if raw is not None:
        origin = f"the environment ({TOKEN_ENV})"
        return StaticToken(clean_token(raw, origin), origin)
    from zbulk.config import config_dir, load_profile

    settings = load_profile(profile, env)
    kind = settings.get("credential")
    if kind not in ("access_token", "refresh_token"):
        raise CredentialsError(
            f"no credentials for profile {profile!r}",
            hint=f"run `zbulk auth login{_profile_flag(profile)}`, or set {TOKEN_ENV} to an "
            "access token; `zbulk demo` shows zbulk with no account",
        )
    directory = config_dir(env)
    store = store_for(str(settings.get("storage")), directory, warn)
    login_hint = login_command(profile, settings)
    secrets = store.load(profile)
    if not secrets:
        raise CredentialsError(
            f"profile {profile!r} has no secrets in {store.where} any more",
            hint=f"log in again: {login_hint}",
        )
    if kind == "access_token":
        return StaticToken(
            clean_token(str(secrets.get("access_token", "")), store.where),
            f"profile {profile!r} in {store.where}",
        )
    return RefreshingToken(
        profile, store, secrets,
        refresher=_refresher(settings, request_timeout, log),
        config_dir=directory, login_hint=login_hint,
    )  # fmt: skip


def _refresher(settings: Mapping[str, Any], timeout: float,
               log: Callable[[str], None] | None) -> Refresher:  # fmt: skip
    def refresh(secrets: Mapping[str, Any]) -> tuple[str, float]:
        from zbulk import oauth
        from zbulk.client import form_poster

        tokens = oauth.refresh(
            form_poster(timeout, log),
            str(settings.get("accounts_url")),
            str(settings.get("client_id")),
            str(secrets.get("client_secret", "")),
            str(secrets.get("refresh_token", "")),
        )
        return tokens.access_token, tokens.expires_at

    return refresh


def _profile_flag(profile: str) -> str:
    return "" if profile == "default" else f" --profile {profile}"


def login_command(profile: str, settings: Mapping[str, Any]) -> str:
    """The exact command that logs this profile in again the way it was."""
    mode = {"self_client": " --self-client", "device": " --device", "token": " --with-token"}.get(
        str(settings.get("login")), ""
    )
    dc = settings.get("dc")
    dc_flag = f" --dc {dc}" if dc and dc != "us" else ""
    return f"zbulk auth login{mode}{dc_flag}{_profile_flag(profile)}"
