"""SIGTERM and SIGHUP during a live watch end it the way Ctrl-C does (item 20)."""

from __future__ import annotations

import signal

import pytest
from ptys import run_pty

from hostile.conftest import JOB, job_path
from hostile.server import answer, job_doc

HIDE, SHOW = "\x1b[?25l", "\x1b[?25h"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_signal_during_a_live_watch(hostile, henv, sig: signal.Signals) -> None:
    """The cursor was left hidden and no "the job goes on" note was printed."""
    running = job_doc(JOB, status="IN PROGRESS")
    hostile.route(job_path(), answer(running))
    code, text = run_pty(
        ["job", "watch", JOB],
        {**henv, "TERM": "xterm-256color"},
        interrupt_when=lambda seen: HIDE in seen and JOB in seen,
        send=sig,
        timeout=30,
    )
    assert code == 130, text
    assert text.rfind(SHOW) > text.rfind(HIDE), "the cursor was left hidden"
    assert "keep running" in text and "Traceback" not in text
