"""`zbulk job watch`'s polling beside fixed 3-second polling (what `gh run watch` does).

    python bench/watch_efficiency.py [--interval S] [--max-interval S] [--check]

Each run serves one demo job from a fresh sandbox and follows it until it finishes. One
fake clock drives both the sandbox (the job's progress) and the poller (its clock and
sleep), so a 10-minute job runs in a fraction of a second, while every poll is still a
real HTTP request to the sandbox over loopback. The job truly finishes job_duration after
the sandbox starts; the lag is the fake time the poller returned minus that finish.

Goals (issue "job watch"): a 10-minute job in at most 25 requests (fixed 3 s polling
needs 200) with at most 15 s lag; a 10-second job with at most 2 s lag. Exits 0 whatever
the figures, unless --check is given and a goal is missed (then 1).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass

from zbulk.auth.tokens import StaticToken
from zbulk.client import ZohoClient
from zbulk.config import Settings
from zbulk.errors import ExitCode
from zbulk.models import Job
from zbulk.sandbox import DEMO_JOBS, Sandbox
from zbulk.watch import Watched, WatchOptions, watch

FIXED_PERIOD = 3.0
# (demo job, job_duration in seconds)
CASES = [("large", 10.0), ("large", 60.0), ("large", 600.0), ("upsert", 600.0)]
GOAL_LONG = (600.0, 25, 15.0)  # duration, at most requests, at most lag
GOAL_SHORT = (10.0, 2.0)  # duration, at most lag


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


def duration_text(seconds: float) -> str:
    return f"{seconds:g} s" if seconds < 60 else f"{seconds / 60:g} min"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--interval", type=float, default=2.0, help="zbulk's --interval")
    parser.add_argument("--max-interval", type=float, default=30.0, help="zbulk's --max-interval")
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
    header = ("job", "duration", "zbulk requests", "zbulk lag (s)", "fixed-3s requests",
              "fixed-3s lag (s)")  # fmt: skip
    print(f"{header[0]:<8}{header[1]:>10}{header[2]:>16}{header[3]:>15}{header[4]:>19}"
          f"{header[5]:>18}")  # fmt: skip
    for job_key, duration, z, f in results:
        print(f"{job_key:<8}{duration_text(duration):>10}{z.requests:>16}{z.lag:>15.1f}"
              f"{f.requests:>19}{f.lag:>18.1f}")  # fmt: skip

    long_d, long_requests, long_lag = GOAL_LONG
    short_d, short_lag = GOAL_SHORT
    long_run = next(z for key, d, z, _ in results if key == "large" and d == long_d)
    short_run = next(z for key, d, z, _ in results if key == "large" and d == short_d)
    goals = [
        (f"10-min job <= {long_requests} requests", long_run.requests <= long_requests,
         f"{long_run.requests}"),
        (f"10-min job <= {long_lag:g} s lag", long_run.lag <= long_lag, f"{long_run.lag:.1f} s"),
        (f"10-s job <= {short_lag:g} s lag", short_run.lag <= short_lag, f"{short_run.lag:.1f} s"),
    ]  # fmt: skip
    verdicts = [f"{name}: {'met' if ok else 'MISSED'} ({got})" for name, ok, got in goals]
    missed = not all(ok for _, ok, _ in goals)
    print(f"goals {'MISSED' if missed else 'met'}: " + "; ".join(verdicts))
    if args.check and missed:
        sys.exit(1)


if __name__ == "__main__":
    main()
