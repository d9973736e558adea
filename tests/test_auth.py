"""zbulk auth: login modes, stores, refresh, status, logout; over real HTTP to the sandbox
acting as Zoho's accounts server, with real keyring backends (tests/keyrings.py)."""

from __future__ import annotations

import io
import json
import os
import re
import stat
import threading
import time
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail
from keyring_backends import HungKeyring, MemoryKeyring
from sandbox_support import Clock

from zbulk import datacentres
from zbulk.auth import oauth, stores
from zbulk.auth.oauth import OAuthApp
from zbulk.errors import CredentialsError, ExitCode
from zbulk.sandbox import DEMO_JOBS, Sandbox

JOB = DEMO_JOBS["completed"]


def self_client_login(run, sandbox, client_env, *extra: str):
    code = sandbox.issue_grant_code()
    return run(
        "auth", "login", "--self-client", "--dc", "sandbox", "--code", code, *extra, **client_env
    )


def stored(backend: MemoryKeyring, profile: str = "default") -> dict:
    return json.loads(backend.items[("zbulk", profile)])


def all_files_text(*roots: Path) -> str:
    chunks = []
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file():
                chunks.append(path.read_bytes().decode("utf-8", errors="replace"))
    return "\n".join(chunks)


class FakeStdin(io.StringIO):
    def __init__(self, text: str = "", tty: bool = False) -> None:
        super().__init__(text)
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


# --- --with-token ---------------------------------------------------------------------


def test_with_token_stores_in_keyring_and_is_used(
    run, sandbox, dc_config, memory_keyring, monkeypatch
) -> None:
    monkeypatch.setattr("sys.stdin", FakeStdin(f"  {sandbox.token}\n"))
    r = run("auth", "login", "--with-token", "--dc", "sandbox")
    assert r.code == 0, r.err
    assert stored(memory_keyring) == {"access_token": sandbox.token}
    assert sandbox.token not in dc_config.read_text()
    r = run("job", "show", "--json", JOB)
    assert r.code == 0, r.err
    assert json.loads(r.out)["id"] == JOB


def test_with_token_refuses_a_terminal(run, dc_config, memory_keyring, monkeypatch) -> None:
    monkeypatch.setattr("sys.stdin", FakeStdin("", tty=True))
    r = run("auth", "login", "--with-token", "--dc", "sandbox")
    assert r.code == ExitCode.USAGE and "standard input" in r.err
    assert not memory_keyring.items


@pytest.mark.parametrize("text", ["", "\n", "   "])
def test_with_token_empty_stdin(run, dc_config, memory_keyring, monkeypatch, text) -> None:
    monkeypatch.setattr("sys.stdin", FakeStdin(text))
    r = run("auth", "login", "--with-token", "--dc", "sandbox")
    assert r.code == ExitCode.CREDENTIALS and "empty" in r.err
    assert not memory_keyring.items


def test_no_mode_and_no_terminal_is_a_usage_error(
    run, dc_config, memory_keyring, monkeypatch
) -> None:
    monkeypatch.setattr("sys.stdin", FakeStdin(""))
    r = run("auth", "login")
    assert r.code == ExitCode.USAGE and "--self-client" in r.err


def test_two_modes_are_a_usage_error(run, memory_keyring) -> None:
    r = run("auth", "login", "--with-token", "--device")
    assert r.code == ExitCode.USAGE


def test_unknown_dc(run, memory_keyring, monkeypatch) -> None:
    monkeypatch.setattr("sys.stdin", FakeStdin("tok"))
    r = run("auth", "login", "--with-token", "--dc", "mars")
    assert r.code == ExitCode.USAGE and "eu" in r.err


def test_profile_with_path_characters(run, memory_keyring, monkeypatch) -> None:
    monkeypatch.setattr("sys.stdin", FakeStdin("tok"))
    r = run("--profile", "../../etc", "auth", "login", "--with-token")
    assert r.code == ExitCode.USAGE and not memory_keyring.items


def test_zbulk_token_set_while_logging_in_says_which_wins(
    run, sandbox, dc_config, memory_keyring, monkeypatch
) -> None:
    monkeypatch.setattr("sys.stdin", FakeStdin(sandbox.token))
    r = run("auth", "login", "--with-token", "--dc", "sandbox", ZBULK_TOKEN="from-env")
    assert r.code == 0
    assert "ZBULK_TOKEN is set: it wins over this login" in r.err


# --- self client and refresh ----------------------------------------------------------


def test_self_client_login_then_show(
    run, sandbox, dc_config, memory_keyring, client_env, env, tmp_path, monkeypatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    r = self_client_login(run, sandbox, client_env)
    assert r.code == 0, r.err
    secrets = stored(memory_keyring)
    assert set(secrets) == {"refresh_token", "client_secret", "access_token", "expires_at"}
    assert secrets["expires_at"] > time.time() + 3000
    r = run("job", "show", JOB)
    assert r.code == 0, r.err
    assert sandbox.refresh_count == 0  # the cached token is used, not refreshed
    # No secret in any file under the config dir or HOME.
    text = all_files_text(Path(env["ZBULK_CONFIG_DIR"]), home)
    for secret in (secrets["refresh_token"], secrets["access_token"], sandbox.client_secret):
        assert secret not in text
    record = json.loads((Path(env["ZBULK_CONFIG_DIR"]) / "logins.json").read_text())
    assert record["profiles"]["default"]["api_domain"] == sandbox.url
    assert record["profiles"]["default"]["mode"] == "self_client"


@pytest.mark.parametrize(
    ("code", "client_secret", "expected"),
    [
        ("1000.wrong.code", None, "invalid_code"),
        (None, "not-the-secret", "invalid_client"),
    ],
)
def test_self_client_bad_code_or_client(
    run, sandbox, dc_config, memory_keyring, client_env, code, client_secret, expected
) -> None:
    env = dict(client_env)
    if client_secret:
        env["ZBULK_CLIENT_SECRET"] = client_secret
    r = run(
        "auth",
        "login",
        "--self-client",
        "--dc",
        "sandbox",
        "--code",
        code or sandbox.issue_grant_code(),
        **env,
    )
    assert r.code == ExitCode.CREDENTIALS and expected in r.err
    assert not memory_keyring.items


def test_self_client_without_terminal_needs_the_secret(
    run, sandbox, dc_config, memory_keyring, monkeypatch
) -> None:
    monkeypatch.setattr("sys.stdin", FakeStdin(""))
    r = run(
        "auth",
        "login",
        "--self-client",
        "--dc",
        "sandbox",
        "--client-id",
        "x",
        "--code",
        "y",
        ZBULK_CLIENT_SECRET=None,
        ZBULK_CLIENT_ID=None,
    )
    assert r.code == ExitCode.USAGE and "ZBULK_CLIENT_SECRET" in r.err


def test_expired_cache_refreshes_once(run, sandbox, dc_config, memory_keyring, client_env) -> None:
    assert self_client_login(run, sandbox, client_env).code == 0
    secrets = stored(memory_keyring)
    secrets["expires_at"] = time.time() + 30  # under a minute left
    memory_keyring.items[("zbulk", "default")] = json.dumps(secrets)
    assert run("job", "show", JOB).code == 0
    assert run("job", "show", JOB).code == 0
    assert sandbox.refresh_count == 1
    assert stored(memory_keyring)["access_token"] != secrets["access_token"]


def test_a_401_refreshes_and_retries_once(
    run, sandbox, dc_config, memory_keyring, client_env
) -> None:
    assert self_client_login(run, sandbox, client_env).code == 0
    sandbox.expire_access_tokens()
    r = run("job", "show", "--json", JOB)
    assert r.code == 0, r.err
    assert sandbox.refresh_count == 1


def test_revoked_refresh_token_names_the_login_command(
    run, sandbox, dc_config, memory_keyring, client_env
) -> None:
    assert self_client_login(run, sandbox, client_env).code == 0
    sandbox.revoke_refresh_token(stored(memory_keyring)["refresh_token"])
    sandbox.expire_access_tokens()
    r = run("job", "show", JOB)
    assert r.code == ExitCode.CREDENTIALS
    assert "zbulk auth login --self-client --dc sandbox" in r.err
    assert "Traceback" not in r.err


def test_auth_token_prints_a_valid_token(
    run, sandbox, dc_config, memory_keyring, client_env
) -> None:
    assert self_client_login(run, sandbox, client_env).code == 0
    r = run("auth", "token")
    assert r.code == 0 and r.out.strip() == stored(memory_keyring)["access_token"]


def test_auth_token_from_environment(run) -> None:
    r = run("auth", "token", ZBULK_TOKEN=" abc \n")
    assert r.code == 0 and r.out == "abc\n"


def test_auth_token_without_credentials(run, memory_keyring) -> None:
    r = run("auth", "token")
    assert r.code == ExitCode.CREDENTIALS and "zbulk auth login" in r.err


# --- status and logout ----------------------------------------------------------------


def test_status_shows_no_secret(run, sandbox, dc_config, memory_keyring, client_env) -> None:
    assert self_client_login(run, sandbox, client_env).code == 0
    secrets = stored(memory_keyring)
    r = run("auth", "status")
    assert r.code == 0, r.err
    assert "profile default" in r.out and "(in use)" in r.out
    assert sandbox.url in r.out and "refresh token (Self Client)" in r.out
    assert re.search(r"valid, expires in (59m\d\ds|1h00m)", r.out)
    r = run("auth", "status", "--json")
    (entry,) = [json.loads(line) for line in r.out.splitlines()]
    assert entry["profile"] == "default" and entry["source"] == "keyring"
    assert entry["dc"] == "sandbox" and entry["client_id"] == sandbox.client_id
    for secret in secrets.values():
        if isinstance(secret, str):
            assert secret not in r.out


def test_status_when_logged_out(run, memory_keyring) -> None:
    r = run("auth", "status")
    assert r.code == ExitCode.CREDENTIALS and "not logged in" in r.out


def test_status_with_environment_token(run) -> None:
    r = run("auth", "status", "--json", ZBULK_TOKEN="x")
    assert r.code == 0 and json.loads(r.out)["source"] == "environment"
    assert '"x"' not in r.out


def test_logout(run, sandbox, dc_config, memory_keyring, client_env) -> None:
    assert self_client_login(run, sandbox, client_env).code == 0
    assert (
        run(
            "--profile",
            "second",
            "auth",
            "login",
            "--self-client",
            "--dc",
            "sandbox",
            "--code",
            sandbox.issue_grant_code(),
            **client_env,
        ).code
        == 0
    )
    r = run("auth", "logout")
    assert r.code == 0 and "Logged out profile 'default'" in r.err
    assert ("zbulk", "default") not in memory_keyring.items
    assert run("job", "show", JOB).code == ExitCode.CREDENTIALS
    assert run("--profile", "second", "job", "show", JOB).code == 0
    r = run("auth", "logout", "--all")
    assert "second" in r.err and not memory_keyring.items


# --- stores ---------------------------------------------------------------------------


def test_no_keyring_refuses_with_the_alternatives(run, sandbox, dc_config, client_env, env) -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        r = self_client_login(run, sandbox, client_env)
    finally:
        keyring.set_keyring(previous)
    assert r.code == ExitCode.CREDENTIALS
    assert "no usable keyring" in r.err
    for way in ("ZBULK_TOKEN", "--insecure-storage", "keyring"):
        assert way in r.err
    assert sandbox.token_requests == 0  # refused before the grant code was spent
    assert "secrets" not in os.listdir(env["ZBULK_CONFIG_DIR"])


def test_hung_keyring_is_bounded(run, sandbox, dc_config, client_env, monkeypatch) -> None:
    monkeypatch.setattr(stores, "KEYRING_TIMEOUT", 0.3)
    previous = keyring.get_keyring()
    backend = HungKeyring()
    keyring.set_keyring(backend)
    try:
        started = time.monotonic()
        r = self_client_login(run, sandbox, client_env)
        took = time.monotonic() - started
    finally:
        backend.release.set()
        keyring.set_keyring(previous)
    assert r.code == ExitCode.CREDENTIALS and "did not answer within 0.3s" in r.err
    assert took < 5
    assert sandbox.token_requests == 0  # found before the grant code was spent


def test_insecure_storage_is_owner_only_and_warns(run, sandbox, dc_config, client_env, env) -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())  # proves the keyring is not consulted
    try:
        r = self_client_login(run, sandbox, client_env, "--insecure-storage")
        assert r.code == 0, r.err
        assert "insecure-storage" in r.err
        secrets_dir = Path(env["ZBULK_CONFIG_DIR"]) / "secrets"
        path = secrets_dir / "default.json"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(secrets_dir.stat().st_mode) == 0o700
        r = run("job", "show", JOB)
        assert r.code == 0 and "plain file" in r.err  # a short note at use, once a day
        r = run("job", "show", JOB)
        assert r.code == 0 and "plain file" not in r.err
        r = run("auth", "status", "--json")
        assert json.loads(r.out)["source"] == "file"
    finally:
        keyring.set_keyring(previous)


def test_damaged_secret(run, sandbox, dc_config, memory_keyring, client_env) -> None:
    assert self_client_login(run, sandbox, client_env).code == 0
    memory_keyring.items[("zbulk", "default")] = "{not json"
    r = run("job", "show", JOB)
    assert r.code == ExitCode.CREDENTIALS and "damaged" in r.err


# --- device flow ----------------------------------------------------------------------


def approve_when_asked(sandbox: Sandbox, action: str = "approve") -> threading.Thread:
    def worker() -> None:
        for _ in range(500):
            if sandbox.device_requests:
                user_code = sandbox.device_requests[-1].user_code
                getattr(sandbox, {"approve": "approve_device", "deny": "deny_device"}[action])(
                    user_code
                )
                return
            time.sleep(0.01)

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    return thread


@pytest.fixture
def quick_sandbox():
    with Sandbox(device_interval=0.05, device_pace=0.05) as server:
        yield server


def write_dc(env, name: str, server: Sandbox) -> None:
    path = Path(env["ZBULK_CONFIG_DIR"]) / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fh.write(f'[data_centres.{name}]\naccounts = "{server.url}"\napi_domain = "{server.url}"\n')


def test_device_login(run, quick_sandbox, env, memory_keyring) -> None:
    write_dc(env, "sandbox", quick_sandbox)
    approve_when_asked(quick_sandbox)
    r = run(
        "auth",
        "login",
        "--device",
        "--dc",
        "sandbox",
        ZBULK_CLIENT_ID=quick_sandbox.client_id,
        ZBULK_CLIENT_SECRET=quick_sandbox.client_secret,
    )
    assert r.code == 0, r.err
    request = quick_sandbox.device_requests[-1]
    assert request.user_code in r.err and f"{quick_sandbox.url}/device" in r.err
    assert stored(memory_keyring)["refresh_token"]
    assert run("job", "show", JOB).code == 0


def test_device_denied(run, quick_sandbox, env, memory_keyring) -> None:
    write_dc(env, "sandbox", quick_sandbox)
    approve_when_asked(quick_sandbox, "deny")
    r = run(
        "auth",
        "login",
        "--device",
        "--dc",
        "sandbox",
        ZBULK_CLIENT_ID=quick_sandbox.client_id,
        ZBULK_CLIENT_SECRET=quick_sandbox.client_secret,
    )
    assert r.code == ExitCode.CREDENTIALS and "denied" in r.err
    assert not memory_keyring.items


def test_device_slow_down_and_pending(env) -> None:
    from zbulk.http import form_poster

    clock = Clock()
    with Sandbox(device_interval=5, clock=clock) as server:
        post = form_poster(5)
        code = oauth.request_device_code(post, OAuthApp(server.url, server.client_id))
        assert code.interval == 5

        def sleep(seconds: float) -> None:
            clock.sleep(1 if len(clock.sleeps) == 1 else seconds)  # poll 2 comes too soon
            if len(clock.sleeps) == 4:
                server.approve_device(code.user_code)

        tokens, accounts = oauth.poll_device(
            post,
            OAuthApp(server.url, server.client_id, server.client_secret),
            code,
            sleep=sleep,
            clock=clock,
        )
    assert tokens.refresh_token and accounts == server.url
    assert clock.sleeps[:2] == [5, 1]
    assert clock.sleeps[2] == oauth.SLOW_DOWN_INTERVAL  # after slow_down: one poll per 30 s


def test_device_expired(env) -> None:
    from zbulk.http import form_poster

    clock = Clock()
    with Sandbox(device_interval=5, clock=clock) as server:
        post = form_poster(5)
        code = oauth.request_device_code(post, OAuthApp(server.url, server.client_id))
        with pytest.raises(CredentialsError, match="expired"):
            oauth.poll_device(
                post,
                OAuthApp(server.url, server.client_id, server.client_secret),
                code,
                sleep=clock.sleep,
                clock=clock,
            )


def test_device_other_dc_switches_server(env) -> None:
    from zbulk.http import form_poster

    clock = Clock()
    with (
        Sandbox(device_interval=5, clock=clock) as home,
        Sandbox(device_interval=5, clock=clock) as eu,
    ):
        post = form_poster(5)
        code = oauth.request_device_code(post, OAuthApp(home.url, home.client_id))
        home.send_device_elsewhere(code.user_code, "eu")
        eu_dc = datacentres.DataCentre("eu", eu.url, eu.url)
        # The other DC knows the device code once the user approved there.
        switched: list[datacentres.DataCentre] = []

        def on_switch(dc: datacentres.DataCentre) -> None:
            switched.append(dc)
            eu.adopt_device(home.device_requests[-1])

        tokens, accounts = oauth.poll_device(
            post,
            OAuthApp(home.url, home.client_id, home.client_secret),
            code,
            known={"eu": eu_dc},
            sleep=clock.sleep,
            clock=clock,
            on_switch=on_switch,
        )
    assert accounts == eu.url and switched == [eu_dc]
    assert tokens.api_domain == eu.url


def test_other_dc_unknown_location(env) -> None:
    with pytest.raises(CredentialsError, match="mars"):
        datacentres.for_location("mars", {})
    assert datacentres.for_location("https://accounts.zoho.eu", {}).name == "eu"


def test_locked_keyring_names_the_real_cause(run, sandbox, dc_config, client_env) -> None:
    from keyring_backends import LockedKeyring

    previous = keyring.get_keyring()
    keyring.set_keyring(LockedKeyring())
    try:
        r = self_client_login(run, sandbox, client_env)
    finally:
        keyring.set_keyring(previous)
    assert r.code == ExitCode.CREDENTIALS
    assert "KeyringLocked: Failed to unlock the collection!" in r.err
    assert "--insecure-storage" in r.err and "Traceback" not in r.err
    assert sandbox.token_requests == 0
