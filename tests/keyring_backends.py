"""Real keyring backends for tests: KeyringBackend subclasses, no mocks.

``MemoryKeyring`` for in-process tests; ``FileKeyring`` (selected in subprocesses with
PYTHON_KEYRING_BACKEND=keyring_backends.FileKeyring) shares one JSON file between processes;
``HungKeyring`` never answers, like a keyring waiting on an unlock prompt.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError


class MemoryKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.items.pop((service, username), None) is None:
            raise PasswordDeleteError(username)


class FileKeyring(KeyringBackend):
    """Items in the JSON file named by ZBULK_TEST_KEYRING_FILE, under an flock."""

    priority = 1  # type: ignore[assignment]

    def _path(self) -> Path:
        return Path(os.environ["ZBULK_TEST_KEYRING_FILE"])

    def _update(self, change):  # type: ignore[no-untyped-def]
        path = self._path()
        with open(path.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            items = json.loads(path.read_text()) if path.exists() else {}
            result = change(items)
            path.write_text(json.dumps(items))
            return result

    def get_password(self, service: str, username: str) -> str | None:
        return self._update(lambda items: items.get(f"{service}/{username}"))  # type: ignore[no-any-return]

    def set_password(self, service: str, username: str, password: str) -> None:
        self._update(lambda items: items.__setitem__(f"{service}/{username}", password))

    def delete_password(self, service: str, username: str) -> None:
        if self._update(lambda items: items.pop(f"{service}/{username}", None)) is None:
            raise PasswordDeleteError(username)


class HungKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def get_password(self, service: str, username: str) -> str | None:
        self.release.wait(30)
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        self.release.wait(30)

    def delete_password(self, service: str, username: str) -> None:
        self.release.wait(30)


class LockedKeyring(KeyringBackend):
    """A collection that stays locked: every call fails the way the Secret Service does."""

    priority = 1  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        from keyring.errors import KeyringLocked

        raise KeyringLocked("Failed to unlock the collection!")

    def set_password(self, service: str, username: str, password: str) -> None:
        self.get_password(service, username)

    def delete_password(self, service: str, username: str) -> None:
        self.get_password(service, username)
