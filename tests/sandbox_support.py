"""What the tests share besides fixtures: the one fake clock, the sandbox token, the demo
jobs' duration on that clock, and helpers that wait on observed events instead of sleeping.

The fixtures built from these (``clock``, ``sb``, ``sandbox``, ``make_sandbox`` …) live in
conftest.py.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import TypeVar

TOKEN = "tok-123"
START = 1000.0  # where the fake clock starts
DURATION = 100.0
T = TypeVar("T")


class Clock:
    """The tests' one fake clock: monotonic seconds that move only when moved.

    A test moves it by hand (``clock.now += 10``), or zbulk's code under test moves it by
    sleeping on it (``sleep=clock.sleep``: each sleep is recorded in ``sleeps``, then
    ``on_sleep(elapsed)`` runs), or, with ``step``, every reading moves it on by ``step``:
    a sandbox on such a clock advances its demo jobs by one step per request answered, so a
    real-time ``job watch`` sees them move and finish after a known number of polls.
    """

    def __init__(self, start: float = START, step: float = 0.0) -> None:
        self.start = self.now = start
        self.step = step
        self.sleeps: list[float] = []
        self.on_sleep: Callable[[float], None] | None = None
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            value = self.now
            self.now += self.step
            return value

    @property
    def elapsed(self) -> float:
        return self.now - self.start

    def sleep(self, seconds: float) -> None:
        assert math.isfinite(seconds) and seconds >= 0, seconds
        self.sleeps.append(seconds)
        with self._lock:
            self.now += seconds
        if self.on_sleep is not None:
            self.on_sleep(self.elapsed)


def auth(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Zoho-oauthtoken {token}"}


def wait_for(condition: Callable[[], T], timeout: float = 30.0, what: str = "the condition") -> T:
    """Poll ``condition`` until it returns something true (returned), or fail after
    ``timeout`` seconds: a wait on an observed event, with a generous deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.005)
