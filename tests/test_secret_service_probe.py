"""Probe the real freedesktop Secret Service through keyring's SecretService backend.

Runs only where ZBULK_TEST_SECRET_SERVICE=1, i.e. under `.ci/secret-service`, which starts
gnome-keyring on a private D-Bus session bus with its default collection unlocked:

    .ci/secret-service env ZBULK_TEST_SECRET_SERVICE=1 python -m pytest -m secret_service

Everywhere else it is skipped, so the ordinary test run never touches a developer's keyring.
"""

from __future__ import annotations

import os
import uuid
from contextlib import closing, suppress

import pytest

SERVICE = "zbulk-probe"

pytestmark = [
    pytest.mark.secret_service,
    pytest.mark.skipif(
        os.environ.get("ZBULK_TEST_SECRET_SERVICE") != "1",
        reason="needs a real Secret Service: run under .ci/secret-service "
        "with ZBULK_TEST_SECRET_SERVICE=1",
    ),
]


def test_default_collection_is_unlocked() -> None:
    """Fail fast and clearly instead of letting keyring wait on an unlock prompt."""
    import secretstorage

    with closing(secretstorage.dbus_init()) as connection:
        assert secretstorage.check_service_availability(connection)
        collection = secretstorage.get_default_collection(connection)
        assert not collection.is_locked(), "the default collection is locked"


def test_secret_service_round_trip() -> None:
    from keyring.backends import SecretService
    from keyring.errors import PasswordDeleteError

    # priority raises RuntimeError (with the reason) when the backend is unusable.
    assert SecretService.Keyring.priority > 0
    backend = SecretService.Keyring()

    username = f"probe-{uuid.uuid4().hex}"
    secret = f"s3cret-\u00e9\u2713-{uuid.uuid4().hex}"  # non-ASCII: checks the UTF-8 round trip
    try:
        backend.set_password(SERVICE, username, secret)
        assert backend.get_password(SERVICE, username) == secret
        backend.set_password(SERVICE, username, secret + "-2")  # replaces, does not duplicate
        assert backend.get_password(SERVICE, username) == secret + "-2"
        credential = backend.get_credential(SERVICE, username)
        assert credential is not None
        assert credential.username == username
        assert credential.password == secret + "-2"
        backend.delete_password(SERVICE, username)
        assert backend.get_password(SERVICE, username) is None
    finally:
        # Leave nothing behind if an assertion failed half way.
        with suppress(PasswordDeleteError):  # already deleted: the normal case
            backend.delete_password(SERVICE, username)
