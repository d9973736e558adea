"""Following jobs until they finish: a polling scheduler and the watch loop. Prints
nothing; the clock and sleep are injected, so every decision is testable in fake time.

Polling: the wait starts at ``interval`` and doubles toward ``max_interval`` while the
counts do not move, and falls back to ``interval`` when they do. While they keep moving,
the finish is estimated from the processing rate and the next poll is placed near it
(never later than ``max_interval``, never sooner than ``interval``); a job that stalls
is polled less and less. No poll is planned past ``--timeout``: the last one is at it.
Each fetch's own retries (and their ``Retry-After``) are the client's; a poll that still
fails is retried here with backoff, within a budget.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from zbulk.errors import SEVERITY, ExitCode, NetworkError, ZbulkError
from zbulk.models import Job, is_finished, status_key

KNOWN = frozenset({"ADDED", "INPROGRESS", "COMPLETED", "FAILED", "SKIPPED"})
MIN_INTERVAL = 0.1
MAX_SLEEP = 86_400.0  # no single wait is longer, whatever float it was computed from
LAST_POLL_GRACE = 1.0  # seconds the last poll, at --timeout, has to get its answer
# The watch ends with the worst of its jobs' exit codes (every code is ranked there).


@dataclass
class Progress:
    """What one poll said, reduced to what scheduling needs."""

    status: str | None
    processed: int
    total: int | None
    skipped: int

    @classmethod
    def of(cls, job: Job) -> Progress:
        files = [r.file for r in job.resources if r.file is not None]
        totals = [f.total for f in files if f.total is not None]
        return cls(
            status=job.status,
            processed=sum(f.processed for f in files),
            total=sum(totals) if totals else None,
            skipped=sum(max(f.skipped or 0, 0) for f in files),
        )


@dataclass
class Schedule:
    """When to poll next, from what the polls so far have said."""

    interval: float = 2.0
    max_interval: float = 30.0
    growth: float = 2.0
    _wait: float = 0.0
    _last: Progress | None = None
    _first_moving: tuple[float, int] | None = None  # (time, processed) when counts first moved

    def next_delay(self, now: float, seen: Progress) -> float:
        # Only records processed count as movement: ADDED -> IN PROGRESS, or a total
        # appearing, with nothing processed yet says nothing about when the job will end.
        first = self._last is None
        moved = not first and seen.processed != self._last.processed  # type: ignore[union-attr]
        if seen.processed > 0 and self._first_moving is None:
            self._first_moving = (now, seen.processed)
        self._last = seen
        if first or moved:
            self._wait = self.interval
        else:
            self._wait = min(self._wait * self.growth, self.max_interval)
        eta = self.eta(now, seen)
        if moved and eta is not None and math.isfinite(eta):
            return min(max(eta, self.interval), self.max_interval)
        return self._wait

    def eta(self, now: float, seen: Progress) -> float | None:
        """Seconds until the job should be done, from the rate since counts first moved."""
        if self._first_moving is None or not seen.total:
            return None
        started, at_start = self._first_moving
        elapsed = now - started
        done = seen.processed - at_start
        if elapsed <= 0 or done <= 0:
            return None
        return max(seen.total - seen.processed, 0) / (done / elapsed)

    def rate(self, now: float, seen: Progress) -> float | None:
        if self._first_moving is None:
            return None
        started, at_start = self._first_moving
        return (seen.processed - at_start) / (now - started) if now > started else None


@dataclass
class Watched:
    """One job being watched."""

    job_id: str
    schedule: Schedule
    job: Job | None = None
    progress: Progress | None = None
    next_poll: float = 0.0
    polls: int = 0
    failures: int = 0
    warned_status: bool = False
    error: ZbulkError | None = None  # why this job's watch ended early
    last_failure: ZbulkError | None = None  # the latest failed poll, retried
    started: float = 0.0

    @property
    def done(self) -> bool:
        return self.error is not None or (self.job is not None and self.job.finished)


@dataclass
class WatchOptions:
    interval: float = 2.0
    max_interval: float = 30.0
    timeout: float | None = None
    fail_on_skipped: bool = False
    error_budget: int = 8  # consecutive failed polls of a job before giving up on it


Events = Callable[[str, Watched], None]


def outcome(w: Watched, fail_on_skipped: bool) -> ExitCode:
    if w.error is not None:
        return w.error.exit_code
    assert w.job is not None
    key = status_key(w.job.status)
    if key == "FAILED":
        return ExitCode.ERROR
    skipped = (w.progress.skipped if w.progress else 0) > 0 or key == "SKIPPED" or any(
        status_key(r.status) == "SKIPPED" for r in w.job.resources)  # fmt: skip
    return ExitCode.SKIPPED if fail_on_skipped and skipped else ExitCode.OK


def worst(codes: list[ExitCode]) -> ExitCode:
    return max(codes, key=SEVERITY.index, default=ExitCode.OK)


def watch(
    fetch: Callable[[str], Job],
    job_ids: list[str],
    options: WatchOptions,
    on_event: Events,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    on_start: Callable[[list[Watched]], None] | None = None,
) -> tuple[ExitCode, list[Watched]]:
    """Poll every job until each has finished (or failed to be fetched, or time ran out).

    ``on_event(kind, watched)`` is told of "change", "unknown-status", "retry", "done" and
    "timeout". Returns the worst exit code and the final state of each job.
    """
    start = clock()
    interval = _bounded(options.interval, MIN_INTERVAL)
    max_interval = max(_bounded(options.max_interval, MIN_INTERVAL), interval)
    jobs = [Watched(j, Schedule(interval, max_interval), started=start)
            for j in dict.fromkeys(job_ids)]  # fmt: skip
    timeout = effective_timeout(options.timeout)
    deadline = None if timeout is None else start + timeout
    if on_start is not None:
        on_start(jobs)
    while True:
        pending = [w for w in jobs if not w.done]
        if not pending:
            break
        w = min(pending, key=lambda x: x.next_poll)
        now = clock()
        if deadline is not None and w.next_poll > deadline:
            # Nothing is planned before the deadline: look once more at it, then give up.
            if now < deadline:
                sleep(min(deadline - now, MAX_SLEEP))
            for late in pending:
                _poll(late, fetch, options, on_event, clock)
            for late in pending:
                if not late.done:
                    late.error = _timed_out(late, options.timeout or 0)
                    on_event("timeout", late)
            break
        if w.next_poll > now:
            sleep(min(w.next_poll - now, MAX_SLEEP))
        _poll(w, fetch, options, on_event, clock)
    return worst([outcome(w, options.fail_on_skipped) for w in jobs]), jobs


def _bounded(value: float, low: float) -> float:
    """A wait that a loop can use: at least ``low``, at most ``MAX_SLEEP``; nan is ``low``."""
    return min(max(value, low), MAX_SLEEP) if not math.isnan(value) else low


def effective_timeout(timeout: float | None) -> float | None:
    """--timeout as the loop uses it: inf is none, nan or negative is now."""
    if timeout is None or timeout == math.inf:
        return None
    return 0.0 if math.isnan(timeout) or timeout < 0 else timeout


def hard_deadline(timeout: float | None, now: float) -> float | None:
    """The time no request of a watch may outlast (retries and Retry-After waits
    included): the timeout, plus a moment for the last poll's answer."""
    timeout = effective_timeout(timeout)
    return None if timeout is None else now + timeout + LAST_POLL_GRACE


@contextlib.contextmanager
def signals_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP end what runs inside the way Ctrl-C does (KeyboardInterrupt):
    the live view stops and restores the cursor, and zbulk says the job goes on."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = {}
    for name in ("SIGTERM", "SIGHUP"):
        number = getattr(signal, name, None)
        if number is not None:
            previous[number] = signal.signal(number, interrupt)
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _poll(w: Watched, fetch: Callable[[str], Job], options: WatchOptions, on_event: Events,
          clock: Callable[[], float]) -> None:  # fmt: skip
    try:
        job = fetch(w.job_id)
    except NetworkError as exc:
        w.failures += 1
        if w.failures > options.error_budget:
            w.error = exc
            on_event("done", w)
            return
        backoff = min(options.interval * 2 ** min(w.failures, 30), options.max_interval)
        w.next_poll = clock() + _bounded(backoff, MIN_INTERVAL)
        w.last_failure = exc
        on_event("retry", w)
        return
    except ZbulkError as exc:  # 401, not found, 403...: nothing a retry can fix
        w.error = exc
        on_event("done", w)
        return
    now = clock()
    w.polls += 1
    w.failures = 0
    previous = w.progress
    w.job, w.progress = job, Progress.of(job)
    if status_key(job.status) not in KNOWN and not w.warned_status:
        w.warned_status = True
        on_event("unknown-status", w)
    if previous is None or (previous.status, previous.processed, previous.total) != (
        w.progress.status, w.progress.processed, w.progress.total):  # fmt: skip
        on_event("change", w)
    if is_finished(job.status):
        on_event("done", w)
        return
    w.next_poll = now + w.schedule.next_delay(now, w.progress)


def _timed_out(w: Watched, timeout: float) -> ZbulkError:
    from zbulk.errors import WatchTimeout

    status = w.job.status if w.job else "not fetched yet"
    return WatchTimeout(
        f"job {w.job_id} did not finish within {timeout:g}s (last status: {status})",
        hint=f"the job goes on at Zoho; follow it again with `zbulk job watch {w.job_id}`",
    )
