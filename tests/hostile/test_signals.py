"""SIGTERM and SIGHUP during a live watch end it the way Ctrl-C does (item 20)."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import struct
import termios
import time

import pytest
import zygote

from hostile.conftest import JOB, SCRIPT, job_path
from hostile.server import answer, job_doc

HIDE, SHOW = "\x1b[?25l", "\x1b[?25h"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_signal_during_a_live_watch(hostile, henv, sig: signal.Signals) -> None:
    """The cursor was left hidden and no "the job goes on" note was printed."""
    running = job_doc(JOB, status="IN PROGRESS")
    hostile.route(job_path(), answer(running))
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    proc = zygote.Popen([str(SCRIPT), "job", "watch", JOB], stdin=slave, stdout=slave,
                        stderr=slave, env={**henv, "TERM": "xterm-256color"},
                        preexec_fn=zygote.controlling_terminal)  # fmt: skip
    os.close(slave)
    seen, sent, deadline = b"", False, time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            if not sent and HIDE.encode() in seen and JOB.encode() in seen:
                proc.send_signal(sig)
                sent = True
            ready, _, _ = select.select([master], [], [], 0.05)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:
                    break
                if not data:
                    break
                seen += data
            elif proc.poll() is not None:
                break
    finally:
        os.close(master)
    code = proc.wait(timeout=10)
    text = seen.decode("utf-8", "replace")
    assert sent, text
    assert code == 130, text
    assert text.rfind(SHOW) > text.rfind(HIDE), "the cursor was left hidden"
    assert "keep running" in text and "Traceback" not in text
