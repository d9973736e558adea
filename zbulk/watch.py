"""Following jobs until they finish: a polling scheduler and the watch loop. Prints
nothing; the clock and sleep are injected, so every decision is testable in fake time.

Polling: the wait starts at ``interval`` and doubles toward ``max_interval`` while the
counts do not move, and falls back to ``interval`` when they do. While they keep moving,
the finish is estimated from the processing rate and the next poll is placed near it
(never later than ``max_interval``, never sooner than ``interval``); a job that stalls
is polled less and less. No poll is planned past ``--timeout``: the last one is at it.
Each fetch's own retries (and their ``Retry-After``) are the client's; a poll that still
fails is retried here with backoff, within a budget.

Many jobs: polls run on up to ``concurrency`` worker threads (requests in flight), and one
``Throttle`` holds every job's next poll back while the server asks to slow down (a 429 on
any job). All state is changed on the calling thread only; workers just fetch.

The job's own clock: ``created_time`` (Zoho's, in the org's offset) gives each job's age;
the poll that first sees it processing starts its running time, and the poll that sees it
finish freezes the time it took. Wall-clock seconds (``wall``) are kept apart from the
monotonic clock the schedule runs on.
"""

from __future__ import annotations

import contextlib
import math
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from zbulk.errors import SEVERITY, ExitCode, NetworkError, ZbulkError
from zbulk.models import Job, is_finished, is_known, status_key

MIN_INTERVAL = 0.1
MAX_SLEEP = 86_400.0  # no single wait is longer, whatever float it was computed from
LAST_POLL_GRACE = 1.0  # seconds the last poll, at --timeout, has to get its answer
DEFAULT_CONCURRENCY = 4  # Zoho's concurrency limits are per org, and low
MAX_CONCURRENCY = 32
RATE_LIMIT_HOLD = 2.0  # seconds every poll waits after a 429 that named no Retry-After
# The watch ends with the worst of its jobs' exit codes (every code is ranked there).


@dataclass
class Progress:
    """What one poll said, reduced to what scheduling needs."""

    status: str | None
    processed: int
    total: int | None  # of the resources counted so far (what scheduling aims at)
    skipped: int
    job_total: int | None = None  # of the whole job: None until every resource is counted

    @classmethod
    def of(cls, job: Job) -> Progress:
        files = [r.file for r in job.resources if r.file is not None]
        totals = [f.total for f in files if f.total is not None and f.total >= 0]
        counted = bool(job.resources) and len(totals) == len(job.resources)
        return cls(
            status=job.status,
            processed=sum(f.processed for f in files),
            total=sum(totals) if totals else None,
            skipped=sum(max(f.skipped or 0, 0) for f in files),
            job_total=sum(totals) if counted else None,
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
    polled_at: float | None = None  # monotonic time of the last answer
    # The job's clock, in wall-clock seconds since the epoch.
    created: float | None = None  # created_time, Zoho's clock
    seen_at: float | None = None  # the last answer
    running_since: float | None = None  # processing started (at or before this)
    running_estimated: bool = False  # running_since is extrapolated from the rate
    finished_at: float | None = None  # the poll that saw it finish (None: it already had)
    saw_waiting: bool = False  # a poll saw it ADDED, before it was processed
    # Honest progress: never backwards.
    percent: float | None = None  # of the whole job, once every resource is counted
    eta_at: float | None = None  # monotonic time the job should be done, from the rate
    resource_totals: dict[int, int] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return self.error is not None or (self.job is not None and self.job.finished)

    def age(self, wall_now: float) -> float | None:
        """Seconds since the job was created (frozen once it finished)."""
        if self.created is None:
            return None
        end = self.finished_at if self.finished_at is not None else wall_now
        return max(end - self.created, 0.0)

    def took(self) -> float | None:
        """From created_time to the poll that saw it finish; None if it was finished
        before the first poll, or has no created_time."""
        if self.finished_at is None or self.created is None:
            return None
        return max(self.finished_at - self.created, 0.0)

    def running(self, wall_now: float) -> float | None:
        """Seconds it has been (or was) processing."""
        if self.running_since is None:
            return None
        end = self.finished_at if self.finished_at is not None else wall_now
        return max(end - self.running_since, 0.0)

    def eta(self, now: float) -> float | None:
        """Seconds until the job should be done (monotonic ``now``); None if unknown."""
        if self.eta_at is None or self.done:
            return None
        return max(self.eta_at - now, 0.0)


@dataclass
class WatchOptions:
    interval: float = 2.0
    max_interval: float = 30.0
    timeout: float | None = None
    fail_on_skipped: bool = False
    error_budget: int = 8  # consecutive failed polls of a job before giving up on it
    concurrency: int = DEFAULT_CONCURRENCY  # requests in flight at most


class Throttle:
    """One back-off shared by every job of a watch: after a 429 on any job, no poll of
    any job starts before ``until`` (monotonic). ``hold`` may be called from any thread
    (the client calls it from inside its retries)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.until = -math.inf
        self.holds = 0
        self._lock = threading.Lock()

    def hold(self, seconds: float | None) -> None:
        wait = RATE_LIMIT_HOLD if seconds is None or math.isnan(seconds) else seconds
        with self._lock:
            self.holds += 1
            self.until = max(self.until, self.clock() + min(max(wait, 0.0), MAX_SLEEP))

    def left(self, now: float) -> float:
        return max(self.until - now, 0.0)


Events = Callable[[str, Watched], None]


def outcome(w: Watched, fail_on_skipped: bool) -> ExitCode:
    if w.error is not None:
        return w.error.exit_code
    assert w.job is not None
    key = status_key(w.job.status)
    if key == "FAILED":
        return ExitCode.ERROR
    skipped = (
        (w.progress.skipped if w.progress else 0) > 0
        or key == "SKIPPED"
        or any(status_key(r.status) == "SKIPPED" for r in w.job.resources)
    )
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
    wall: Callable[[], float] = time.time,
    throttle: Throttle | None = None,
) -> tuple[ExitCode, list[Watched]]:
    """Poll every job until each has finished (or failed to be fetched, or time ran out).

    ``on_event(kind, watched)`` is told of "change", "unknown-status", "retry", "done" and
    "timeout", always on the calling thread. At most ``options.concurrency`` fetches run
    at once, on worker threads. Returns the worst exit code and the final state of each job.
    """
    start = clock()
    interval = _bounded(options.interval, MIN_INTERVAL)
    max_interval = max(_bounded(options.max_interval, MIN_INTERVAL), interval)
    jobs = [
        Watched(j, Schedule(interval, max_interval), started=start) for j in dict.fromkeys(job_ids)
    ]
    timeout = effective_timeout(options.timeout)
    deadline = None if timeout is None else start + timeout
    throttle = throttle if throttle is not None else Throttle(clock)
    width = min(max(int(options.concurrency), 1), MAX_CONCURRENCY, max(len(jobs), 1))
    if on_start is not None:
        on_start(jobs)
    workers = _Workers(fetch, width)
    flying: dict[str, Watched] = {}

    def land(answer: _Answer | None) -> None:
        assert answer is not None  # take(None) waits for one
        w = flying.pop(answer.job_id)
        _apply(w, answer, options, on_event, clock, wall)

    try:
        while True:
            pending = [w for w in jobs if not w.done]
            if not pending:
                break
            now = clock()
            idle = [w for w in pending if w.job_id not in flying]
            if not idle:  # every unfinished job has a request out: wait for one
                land(workers.take(None))
                continue
            first = min(idle, key=lambda x: x.next_poll)
            at = max(first.next_poll, throttle.until)
            if deadline is not None and at > deadline:
                if flying:  # first hear what is already asked
                    land(workers.take(None))
                    continue
                # Nothing is planned before the deadline: look once more at it, give up.
                if now < deadline:
                    sleep(min(deadline - now, MAX_SLEEP))
                for w in idle:
                    workers.give(w.job_id)
                    flying[w.job_id] = w
                while flying:
                    land(workers.take(None))
                for late in pending:
                    if not late.done:
                        late.error = _timed_out(late, options.timeout or 0)
                        on_event("timeout", late)
                break
            if at <= now and len(flying) < width:
                due = sorted((w for w in idle if w.next_poll <= now), key=lambda x: x.next_poll)
                for w in due[: width - len(flying)]:
                    workers.give(w.job_id)
                    flying[w.job_id] = w
                continue
            if flying:  # an answer, or the next poll's time, whichever comes first
                wait = None if len(flying) >= width else max(at - now, 0.0)
                answer = workers.take(wait)
                if answer is not None:
                    land(answer)
                elif clock() <= now and at > now:
                    sleep(min(at - now, MAX_SLEEP))  # a clock only sleeping moves
                continue
            sleep(min(at - now, MAX_SLEEP))
    finally:
        workers.close()
    return worst([outcome(w, options.fail_on_skipped) for w in jobs]), jobs


@dataclass
class _Answer:
    job_id: str
    job: Job | None = None
    error: BaseException | None = None


class _Workers:
    """Daemon threads that fetch job ids given to them; answers come back in order of
    arrival. Daemons: Ctrl-C ends the watch at once, whatever is still being asked."""

    def __init__(self, fetch: Callable[[str], Job], size: int) -> None:
        self._fetch = fetch
        self._asks: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._answers: queue.SimpleQueue[_Answer] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._work, name=f"zbulk-poll-{i}", daemon=True)
            for i in range(size)
        ]
        for thread in self._threads:
            thread.start()

    def _work(self) -> None:
        while (job_id := self._asks.get()) is not None:
            try:
                self._answers.put(_Answer(job_id, job=self._fetch(job_id)))
            except BaseException as exc:  # handed to the calling thread, which decides
                self._answers.put(_Answer(job_id, error=exc))

    def give(self, job_id: str) -> None:
        self._asks.put(job_id)

    def take(self, timeout: float | None) -> _Answer | None:
        """The next answer; None if none came within ``timeout`` seconds (real time)."""
        end = None if timeout is None else time.monotonic() + timeout
        while True:  # short waits, so that signals are handled promptly
            left = 0.5 if end is None else min(end - time.monotonic(), 0.5)
            try:
                return self._answers.get(timeout=max(left, 0.0))
            except queue.Empty:
                if end is not None and time.monotonic() >= end:
                    return None

    def close(self) -> None:
        for _ in self._threads:
            self._asks.put(None)


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
    """SIGTERM and SIGHUP end what runs inside the way Ctrl-C does (KeyboardInterrupt, by
    ``zbulk.interrupts``' rules): the live view stops and restores the cursor, and zbulk
    says the job goes on."""
    import signal
    import threading

    from zbulk.interrupts import interrupt

    if threading.current_thread() is not threading.main_thread():
        yield
        return

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


def _apply(
    w: Watched,
    answer: _Answer,
    options: WatchOptions,
    on_event: Events,
    clock: Callable[[], float],
    wall: Callable[[], float],
) -> None:
    """What one poll's answer (or failure) means for the job; on the calling thread."""
    exc = answer.error
    if isinstance(exc, NetworkError):
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
    if isinstance(exc, ZbulkError):  # 401, not found, 403...: nothing a retry can fix
        w.error = exc
        on_event("done", w)
        return
    if exc is not None:
        raise exc
    job = answer.job
    assert job is not None
    now, wall_now = clock(), wall()
    w.polls += 1
    w.failures = 0
    previous = w.progress
    w.job, w.progress = job, Progress.of(job)
    w.polled_at, w.seen_at = now, wall_now
    _keep_time(w, job, wall_now, first=previous is None)
    if not is_known(job.status) and not w.warned_status:
        w.warned_status = True
        on_event("unknown-status", w)
    finished = is_finished(job.status)
    if not finished:
        w.next_poll = now + w.schedule.next_delay(now, w.progress)
    _keep_progress(w, now)
    if previous is None or (previous.status, previous.processed, previous.total) != (
        w.progress.status,
        w.progress.processed,
        w.progress.total,
    ):
        on_event("change", w)
    if finished:
        on_event("done", w)


def _keep_time(w: Watched, job: Job, wall_now: float, *, first: bool) -> None:
    """The job's clock from this answer: created, running since, finished at."""
    if job.created_time is not None:
        w.created = job.created_time.timestamp()
    key = status_key(job.status)
    if key == "ADDED" and w.progress is not None and w.progress.processed == 0:
        w.saw_waiting = True
    elif w.running_since is None and w.saw_waiting:
        w.running_since = wall_now  # it started between the last poll and this one
    if is_finished(job.status) and w.finished_at is None and not first:
        w.finished_at = wall_now  # frozen here: the time it took stops counting


def _keep_progress(w: Watched, now: float) -> None:
    """Percent that never goes backwards, and the ETA from the scheduler's rate."""
    seen = w.progress
    assert seen is not None
    if seen.job_total:
        share = min(100.0, 100.0 * seen.processed / seen.job_total)
        w.percent = share if w.percent is None else max(w.percent, share)
    elif is_finished(seen.status) and status_key(seen.status) == "COMPLETED":
        w.percent = 100.0
    rate = w.schedule.rate(now, seen)
    if is_finished(seen.status) or not seen.job_total:
        w.eta_at = None
    elif rate:
        w.eta_at = now + max(seen.job_total - seen.processed, 0) / rate
        if w.running_since is None and w.seen_at is not None:
            # Seen already processing: when it started, from how far it got at this rate.
            start = w.seen_at - seen.processed / rate
            w.running_since = max(start, w.created) if w.created is not None else start
            w.running_estimated = True


def _timed_out(w: Watched, timeout: float) -> ZbulkError:
    from zbulk.errors import WatchTimeout

    status = w.job.status if w.job else "not fetched yet"
    return WatchTimeout(
        f"job {w.job_id} did not finish within {timeout:g}s (last status: {status})",
        hint=f"the job goes on at Zoho; follow it again with `zbulk job watch {w.job_id}`",
    )
