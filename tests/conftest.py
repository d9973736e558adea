from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from sandbox_support import DURATION, TOKEN, Clock

from zbulk import client as client_module
from zbulk.cli import main

if TYPE_CHECKING:
    from zbulk.sandbox import Sandbox


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """A clean environment: no ZBULK_* settings, a private config dir, fixed width, UTC."""
    for name in list(os.environ):
        if name.startswith("ZBULK_") or name in ("NO_COLOR", "FORCE_COLOR"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("ZBULK_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("ZBULK_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.setenv("TZ", "UTC")
    # Retries wait milliseconds, not seconds, in tests; the schedule's shape is unchanged.
    monkeypatch.setattr(client_module, "BACKOFF_FACTOR", 0.01)
    monkeypatch.setattr(client_module, "BACKOFF_JITTER", 0.01)
    return os.environ  # type: ignore[return-value]


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    from zbulk.sandbox import Sandbox

    with Sandbox(job_duration=60.0) as server:
        yield server


@pytest.fixture
def run(
    env: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Result]:
    """Run zbulk in-process with the given arguments; return exit code, stdout, stderr."""

    def _run(*args: str, **environ: str | None) -> Result:
        for key, value in environ.items():
            if value is None:
                monkeypatch.delenv(key, raising=False)
            else:
                monkeypatch.setenv(key, value)
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return Result(int(code), captured.out, captured.err)

    return _run


@pytest.fixture
def zbulk(run: Callable[..., Result], sandbox: Sandbox) -> Callable[..., Result]:
    """Run zbulk in-process against the sandbox with its token."""

    def _zbulk(*args: str, **environ: str | None) -> Result:
        environ.setdefault("ZBULK_API_DOMAIN", sandbox.url)
        environ.setdefault("ZBULK_TOKEN", sandbox.token)
        return run(*args, **environ)

    return _zbulk


@pytest.fixture
def clock() -> Clock:
    """A clock the sandbox tests move by hand (test modules may define their own)."""
    return Clock()


@pytest.fixture
def sb(clock: Clock) -> Iterator[Sandbox]:
    """A sandbox on that clock, with the token ``sandbox_support.TOKEN``."""
    from zbulk.sandbox import Sandbox

    with Sandbox(token=TOKEN, job_duration=DURATION, clock=clock) as server:
        yield server
