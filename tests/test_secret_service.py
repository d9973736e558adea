"""The real freedesktop Secret Service (gnome-keyring): run by CI under .ci/secret-service
with ZBULK_TEST_SECRET_SERVICE=1; skipped elsewhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from procs import SCRIPT

from zbulk.sandbox import DEMO_JOBS

pytestmark = [
    pytest.mark.secret_service,
    pytest.mark.skipif(
        os.environ.get("ZBULK_TEST_SECRET_SERVICE") != "1",
        reason="needs the real Secret Service: run under .ci/secret-service",
    ),
]


def test_login_show_status_logout_round_trip(sandbox, tmp_path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("ZBULK_") and k != "PYTHON_KEYRING_BACKEND"
    }
    env.update(
        HOME=str(home),
        ZBULK_CONFIG_DIR=str(home / ".config" / "zbulk"),
        ZBULK_CLIENT_ID=sandbox.client_id,
        ZBULK_CLIENT_SECRET=sandbox.client_secret,
    )

    def zbulk(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(SCRIPT), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )

    r = zbulk(
        "auth", "login", "--self-client", "--dc", sandbox.url, "--code", sandbox.issue_grant_code()
    )
    assert r.returncode == 0, r.stderr
    assert "SecretService" in r.stderr  # stored in the Secret Service, not a file

    r = zbulk("job", "show", "--json", DEMO_JOBS["completed"])
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["status"] == "COMPLETED"

    r = zbulk("auth", "status", "--json")
    assert r.returncode == 0, r.stderr
    (entry,) = [json.loads(line) for line in r.stdout.splitlines()]
    assert entry["source"] == "keyring" and "SecretService" in entry["stored_in"]
    assert entry["expires_in"] > 3000

    token = zbulk("auth", "token").stdout.strip()
    assert token.startswith("1000.")
    import keyring.backends.SecretService as secret_service

    stored = secret_service.Keyring().get_password("zbulk", "default")
    assert stored is not None and token in stored
    # Nothing secret in any file under HOME (config dir included).
    for path in home.rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            assert token not in text and sandbox.client_secret not in text

    r = zbulk("auth", "logout")
    assert r.returncode == 0 and "Logged out" in r.stderr
    assert secret_service.Keyring().get_password("zbulk", "default") is None
    r = zbulk("job", "show", DEMO_JOBS["completed"])
    assert r.returncode == 3


FAST_PATH = """
import sys
from zbulk.auth.tokens import token_source
token = token_source("default").access_token()
print(token.startswith("1000."), "keyring" in sys.modules, "secretstorage" in sys.modules,
      "jeepney" in sys.modules)
"""


def test_stored_login_reads_the_secret_service_directly(sandbox, tmp_path) -> None:
    """The backend chosen at login is remembered; later runs read the one item over D-Bus
    with jeepney (what keyring's backend is built on): keyring and its entry-point
    discovery, secretstorage and cryptography are never imported."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("ZBULK_") and k != "PYTHON_KEYRING_BACKEND"
    }
    env.update(
        ZBULK_CONFIG_DIR=str(tmp_path / "config"),
        ZBULK_CLIENT_ID=sandbox.client_id,
        ZBULK_CLIENT_SECRET=sandbox.client_secret,
    )
    r = subprocess.run(
        [
            str(SCRIPT),
            "auth",
            "login",
            "--self-client",
            "--dc",
            sandbox.url,
            "--code",
            sandbox.issue_grant_code(),
            "--profile",
            "default",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert r.returncode == 0, r.stderr
    record = json.loads((tmp_path / "config" / "logins.json").read_text())["profiles"]
    assert record["default"]["keyring_backend"] == "keyring.backends.SecretService:Keyring"
    r = subprocess.run(
        [sys.executable, "-c", FAST_PATH], env=env, capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["True", "False", "False", "True"]
    subprocess.run([str(SCRIPT), "auth", "logout"], env=env, capture_output=True, timeout=60)


def test_the_fast_path_reads_the_item_or_says_none() -> None:
    """Read through jeepney exactly what keyring's backend wrote; a missing item is None."""
    import keyring.backends.SecretService as backend

    from zbulk.auth.stores import SERVICE, _FastSecretService

    keyring_backend = backend.Keyring()
    secret = '{"refresh_token": "1000.r-\u00e9\u2713"}'
    keyring_backend.set_password(SERVICE, "fast-path-probe", secret)
    try:
        assert _FastSecretService.get_password(SERVICE, "fast-path-probe") == secret
        assert _FastSecretService.get_password(SERVICE, "no-such-profile") is None
    finally:
        keyring_backend.delete_password(SERVICE, "fast-path-probe")
