"""Logins that verify themselves, status for a named profile, logout --revoke, many
profiles at once, hostile names and numbers: over real HTTP to the sandbox, with real
keyring backends (tests/keyring_backends.py)."""

from __future__ import annotations

import io
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import keyring
import pytest
from keyring_backends import HungKeyring
from procs import SCRIPT

from zbulk.auth import oauth, profiles, stores
from zbulk.auth.oauth import OAuthApp
from zbulk.errors import CredentialsError, ExitCode, NetworkError
from zbulk.sandbox import DEMO_JOBS

JOB = DEMO_JOBS["completed"]


@pytest.fixture
def dc(env, sandbox) -> Path:
    path = Path(env["ZBULK_CONFIG_DIR"]) / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f'[data_centres.sb]\naccounts = "{sandbox.url}"\napi_domain = "{sandbox.url}"\n'
    )
    return path


def login(run, sandbox, client_env, *extra: str, scope: str = "ZohoCRM.bulk.ALL"):
    code = sandbox.issue_grant_code(scope)
    return run("auth", "login", "--self-client", "--dc", "sb", "--code", code, *extra, **client_env)


def logins_file(env) -> Path:
    return Path(env["ZBULK_CONFIG_DIR"]) / "logins.json"


# --- verification -----------------------------------------------------------------------


def test_login_verifies_with_one_lookup(run, sandbox, dc, memory_keyring, client_env) -> None:
    r = login(run, sandbox, client_env)
    assert r.code == 0, r.err
    assert "verified with" in r.err
    lookups = [q.path for q in sandbox.requests if "/crm/bulk/" in q.path]
    assert lookups == [f"/crm/bulk/v8/write/{profiles.VERIFY_JOB_ID}"]


def test_a_netrc_entry_never_reaches_the_accounts_server(
    run, sandbox, dc, memory_keyring, client_env
) -> None:
    """The token exchange and the verification carry zbulk's own credentials only, never
    Basic auth made from ~/.netrc (requests adds it to any request without auth)."""
    netrc = Path(os.environ["HOME"]) / ".netrc"
    netrc.write_text("machine 127.0.0.1 login someone password netrc-secret\n")
    netrc.chmod(0o600)
    r = login(run, sandbox, client_env)
    assert r.code == 0, r.err
    sent = {q.path.split("?")[0]: q.headers.get("Authorization") for q in sandbox.requests}
    assert sent["/oauth/v2/token"] is None
    assert sent[f"/crm/bulk/v8/write/{profiles.VERIFY_JOB_ID}"].startswith("Zoho-oauthtoken ")


def test_garbage_token_is_refused_and_nothing_stored(
    run, sandbox, dc, memory_keyring, env, monkeypatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("1000.not-a-real-token"))
    r = run("auth", "login", "--with-token", "--dc", "sb")
    assert r.code == ExitCode.CREDENTIALS
    assert "verifying the login failed" in r.err and "INVALID_TOKEN" in r.err
    assert "nothing was stored" in r.err and "Traceback" not in r.err
    assert not memory_keyring.items and not logins_file(env).exists()


def test_wrong_scope_is_refused(run, sandbox, dc, memory_keyring, client_env, env) -> None:
    r = login(run, sandbox, client_env, scope="ZohoCRM.users.READ")
    assert r.code == ExitCode.CREDENTIALS
    assert "OAUTH_SCOPE_MISMATCH" in r.err and "ZohoCRM.bulk.ALL" in r.err
    assert not memory_keyring.items and not logins_file(env).exists()


def test_wrong_client_secret_says_so(run, sandbox, dc, memory_keyring, client_env) -> None:
    r = login(run, sandbox, {**client_env, "ZBULK_CLIENT_SECRET": "wrong"})
    assert r.code == ExitCode.CREDENTIALS and "the client secret is wrong" in r.err


# --- status and logout ------------------------------------------------------------------


def test_status_of_a_named_profile_that_is_gone(run, sandbox, dc, memory_keyring, client_env):
    assert login(run, sandbox, client_env).code == 0
    assert login(run, sandbox, client_env, "--profile", "gone").code == 0
    assert run("--profile", "gone", "auth", "logout").code == 0
    r = run("--profile", "gone", "auth", "status")
    assert r.code == ExitCode.CREDENTIALS
    assert "profile gone  (in use)" in r.out and "not logged in" in r.out
    assert "zbulk auth login --profile gone" in r.out
    r = run("--profile", "gone", "auth", "status", "--json")
    entries = [json.loads(line) for line in r.out.splitlines()]
    gone = [e for e in entries if e["profile"] == "gone"]
    assert gone == [
        {
            "profile": "gone",
            "active": True,
            "logged_in": False,
            "expires_at": None,
            "error": "profile 'gone' is not logged in",
            "login_command": "zbulk auth login --profile gone",
        }
    ]
    assert [e["profile"] for e in entries] == ["default", "gone"]


def test_logout_revoke(run, sandbox, dc, memory_keyring, client_env) -> None:
    assert login(run, sandbox, client_env).code == 0
    refresh_token = json.loads(memory_keyring.items[("zbulk", "default")])["refresh_token"]
    r = run("auth", "logout", "--revoke")
    assert r.code == 0 and "Revoked the refresh token" in r.err, r.err
    assert sandbox.request_count("/oauth/v2/token/revoke") == 1
    assert refresh_token not in sandbox._accounts._refresh  # dead at "Zoho"
    assert not memory_keyring.items


def test_logout_revoke_failure_keeps_everything(run, sandbox, dc, memory_keyring, client_env):
    assert login(run, sandbox, client_env).code == 0
    refresh_token = json.loads(memory_keyring.items[("zbulk", "default")])["refresh_token"]
    sandbox.revoke_refresh_token(refresh_token)
    r = run("auth", "logout", "--revoke")
    assert r.code == ExitCode.CREDENTIALS and "revoking" in r.err
    assert ("zbulk", "default") in memory_keyring.items  # kept: the user can try again
    assert run("auth", "logout").code == 0 and not memory_keyring.items


def test_logout_revoke_of_a_pasted_token(run, sandbox, dc, memory_keyring, monkeypatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(sandbox.token))
    assert run("auth", "login", "--with-token", "--dc", "sb").code == 0
    r = run("auth", "logout", "--revoke")
    assert r.code == 0 and "cannot be revoked" in r.err and not memory_keyring.items


def test_hung_keyring_costs_one_budget_for_many_profiles(run, env, monkeypatch) -> None:
    path = logins_file(env)
    path.parent.mkdir(parents=True)
    record = {
        "mode": "token",
        "storage": "keyring",
        "dc": "us",
        "api_domain": "https://www.zohoapis.com",
    }
    names = ["p1", "p2", "p3", "p4"]
    path.write_text(json.dumps({"version": 1, "profiles": dict.fromkeys(names, record)}))
    monkeypatch.setattr(stores, "KEYRING_TIMEOUT", 1.0)
    previous, backend = keyring.get_keyring(), HungKeyring()
    keyring.set_keyring(backend)
    try:
        started = time.monotonic()
        r = run("auth", "status", "--json")
        took = time.monotonic() - started
    finally:
        backend.release.set()
        keyring.set_keyring(previous)
    entries = [json.loads(line) for line in r.out.splitlines()]
    assert [e["profile"] for e in entries] == [*names, "default"]
    assert all("did not answer" in e["error"] for e in entries[:4])
    assert took < 3.5  # one 1 s budget (and some slack for a busy machine), not four


def test_crafted_profile_names_never_become_paths(run, env, tmp_path) -> None:
    victim = tmp_path / "victim.json"
    victim.write_text("precious")
    directory = Path(env["ZBULK_CONFIG_DIR"])
    (directory / "secrets").mkdir(parents=True)
    evil = os.path.relpath(tmp_path / "victim", directory / "secrets")
    record = {
        "mode": "token",
        "storage": "file",
        "dc": "us",
        "api_domain": "https://www.zohoapis.com",
    }
    logins_file(env).write_text(json.dumps({"profiles": {evil: record, "../../x": record}}))
    (directory / "config.toml").write_text(
        f'[profiles."{evil}"]\ncredential = "access_token"\nstorage = "file"\n'
    )
    r = run("auth", "status", "--json")
    assert "Traceback" not in r.err and "precious" not in r.out
    assert evil not in r.out
    r = run("auth", "logout", "--all")
    assert r.code == 0 and "Traceback" not in r.err
    assert victim.read_text() == "precious"
    r = run("--profile", evil, "auth", "logout")
    assert r.code == ExitCode.USAGE and victim.read_text() == "precious"


def test_logout_all_finds_orphaned_secret_files(run, env) -> None:
    secrets = Path(env["ZBULK_CONFIG_DIR"]) / "secrets"
    secrets.mkdir(parents=True)
    (secrets / "lost.json").write_text('{"access_token": "x"}')
    r = run("auth", "logout", "--all")
    assert r.code == 0 and "Logged out profile 'lost'" in r.err
    assert not (secrets / "lost.json").exists()


def test_thirty_parallel_logins_all_survive(sandbox, tmp_path) -> None:
    directory = tmp_path / "config"
    directory.mkdir()
    (directory / "config.toml").write_text(
        f'# mine\n[data_centres.sb]\naccounts = "{sandbox.url}"\napi_domain = "{sandbox.url}"\n'
    )
    before = (directory / "config.toml").read_text()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZBULK_")}
    env.update(ZBULK_CONFIG_DIR=str(directory), ZBULK_STATE_DIR=str(tmp_path / "state"))
    names = [f"p{i}" for i in range(30)]
    procs = [
        subprocess.Popen(
            [
                str(SCRIPT),
                "--profile",
                name,
                "auth",
                "login",
                "--with-token",
                "--dc",
                "sb",
                "--insecure-storage",
            ],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in names
    ]
    results = [p.communicate(sandbox.token, timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 30, results
    record = json.loads((directory / "logins.json").read_text())
    assert sorted(record["profiles"]) == sorted(names)
    assert sorted(p.stem for p in (directory / "secrets").glob("*.json")) == sorted(names)
    assert (directory / "config.toml").read_text() == before
    r = subprocess.run(
        [str(SCRIPT), "auth", "logout", "--all"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0 and r.stderr.count("Logged out profile") == 30
    assert not list((directory / "secrets").glob("*.json"))
    assert json.loads((directory / "logins.json").read_text())["profiles"] == {}


# --- insecure storage: warned at login and in status, a daily note at use ---------------


def test_insecure_storage_notes(run, sandbox, dc, client_env, env) -> None:
    r = login(run, sandbox, client_env, "--insecure-storage")
    assert r.code == 0 and "--insecure-storage" in r.err
    r = run("auth", "status")
    assert "Warning" in r.out and "plain file" in r.out
    r = run("job", "show", JOB)
    assert r.code == 0 and r.err.count("plain file") == 1 and len(r.err) < 200
    assert "plain file" not in run("job", "show", JOB).err  # once a day
    stamp = Path(env["ZBULK_CONFIG_DIR"]) / "secrets" / ".default.warned"
    os.utime(stamp, (time.time() - 90000, time.time() - 90000))
    assert "plain file" in run("job", "show", JOB).err  # a day later, again
    os.utime(stamp, (time.time() - 90000, time.time() - 90000))
    assert run("config", "set", "default.insecure_storage_warning", "false").code == 0
    assert "plain file" not in run("job", "show", JOB).err  # silenced


# --- numbers and bytes from the accounts server ----------------------------------------


def answers(*bodies: dict):
    """A Post that replays ``bodies``: the accounts server's side of one conversation."""
    queue = list(bodies)

    def post(url: str, data) -> dict:
        return queue.pop(0)

    return post


APP = OAuthApp("https://accounts.example", "cid", "secret")


@pytest.mark.parametrize(
    ("raw", "lifetime"),
    [
        ("1e400", 3600),
        ("nan", 3600),
        (1e300, 86400),
        (-1e18, 3600),
        ("inf", 3600),
        (3600000, 3600),
        (None, 3600),
        (True, 3600),
        ("7200", 7200),
        (10**400, 3600),
    ],
)
def test_expires_in_is_bounded(raw, lifetime) -> None:
    body = {"access_token": "a", "refresh_token": "r", "expires_in": raw}
    tokens = oauth.exchange_code(answers(body), APP, "code", now=lambda: 1000.0)
    assert tokens.expires_at - 1000.0 == pytest.approx(lifetime)
    assert math.isfinite(tokens.expires_at)


@pytest.mark.parametrize("token", ["tök", "a b", "a\x1bb", "x" * 5000, 5, ["a"]])
def test_unusable_access_token_from_the_server(token) -> None:
    with pytest.raises((NetworkError, CredentialsError)):
        oauth.refresh(answers({"access_token": token}), APP, "r")


@pytest.mark.parametrize(
    ("interval", "expires", "want"),
    [
        ("nan", 300, (5.0, 300.0)),
        (1e300, 300, (60.0, 300.0)),
        (5000, 300000, (5.0, 300.0)),
        (-3, "1e400", (0.01, 300.0)),
        (2, 1e300, (2.0, 1800.0)),
        (None, None, (5.0, 300.0)),
    ],
)
def test_device_numbers_are_bounded_and_ms_read_as_ms(interval, expires, want) -> None:
    body = {
        "user_code": "ABCD",
        "device_code": "d",
        "verification_url": "https://x/device",
        "interval": interval,
        "expires_in": expires,
    }
    code = oauth.request_device_code(answers(body), APP)
    assert (code.interval, code.expires_in) == want


def test_slow_down_moves_to_zoho_pace() -> None:
    code = oauth.DeviceCode("U", "d", "https://x", 600.0, 5.0)
    sleeps: list[float] = []
    now = [0.0]

    def sleep(s: float) -> None:
        sleeps.append(s)
        now[0] += s

    post = answers(
        {"error": "slow_down"},
        {"error": "authorization_pending"},
        {"access_token": "a", "refresh_token": "r"},
    )
    tokens, _ = oauth.poll_device(post, APP, code, sleep=sleep, clock=lambda: now[0])
    assert sleeps == [5.0, 30.0, 30.0] and tokens.access_token == "a"


def test_non_ascii_access_token_at_login_is_an_error_not_a_traceback(
    run, sandbox, dc, memory_keyring, client_env, monkeypatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("tök€n"))
    r = run("auth", "login", "--with-token", "--dc", "sb")
    assert r.code == ExitCode.CREDENTIALS and "Traceback" not in r.err


# --- a platform without fcntl -----------------------------------------------------------

NO_FCNTL = """
import sys
sys.modules["fcntl"] = None  # as on Windows: `import fcntl` raises ImportError
from zbulk.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_login_refresh_and_config_writes_without_fcntl(sandbox, dc, client_env, env) -> None:
    """Every step in processes where fcntl cannot be imported (filelock's soft lock)."""
    proc_env = {k: v for k, v in os.environ.items() if k != "ZBULK_TOKEN"} | client_env

    def zbulk(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", NO_FCNTL, *args],
            env=proc_env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    code = sandbox.issue_grant_code()
    r = zbulk("auth", "login", "--self-client", "--dc", "sb", "--code", code, "--insecure-storage")
    assert r.returncode == 0, r.stderr
    secrets = Path(env["ZBULK_CONFIG_DIR"]) / "secrets" / "default.json"
    secrets.write_text(json.dumps({**json.loads(secrets.read_text()), "expires_at": 0}))
    for args in (["auth", "token"], ["config", "set", "api_version", "v8"], ["auth", "logout"]):
        r = zbulk(*args)
        assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    assert sandbox.refresh_count == 1 and not secrets.exists()


# --- the user's config survives logins; the device page works for a person --------------


def test_emoji_in_config_and_client_id_survive_a_login(run, sandbox, memory_keyring, env):
    path = Path(env["ZBULK_CONFIG_DIR"]) / "config.toml"
    path.parent.mkdir(parents=True)
    text = (
        f'# 😀 my file\ntitle = "admin 😀"\n[data_centres.sb]\naccounts = "{sandbox.url}"\n'
        f'api_domain = "{sandbox.url}"  # 𝄞\n'
    )
    path.write_text(text, encoding="utf-8")
    code = sandbox.issue_grant_code()
    r = run(
        "auth",
        "login",
        "--self-client",
        "--dc",
        "sb",
        "--code",
        code,
        "--client-id",
        "cid😀",
        ZBULK_CLIENT_SECRET=sandbox.client_secret,
    )
    assert r.code == ExitCode.CREDENTIALS and "Zoho does not know this client id" in r.err
    r = login(
        run,
        sandbox,
        {"ZBULK_CLIENT_ID": sandbox.client_id, "ZBULK_CLIENT_SECRET": sandbox.client_secret},
    )
    assert r.code == 0, r.err
    assert path.read_text(encoding="utf-8") == text
    assert run("job", "show", JOB).code == 0
    assert run("auth", "status").code == 0


def test_device_login_approved_on_the_web_page(run, env, memory_keyring) -> None:
    import re
    import threading

    import requests

    from zbulk.sandbox import Sandbox

    with Sandbox(device_interval=0.05, device_pace=0.05) as server:
        path = Path(env["ZBULK_CONFIG_DIR"]) / "config.toml"
        path.parent.mkdir(parents=True)
        path.write_text(
            f'[data_centres.sb]\naccounts = "{server.url}"\napi_domain = "{server.url}"\n'
        )

        def person() -> None:  # reads the code off the page zbulk named, presses Approve
            for _ in range(500):
                if server.device_requests:
                    page = requests.get(f"{server.url}/device", timeout=5).text
                    assert re.search(r'<button name="action" value="approve"', page)
                    code = server.device_requests[-1].user_code
                    requests.post(
                        f"{server.url}/device",
                        timeout=5,
                        data={"user_code": code, "action": "approve"},
                    )
                    return
                time.sleep(0.01)

        threading.Thread(target=person, daemon=True).start()
        r = run(
            "auth",
            "login",
            "--device",
            "--dc",
            "sb",
            ZBULK_CLIENT_ID=server.client_id,
            ZBULK_CLIENT_SECRET=server.client_secret,
        )
        assert r.code == 0, r.err
        assert f"{server.url}/device" in r.err


def test_sandbox_command_says_how_to_try_the_device_flow(tmp_path) -> None:
    import signal

    env = {k: v for k, v in os.environ.items() if not k.startswith("ZBULK_")}
    proc = subprocess.Popen(
        [str(SCRIPT), "sandbox", "--port", "0"],
        env=env | {"ZBULK_CONFIG_DIR": str(tmp_path)},
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    lines = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("Jobs:"):
                break
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=10)
    text = "".join(lines)
    assert "zbulk auth login --device --dc http://127.0.0.1:" in text
    assert "approve the code there" in text


@pytest.mark.parametrize(
    "backend", ["keyring.backends.SecretService:Keyring", "gone.module:Keyring"]
)
def test_a_remembered_backend_that_cannot_answer(env, tmp_path, backend: str) -> None:
    """No session bus, or the backend uninstalled since login: a clear exit 3, no traceback."""
    path = logins_file(env)
    path.parent.mkdir(parents=True)
    record = {
        "mode": "token",
        "storage": "keyring",
        "dc": "us",
        "keyring_backend": backend,
        "api_domain": "https://www.zohoapis.com",
    }
    path.write_text(json.dumps({"version": 1, "profiles": {"default": record}}))
    proc_env = {
        k: v for k, v in os.environ.items() if k not in ("ZBULK_TOKEN", "PYTHON_KEYRING_BACKEND")
    }
    proc_env["DBUS_SESSION_BUS_ADDRESS"] = f"unix:path={tmp_path}/no-bus"
    proc_env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg")  # no keyringrc.cfg
    r = subprocess.run(
        [str(SCRIPT), "auth", "token"], env=proc_env, capture_output=True, text=True, timeout=60
    )
    assert r.returncode == ExitCode.CREDENTIALS, r.stderr
    assert "keyring" in r.stderr and "Traceback" not in r.stderr


def test_a_login_kept_by_an_older_zbulk_is_read_then_moved_out(
    run, sandbox, memory_keyring, client_env, env
) -> None:
    """Older zbulk kept login keys in config.toml: still read; the next login moves them to
    logins.json, editing config.toml in place (its comments and other keys kept)."""
    path = Path(env["ZBULK_CONFIG_DIR"]) / "config.toml"
    path.parent.mkdir(parents=True)
    legacy = (
        f'# mine\n[profiles.default]\ncredential = "access_token"\nlogin = "token"\n'
        f'storage = "keyring"\ndc = "sb"\napi_domain = "{sandbox.url}"  # keep me\n\n'
        f'[data_centres.sb]\naccounts = "{sandbox.url}"\napi_domain = "{sandbox.url}"\n'
    )
    path.write_text(legacy)
    memory_keyring.items[("zbulk", "default")] = json.dumps({"access_token": sandbox.token})
    assert run("job", "show", JOB).code == 0
    r = run("auth", "status", "--json")
    assert json.loads(r.out.splitlines()[0])["login"] == "token"
    assert login(run, sandbox, client_env).code == 0
    text = path.read_text()
    assert "credential" not in text and "storage" not in text and "login =" not in text
    assert text.startswith("# mine\n[profiles.default]\n")
    assert f'api_domain = "{sandbox.url}"  # keep me' in text
    assert json.loads(logins_file(env).read_text())["profiles"]["default"]["mode"] == "self_client"
    assert run("auth", "logout").code == 0 and path.read_text() == text


def test_moving_a_login_between_stores_leaves_no_copy(
    run, sandbox, dc, memory_keyring, client_env, env
) -> None:
    assert login(run, sandbox, client_env).code == 0
    assert ("zbulk", "default") in memory_keyring.items
    assert login(run, sandbox, client_env, "--insecure-storage").code == 0
    assert not memory_keyring.items
    secrets = Path(env["ZBULK_CONFIG_DIR"]) / "secrets" / "default.json"
    assert secrets.exists()
    assert login(run, sandbox, client_env).code == 0
    assert ("zbulk", "default") in memory_keyring.items and not secrets.exists()


def test_the_secret_service_fast_path_steps_aside_without_a_bus(monkeypatch, tmp_path) -> None:
    """No session bus (a headless shell, a container): NotImplemented, so keyring's own
    backend runs and explains; a keyring chosen by environment is never bypassed."""
    from zbulk.auth.stores import SERVICE, _FastSecretService

    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path}/no-bus")
    assert _FastSecretService.get_password(SERVICE, "default") is NotImplemented
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    assert _FastSecretService.get_password(SERVICE, "default") is NotImplemented


# --- issue 26 item 13: the login instructions name the scopes an import needs ------------

IMPORT_SCOPES = (
    "ZohoCRM.bulk.ALL",
    "ZohoCRM.modules.ALL",
    "ZohoFiles.files.ALL",
    "ZohoCRM.org.READ",
)


def test_login_help_and_prompt_name_the_scopes_import_needs(
    run, sandbox, dc, memory_keyring, client_env
) -> None:
    assert oauth.SCOPE.split(",") == list(IMPORT_SCOPES)  # what --device asks for
    text = run("auth", "login", "--help").out
    assert ",".join(IMPORT_SCOPES) in text and "ZohoCRM.bulk.READ is not enough" in text
    r = run("auth", "login", "--self-client", "--dc", "sb", **client_env)  # no code, no terminal
    assert r.code == ExitCode.USAGE and ",".join(IMPORT_SCOPES) in r.err


@pytest.mark.parametrize(
    ("scope", "code", "named"),
    [
        (",".join(IMPORT_SCOPES), 0, None),
        (
            "ZohoCRM.bulk.ALL,ZohoCRM.modules.ALL,ZohoCRM.org.READ",
            ExitCode.CREDENTIALS,
            "ZohoFiles.files.ALL",
        ),
        (
            "ZohoCRM.bulk.ALL,ZohoFiles.files.ALL,ZohoCRM.org.READ",
            ExitCode.CREDENTIALS,
            "ZohoCRM.modules.ALL",
        ),
        (
            "ZohoCRM.bulk.ALL,ZohoCRM.modules.ALL,ZohoFiles.files.ALL",
            ExitCode.CREDENTIALS,
            "ZohoCRM.org.READ",
        ),
    ],
)
def test_the_scopes_named_are_the_ones_an_import_needs(
    run, sandbox, dc, memory_keyring, client_env, tmp_path, scope, code, named
) -> None:
    assert login(run, sandbox, client_env, scope=scope).code == 0
    leads = tmp_path / "leads.csv"
    leads.write_text("Last_Name,Email\nLovelace,ada@example.com\n")
    sandbox.import_duration = 0
    r = run("job", "import", str(leads), "--module", "Leads", "--operation", "insert", "--yes")
    assert r.code == code, r.err
    if named:
        assert named in r.err
