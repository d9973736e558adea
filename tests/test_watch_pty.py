"""``zbulk job watch`` as a person sees it: the installed script on a real pseudo-terminal
(and on a pipe), against a sandbox whose jobs take seconds. Finish lines in the
scrollback, the ETA and the frozen time taken, the last frame and a resume command after
Ctrl-C, SIGTERM and SIGHUP, and --notify's bell, escapes and desktop tool."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from procs import SCRIPT
from ptys import run_pty

from zbulk.sandbox import DEMO_JOBS, Sandbox

pytestmark = pytest.mark.e2e

CSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def plain(text: str) -> str:
    """The text without colours and cursor moves (OSC sequences are kept)."""
    return CSI.sub("", text).replace("\r", "")


@pytest.fixture
def quick(tmp_path) -> Iterator[tuple[Sandbox, dict[str, str]]]:
    """A sandbox whose demo jobs take 4 s, and an environment pointing the script at it."""
    yield from _sandbox_and_env(tmp_path, 4.0)


@pytest.fixture
def brief(tmp_path) -> Iterator[tuple[Sandbox, dict[str, str]]]:
    """The same with jobs of 2 s: for what is notified, not how long it took. (A test
    restarts the jobs just before its watch, so that they are still running when it starts.)"""
    yield from _sandbox_and_env(tmp_path, 2.0)


def _sandbox_and_env(tmp_path: Path, duration: float) -> Iterator[tuple[Sandbox, dict[str, str]]]:
    assert SCRIPT.exists(), f"install zbulk first (pip install -e .): {SCRIPT} is missing"
    with Sandbox(job_duration=duration) as server:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("ZBULK_")
            and k
            not in (
                "NO_COLOR",
                "FORCE_COLOR",
                "COLUMNS",
                "TERM_PROGRAM",
                "TMUX",
                "VTE_VERSION",
                "WT_SESSION",
                "KITTY_WINDOW_ID",
                "STY",
            )
        }
        env.update(
            ZBULK_API_DOMAIN=server.url,
            ZBULK_TOKEN=server.token,
            ZBULK_CONFIG_DIR=str(tmp_path / "config"),
            ZBULK_STATE_DIR=str(tmp_path / "state"),
            TERM="xterm-256color",
            TZ="UTC",
        )
        yield server, env


def test_two_jobs_one_finishes_first_its_line_stays_in_the_scrollback(quick) -> None:
    _, env = quick
    short, long = DEMO_JOBS["defaults"], DEMO_JOBS["large"]  # 2 s and 4 s
    code, text = run_pty(
        ["job", "watch", "--interval", "0.3", "--max-interval", "1", long, short], env
    )
    assert code == 0, text
    seen = plain(text)
    # The finish line of the job that ended first, printed above the live view, with the
    # time it took (created 5 s before the sandbox started, done 2 s after: ~7s).
    line = re.search(rf"✓ {short}  COMPLETED  2,500/2,500 \(100%\).*took (\d)s", seen)
    assert line is not None, seen
    assert 7 <= int(line[1]) <= 9
    assert f"skipped 40  took {line[1]}s" in seen
    assert f"zbulk job results {short} --failed" in seen  # rows were skipped: what next
    assert re.search(r"ETA \ds", seen)  # the live view's estimate
    # The last frame is erased at the end; the summary (stdout) has both jobs.
    final = seen.rsplit("next poll in", 1)[-1]
    assert re.search(rf"✓ {long}  COMPLETED  25,000/25,000 \(100%\).*took \ds", final)
    assert re.search(rf"✓ {short}  COMPLETED .*took {line[1]}s", final)  # still frozen
    assert "\x1b[?25h" in text.rsplit("next poll in", 1)[-1]  # the cursor is back


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_interrupted_leaves_the_last_frame_and_says_how_to_resume(quick, how) -> None:
    _, env = quick
    short, long = DEMO_JOBS["defaults"], DEMO_JOBS["large"]
    code, text = run_pty(
        ["job", "watch", "--interval", "0.3", long, short],
        env,
        interrupt_when=lambda seen: "█" in seen and "IN PROGRESS" in plain(seen),
        send=how,
    )
    assert code == 130, text
    after = text.rsplit("█", 1)[-1]  # what came after the last bar drawn
    assert "\x1b[?25h" in after  # the cursor is shown again
    assert "\x1b[2K" not in after  # the frame was not erased
    seen = plain(text)
    resume = re.search(r"resume with: (zbulk job watch [0-9 ]+)", seen)
    assert resume is not None, seen
    assert long in resume[1]
    assert "keep running" in seen and "Traceback" not in seen


def test_notify_rings_and_sends_osc_9_on_a_terminal_that_shows_it(brief) -> None:
    server, env = brief
    server.restart_jobs()
    code, text = run_pty(
        ["job", "watch", "--notify", "--interval", "0.3", DEMO_JOBS["defaults"]],
        dict(env, TERM_PROGRAM="iTerm.app"),
    )
    assert code == 0, text
    found = re.search(r"\a\x1b\]9;zbulk: (job \d+ COMPLETED[^\x07]*)\x07", text)
    assert found is not None, repr(text[-600:])
    assert re.search(r"2,500/2,500 \(100%\), 40 skipped, took \ds", found[1])


def test_notify_each_sends_osc_777_per_job_on_foot(brief) -> None:
    server, env = brief
    server.restart_jobs()
    ids = [DEMO_JOBS["defaults"], DEMO_JOBS["failing"]]
    code, text = run_pty(
        ["job", "watch", "--notify=each", "--interval", "0.3", *ids], dict(env, TERM="foot")
    )
    assert code == 1, text
    sent = re.findall(r"\a\x1b\]777;notify;zbulk;job (\d+) (\w+)", text)
    assert sorted(sent) == sorted([(ids[0], "COMPLETED"), (ids[1], "FAILED")])


def test_notify_inside_tmux_rings_the_bell_only(quick) -> None:
    _, env = quick
    env = dict(env, TERM_PROGRAM="iTerm.app", TMUX="/tmp/tmux-1000/default,1,0", PATH="/usr/bin")
    code, text = run_pty(["job", "watch", "--notify", DEMO_JOBS["completed"]], env)
    assert code == 0 and "\a" in text and "\x1b]9;" not in text


@pytest.fixture
def fake_notify_send(tmp_path) -> tuple[str, Path]:
    """A notify-send on PATH that writes its arguments, one per line, to a log."""
    bin_dir, log = tmp_path / "bin", tmp_path / "notify-send.log"
    bin_dir.mkdir()
    tool = bin_dir / "notify-send"
    tool.write_text(
        f'#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done >> "{log}"\necho --- >> "{log}"\n'
    )
    tool.chmod(0o755)
    return f"{bin_dir}:/usr/bin:/bin", log


def test_notify_on_a_pipe_runs_notify_send_once_at_the_end(quick, fake_notify_send) -> None:
    _, env = quick
    path, log = fake_notify_send
    ids = [DEMO_JOBS["completed"], DEMO_JOBS["recorded_v21"]]
    r = subprocess.run(
        [str(SCRIPT), "job", "watch", "--notify", *ids],
        env=dict(env, PATH=path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    calls = log.read_text().split("---\n")[:-1]
    assert len(calls) == 1
    assert calls[0].splitlines() == [
        "--app-name=zbulk",
        "zbulk",
        "watch of 2 jobs ended: 2 COMPLETED",
    ]
    assert "\a" not in r.stderr + r.stdout and "\x1b" not in r.stderr + r.stdout


def test_notify_each_on_a_pipe_runs_notify_send_per_job(brief, fake_notify_send) -> None:
    server, env = brief
    server.restart_jobs()
    path, log = fake_notify_send
    ids = [DEMO_JOBS["defaults"], DEMO_JOBS["failing"]]
    r = subprocess.run(
        [str(SCRIPT), "job", "watch", "--notify=each", "--interval", "0.3", *ids],
        env=dict(env, PATH=path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 1, r.stderr
    bodies = [call.splitlines()[-1] for call in log.read_text().split("---\n")[:-1]]
    assert len(bodies) == 2
    by_job = {body.split()[1]: body for body in bodies}
    assert by_job[ids[0]].startswith(f"job {ids[0]} COMPLETED: 2,500/2,500 (100%), 40 skipped")
    assert by_job[ids[1]].startswith(f"job {ids[1]} FAILED: ")


def test_notify_without_any_tool_is_silently_skipped(quick, tmp_path) -> None:
    _, env = quick
    empty = tmp_path / "empty"
    empty.mkdir()
    r = subprocess.run(
        [str(SCRIPT), "job", "watch", "--notify", DEMO_JOBS["completed"]],
        env=dict(env, PATH=str(empty)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert "error" not in r.stderr and "warning" not in r.stderr and "Traceback" not in r.stderr
    assert r.stdout.startswith(f"✓ {DEMO_JOBS['completed']}  COMPLETED")
