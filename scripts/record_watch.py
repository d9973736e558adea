"""Record what ``zbulk job watch`` shows on a terminal, as text: the installed script on a
real pseudo-terminal (Python's pty module) against an in-process sandbox whose demo jobs
take seconds.

    python scripts/record_watch.py [--job-duration S] [--columns N] [--raw]

Two jobs by default: ``defaults`` (finishes at half the job duration) and ``large``
(finishes at its end), so one finishes first: its line goes into the scrollback above the
live view, with the time it took, while the other's ETA counts down. Prints what the
terminal shows (replayed by a small terminal model, colours dropped) when the first ETA
appears, when the first finish line is in the scrollback, and at the end; ``--raw``
prints the bytes as Python escapes instead.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

from zbulk.sandbox import DEMO_JOBS, Sandbox
from zbulk.sandbox.jobs import ADDED_SHARE, DEMO

SCRIPT = Path(sys.executable).parent / "zbulk"


def _controlling_terminal() -> None:
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def record(args: list[str], env: dict[str, str], columns: int) -> tuple[int, list[bytes]]:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    proc = subprocess.Popen(
        [str(SCRIPT), *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        close_fds=True,
        preexec_fn=_controlling_terminal,
    )
    os.close(slave)
    chunks: list[bytes] = []
    while True:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
    os.close(master)
    return proc.wait(timeout=10), chunks


PIECES = r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|[\r\n\x07]|[^\x1b\r\n\x07]+"


class Screen:
    """Just enough of a terminal to replay what rich writes: text, CR, LF, erase line
    (``ESC [2K``) and cursor up (``ESC [nA``); colours and cursor visibility are dropped.
    ``lines`` is the scrollback plus the screen, top to bottom."""

    def __init__(self) -> None:
        self.lines: list[str] = [""]
        self.row = self.col = 0

    def feed(self, data: str) -> None:
        for piece in re.findall(PIECES, data):
            if piece == "\r":
                self.col = 0
            elif piece == "\n":
                self.row += 1
                self.col = 0
                if self.row == len(self.lines):
                    self.lines.append("")
            elif piece == "\x1b[2K":
                self.lines[self.row] = ""
            elif re.fullmatch(r"\x1b\[\d*A", piece):
                self.row = max(self.row - int(piece[2:-1] or 1), 0)
            elif piece[0] not in "\x1b\x07":
                line = self.lines[self.row].ljust(self.col)
                self.lines[self.row] = line[: self.col] + piece + line[self.col + len(piece) :]
                self.col += len(piece)

    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.lines).rstrip("\n")


def snapshots(chunks: list[bytes]) -> list[tuple[str, str]]:
    """(why, screen) at the moments worth seeing: the first ETA, the first finish line in
    the scrollback, and the end."""
    screen, shown, out = Screen(), "", []
    decoder = __import__("codecs").getincrementaldecoder("utf-8")("replace")
    for chunk in chunks:
        screen.feed(decoder.decode(chunk))
        now = screen.text()
        if not any(why == "first ETA" for why, _ in out) and "ETA " in now:
            out.append(("first ETA", now))
        if not any(why.startswith("a job finished") for why, _ in out) and "\n✓ " in "\n" + now:
            out.append(("a job finished: its line above the live view", now))
        shown = now
    out.append(("the end: what stays on the terminal", shown))
    return out


def main() -> None:
    raw_help = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw_help)
    parser.add_argument("--job-duration", type=float, default=8.0)
    parser.add_argument("--columns", type=int, default=120)
    parser.add_argument("--raw", action="store_true")
    parser.add_argument("jobs", nargs="*", default=["large", "defaults"])
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZBULK_")}
    state = tempfile.mkdtemp(prefix="zbulk-record-")  # no trace in the real history
    with Sandbox(job_duration=args.job_duration) as server:
        env.update(
            ZBULK_API_DOMAIN=server.url,
            ZBULK_TOKEN=server.token,
            TERM="xterm-256color",
            ZBULK_STATE_DIR=state,
        )
        ids = [DEMO_JOBS[key] for key in args.jobs]
        command = ["job", "watch", "--interval", "0.5", "--max-interval", "2", *ids]
        started = time.time()
        code, raw = record(command, env, args.columns)
        took = time.time() - started
    print(f"$ zbulk {' '.join(command)}   (exit {code}, {took:.1f} s)")
    if args.raw:
        print(repr(b"".join(raw).decode("utf-8", "replace")))
    else:
        for why, screen in snapshots(raw):
            print(f"--- {why} ---")
            print(screen)
    print("--- the sandbox's own timings (created_time to its end) ---")
    by_id = {job.id: job for job in DEMO}
    for key in args.jobs:
        job = by_id[DEMO_JOBS[key]]
        done = 1.0 if job.fail_at is None else job.fail_at
        end = args.job_duration * job.span * (ADDED_SHARE + (1 - ADDED_SHARE) * done)
        print(
            f"{key:<10} {job.id}  created {job.created_ago:g} s before the sandbox started, "
            f"ended {end:g} s after it: {job.created_ago + end:g} s"
        )


if __name__ == "__main__":
    main()
