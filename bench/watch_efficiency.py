"""`zbulk job watch`'s polling beside fixed 3-second polling (what `gh run watch` does).

    python bench/watch_efficiency.py [--interval S] [--max-interval S] [--check]

Each run serves one demo job from a fresh sandbox and follows it until it finishes. One
fake clock drives both the sandbox (the job's progress) and the poller (its clock and
sleep), so a 10-minute job runs in a fraction of a second, while every poll is still a
real HTTP request to the sandbox over loopback. The job truly finishes job_duration after
the sandbox starts; the lag is the fake time the poller returned minus that finish.

Goals (issue "job watch"): a 10-minute job in at most 25 requests (fixed 3 s polling
needs 200) with at most 15 s lag; a 10-second job with at most 2 s lag.

Many jobs (issue "job watch on the job's own clock"): 50 jobs started at once in the
sandbox, every answer delayed 100 ms (real time): the first full picture (every job
answered once) with --concurrency N in at most 1/3 of the time one request at a time
takes; never more than N requests in flight, as the sandbox counts them; and no more
requests in all than 50 times what one such job costs alone.

ETA: for the demo's linear jobs, the ETA shown at the first poll after a fifth of the job
is within 15% of the real finish. And the job's own clock: the time each demo job took
(created_time to the poll that saw it end) beside what the sandbox did.

Exits 0 whatever the figures, unless --check is given and a goal is missed (then 1).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from zbulk.auth.tokens import StaticToken
from zbulk.client import ZohoClient
from zbulk.config import Settings
from zbulk.errors import ExitCode
from zbulk.models import Job
from zbulk.sandbox import DEMO_JOBS, Sandbox
from zbulk.sandbox.jobs import ADDED_SHARE, DEMO
from zbulk.watch import Throttle, Watched, WatchOptions, watch

FIXED_PERIOD = 3.0
# (demo job, job_duration in seconds)
CASES = [("large", 10.0), ("large", 60.0), ("large", 600.0), ("upsert", 600.0)]
GOAL_LONG = (600.0, 25, 15.0)  # duration, at most requests, at most lag
GOAL_SHORT = (10.0, 2.0)  # duration, at most lag
MANY, LATENCY, MANY_DURATION = 50, 0.1, 600.0  # jobs, seconds per answer, job_duration
GOAL_PICTURE = 1 / 3  # first full picture, concurrent / one at a time
ETA_CASES = [("large", 600.0), ("defaults", 600.0), ("large", 60.0)]
GOAL_ETA = 0.15  # share of the job's duration


class FakeClock:
    """Monotonic seconds that move only when someone sleeps."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"cannot sleep {seconds}s")
        self.now += seconds


@dataclass
class Run:
    requests: int
    lag: float
    status: str | None


Poller = Callable[[ZohoClient, str, FakeClock], str | None]


def measure(job_key: str, duration: float, poller: Poller) -> Run:
    """Follow ``job_key`` lasting ``duration`` (fake) seconds with ``poller``."""
    clock = FakeClock()
    with Sandbox(job_duration=duration, clock=clock) as sandbox:
        finish = clock() + duration  # the demo job's t0 is the clock when the sandbox binds
        settings = Settings(api_domain=sandbox.url, request_timeout=10.0)
        with ZohoClient(settings, StaticToken(sandbox.token, "the bench")) as client:
            status = poller(client, DEMO_JOBS[job_key], clock)
        return Run(sandbox.request_count("/crm/bulk/"), clock() - finish, status)


def zbulk_poller(interval: float, max_interval: float) -> Poller:
    def poll(client: ZohoClient, job_id: str, clock: FakeClock) -> str | None:
        def fetch(job_id: str) -> Job:
            return Job.read(client.get_job(job_id).doc)

        def on_event(kind: str, w: Watched) -> None:
            pass

        options = WatchOptions(interval=interval, max_interval=max_interval)
        code, jobs = watch(fetch, [job_id], options, on_event, clock=clock, sleep=clock.advance)
        if code != ExitCode.OK:
            sys.exit(f"zbulk's watch of {job_id} ended with {code!r}: {jobs[0].error}")
        assert jobs[0].job is not None
        return jobs[0].job.status

    return poll


def fixed_poller(client: ZohoClient, job_id: str, clock: FakeClock) -> str | None:
    """Poll; if finished stop, else sleep FIXED_PERIOD and poll again."""
    while True:
        job = Job.read(client.get_job(job_id).doc)
        if job.finished:
            return job.status
        clock.advance(FIXED_PERIOD)


class Enough(Exception):
    """Stops a watch from its event callback once the figure wanted is in."""


@dataclass
class Many:
    picture: float  # real seconds until every job had answered once
    requests: int | None = None  # all job requests of the whole watch (None: stopped early)
    in_flight: int = 0  # most requests in flight at once, as the sandbox counted


def many_jobs(concurrency: int, *, to_the_end: bool, interval: float, max_interval: float) -> Many:
    """Watch MANY jobs started together; each answer takes LATENCY until the first full
    picture, then a tenth of it (the rest of the run only counts requests)."""
    clock = FakeClock()
    with Sandbox(job_duration=MANY_DURATION, clock=clock) as sandbox:
        ids = sandbox.start_jobs(MANY)
        sandbox.latency = LATENCY
        settings = Settings(api_domain=sandbox.url, request_timeout=10.0)
        answered: set[str] = set()
        picture: list[float] = []
        started = time.perf_counter()

        def on_event(kind: str, w: Watched) -> None:
            if kind != "change" or picture:
                return
            answered.add(w.job_id)
            if len(answered) == len(ids):
                picture.append(time.perf_counter() - started)
                if not to_the_end:
                    raise Enough
                sandbox.latency = LATENCY / 10

        with ZohoClient(settings, StaticToken(sandbox.token, "the bench")) as client:
            throttle = Throttle(clock)
            client.on_rate_limit = throttle.hold
            client.allow_parallel(concurrency)

            def fetch(job_id: str) -> Job:
                return Job.read(client.get_job(job_id).doc)

            options = WatchOptions(
                interval=interval, max_interval=max_interval, concurrency=concurrency
            )
            try:
                code, _ = watch(
                    fetch,
                    ids,
                    options,
                    on_event,
                    clock=clock,
                    sleep=clock.advance,
                    throttle=throttle,
                )
            except Enough:
                return Many(picture[0], None, sandbox.max_in_flight)
            if code != ExitCode.OK:
                sys.exit(f"the watch of {MANY} jobs ended with {code!r}")
        return Many(picture[0], sandbox.request_count("/crm/bulk/"), sandbox.max_in_flight)


def one_started_job(interval: float, max_interval: float) -> int:
    """Requests one job of the MANY kind costs watched alone."""
    clock = FakeClock()
    with Sandbox(job_duration=MANY_DURATION, clock=clock) as sandbox:
        ids = sandbox.start_jobs(1)
        settings = Settings(api_domain=sandbox.url, request_timeout=10.0)
        with ZohoClient(settings, StaticToken(sandbox.token, "the bench")) as client:
            options = WatchOptions(interval=interval, max_interval=max_interval)
            watch(
                lambda j: Job.read(client.get_job(j).doc),
                ids,
                options,
                lambda k, w: None,
                clock=clock,
                sleep=clock.advance,
            )
        return sandbox.request_count("/crm/bulk/")


def _end(job_key: str, duration: float) -> float:
    """Seconds after the sandbox's start at which a demo job ends (COMPLETED or FAILED)."""
    job = next(j for j in DEMO if j.id == DEMO_JOBS[job_key])
    done = 1.0 if job.fail_at is None else job.fail_at
    return duration * job.span * (ADDED_SHARE + (1 - ADDED_SHARE) * done)


@dataclass
class Eta:
    at: float  # seconds into the job when the ETA was shown
    eta: float  # what it said
    finish: float  # when the job really finished

    @property
    def error(self) -> float:
        """How far the estimated finish was from the real one, as a share of the job."""
        return abs(self.at + self.eta - self.finish) / self.finish


def eta_accuracy(job_key: str, duration: float, interval: float, max_interval: float) -> Eta:
    """The first ETA shown at or after a fifth of the job, beside its real finish."""
    clock = FakeClock()
    with Sandbox(job_duration=duration, clock=clock) as sandbox:
        t0, finish = clock(), _end(job_key, duration)
        settings = Settings(api_domain=sandbox.url, request_timeout=10.0)
        shown: list[Eta] = []

        def on_event(kind: str, w: Watched) -> None:
            eta = w.eta(clock())
            if kind == "change" and eta is not None and clock() - t0 >= 0.2 * finish:
                shown.append(Eta(clock() - t0, eta, finish))
                raise Enough

        with ZohoClient(settings, StaticToken(sandbox.token, "the bench")) as client:
            options = WatchOptions(interval=interval, max_interval=max_interval)
            with contextlib.suppress(Enough):
                watch(
                    lambda j: Job.read(client.get_job(j).doc),
                    [DEMO_JOBS[job_key]],
                    options,
                    on_event,
                    clock=clock,
                    sleep=clock.advance,
                )
        if not shown:
            sys.exit(f"no ETA was shown for {job_key} after a fifth of it")
        return shown[0]


@dataclass
class Took:
    job_key: str
    status: str | None
    truth: float  # created_time to its end, as the sandbox ran it
    took: float | None  # what zbulk says (None: finished before the watch)


def job_times(interval: float, max_interval: float, duration: float = 600.0) -> list[Took]:
    """Every demo job watched together; the time each took on zbulk's clock beside the
    sandbox's own timing (created ``created_ago`` before its start, ended at its end)."""
    clock = FakeClock()
    keys = ["upsert", "large", "failing", "completed", "defaults"]
    with Sandbox(job_duration=duration, clock=clock) as sandbox:
        wall0, t0 = time.time(), clock()  # the sandbox's start, on both clocks
        settings = Settings(api_domain=sandbox.url, request_timeout=10.0)
        with ZohoClient(settings, StaticToken(sandbox.token, "the bench")) as client:
            options = WatchOptions(interval=interval, max_interval=max_interval)
            _, jobs = watch(
                lambda j: Job.read(client.get_job(j).doc),
                [DEMO_JOBS[k] for k in keys],
                options,
                lambda k, w: None,
                clock=clock,
                sleep=clock.advance,
                wall=lambda: wall0 + clock() - t0,
            )
    by_id = {j.id: j for j in DEMO}
    out = []
    for key, w in zip(keys, jobs, strict=True):
        demo = by_id[DEMO_JOBS[key]]
        truth = demo.created_ago + (0.0 if demo.done_at_start else _end(key, duration))
        out.append(Took(key, w.job.status if w.job else None, truth, w.took()))
    return out


def duration_text(seconds: float) -> str:
    return f"{seconds:g} s" if seconds < 60 else f"{seconds / 60:g} min"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--interval", type=float, default=2.0, help="zbulk's --interval")
    parser.add_argument("--max-interval", type=float, default=30.0, help="zbulk's --max-interval")
    parser.add_argument("--concurrency", type=int, default=4, help="zbulk's --concurrency")
    parser.add_argument("--check", action="store_true", help="exit 1 if a goal is missed")
    args = parser.parse_args()
    if not 0 < args.interval <= args.max_interval:
        parser.error("need 0 < --interval <= --max-interval")

    ours = zbulk_poller(args.interval, args.max_interval)
    results: list[tuple[str, float, Run, Run]] = []
    for job_key, duration in CASES:
        z, f = measure(job_key, duration, ours), measure(job_key, duration, fixed_poller)
        for who, run in (("zbulk", z), ("fixed 3s", f)):
            if run.status != "COMPLETED" or run.lag < 0:
                sys.exit(f"{who} on {job_key} ({duration:g}s) ended oddly: {run}")
        results.append((job_key, duration, z, f))

    print(
        f"zbulk job watch (--interval {args.interval:g} --max-interval {args.max_interval:g}) "
        f"beside fixed {FIXED_PERIOD:g} s polling; fake time, real HTTP to the sandbox"
    )
    header = (
        "job",
        "duration",
        "zbulk requests",
        "zbulk lag (s)",
        "fixed-3s requests",
        "fixed-3s lag (s)",
    )
    print(
        f"{header[0]:<8}{header[1]:>10}{header[2]:>16}{header[3]:>15}{header[4]:>19}{header[5]:>18}"
    )
    for job_key, duration, z, f in results:
        print(
            f"{job_key:<8}{duration_text(duration):>10}{z.requests:>16}{z.lag:>15.1f}"
            f"{f.requests:>19}{f.lag:>18.1f}"
        )

    single = one_started_job(args.interval, args.max_interval)
    one_at_a_time = many_jobs(
        1, to_the_end=False, interval=args.interval, max_interval=args.max_interval
    )
    together = many_jobs(
        args.concurrency, to_the_end=True, interval=args.interval, max_interval=args.max_interval
    )
    assert together.requests is not None
    print(
        f"\n{MANY} jobs of {duration_text(MANY_DURATION)} started together, "
        f"{LATENCY * 1000:g} ms per answer until the first full picture"
    )
    print(
        f"{'concurrency':<13}{'first full picture (s)':>24}{'most in flight':>16}"
        f"{'requests in all':>17}{'50 x one alone':>16}"
    )
    print(f"{1:<13}{one_at_a_time.picture:>24.2f}{one_at_a_time.in_flight:>16}{'-':>17}{'-':>16}")
    print(
        f"{args.concurrency:<13}{together.picture:>24.2f}{together.in_flight:>16}"
        f"{together.requests:>17}{MANY * single:>16}"
    )

    etas = [
        (key, d, eta_accuracy(key, d, args.interval, args.max_interval)) for key, d in ETA_CASES
    ]
    print("\nETA shown at the first poll after a fifth of the job, beside the real finish")
    print(
        f"{'job':<10}{'duration':>10}{'shown at (s)':>14}{'ETA (s)':>10}"
        f"{'finish (s)':>12}{'error':>8}"
    )
    for key, d, e in etas:
        print(
            f"{key:<10}{duration_text(d):>10}{e.at:>14.1f}{e.eta:>10.1f}{e.finish:>12.1f}"
            f"{e.error:>8.1%}"
        )

    times = job_times(args.interval, args.max_interval)
    print("\nEach demo job's time on its own clock (10-min job_duration, watched together)")
    print(f"{'job':<11}{'status':<11}{'sandbox (s)':>12}{'zbulk took (s)':>16}{'lag (s)':>9}")
    for t in times:
        took = "-" if t.took is None else f"{t.took:.1f}"
        lag = "-" if t.took is None else f"{t.took - t.truth:.1f}"
        print(f"{t.job_key:<11}{t.status or '?':<11}{t.truth:>12.1f}{took:>16}{lag:>9}")

    long_d, long_requests, long_lag = GOAL_LONG
    short_d, short_lag = GOAL_SHORT
    long_run = next(z for key, d, z, _ in results if key == "large" and d == long_d)
    short_run = next(z for key, d, z, _ in results if key == "large" and d == short_d)
    goals = [
        (
            f"10-min job <= {long_requests} requests",
            long_run.requests <= long_requests,
            f"{long_run.requests}",
        ),
        (f"10-min job <= {long_lag:g} s lag", long_run.lag <= long_lag, f"{long_run.lag:.1f} s"),
        (f"10-s job <= {short_lag:g} s lag", short_run.lag <= short_lag, f"{short_run.lag:.1f} s"),
        (
            f"{MANY} jobs: first picture <= 1/3 of one at a time",
            together.picture <= GOAL_PICTURE * one_at_a_time.picture,
            f"{together.picture / one_at_a_time.picture:.2f}",
        ),
        (
            f"{MANY} jobs: <= {args.concurrency} in flight",
            together.in_flight <= args.concurrency,
            f"{together.in_flight}",
        ),
        (
            f"{MANY} jobs: <= {MANY} x one alone",
            together.requests <= MANY * single,
            f"{together.requests} <= {MANY * single}",
        ),
        (
            f"ETA within {GOAL_ETA:.0%}",
            all(e.error <= GOAL_ETA for _, _, e in etas),
            f"worst {max(e.error for _, _, e in etas):.1%}",
        ),
    ]
    verdicts = [f"{name}: {'met' if ok else 'MISSED'} ({got})" for name, ok, got in goals]
    missed = not all(ok for _, ok, _ in goals)
    print(f"\ngoals {'MISSED' if missed else 'met'}:")
    for verdict in verdicts:
        print(f"  {verdict}")
    if args.check and missed:
        sys.exit(1)


if __name__ == "__main__":
    main()
