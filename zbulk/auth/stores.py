"""Where secrets live: the OS keyring (one JSON item per profile, service ``zbulk``), or,
only with ``--insecure-storage``, an owner-only file per profile.

Every keyring call runs in a thread bounded by ``KEYRING_TIMEOUT``: a locked or hung keyring
(a D-Bus call waiting on an unlock prompt) cannot freeze zbulk. The backend chosen at login
is remembered ("module:Class") and loaded directly afterwards, without keyring's entry-point
discovery; for the freedesktop Secret Service the one item is read straight through
``secretstorage`` (the library keyring's own backend uses, with the same attributes).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol, TypeVar

from zbulk.auth.model import Storage
from zbulk.errors import CredentialsError, ZbulkError

SERVICE = "zbulk"
KEYRING_TIMEOUT = 5.0
SECRET_SERVICE = "keyring.backends.SecretService:Keyring"  # noqa: S105 (a class name)
#: a --insecure-storage reminder at use comes at most this often per profile
WARN_EVERY = 86400.0
T = TypeVar("T")

NO_KEYRING_HINT = (
    "use ZBULK_TOKEN for this shell, install or unlock a keyring backend (e.g. "
    "gnome-keyring, KWallet, macOS Keychain, Windows Credential Locker), or log in with "
    "--insecure-storage to keep the secret in a file only you can read"
)


class SecretStore(Protocol):
    #: where the secrets are, for messages and `auth status`
    where: str
    kind: Storage

    def load(self, profile: str) -> dict[str, Any] | None: ...

    def save(self, profile: str, secrets: Mapping[str, Any]) -> None: ...

    def delete(self, profile: str) -> bool: ...


class Deadline:
    """One time budget shared by several keyring calls (``auth status`` over many
    profiles pays for a hung keyring once, not once per profile)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.ends = time.monotonic() + seconds

    def left(self) -> float:
        return max(self.ends - time.monotonic(), 0.0)


def bounded(what: str, fn: Callable[[], T], deadline: Deadline) -> T:
    """Run a keyring call in a thread; give up when ``deadline`` runs out."""
    result: list[Any] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            result.append(fn())
        except BaseException as exc:  # handed to the caller's thread
            failure.append(exc)

    thread = threading.Thread(target=target, name=f"zbulk-keyring-{what}", daemon=True)
    thread.start()
    thread.join(deadline.left())
    if thread.is_alive():
        raise CredentialsError(
            f"the keyring did not answer within {deadline.seconds:g}s ({what}); it may be "
            "locked or waiting for an unlock prompt",
            hint=NO_KEYRING_HINT,
        )
    if failure:
        exc = failure[0]
        if isinstance(exc, ZbulkError):
            raise exc
        raise CredentialsError(
            f"the keyring failed ({what}): {type(exc).__name__}: {exc}", hint=NO_KEYRING_HINT
        ) from None
    value: T = result[0]
    return value


def backend_name(backend: object) -> str:
    cls = type(backend)
    return f"{cls.__module__}:{cls.__qualname__}"


def _discover() -> Any:
    """keyring's own choice of backend (entry points, config, priorities): login's path."""
    import keyring
    from keyring.backends import fail

    chosen = keyring.get_keyring()
    usable = list(chosen.backends) if hasattr(chosen, "backends") else [chosen]
    if not usable or all(isinstance(b, fail.Keyring) for b in usable):
        raise LookupError("no keyring backend is available on this machine")
    if getattr(chosen, "priority", 1) <= 0 and not hasattr(chosen, "backends"):
        raise LookupError(f"the keyring backend {type(chosen).__name__} is not usable")
    return chosen


def _load_class(name: str) -> Any:
    """The backend remembered at login, loaded directly; keyring's own choice if it is gone
    (uninstalled, renamed)."""
    import importlib

    module, _, qualname = name.partition(":")
    try:
        obj: Any = importlib.import_module(module)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError):
        return _discover()
    return obj()


class _FastSecretService:
    """Reads the item keyring's Secret Service backend wrote (the default collection,
    attributes service/username) over D-Bus with jeepney, the message library that
    backend's own secretstorage is built on, without importing keyring (entry-point
    discovery) or secretstorage and cryptography (~25 ms): three calls of well under a
    millisecond each (find the item, open a session, get the secret).

    The secret comes back through a "plain" session (the Secret Service spec's algorithm
    for a transport that is already private): the session bus is a socket only this user
    can reach, and any process that could read the message could as well ask the unlocked
    collection for the secret itself. gh's keyring library (zalando/go-keyring) reads
    secrets the same way; secretstorage's Diffie-Hellman exchange costs ~25 ms a run.

    Anything unusual (no session bus, no default collection, a locked collection or item,
    a keyring configured by file or environment, an error from the service) returns
    NotImplemented, and the caller goes through keyring's backend, which knows how to
    prompt and says why in its own words."""

    DEFAULT = "/org/freedesktop/secrets/aliases/default"

    @classmethod
    def get_password(cls, service: str, username: str) -> str | object | None:
        if os.environ.get("PYTHON_KEYRING_BACKEND") or _keyring_config_exists():
            return NotImplemented
        from jeepney import DBusAddress, MessageType, new_method_call
        from jeepney.io.blocking import open_dbus_connection

        try:
            connection = open_dbus_connection("SESSION")
        except Exception:  # no session bus here: keyring's backend says why
            return NotImplemented
        secrets = DBusAddress(
            "/org/freedesktop/secrets",
            bus_name="org.freedesktop.secrets",
            interface="org.freedesktop.Secret.Service",
        )
        collection = DBusAddress(
            cls.DEFAULT, bus_name=secrets.bus_name, interface="org.freedesktop.Secret.Collection"
        )

        def call(message: Any) -> tuple[Any, ...] | None:
            reply = connection.send_and_get_reply(message, timeout=KEYRING_TIMEOUT)
            return None if reply.header.message_type == MessageType.error else reply.body

        try:
            query = {"service": service, "username": username}
            found = call(new_method_call(collection, "SearchItems", "a{ss}", (query,)))
            if found is None:
                return NotImplemented
            if not found[0]:
                return None
            session = call(new_method_call(secrets, "OpenSession", "sv", ("plain", ("s", ""))))
            if session is None:
                return NotImplemented
            item = DBusAddress(
                found[0][0], bus_name=secrets.bus_name, interface="org.freedesktop.Secret.Item"
            )
            secret = call(new_method_call(item, "GetSecret", "o", (session[1],)))
            if secret is None:  # IsLocked (a locked collection): keyring asks to unlock it
                return NotImplemented
            _session, _parameters, value, _content_type = secret[0]
            return bytes(value).decode("utf-8")
        except (OSError, ValueError, TimeoutError, UnicodeDecodeError):
            return NotImplemented
        finally:
            connection.close()


def _keyring_config_exists() -> bool:
    """keyring reads keyringrc.cfg (a chosen backend, a preferred collection): respect it.
    (The Secret Service is a Linux/BSD affair: XDG paths, no platformdirs import.)"""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config")
    return os.path.exists(os.path.join(base, "python_keyring", "keyringrc.cfg"))


class KeyringStore:
    """The OS keyring through the ``keyring`` library: one JSON item per profile."""

    kind = Storage.KEYRING

    def __init__(self, *, backend: str | None = None, deadline: Deadline | None = None) -> None:
        self.recorded = backend
        self.deadline = deadline
        self._backend: Any = None
        self.where = "the keyring"

    def _deadline(self) -> Deadline:
        return self.deadline or Deadline(KEYRING_TIMEOUT)

    def _direct(self) -> bool:
        """Load the recorded backend directly: not when keyring is already in use in this
        process (a backend set by the program wins) or configured by environment."""
        return (
            bool(self.recorded)
            and "keyring.core" not in sys.modules
            and not (os.environ.get("PYTHON_KEYRING_BACKEND"))
        )

    def backend(self) -> Any:
        """The usable keyring backend, or a CredentialsError naming the real cause."""
        if self._backend is None:
            recorded = self.recorded
            pick = (lambda: _load_class(recorded)) if recorded and self._direct() else _discover
            try:
                self._backend = bounded("finding a backend", pick, self._deadline())
            except CredentialsError as exc:
                raise CredentialsError(
                    exc.message.replace(
                        "the keyring failed (finding a backend): LookupError: ",
                        "no usable keyring: ",
                    ),
                    hint=NO_KEYRING_HINT,
                ) from None
            name = getattr(self._backend, "name", None) or type(self._backend).__name__
            self.where = f"the keyring ({name})"
        return self._backend

    @property
    def chosen(self) -> str | None:
        """The backend to remember for this profile ("module:Class"); None for a chain."""
        backend = self.backend()
        return None if hasattr(backend, "backends") else backend_name(backend)

    def load(self, profile: str) -> dict[str, Any] | None:
        deadline = self._deadline()
        if self.recorded == SECRET_SERVICE and self._direct():
            raw = bounded(
                "reading", lambda: _FastSecretService.get_password(SERVICE, profile), deadline
            )
            if raw is not NotImplemented:
                self.where = "the keyring (SecretService Keyring)"
                return _decode(raw, self.where)  # type: ignore[arg-type]
        backend = self.backend()
        raw = bounded("reading", lambda: backend.get_password(SERVICE, profile), deadline)
        return _decode(raw, self.where)

    def save(self, profile: str, secrets: Mapping[str, Any]) -> None:
        backend = self.backend()
        text = json.dumps(dict(secrets))
        bounded("writing", lambda: backend.set_password(SERVICE, profile, text), self._deadline())

    def delete(self, profile: str) -> bool:
        if self.load(profile) is None:
            return False
        backend = self.backend()
        bounded("deleting", lambda: backend.delete_password(SERVICE, profile), self._deadline())
        return True


class FileStore:
    """``--insecure-storage``: a JSON file per profile, mode 0600 in a 0700 directory.
    ``warn`` (when given) is called at most once per ``WARN_EVERY`` per profile on reads."""

    kind = Storage.FILE

    def __init__(self, directory: Path, *, warn: Callable[[str], None] | None = None) -> None:
        self.directory = directory
        self.warn = warn
        self.where = f"an owner-only file in {directory}"

    def path(self, profile: str) -> Path:
        from zbulk.config import check_profile_name

        return self.directory / f"{check_profile_name(profile)}.json"

    def _remind(self, profile: str) -> None:
        """A short reminder at use, at most once a day (the time of the last one is the
        modification time of a stamp file beside the secrets)."""
        if not self.warn:
            return
        stamp = self.directory / f".{profile}.warned"
        try:
            if time.time() - stamp.stat().st_mtime < WARN_EVERY:
                return
        except OSError:
            pass
        import shlex

        key = shlex.quote(f"{profile}.insecure_storage_warning")
        self.warn(
            f"profile {profile!r} keeps its secrets in a plain file (--insecure-storage); "
            f"silence this daily note with `zbulk config set {key} false`"
        )
        from zbulk.files import touch

        with contextlib.suppress(OSError):
            touch(stamp)

    def load(self, profile: str) -> dict[str, Any] | None:
        from zbulk.files import check_private

        path = self.path(profile)
        try:
            raw = path.read_text(encoding="utf-8")
            check_private(self.directory, reading=True)  # a planted secret file: refused
        except (FileNotFoundError, NotADirectoryError):
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise CredentialsError(f"cannot read {path}: {getattr(exc, 'strerror', exc)}") from None
        self._remind(profile)
        return _decode(raw, str(path))

    def save(self, profile: str, secrets: Mapping[str, Any]) -> None:
        from zbulk.files import write_private

        write_private(self.path(profile), json.dumps(dict(secrets)), durable=True)

    def delete(self, profile: str) -> bool:
        path = self.path(profile)
        try:
            (self.directory / f".{profile}.warned").unlink(missing_ok=True)
            path.unlink()
        except (FileNotFoundError, NotADirectoryError):
            return False
        except OSError as exc:
            raise CredentialsError(f"cannot remove {path}: {exc.strerror}") from None
        return True

    def orphans(self, known: set[str]) -> list[str]:
        """Profiles with a secret file but no login record (a login that lost a race in an
        older zbulk): ``logout --all`` removes them too."""
        from zbulk.auth.state import valid_name

        try:
            names = [p.stem for p in self.directory.glob("*.json") if p.is_file()]
        except OSError:
            return []
        return sorted(n for n in names if n not in known and valid_name(n))


def _decode(raw: str | None, where: str) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise CredentialsError(
            f"the stored credentials in {where} are damaged",
            hint="log in again with `zbulk auth login`",
        )
    return data


def secrets_dir(config_dir: Path) -> Path:
    return config_dir / "secrets"


def store_for(
    storage: Storage,
    config_dir: Path,
    *,
    backend: str | None = None,
    warn: Callable[[str], None] | None = None,
    deadline: Deadline | None = None,
) -> SecretStore:
    if storage is Storage.FILE:
        return FileStore(secrets_dir(config_dir), warn=warn)
    return KeyringStore(backend=backend, deadline=deadline)
