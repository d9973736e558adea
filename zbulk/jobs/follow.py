"""Follow jobs to their end: the one wiring of the watch loop (``zbulk.watch``) to the API
client, used by ``zbulk job watch`` (and ``--import``, ``job import --watch``) and by
``zbulk demo``. Nothing here prints: what the user sees is the caller's callbacks."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from zbulk.client import Fetched, ZohoClient
    from zbulk.errors import ExitCode
    from zbulk.watch import Events, Watched, WatchOptions


def follow(
    client: ZohoClient,
    job_ids: list[str],
    options: WatchOptions,
    on_event: Events,
    *,
    on_start: Callable[[list[Watched]], None] | None = None,
    on_interrupt: Callable[[list[Watched]], None] | None = None,
    remember: Callable[[str, dict[str, Any]], None] | None = None,
    fetched: dict[str, Fetched] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    signals: bool = True,
) -> tuple[ExitCode, list[Watched]]:
    """Poll each of ``job_ids`` until it ends (``zbulk.watch.watch``), through ``client``:
    at most ``options.concurrency`` requests at once, one back-off for every job after a
    429, and no request outliving ``options.timeout``. Each answer goes to ``fetched``
    (job id → Zoho's document, for the views) and to ``remember`` (the job history).
    ``on_start``/``on_event`` are the watch loop's; ``on_interrupt`` is told the jobs
    followed so far when Ctrl-C (or, with ``signals``, SIGTERM or SIGHUP) stops the
    watch, before the ``KeyboardInterrupt`` goes on. Returns the worst exit code and
    each job's final state."""
    import contextlib

    from zbulk.models import Job
    from zbulk.watch import Throttle, hard_deadline, signals_interrupt, watch

    answers: dict[str, Fetched] = {} if fetched is None else fetched

    def fetch(job_id: str) -> Job:
        got = client.get_job(job_id)
        answers[job_id] = got
        if remember is not None:
            remember(job_id, got.doc)
        return Job.read(got.doc)

    throttle = Throttle(clock)
    client.on_rate_limit = throttle.hold
    client.allow_parallel(options.concurrency)
    client.deadline = hard_deadline(options.timeout, time.monotonic())
    jobs: list[Watched] = []

    def started(watched: list[Watched]) -> None:
        jobs.extend(watched)
        if on_start is not None:
            on_start(watched)

    with signals_interrupt() if signals else contextlib.nullcontext():
        try:
            return watch(
                fetch,
                job_ids,
                options,
                on_event,
                on_start=started,
                throttle=throttle,
                clock=clock,
                sleep=sleep,
            )
        except KeyboardInterrupt:
            if on_interrupt is not None:
                on_interrupt(jobs)
            raise
