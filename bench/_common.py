"""Shared bits of the benchmarks: run commands as fresh processes, time them, print tables."""

from __future__ import annotations

import compileall
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def zbulk_cmd(*args: str) -> list[str]:
    script = BIN / "zbulk"
    if not script.exists():
        sys.exit(f"{script} is missing: pip install -e . first")
    return [str(script), *args]


def wall(cmd: list[str], env: dict[str, str]) -> float:
    """Seconds one run of ``cmd`` takes, output discarded; a failing run stops the bench."""
    started = time.perf_counter()
    done = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    took = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr.decode()[-500:]}")
    return took


def compile_sources() -> None:
    """Write zbulk's .pyc files, as ``pip install .`` does: an editable install under
    PYTHONDONTWRITEBYTECODE would otherwise compile every module on every run, which no
    installed copy does (requests and typer in site-packages have theirs)."""
    compileall.compile_dir(str(ROOT / "zbulk"), quiet=1)


def paired(commands: dict[str, list[str]], baseline: str, runs: int, env: dict[str, str]) -> None:
    """Run every command once per round, in rotating order; print medians and ratios."""
    compile_sources()
    names = list(commands)
    times: dict[str, list[float]] = {n: [] for n in names}
    for name in names:  # warm the disk cache and .pyc files
        wall(commands[name], env)
    for i in range(runs):
        order = names[i % len(names) :] + names[: i % len(names)]
        for name in order:
            times[name].append(wall(commands[name], env))
    base = times[baseline]
    print(
        f"{'command':<28}{'median ms':>11}{'ratio':>8}   (ratio: median of per-round ratios "
        f"to {baseline!r}, {runs} rounds)"
    )
    for name in names:
        ratio = statistics.median(t / b for t, b in zip(times[name], base, strict=True))
        print(f"{name:<28}{statistics.median(times[name]) * 1000:>11.1f}{ratio:>8.2f}")


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZBULK_")}
    env.update(extra)
    return env


def compare_show(server: Any, job_id: str, runs: int) -> None:
    """`zbulk job show` (JSON and human) beside the minimal requests script, as fresh
    processes against ``server`` (a running Sandbox)."""
    env = clean_env(ZBULK_API_DOMAIN=server.url, ZBULK_TOKEN=server.token, COLUMNS="120")
    url = f"{server.url}/crm/bulk/v8/write/{job_id}"
    minimal = [sys.executable, str(ROOT / "bench/minimal_fetch.py"), url, server.token]
    paired(
        {
            "minimal requests script": minimal,
            "zbulk job show --json": zbulk_cmd("job", "show", "--json", job_id),
            "zbulk job show": zbulk_cmd("job", "show", job_id),
        },
        baseline="minimal requests script",
        runs=runs,
        env=env,
    )
