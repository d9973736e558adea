"""Real zbulk processes: the installed script, and how a terminal starts one.

Tests that need a process of their own (signals, a pseudo-terminal, exit status as the OS
sees it, broken pipes, locks between processes, start-up) run the installed script with
``subprocess``; everything else runs ``zbulk.cli.main`` in-process (the ``run`` fixture).
"""

from __future__ import annotations

import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCRIPT = Path(sys.executable).parent / "zbulk"
ESC = "\x1b"


@dataclass
class Result:
    """What one zbulk run gave, in-process or as a process of its own: the exit code, what it
    wrote, and for a process its wall time, peak memory and when it had exited."""

    code: int
    out: str
    err: str
    seconds: float = 0.0
    peak_mib: float = 0.0  # VmHWM of the child, polled while it ran
    ended: float = 0.0  # time.monotonic() when it had exited
    secrets: tuple[str, ...] = ()  # what must never show in its output (the token it had)

    def since(self, server: Any) -> float:
        """Seconds from the first request ``server`` saw to the end of the process: what
        zbulk's deadlines bound (start-up, slow on a loaded machine, is not part of it)."""
        assert server.seen, "no request arrived"
        return float(self.ended - server.seen[0].at)

    def clean(self, code: int) -> Result:
        """The contract's exit code, no traceback, no escape sequence on stdout, no secret."""
        assert self.code == code, f"exit {self.code}, expected {code}\n{self.err}"
        assert "Traceback" not in self.out + self.err, self.err
        assert ESC not in self.out
        for secret in self.secrets:
            assert secret not in self.out + self.err
        return self


def controlling_terminal() -> None:
    """``preexec_fn``: a new session whose controlling terminal is the tty on stdin, as in a
    terminal emulator."""
    import fcntl
    import termios

    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def default_sigint() -> None:
    """``preexec_fn``: Ctrl-C's default disposition even if the test run ignores SIGINT (as a
    shell does for a background job), so Python installs its own handler."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def terminal_session() -> None:
    """``preexec_fn``: both of the above."""
    controlling_terminal()
    default_sigint()
