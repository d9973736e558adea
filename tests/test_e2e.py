"""zbulk as its own process, on a pipe and on a pseudo-terminal.

Each run execs the installed script, so the interpreter's own start (lazy imports, the
stdio it sets up, ``python -m zbulk``) is covered too. Only what needs a process of its own
is here: real pipes and terminals, signals, exit status as the OS sees it."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import procs
import pytest
from procs import SCRIPT
from ptys import run_pty

from zbulk.sandbox import DEMO_JOBS, Fault

pytestmark = pytest.mark.e2e

COLOUR = re.compile(r"\x1b\[[0-9;]*3[0-9](;[0-9]+)*m|\x1b\[[0-9;]*;3[0-9]m")


@pytest.fixture
def proc_env(sandbox, tmp_path) -> dict[str, str]:
    assert SCRIPT.exists(), f"install zbulk first (pip install -e .): {SCRIPT} is missing"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("ZBULK_") and k not in ("NO_COLOR", "FORCE_COLOR", "COLUMNS")
    }
    env.update(
        ZBULK_API_DOMAIN=sandbox.url,
        ZBULK_TOKEN=sandbox.token,
        ZBULK_CONFIG_DIR=str(tmp_path / "config"),
        ZBULK_STATE_DIR=str(tmp_path / "state"),
        TERM="xterm-256color",
        TZ="UTC",
    )
    return env


def run_pipe(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run with stdout and stderr on pipes."""
    return subprocess.run(
        [str(SCRIPT), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def test_pipe_gets_plain_text(proc_env) -> None:
    r = run_pipe(["job", "show", DEMO_JOBS["upsert"]], proc_env)
    assert r.returncode == 0, r.stderr
    assert "Field mappings" in r.stdout
    assert "\x1b" not in r.stdout and "\r" not in r.stdout
    assert r.stderr == ""


def test_pty_gets_colour(proc_env) -> None:
    code, text = run_pty(["job", "show", DEMO_JOBS["upsert"]], proc_env)
    assert code == 0, text
    assert COLOUR.search(text), text[:500]
    assert "Field mappings" in text


def test_pty_honours_no_color(proc_env) -> None:
    code, text = run_pty(["job", "show", DEMO_JOBS["upsert"]], dict(proc_env, NO_COLOR="1"))
    assert code == 0
    assert not COLOUR.search(text)


def test_json_on_a_pty_is_still_plain(proc_env) -> None:
    code, text = run_pty(["job", "show", "--json", DEMO_JOBS["upsert"]], proc_env)
    assert code == 0
    assert "\x1b" not in text
    assert json.loads(text.strip())["id"] == DEMO_JOBS["upsert"]


def test_json_pipe(proc_env) -> None:
    ids = [DEMO_JOBS["completed"], DEMO_JOBS["upsert"]]
    r = run_pipe(["job", "show", "--json", *ids], proc_env)
    assert r.returncode == 0
    assert [json.loads(line)["id"] for line in r.stdout.splitlines()] == ids


def test_errors_on_stderr_with_exit_codes(proc_env) -> None:
    r = run_pipe(["job", "show", "4150868000000000001"], proc_env)
    assert r.returncode == 4 and r.stdout == ""
    assert "error:" in r.stderr and "Traceback" not in r.stderr
    r = run_pipe(["job", "show", "abc"], proc_env)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    r = run_pipe(["job", "show", "1"], dict(proc_env, ZBULK_TOKEN="nope"))
    assert r.returncode == 3 and "nope" not in r.stderr


def test_python_dash_m(proc_env) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "zbulk", "--version"],
        capture_output=True,
        text=True,
        env=proc_env,
        timeout=60,
    )
    assert r.returncode == 0 and r.stdout.startswith("zbulk ")


def test_ctrl_c_exits_130_without_traceback(proc_env, sandbox) -> None:
    sandbox.add_fault(Fault("stall", delay=20.0))
    code, text = run_pty(  # Ctrl-C once the request is at the sandbox, waiting
        ["job", "show", DEMO_JOBS["upsert"]],
        proc_env,
        interrupt_when=lambda _: sandbox.request_count() > 0,
    )
    assert code == 130, text
    assert "interrupted" in text and "keep running" in text
    assert "Traceback" not in text


def test_broken_pipe_is_quiet(proc_env, sandbox) -> None:
    ids = [DEMO_JOBS["upsert"]] * 200
    script = f"{SCRIPT} job show --json {' '.join(ids)} | head -c 100 >/dev/null"
    r = subprocess.run(
        ["bash", "-o", "pipefail", "-c", script],
        env=proc_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Traceback" not in r.stderr and "BrokenPipe" not in r.stderr
    assert r.stderr == ""
    assert r.returncode == 141  # 800 kB of JSON into a pipe closed after 100 bytes


def test_sandbox_command_serves_until_interrupted(proc_env) -> None:
    proc = subprocess.Popen(
        [str(SCRIPT), "sandbox", "--port", "0", "--token", "tok"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=proc_env,
        start_new_session=True,
        preexec_fn=procs.default_sigint,
    )
    assert proc.stdout is not None and proc.stderr is not None
    try:
        line = proc.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+", line).group()  # type: ignore[union-attr]
        env = dict(proc_env, ZBULK_API_DOMAIN=url, ZBULK_TOKEN="tok")
        r = run_pipe(["job", "show", "--json", DEMO_JOBS["completed"]], env)
        assert r.returncode == 0 and json.loads(r.stdout)["status"] == "COMPLETED"
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        # Read through the buffered streams (communicate() would skip what readline buffered).
        out, err = line + proc.stdout.read(), proc.stderr.read()
        proc.wait(timeout=10)
    assert proc.returncode == 0, err
    assert "ZBULK_TOKEN=tok" in out and "Traceback" not in err
    assert f"zbulk job watch {DEMO_JOBS['large']}" in out and "run for 45s" in out


def test_large_output_is_complete_through_a_pipe(proc_env, sandbox) -> None:
    """The script ends the process without interpreter teardown: nothing may be lost.
    Each output is over three times a pipe's buffer (64 KiB on Linux), so the writes block
    and the last ones happen just before the exit. (Scale is test_cli's huge job.)"""
    from docs import huge_job

    doc = huge_job(16, 500)
    sandbox.put_document(doc["id"], doc)
    r = run_pipe(["job", "show", "--json", doc["id"]], proc_env)
    assert r.returncode == 0 and json.loads(r.stdout) == doc
    assert len(r.stdout) > 3 * 65536
    r = run_pipe(["job", "show", doc["id"]], proc_env)
    assert r.returncode == 0 and r.stdout.count("Field_") == 8_000
    assert len(r.stdout) > 3 * 65536 and r.stdout.rstrip().endswith("Field_499")


def test_exit_code_survives_the_fast_exit(proc_env) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "zbulk", "job", "show", "x"],
        capture_output=True,
        text=True,
        env=proc_env,
        timeout=60,
    )
    assert r.returncode == 2 and "job id" in r.stderr


def test_two_processes_refresh_an_expired_token_once(proc_env, sandbox, tmp_path) -> None:
    """Both see an expired cached token; the refresh lock lets exactly one refresh."""
    from zbulk.auth import oauth
    from zbulk.http import form_poster

    app = oauth.OAuthApp(sandbox.url, sandbox.client_id, sandbox.client_secret)
    tokens = oauth.exchange_code(form_poster(5), app, sandbox.issue_grant_code())
    config = Path(proc_env["ZBULK_CONFIG_DIR"])
    config.mkdir(parents=True)
    # The login as an older zbulk kept it, in config.toml: still read.
    (config / "config.toml").write_text(
        f'[profiles.default]\ncredential = "refresh_token"\nlogin = "self_client"\n'
        f'storage = "keyring"\ndc = "sandbox"\naccounts_url = "{sandbox.url}"\n'
        f'client_id = "{sandbox.client_id}"\napi_domain = "{sandbox.url}"\n'
    )
    store = tmp_path / "keyring.json"
    secrets = {
        "refresh_token": tokens.refresh_token,
        "client_secret": sandbox.client_secret,
        "access_token": "expired-token",
        "expires_at": time.time() - 10,
    }
    store.write_text(json.dumps({"zbulk/default": json.dumps(secrets)}))
    env = {k: v for k, v in proc_env.items() if k != "ZBULK_TOKEN"}
    env.update(
        PYTHON_KEYRING_BACKEND="keyring_backends.FileKeyring",
        ZBULK_TEST_KEYRING_FILE=str(store),
        PYTHONPATH=str(Path(__file__).parent),
    )
    # A slow token endpoint keeps the first refresh going while the second process arrives.
    sandbox.add_fault(Fault("stall", delay=0.8, path_prefix="/oauth/v2/token"))
    procs = [
        subprocess.Popen(
            [str(SCRIPT), "job", "show", "--json", DEMO_JOBS["completed"]],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    assert sandbox.refresh_count == 1
    assert sandbox.request_count("/oauth/v2/token") == 2  # the login's exchange, one refresh
    saved = json.loads(json.loads(store.read_text())["zbulk/default"])
    assert saved["access_token"] != "expired-token" and saved["expires_at"] > time.time()


def test_interactive_login_asks_and_hides_the_token(proc_env, sandbox) -> None:
    env = {k: v for k, v in proc_env.items() if k != "ZBULK_TOKEN"}
    code, text = run_pty(
        ["auth", "login", "--dc", sandbox.url, "--insecure-storage"],
        env,
        answers=[("Choice", "1"), ("Access token", sandbox.token)],
    )
    assert code == 0, text
    assert "paste an access token" in text and "Logged in" in text
    assert sandbox.token not in text  # typed with echo off
    r = run_pipe(["job", "show", "--json", DEMO_JOBS["completed"]], env)
    assert r.returncode == 0, r.stderr


def test_with_token_on_a_terminal_is_refused(proc_env) -> None:
    code, text = run_pty(["auth", "login", "--with-token"], proc_env)
    assert code == 2 and "standard input" in text


@pytest.fixture
def fast_env(proc_env, stepping_sandbox):
    """The large job is ADDED at the first poll, then IN PROGRESS, and COMPLETED at the
    seventh, however slow the machine."""
    server = stepping_sandbox
    return dict(proc_env, ZBULK_API_DOMAIN=server.url, ZBULK_TOKEN=server.token)


def test_watch_on_a_pipe_has_no_escapes_or_carriage_returns(fast_env) -> None:
    r = run_pipe(
        ["job", "watch", "--interval", "0.1", "--max-interval", "0.2", DEMO_JOBS["large"]], fast_env
    )
    assert r.returncode == 0, r.stderr
    for stream in (r.stdout, r.stderr):
        assert "\x1b" not in stream and "\r" not in stream
    assert r.stdout.startswith(f"✓ {DEMO_JOBS['large']}  COMPLETED")
    assert r.stdout.count("\n") == 1  # stdout: the final summary only


def test_watch_on_a_pty_is_live_then_leaves_a_summary(fast_env) -> None:
    code, text = run_pty(
        ["job", "watch", "--interval", "0.1", "--max-interval", "0.2", DEMO_JOBS["large"]], fast_env
    )
    assert code == 0, text
    assert "█" in text and "next poll in" in text  # the live view's bars and timer
    assert "\x1b[2K" in text or "\x1b[1A" in text  # redrawn in place
    assert "\x1b[?1049h" not in text  # never the alternate screen
    after_live = re.sub(r"\x1b\[[0-9;]*m", "", text.rsplit("next poll in", 1)[-1])
    assert "COMPLETED  25,000/25,000 (100%)" in after_live


def test_watch_ctrl_c_says_the_job_goes_on(proc_env) -> None:
    code, text = run_pty(  # Ctrl-C once the live view is up
        ["job", "watch", DEMO_JOBS["large"]],
        proc_env,
        interrupt_when=lambda seen: "next poll in" in seen,
    )
    assert code == 130, text
    assert "keep running" in text and "Traceback" not in text
    assert "\x1b[?25l" not in text.rsplit("keep running", 1)[-1]  # cursor not left hidden


def test_sandbox_prints_a_data_centre_table_whose_upload_port_takes_the_upload(
    proc_env, tmp_path
) -> None:
    """`zbulk sandbox` prints [data_centres.sandbox] with an upload port of its own; with the
    table in config.toml an import uploads there (`-v` logs each request's URL)."""
    proc = subprocess.Popen(
        [str(SCRIPT), "sandbox", "--port", "0", "--token", "tok"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=proc_env,
        start_new_session=True,
        preexec_fn=procs.default_sigint,
    )
    assert proc.stdout is not None
    try:
        lines: list[str] = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("Jobs:"):
                break
        start = lines.index("  [data_centres.sandbox]\n")
        table = "".join(line.strip() + "\n" for line in lines[start : start + 4])
        url = re.search(r'api_domain = "(http://127\.0\.0\.1:\d+)"', table)[1]  # type: ignore[index]
        upload = re.search(r'upload = "(http://127\.0\.0\.1:\d+)"', table)[1]  # type: ignore[index]
        assert upload != url and f'accounts = "{url}"' in table
        config = Path(proc_env["ZBULK_CONFIG_DIR"])
        config.mkdir(parents=True, exist_ok=True)
        (config / "config.toml").write_text(table)
        leads = tmp_path / "leads.csv"
        leads.write_text("Last_Name,Email\nLovelace,ada@example.com\n")
        env = dict(proc_env, ZBULK_API_DOMAIN=url, ZBULK_TOKEN="tok")
        r = run_pipe(
            [
                "-v",
                "job",
                "import",
                str(leads),
                "--module",
                "Leads",
                "--operation",
                "insert",
                "--yes",
            ],
            env,
        )
        assert r.returncode == 0, r.stderr
        assert f"POST {upload}/crm/v8/upload" in r.stderr
        assert f"POST {url}/crm/bulk/v8/write" in r.stderr
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=10)
