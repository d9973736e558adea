"""zbulk on a real pseudo-terminal: the one runner the terminal tests share."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import termios
import time
from collections.abc import Callable
from pathlib import Path

import procs
from procs import SCRIPT

_READ = {"x86_64": "0", "aarch64": "63"}.get(os.uname().machine)


def waiting_for_input(pid: int, timeout: float = 10.0) -> None:
    """Wait until the process is blocked in read(2), as a person waits for the prompt to be
    ready before typing (getpass flushes what was typed before it turned echo off)."""
    syscall = Path(f"/proc/{pid}/syscall")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if _READ is None or syscall.read_text().split()[0] == _READ:
                return
        except (OSError, IndexError):
            return  # no /proc (or gone): nothing to wait on
        time.sleep(0.005)
    raise AssertionError(f"the process never waited for input within {timeout} s")


def run_pty(
    args: list[str],
    env: dict[str, str],
    *,
    interrupt_when: Callable[[str], bool] | None = None,
    timeout: float = 60,
    answers: list[tuple[str, str]] | None = None,
    send: int = signal.SIGINT,
) -> tuple[int, str]:
    """Run with stdin, stdout and stderr on a fresh pseudo-terminal 120×40 that is the
    process's controlling terminal (getpass opens /dev/tty to turn echo off), Ctrl-C as a
    terminal's even if this test run ignores SIGINT; ``answers`` are (prompt, reply) pairs
    typed in order as each prompt appears; Ctrl-C (SIGINT to the process group, or the
    signal ``send``, as a terminal's hang-up or a ``kill``) as soon as
    ``interrupt_when(output so far)`` is true."""
    pending = list(answers or [])
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    proc = subprocess.Popen(
        [str(SCRIPT), *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        close_fds=True,
        preexec_fn=procs.terminal_session,
    )
    os.close(slave)
    chunks: list[bytes] = []
    started = time.monotonic()
    interrupted = False
    try:
        while True:
            if (
                interrupt_when is not None
                and not interrupted
                and interrupt_when(b"".join(chunks).decode(errors="replace"))
            ):
                os.killpg(proc.pid, send)
                interrupted = True
            if time.monotonic() - started > timeout:
                proc.kill()
                raise AssertionError("timed out: " + b"".join(chunks).decode(errors="replace"))
            ready, _, _ = select.select([master], [], [], 0.05)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: the other side closed
                    break
                if not data:
                    break
                chunks.append(data)
                seen = b"".join(chunks).decode(errors="replace")
                if pending and pending[0][0] in seen.rsplit("<answered>", 1)[-1]:
                    waiting_for_input(proc.pid)  # typed-ahead input may be discarded
                    os.write(master, pending.pop(0)[1].encode() + b"\r")
                    chunks.append(b"\n<answered>\n")
            elif proc.poll() is not None:
                continue
    finally:
        os.close(master)
    return proc.wait(timeout=10), b"".join(chunks).decode("utf-8", errors="replace")
