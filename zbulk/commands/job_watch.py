"""``zbulk job watch``: follow jobs (or an import's parts) to their end, through
``zbulk.jobs.follow``; the live view, the notifications and the exit code."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from zbulk.commands import Commands
from zbulk.commands.job import remember, scope_of
from zbulk.commands.options import (
    NOTIFY_META,
    ImportIdOption,
    JsonFlag,
    NotifyWhenCommand,
    complete_job_ids,
    duration,
    parse_concurrency,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from zbulk.client import Fetched
    from zbulk.jobs.import_record import ImportRecord
    from zbulk.output import Output
    from zbulk.watch import Watched

commands = Commands()


@commands.command("watch", cls=NotifyWhenCommand)
def watch(
    ctx: typer.Context,
    job_ids: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="JOB_ID...",
            help="One or more bulk write job ids (all digits); or --recent.",
            show_default=False,
            autocompletion=complete_job_ids,
        ),
    ] = None,
    recent: Annotated[
        bool,
        typer.Option(
            "--recent",
            help="Follow every unfinished job in this profile's history (zbulk job recent).",
        ),
    ] = False,
    import_id: ImportIdOption = None,
    as_json: JsonFlag = False,
    interval: Annotated[
        float,
        typer.Option(
            "--interval",
            metavar="DURATION",
            parser=duration(),
            help="First wait between polls (90, 90s, 10m, 1h); grows while nothing "
            "changes. [default: 2s]",
            show_default=False,
        ),
    ] = 2.0,
    max_interval: Annotated[
        float,
        typer.Option(
            "--max-interval",
            metavar="DURATION",
            parser=duration(),
            help="Longest wait between polls. [default: 30s]",
            show_default=False,
        ),
    ] = 30.0,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            metavar="DURATION",
            parser=duration(),
            help="Give up after this long (exit 124); the job goes on at Zoho.",
            show_default=False,
        ),
    ] = None,
    fail_on_skipped: Annotated[
        bool, typer.Option("--fail-on-skipped", help="Exit 6 if records were skipped.")
    ] = False,
    allow_skipped: Annotated[
        bool,
        typer.Option("--allow-skipped", help="With --import: exit 0 even when rows were skipped."),
    ] = False,
    notify: Annotated[
        bool,
        typer.Option(
            "--notify",
            help="Ring the bell and send a desktop notification when the watch ends; "
            "--notify=each: as each job ends.",
        ),
    ] = False,
    concurrency: Annotated[
        int,
        typer.Option(
            "--concurrency",
            metavar="N",
            parser=parse_concurrency,
            help="Requests in flight at most, across all jobs. [default: 4]",
            show_default=False,
        ),
    ] = 4,
) -> int:
    """Follow jobs until each finishes; the exit code says how they ended.

    On a terminal, a live view shows each job's progress, ETA and its own clock (age
    since Zoho created it; the time it took, once finished), and a line for each job
    that finishes. With --json, one line each time a job's status or counts change; the
    last line of each job is its final state.
    """
    import gc
    from functools import partial

    from zbulk.client import check_job_id
    from zbulk.errors import UsageError
    from zbulk.jobs.follow import follow
    from zbulk.reports import WatchEvents, WatchReport
    from zbulk.views.notices import end_message, job_message
    from zbulk.watch import WatchOptions

    if import_id is not None:
        if recent or job_ids:
            raise UsageError("give job ids, --recent or --import, one of them")
        return _watch_import(ctx, import_id, as_json=as_json, allow_skipped=allow_skipped)
    if recent and job_ids:
        raise UsageError("give job ids or --recent, not both")
    if not recent and not job_ids:
        raise UsageError(
            "give one or more job ids, or --recent",
            hint="zbulk job recent lists the jobs seen here",
        )
    ids = [check_job_id(job_id) for job_id in job_ids or []]
    if max_interval < interval:
        raise UsageError("--max-interval must not be shorter than --interval")
    app_ctx = ctx.find_root().obj
    out = app_ctx.output
    if recent:
        from zbulk.jobs.recent import unfinished

        ids = unfinished(scope_of(app_ctx))
        if not ids:
            out.note(
                "no unfinished jobs in this profile's history; nothing to watch "
                "(zbulk job recent lists them all)"
            )
            return 0
    gc.enable()  # a long-running command: collect cycles as usual
    fetched: dict[str, Fetched] = {}
    notify_each = notify and ctx.meta.get(NOTIFY_META) == "each"
    notifier = _notifier(out) if notify else None
    scope = scope_of(app_ctx)
    resume = _resume_command(app_ctx, fail_on_skipped, as_json)
    with app_ctx.client() as client:
        events = WatchEvents(fetched, fail_on_skipped=fail_on_skipped)
        view = out.stream_events(events, as_json=as_json)
        if notifier is not None and notify_each:
            events.on_finish = lambda w: notifier(job_message(w))
        options = WatchOptions(
            interval=interval,
            max_interval=max_interval,
            timeout=timeout,
            fail_on_skipped=fail_on_skipped,
            concurrency=concurrency,
        )

        def interrupted(jobs: list[Watched]) -> None:
            view.stop(interrupted=True)  # the last frame stays, the cursor comes back
            out.say(*events.resume(jobs, resume))

        def started(watched: list[Watched]) -> None:
            events.follow(watched)
            view.start()

        try:
            code, jobs = follow(
                client,
                ids,
                options,
                view.event,
                on_start=started,
                on_interrupt=interrupted,
                fetched=fetched,
                remember=partial(remember, scope),
            )
        finally:
            view.stop()
    out.emit(WatchReport(jobs, fail_on_skipped, events.wall()), as_json=as_json)
    out.say(*events.errors(jobs, timeout, resume))
    out.say(*events.hints(jobs))
    if notifier is not None and notify and not notify_each:
        notifier(end_message(jobs))
    return int(code)


def _watch_import(ctx: typer.Context, import_id: str, *, as_json: bool, allow_skipped: bool) -> int:
    """``job watch --import ID``: every part that has its job."""
    from zbulk.commands.import_flow import find_import
    from zbulk.errors import UsageError

    app_ctx = ctx.find_root().obj
    record = find_import(app_ctx, import_id)
    missing = [p.number for p in record.parts if not p.job_id]
    if missing:
        app_ctx.output.warn(
            f"import {record.id}: part(s) {', '.join(map(str, missing))} have no job yet; "
            f"go on with `zbulk job import --resume {record.id}`"
        )
    if not record.job_ids():
        raise UsageError(
            f"import {record.id} has no job to watch yet",
            hint=f"zbulk job import --resume {record.id}",
        )
    return follow_import(ctx, record, as_json=as_json, allow_skipped=allow_skipped, summarise=False)


def _resume_command(app_ctx: object, fail_on_skipped: bool, as_json: bool) -> str:
    """``zbulk job watch`` with what changes its outcome or output, as given."""
    parts = ["zbulk"]
    profile = getattr(app_ctx, "profile", None)
    if profile:
        import shlex

        parts += ["--profile", shlex.quote(profile)]
    parts += ["job", "watch"]
    if as_json:
        parts.append("--json")
    if fail_on_skipped:
        parts.append("--fail-on-skipped")
    return " ".join(parts)


def _notifier(out: Output) -> Callable[[str], None]:
    from zbulk.notify import Notifier
    from zbulk.output import safe

    return Notifier(out.control if out.err_live else None, sanitise=safe)


def follow_import(
    ctx: typer.Context,
    record: ImportRecord,
    *,
    as_json: bool,
    allow_skipped: bool,
    summarise: bool = True,
) -> int:
    """Watch every part's job to its end, note how each ended in the record, then say what
    happened to the rows: 0 every row landed, 6 rows were skipped (``allow_skipped``: 0),
    1 a job FAILED."""
    from zbulk.commands.import_flow import refresh
    from zbulk.errors import ExitCode

    out = ctx.find_root().obj.output
    ids = record.job_ids()
    code = int(watch(ctx, ids, as_json=as_json, fail_on_skipped=not allow_skipped) or 0)
    refresh(ctx, record)
    skipped = sum(p.skipped for p in record.parts)
    if code == ExitCode.SKIPPED or (skipped and code == ExitCode.OK):
        out.note(
            f"{skipped:,} row{'s' if skipped != 1 else ''} of import {record.id} were skipped.\n"
            f"whole failed rows: zbulk job results --import {record.id}\n"
            f"fix and send them again: zbulk job retry --import {record.id} --edit"
        )
    if (
        summarise
        and len(record.parts) == 1
        and code in (ExitCode.OK, ExitCode.ERROR, ExitCode.SKIPPED)
    ):
        from zbulk.commands.job_results import results

        results(ctx, ids[0], as_json=as_json)
    return code


def follower(
    ctx: typer.Context, as_json: bool, allow_skipped: bool
) -> Callable[[ImportRecord], int]:
    """How ``--watch`` follows an import: ``zbulk job watch --import``'s way."""

    def follow(record: ImportRecord) -> int:
        return follow_import(ctx, record, as_json=as_json, allow_skipped=allow_skipped)

    return follow
