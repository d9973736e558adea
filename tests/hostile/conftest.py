"""Fixtures of the hostile suite: the server, a clean environment, and a runner for the
installed ``zbulk`` script that also measures the child's peak memory."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from procs import SCRIPT, Result

from hostile.server import HostileServer

TOKEN = "hostile-tok-7d1e5c"
JOB = "4150868000000000901"


def _peak(pid: int, proc: subprocess.Popen[bytes], found: list[float]) -> None:
    while proc.poll() is None:
        try:
            with open(f"/proc/{pid}/status", encoding="ascii") as fh:
                for line in fh:
                    if line.startswith("VmHWM:"):
                        found[0] = max(found[0], int(line.split()[1]) / 1024)
        except (OSError, ValueError):
            pass
        time.sleep(0.01)


def run_script(
    args: list[str],
    env: dict[str, str],
    *,
    timeout: float = 60,
    preexec_fn: Callable[[], None] | None = None,
    cwd: Path | None = None,
) -> Result:
    assert SCRIPT.exists(), f"install zbulk first (pip install -e .): {SCRIPT} is missing"
    started = time.monotonic()
    proc = subprocess.Popen(
        [str(SCRIPT), *args],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=preexec_fn,
        cwd=cwd,
    )
    found = [0.0]
    watcher = threading.Thread(target=_peak, args=(proc.pid, proc, found), daemon=True)
    watcher.start()
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(
            f"still running after {timeout}s: {err.decode(errors='replace')}"
        ) from None
    ended = time.monotonic()
    watcher.join(1)
    return Result(
        proc.returncode,
        out.decode("utf-8", "replace"),
        err.decode("utf-8", "replace"),
        ended - started,
        found[0],
        ended,
        (TOKEN,),
    )


def clean_env(tmp_path: Path, api_domain: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("ZBULK_")
        and k.lower()
        not in (
            "http_proxy",
            "https_proxy",
            "all_proxy",
            "no_proxy",
            "no_color",
            "force_color",
            "columns",
        )
    }
    env.update(
        ZBULK_API_DOMAIN=api_domain,
        ZBULK_TOKEN=TOKEN,
        TZ="UTC",
        ZBULK_CONFIG_DIR=str(tmp_path / "config"),
        ZBULK_STATE_DIR=str(tmp_path / "state"),
    )
    return env


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    with HostileServer() as server:
        yield server


@pytest.fixture
def henv(tmp_path: Path, hostile: HostileServer) -> dict[str, str]:
    return clean_env(tmp_path, hostile.url)


@pytest.fixture
def zb(henv: dict[str, str]) -> Callable[..., Result]:
    """Run the installed zbulk against the hostile server."""

    def _zb(*args: str, **kw: object) -> Result:
        env = dict(henv)
        env.update(kw.pop("env", {}))  # type: ignore[arg-type]
        return run_script(list(args), env, **kw)  # type: ignore[arg-type]

    return _zb


def job_path(job_id: str = JOB) -> str:
    return f"/crm/bulk/v8/write/{job_id}"


@pytest.fixture
def inproc(run: Callable[..., object], hostile: HostileServer) -> Callable[..., Result]:
    """Run zbulk in this process against the hostile server (for the many variants of a
    case whose key form runs the installed script)."""

    def _inproc(*args: str) -> Result:
        started = time.monotonic()
        r = run(*args, ZBULK_API_DOMAIN=hostile.url, ZBULK_TOKEN=TOKEN)
        return Result(r.code, r.out, r.err, time.monotonic() - started, secrets=(TOKEN,))  # type: ignore[attr-defined]

    return _inproc
