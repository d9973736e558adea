"""Ctrl-C at random moments: never a traceback, never "Exception ignored".

    python bench/interrupts.py [--runs N] [--budget S] [--check] [--seed N] [--span-runs N]

Starts `zbulk sandbox` on loopback (a process of its own, a random token), then runs, in
turn, `zbulk job watch A B` (two running demo jobs), `zbulk job import leads.csv … --yes
--watch` (the sandbox's import takes 3 s) and `zbulk job results ID` (a finished demo job),
each as a fresh process, and sends it SIGINT at a random moment from zbulk's entry point
on (the issue's "at any moment": not during the interpreter's own start-up, which zbulk
cannot handle). Each process runs as the installed script does (`from zbulk.__main__ import
run; run()`), with one line added between the two: a byte on a pipe saying the entry point
has been reached, from which the random delay is counted. The delay is drawn from the
whole of the command's run (measured once beforehand for the commands that end by
themselves; 2.5 s for watch, which does not), so start-up, requests, the live view's end
and the final flush are all hit.

Counted in each run's stderr: "Traceback" and "Exception ignored"; and the runs that did
not end within 20 s of the signal (a lost interrupt). A run that ended before its moment
came is shown but not counted: runs go on until --runs interrupts (default 200) were sent.
Bounded: at most twice --runs processes, and --budget seconds (default 900) in all, after
which the run stops and says so.

Exits 0 whatever the figures, unless --check is given and any run printed a traceback or
"Exception ignored", hung, or the budget ran out before --runs (then 1).
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from _common import BIN, clean_env

from zbulk.sandbox import DEMO_JOBS

# The installed script's two lines, with the readiness byte between them.
LAUNCH = (
    "import os, sys\n"
    "from zbulk.__main__ import run\n"
    "os.write(int(sys.argv.pop(1)), b'.')\n"
    "sys.argv[0] = 'zbulk'\n"
    "run()\n"
)
LEADS = (
    "First_Name,Last_Name,Email,Company\n"
    "Ada,Lovelace,ada@example.com,Analytical Engines\n"
    "Grace,Hopper,grace@example.com,Navy\n"
)
WATCH_SPAN = 2.5  # seconds: job watch of running jobs never ends by itself
AFTER_SIGNAL = 20.0  # seconds a run may take to end after its SIGINT
BAD = ("Traceback", "Exception ignored")


@dataclass
class Tally:
    runs: int = 0
    interrupted: int = 0  # exit 130
    finished_first: int = 0  # ended before the signal arrived
    hung: int = 0
    bad: Counter[str] = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)
    codes: Counter[int] = field(default_factory=Counter)


def start_sandbox(env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    """`zbulk sandbox --port 0` as a process of its own: it and its URL."""
    # Demo jobs that run for a day: job watch A B never sees them finish during the run.
    command = [
        str(BIN / "zbulk"),
        "sandbox",
        "--port",
        "0",
        "--token",
        env["ZBULK_TOKEN"],
        "--job-duration",
        "86400",
    ]
    proc = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if "listening on " in line:
            return proc, line.split("listening on ", 1)[1].split()[0]
        if not line and proc.poll() is not None:
            break
    proc.kill()
    sys.exit("zbulk sandbox did not start")


def launch(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    """zbulk as the installed script runs it; returns once its entry point is reached."""
    ready_r, ready_w = os.pipe()
    proc = subprocess.Popen(
        [sys.executable, "-c", LAUNCH, str(ready_w), *args],
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        pass_fds=(ready_w,),
    )
    os.close(ready_w)
    os.read(ready_r, 1)  # b"" if it died before: the signal then finds it gone
    os.close(ready_r)
    return proc


def one(args: list[str], span: float, env: dict[str, str], cwd: Path, tally: Tally) -> None:
    proc = launch(args, env, cwd)
    time.sleep(random.uniform(0.0, span))
    finished = proc.poll() is not None
    if not finished:
        proc.send_signal(signal.SIGINT)
    try:
        _, err_bytes = proc.communicate(timeout=AFTER_SIGNAL)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err_bytes = proc.communicate()
        tally.hung += 1
    err = err_bytes.decode("utf-8", "replace")
    tally.runs += 1
    tally.codes[proc.returncode] += 1
    if finished:
        tally.finished_first += 1
    elif proc.returncode == 130:
        tally.interrupted += 1
    for word in BAD:
        if word in err:
            tally.bad[word] += 1
            if len(tally.samples) < 3:
                tally.samples.append(f"$ zbulk {' '.join(args)}\n{err[-2500:]}")


def measure(args: list[str], env: dict[str, str], cwd: Path, times: int) -> float:
    """Seconds an uninterrupted run takes, entry point to exit (the median of ``times``)."""
    took = []
    for _ in range(times):
        proc = launch(args, env, cwd)
        started = time.monotonic()
        proc.communicate(timeout=120)
        took.append(time.monotonic() - started)
    return sorted(took)[len(took) // 2]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--budget", type=float, default=900.0, help="seconds in all")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--check", action="store_true")
    parser.add_argument(
        "--span-runs",
        type=int,
        default=3,
        help="uninterrupted runs that measure each command's span (median)",
    )
    options = parser.parse_args()
    random.seed(options.seed)
    tallies: dict[str, Tally] = {}
    with tempfile.TemporaryDirectory(prefix="zbulk-interrupts-") as name:
        tmp = Path(name)
        env = clean_env(
            ZBULK_TOKEN=secrets.token_hex(16),
            ZBULK_STATE_DIR=str(tmp / "state"),
            ZBULK_CONFIG_DIR=str(tmp / "config"),
            COLUMNS="100",
        )
        env.pop("NO_COLOR", None)
        server, url = start_sandbox(env)
        try:
            env["ZBULK_API_DOMAIN"] = url
            (tmp / "leads.csv").write_text(LEADS, encoding="utf-8")
            watch = ["job", "watch", DEMO_JOBS["large"], DEMO_JOBS["upsert"]]
            imports = [
                "job",
                "import",
                "leads.csv",
                "--module",
                "Leads",
                "--operation",
                "insert",
                "--yes",
                "--watch",
            ]
            results = ["job", "results", DEMO_JOBS["completed"]]
            commands = [
                (" ".join(watch[:2]) + " A B", watch, WATCH_SPAN),
                ("job import … --watch", imports, measure(imports, env, tmp, options.span_runs)),
                ("job results ID", results, measure(results, env, tmp, options.span_runs)),
            ]
            started = time.monotonic()
            out_of_time = False
            i = sent = 0
            while sent < options.runs:  # a run that ended before its signal does not count
                if time.monotonic() - started > options.budget or i >= 2 * options.runs:
                    out_of_time = True
                    break
                label, args, span = commands[i % len(commands)]
                tally = tallies.setdefault(label, Tally())
                before = tally.finished_first
                one(args, span, env, tmp, tally)
                sent += tally.finished_first == before
                i += 1
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
    took = time.monotonic() - started
    print(
        f"{'command':<26}{'runs':>6}{'130':>6}{'ended first':>13}{'hung':>6}"
        f"{'tracebacks':>12}{'ignored':>9}"
    )
    total = Tally()
    for label, t in tallies.items():
        print(
            f"{label:<26}{t.runs:>6}{t.interrupted:>6}{t.finished_first:>13}{t.hung:>6}"
            f"{t.bad['Traceback']:>12}{t.bad['Exception ignored']:>9}"
        )
        total.runs += t.runs
        total.hung += t.hung
        total.bad.update(t.bad)
        total.samples += t.samples
    sent = total.runs - sum(t.finished_first for t in tallies.values())
    print(
        f"{sent} interrupts ({total.runs} runs) in {took:.0f} s: "
        f"{total.bad['Traceback']} tracebacks, "
        f'{total.bad["Exception ignored"]} "Exception ignored", {total.hung} hung'
    )
    for sample in total.samples:
        print("\n" + sample)
    if out_of_time:
        print(f"the budget of {options.budget:g} s ran out after {total.runs} runs")
    failed = bool(total.bad) or total.hung > 0 or out_of_time
    return 1 if options.check and failed else 0


if __name__ == "__main__":
    sys.exit(main())
