"""Fixtures every test module shares.

- Every test runs isolated (autouse): its own HOME, XDG dirs, zbulk config and state dirs,
  and no ZBULK_* settings from the developer's shell, so no test reads or writes a real
  profile, keyring file or job history, and any single test file runs alone.
- ``env``: that environment, plus a fixed width, UTC and millisecond retry backoff.
- ``run``: zbulk in-process; ``zbulk``: the same, pointed at the ``sandbox`` fixture;
  ``demo``: ``zbulk demo`` in-process, its watch in 0.5 s.
- The sandbox family: ``make_sandbox(**options)`` starts one (stopped after the test);
  ``sandbox`` is the default one in real time; ``sb`` runs on ``clock``, the one fake clock
  (``sandbox_support.Clock``), with the token ``sandbox_support.TOKEN``; ``stepping_sandbox``
  moves its demo jobs one step per request (``fast`` runs zbulk against it), so a real-time
  ``job watch`` sees a job go ADDED → IN PROGRESS → COMPLETED in a known number of polls.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from procs import Result
from sandbox_support import DURATION, TOKEN, Clock

if TYPE_CHECKING:
    from zbulk.sandbox import Sandbox

_CLEARED = ("NO_COLOR", "FORCE_COLOR", "COLUMNS", "LINES", "CLICOLOR_FORCE")


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Each test's own home, config and state dirs; no ZBULK_* settings from outside."""
    home = tmp_path_factory.mktemp("home")
    for name in list(os.environ):
        if name.startswith("ZBULK_") or name in _CLEARED:
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(home))
    for var, sub in (
        ("XDG_CONFIG_HOME", ".config"),
        ("XDG_STATE_HOME", ".local/state"),
        ("XDG_CACHE_HOME", ".cache"),
        ("XDG_DATA_HOME", ".local/share"),
    ):
        monkeypatch.setenv(var, str(home / sub))
    monkeypatch.setenv("ZBULK_CONFIG_DIR", str(home / "zbulk-config"))
    monkeypatch.setenv("ZBULK_STATE_DIR", str(home / "zbulk-state"))
    return home


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """The isolated environment, with config and state under ``tmp_path``, 120 columns, UTC,
    and retries that wait milliseconds instead of seconds (the schedule's shape unchanged)."""
    monkeypatch.setenv("ZBULK_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("ZBULK_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.setenv("TZ", "UTC")
    from zbulk import http  # imported here, not at the top: pytest's controller, which
    # imports this file too, runs no test, and starts the workers 0.14 s sooner without it

    monkeypatch.setattr(http, "BACKOFF_FACTOR", 0.01)
    monkeypatch.setattr(http, "BACKOFF_JITTER", 0.01)
    return os.environ  # type: ignore[return-value]


@pytest.fixture
def make_sandbox() -> Iterator[Callable[..., Sandbox]]:
    """Start a sandbox with the given options (Sandbox's); each is stopped after the test."""
    from zbulk.sandbox import Sandbox

    started: list[Sandbox] = []

    def _make(**options: Any) -> Sandbox:
        server = Sandbox(**options).start()
        started.append(server)
        return server

    yield _make
    for server in started:
        server.stop()


@pytest.fixture
def sandbox(make_sandbox: Callable[..., Sandbox]) -> Sandbox:
    """A sandbox in real time, demo jobs lasting a minute."""
    return make_sandbox(job_duration=60.0)


@pytest.fixture
def run(
    env: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Result]:
    """Run zbulk in-process with the given arguments; return exit code, stdout, stderr.
    Keyword arguments set (or, with None, remove) environment variables first."""

    from zbulk.cli import main

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
def demo(run: Callable[..., Result], monkeypatch: pytest.MonkeyPatch) -> Callable[[], Result]:
    """``zbulk demo`` in-process, its tour's ``job watch`` taking 0.5 s (3 s as shipped:
    a pause for a person to read)."""
    from zbulk.commands import sandbox

    monkeypatch.setattr(sandbox, "DEMO_WATCH_SECONDS", 0.5)
    return lambda: run("demo")


@pytest.fixture
def zbulk_at(run: Callable[..., Result]) -> Callable[[Sandbox], Callable[..., Result]]:
    """``zbulk_at(server)(*args)``: run zbulk in-process against ``server`` with its token."""

    def _at(server: Sandbox) -> Callable[..., Result]:
        def _zbulk(*args: str, **environ: str | None) -> Result:
            environ.setdefault("ZBULK_API_DOMAIN", server.url)
            environ.setdefault("ZBULK_TOKEN", server.token)
            return run(*args, **environ)

        return _zbulk

    return _at


@pytest.fixture
def zbulk(
    zbulk_at: Callable[[Sandbox], Callable[..., Result]], sandbox: Sandbox
) -> Callable[..., Result]:
    """Run zbulk in-process against the ``sandbox`` fixture with its token."""
    return zbulk_at(sandbox)


@pytest.fixture
def clock() -> Clock:
    """The one fake clock (``sandbox_support.Clock``)."""
    return Clock()


@pytest.fixture
def sb(
    make_sandbox: Callable[..., Sandbox], clock: Clock, request: pytest.FixtureRequest
) -> Sandbox:
    """A sandbox on ``clock`` (demo jobs start at its START and last DURATION on it), with
    the token TOKEN; a module's ``pytestmark = pytest.mark.sandbox(job_duration=…)`` sets
    another duration."""
    marker = request.node.get_closest_marker("sandbox")
    duration = marker.kwargs.get("job_duration", DURATION) if marker else DURATION
    return make_sandbox(token=TOKEN, job_duration=duration, clock=clock)


STEP = 1.8  # seconds of job time per request: the large job completes at the 7th poll
STEP_DURATION = 10.0


@pytest.fixture
def stepping_sandbox(make_sandbox: Callable[..., Sandbox]) -> Sandbox:
    """A sandbox whose demo jobs move STEP per request answered (ADDED at the first)."""
    clock = Clock()
    server = make_sandbox(job_duration=STEP_DURATION, clock=clock)
    clock.step = STEP  # from the first request on
    return server


@pytest.fixture
def memory_keyring() -> Iterator[Any]:
    """An in-memory keyring backend (tests/keyring_backends.py) for the test's duration."""
    import keyring
    from keyring_backends import MemoryKeyring

    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def dc_config(env: dict[str, str], sandbox: Sandbox) -> Path:
    """A data centre named "sandbox" in config.toml whose accounts server and API are the
    sandbox (``auth login --dc sandbox``)."""
    path = Path(env["ZBULK_CONFIG_DIR"]) / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f'[data_centres.sandbox]\naccounts = "{sandbox.url}"\napi_domain = "{sandbox.url}"\n'
    )
    return path


@pytest.fixture
def client_env(sandbox: Sandbox) -> dict[str, str]:
    """The sandbox's OAuth client, as ``auth login`` reads it from the environment."""
    return {"ZBULK_CLIENT_ID": sandbox.client_id, "ZBULK_CLIENT_SECRET": sandbox.client_secret}


@pytest.fixture
def fast(
    zbulk_at: Callable[[Sandbox], Callable[..., Result]], stepping_sandbox: Sandbox
) -> Callable[..., Result]:
    """zbulk in-process against ``stepping_sandbox`` (as ``fast.server``)."""
    zbulk = zbulk_at(stepping_sandbox)
    zbulk.server = stepping_sandbox  # type: ignore[attr-defined]
    return zbulk


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto`` (in addopts): three workers per core, at most eight. Much of the suite
    waits (on sandboxes, terminals, deadlines) rather than computes, so workers beyond the
    cores keep them busy. Named test files get at most one worker each (one: none)."""
    workers = min(8, 3 * (os.cpu_count() or 1))
    named = {arg.split("::")[0] for arg in config.args}
    if named and all(name.endswith(".py") for name in named):
        workers = min(workers, len(named))
    return 0 if workers == 1 else workers


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """In CI, name each real-shell completion test and its outcome (they run once, here)."""
    if not os.environ.get("CI"):
        return
    rows = [
        (report.nodeid, outcome.upper())
        for outcome in ("passed", "failed", "skipped", "error")
        for report in terminalreporter.stats.get(outcome, [])
        if "test_completion.py" in getattr(report, "nodeid", "")
        and getattr(report, "when", "call") in ("call", "setup")
        and not (outcome == "passed" and report.when == "setup")
    ]
    if rows:
        terminalreporter.section("Tab completion in real bash, zsh and fish")
        for nodeid, outcome in sorted(rows):
            terminalreporter.write_line(f"{outcome:8} {nodeid}")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked e2e first (in their files' order): they wait seconds each on real jobs
    and terminals, and run late they made the run's tail, one worker waiting while the
    others had finished. First, their waits overlap the tests that compute."""
    items.sort(key=lambda item: item.get_closest_marker("e2e") is None)
