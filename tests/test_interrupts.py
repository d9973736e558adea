"""Ctrl-C never prints a traceback or "Exception ignored" (issue 22, Why 9 and Build 9).

Two moments Python's own handling got wrong, each made to happen every time: an interrupt
while zbulk's modules load (a traceback), and one while urllib3's connection-pool
finalizer runs (``Exception ignored in: <finalize object …>``, and the interrupt lost).
Then a small sample of ``bench/interrupts.py``, which sends 200 at random moments.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from zbulk.sandbox import DEMO_JOBS

ROOT = Path(__file__).resolve().parent.parent


def run_zbulk(setup: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``setup``, then the installed script's two lines (zbulk's entry point) with ``args``."""
    script = textwrap.dedent(setup) + (
        "\nimport sys\nsys.argv = ['zbulk', *sys.argv[1:]]\nfrom zbulk.__main__ import run\nrun()\n"
    )
    return subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        stdin=subprocess.DEVNULL,
        cwd=Path(__file__).parent,
    )


@pytest.fixture
def proc_env(sandbox) -> dict[str, str]:
    return {**os.environ, "ZBULK_API_DOMAIN": sandbox.url, "ZBULK_TOKEN": sandbox.token}


# Ctrl-C as a module starts loading, from zbulk's entry point: an import hook sends it.
DURING_IMPORTS = """
    import importlib.abc, os, signal, sys
    WHEN = sys.argv.pop(1)
    class CtrlC(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == WHEN:
                sys.meta_path.remove(self)
                os.kill(os.getpid(), signal.SIGINT)
                for _ in range(100): len("x")  # the handler runs here
            return None
    sys.meta_path.insert(0, CtrlC())
"""


@pytest.mark.parametrize("module", ["zbulk.interrupts", "typer.core"])
def test_ctrl_c_while_zbulk_loads(proc_env: dict[str, str], module: str) -> None:
    """It printed a 20-line traceback through importlib and typing (and, as zbulk's own
    handler was first loading, through `import signal`)."""
    done = run_zbulk(DURING_IMPORTS, module, "job", "show", DEMO_JOBS["large"], env=proc_env)
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr, done.stderr
    assert done.returncode == 130
    assert "interrupted: bulk jobs at Zoho keep running" in done.stderr


# Ctrl-C while urllib3's weakref.finalize callback closes a pool's connections: the
# moment issue 22 saw about once in ten Ctrl-C of `zbulk job watch A B`.
IN_FINALIZER = """
    import os, signal
    import urllib3.connectionpool as pools
    closing = pools._close_pool_connections
    def close_pool_connections(pool):
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(100): len("x")  # the handler runs here, inside the finalizer
        closing(pool)
    pools._close_pool_connections = close_pool_connections
"""


@pytest.mark.parametrize("command", [["job", "show", "--brief"], ["job", "watch"]])
def test_ctrl_c_in_a_connection_pools_finalizer(proc_env: dict[str, str], command) -> None:
    """It printed `Exception ignored in: <finalize object …> … KeyboardInterrupt`, and the
    interrupt was lost: the command went on as if nothing had been pressed."""
    job = DEMO_JOBS["completed"] if command[1] == "watch" else DEMO_JOBS["large"]
    done = run_zbulk(IN_FINALIZER, *command, job, env=proc_env)
    assert "Exception ignored" not in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 130, done.stderr
    assert "interrupted" in done.stderr


@pytest.mark.e2e
def test_a_few_interrupts_at_random_moments() -> None:
    """A small sample of the 200 ``bench/interrupts.py --check`` sends (CI runs it all)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZBULK_")}
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "interrupts.py"),
            "--runs",
            "3",
            "--check",
            "--budget",
            "60",
            "--span-runs",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 interrupts" in done.stdout and "0 tracebacks" in done.stdout, done.stdout
