"""``zbulk job …``: look at bulk write jobs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
import typer.core

from zbulk.commands import Commands
from zbulk.commands.options import JobIds, JsonFlag, complete_job_ids, duration

if TYPE_CHECKING:
    from collections.abc import Callable

    from zbulk.client import Fetched, ZohoClient
    from zbulk.context import AppContext
    from zbulk.history import Scope
    from zbulk.jobs.import_record import ImportRecord
    from zbulk.output import Output
    from zbulk.results import Summary
    from zbulk.user_file import UserFile
    from zbulk.watch import Watched

HELP = "Show, follow and diagnose bulk write jobs."
commands = Commands()


ImportIdOption = Annotated[
    str | None,
    typer.Option(
        "--import",
        metavar="ID",
        help="Every part of an import (imp-…) instead of job ids.",
        show_default=False,
    ),
]


@commands.command("show")
def show(
    ctx: typer.Context,
    job_ids: JobIds,
    as_json: JsonFlag = False,
    brief: Annotated[
        bool,
        typer.Option(
            "--brief", help="One line per job: id, operation, modules, status, counts, age."
        ),
    ] = False,
) -> int:
    """Fetch each job and show it: summary, per-resource counts and field mappings."""
    from zbulk.client import check_job_id
    from zbulk.errors import UsageError

    if as_json and brief:
        raise UsageError("choose one of --json and --brief")
    ids = [check_job_id(job_id) for job_id in job_ids]
    app_ctx = ctx.find_root().obj
    with app_ctx.client() as client:
        return show_jobs(client, app_ctx.output, ids, as_json=as_json, brief=brief,
                         scope=_scope(app_ctx))  # fmt: skip


def show_jobs(
    client: ZohoClient,
    out: Output,
    ids: list[str],
    *,
    as_json: bool,
    brief: bool = False,
    scope: Scope | None = None,
) -> int:
    """Fetch and emit each job in order. A job that is not found is reported and the
    others still shown (exit 4); any other error stops at once. Each job shown is recorded
    in ``scope``'s history (None: not recorded, as in the demo)."""
    from zbulk.errors import ExitCode, NotFoundError
    from zbulk.reports import JobReport

    status = ExitCode.OK
    for job_id in ids:
        try:
            fetched = client.get_job(job_id)
        except NotFoundError as exc:
            if len(ids) == 1:
                raise
            status = ExitCode(out.error(exc))
            continue
        if scope is not None:
            _remember(scope, job_id, fetched.doc)
        out.emit(JobReport(fetched, brief=brief), as_json=as_json)
    return status


def _scope(app_ctx: AppContext) -> Scope:
    """The history this command's jobs go to: its profile and API domain."""
    from zbulk.history import Scope

    settings = app_ctx.settings
    return Scope.of(settings.profile, settings.api_domain)


def _remember(scope: Scope, job_id: str, doc: dict[str, object]) -> None:
    from zbulk.history import record

    record(job_id, doc, scope)


class _WatchCommand(typer.core.TyperCommand):
    """``job watch``, whose ``--notify`` takes an optional value: ``--notify`` (when the
    watch ends) or ``--notify=each`` (as each job ends). The option parser knows no
    optional values, so ``--notify=WHEN`` is read here: it becomes ``--notify``, and WHEN
    goes in ``ctx.meta``."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:  # type: ignore[override]
        from zbulk.errors import UsageError

        rewritten: list[str] = []
        for arg in args:
            if arg == "--":
                rewritten.extend(args[len(rewritten) :])
                break
            if arg.startswith("--notify="):
                when = arg.partition("=")[2]
                if when not in NOTIFY_WHEN:
                    raise UsageError(f"--notify={when}: use --notify (when the watch ends) "
                                     "or --notify=each (as each job ends)")  # fmt: skip
                ctx.meta[NOTIFY_META] = when
                arg = "--notify"
            rewritten.append(arg)
        return super().parse_args(ctx, rewritten)


NOTIFY_WHEN = ("end", "each")
NOTIFY_META = "zbulk.notify"


def _concurrency(value: object) -> int:
    from zbulk.watch import MAX_CONCURRENCY

    try:
        number = int(str(value), 10)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a whole number") from None
    if not 1 <= number <= MAX_CONCURRENCY:
        raise typer.BadParameter(f"{value!r} is out of range: 1 to {MAX_CONCURRENCY}")
    return number


@commands.command("watch", cls=_WatchCommand)
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
            parser=_concurrency,
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
    import time

    from zbulk.client import check_job_id
    from zbulk.errors import UsageError
    from zbulk.models import Job
    from zbulk.reports import WatchEvents, WatchReport
    from zbulk.watch import Throttle, WatchOptions, hard_deadline, signals_interrupt
    from zbulk.watch import watch as follow

    if import_id is not None:
        if recent or job_ids:
            raise UsageError("give job ids, --recent or --import, one of them")
        from zbulk.commands.migrations import find_import

        app_ctx = ctx.find_root().obj
        record = find_import(app_ctx, import_id)
        missing = [p.number for p in record.parts if not p.job_id]
        if missing:
            app_ctx.output.warn(
                f"import {record.id}: part(s) {', '.join(map(str, missing))} have no job yet; "
                f"go on with `zbulk job import --resume {record.id}`"
            )
        if not record.job_ids():
            raise UsageError(f"import {record.id} has no job to watch yet",
                             hint=f"zbulk job import --resume {record.id}")  # fmt: skip
        return follow_import(ctx, record, as_json=as_json, allow_skipped=allow_skipped,
                             summarise=False)  # fmt: skip
    if recent and job_ids:
        raise UsageError("give job ids or --recent, not both")
    if not recent and not job_ids:
        raise UsageError("give one or more job ids, or --recent",
                         hint="zbulk job recent lists the jobs seen here")  # fmt: skip
    ids = [check_job_id(job_id) for job_id in job_ids or []]
    if max_interval < interval:
        raise UsageError("--max-interval must not be shorter than --interval")
    app_ctx = ctx.find_root().obj
    out = app_ctx.output
    if recent:
        ids = _unfinished_recent(_scope(app_ctx))
        if not ids:
            out.note("no unfinished jobs in this profile's history; nothing to watch "
                     "(zbulk job recent lists them all)")  # fmt: skip
            return 0
    gc.enable()  # a long-running command: collect cycles as usual
    fetched: dict[str, Fetched] = {}
    notify_each = notify and ctx.meta.get(NOTIFY_META) == "each"
    notifier = _notifier(out) if notify else None
    scope = _scope(app_ctx)
    with app_ctx.client() as client:

        def fetch(job_id: str) -> Job:
            got = client.get_job(job_id)
            fetched[job_id] = got
            _remember(scope, job_id, got.doc)
            return Job.read(got.doc)

        events = WatchEvents(fetched, fail_on_skipped=fail_on_skipped)
        view = out.stream_events(events, as_json=as_json)
        if notifier is not None and notify_each:
            events.on_finish = lambda w: notifier(_job_message(w))
        options = WatchOptions(interval=interval, max_interval=max_interval, timeout=timeout,
                               fail_on_skipped=fail_on_skipped,
                               concurrency=concurrency)  # fmt: skip
        throttle = Throttle()
        client.on_rate_limit = throttle.hold
        client.allow_parallel(concurrency)
        jobs: list = []
        client.deadline = hard_deadline(timeout, time.monotonic())

        def started(watched: list) -> None:
            jobs.extend(watched)
            events.follow(watched)
            view.start()

        with signals_interrupt():  # SIGTERM/SIGHUP: as Ctrl-C
            try:
                code, jobs = follow(fetch, ids, options, view.event, on_start=started,
                                    throttle=throttle)  # fmt: skip
            except KeyboardInterrupt:
                view.stop(interrupted=True)  # the last frame stays, the cursor comes back
                out.say(*events.resume(jobs, _resume_command(app_ctx, fail_on_skipped, as_json)))
                raise
            finally:
                view.stop()
    out.emit(WatchReport(jobs, fail_on_skipped, events.wall()), as_json=as_json)
    out.say(*events.errors(jobs, timeout, _resume_command(app_ctx, fail_on_skipped, as_json)))
    out.say(*events.hints(jobs))
    if notifier is not None and notify and not notify_each:
        notifier(_end_message(jobs))
    return int(code)


def _unfinished_recent(scope: Scope) -> list[str]:
    """Ids of the jobs in this profile's (and API domain's) history not last seen
    finished, oldest first."""
    from zbulk.history import entries
    from zbulk.models import is_finished

    ids = [str(e["id"]) for e in entries(scope) if not is_finished(e.get("status"))]
    return [job_id for job_id in reversed(ids) if job_id.isdigit()]


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


def _job_message(w: Watched) -> str:
    from zbulk.views.watch import clock_text, progress_text

    if w.job is None:
        return f"job {w.job_id}: {w.error.message if w.error else 'not fetched'}"
    skipped = w.progress.skipped if w.progress else 0
    said = f"job {w.job_id} {w.job.status}: {progress_text(w)}"
    if skipped:
        said += f", {skipped:,} skipped"
    timing = clock_text(w, 0.0, 0.0)
    return f"{said}, {timing}" if timing else said


def _end_message(jobs: list[Watched]) -> str:
    from collections import Counter

    from zbulk.views.format import by_status_order

    if len(jobs) == 1:
        return _job_message(jobs[0])
    ends = Counter(
        (w.job.status or "?") if w.job is not None and w.error is None and w.job.finished
        else "not finished" for w in jobs)  # fmt: skip
    return f"watch of {len(jobs)} jobs ended: " + ", ".join(
        f"{ends[s]} {s}" for s in by_status_order(ends)
    )


@commands.command("results")
def results(
    ctx: typer.Context,
    job_id: Annotated[
        str | None,
        typer.Argument(
            metavar="JOB_ID",
            help="A finished job's id (all digits); or give --file.",
            show_default=False,
            autocompletion=complete_job_ids,
        ),
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            metavar="ZIP",
            dir_okay=False,
            help="Read a result ZIP downloaded by hand instead: no login, no network.",
            show_default=False,
        ),
    ] = None,
    source: Annotated[
        Path | None,
        typer.Option(
            "--source",
            metavar="FILE",
            dir_okay=False,
            help="The CSV (or ZIP) that was uploaded: failed rows come back whole, "
            "ready to fix and send again. Files go to --output-dir, else here.",
            show_default=False,
        ),
    ] = None,
    output_dir: Annotated[
        Path | None,
        typer.Option(
            "--output-dir",
            metavar="DIR",
            file_okay=False,
            help="Write <job>-<Module>-failed.csv, -errors.csv and -created.csv per "
            "resource (and keep the downloaded ZIP).",
            show_default=False,
        ),
    ] = None,
    failed: Annotated[
        bool, typer.Option("--failed", help="List every skipped or failed row.")
    ] = False,
    as_json: JsonFlag = False,
    force: Annotated[
        bool,
        typer.Option("--force", help="Replace files that already exist in the output folder."),
    ] = False,
    fail_on_skipped: Annotated[
        bool, typer.Option("--fail-on-skipped", help="Exit 6 if records were skipped.")
    ] = False,
    import_id: ImportIdOption = None,
) -> int:
    """Read a finished job's result file: counts, errors explained, and the rows to fix.

    With --source (the file that was uploaded), each result row is lined up with its
    uploaded row, and <job>-<Module>-failed.csv holds every skipped row whole, under the
    original header: fix it and send it again. A FAILED job exits 1.
    """
    from zbulk import files
    from zbulk.client import check_job_id
    from zbulk.errors import ApiError, ExitCode, UsageError
    from zbulk.models import Job
    from zbulk.reports import ResultsReport
    from zbulk.results import MAX_DOWNLOAD, WHOLE_ROWS_NOTE, local_error, summarise_zip
    from zbulk.user_file import open_source

    if import_id is not None:
        if job_id is not None or file is not None or source is not None:
            raise UsageError("--import goes alone: no JOB_ID, --file or --source")
        return import_results(ctx, import_id, output_dir or Path.cwd(), force, as_json,
                              fail_on_skipped)  # fmt: skip
    if (job_id is None) == (file is None):
        raise UsageError(
            "give a JOB_ID, or --file with a result ZIP"
            + (", not both" if job_id is not None else ""),
            hint="zbulk job results 4150868000005392002  or  zbulk job results --file RESULT.zip",
        )
    if job_id is not None:
        job_id = check_job_id(job_id)
    sources = open_source(source) if source is not None else None
    if output_dir is None and sources is not None:
        output_dir = Path.cwd()
    app_ctx = ctx.find_root().obj
    out = app_ctx.output
    if sources is None and job_id is not None:
        from zbulk import files
        from zbulk.jobs.remembered import source_of

        remembered = ctx.with_resource(files.temp_dir())
        part_csv = source_of(job_id, remembered, out.warn)
        if part_csv is not None:
            sources = open_source(part_csv)

    def report(summary: Summary, url: str | None) -> None:
        for warning in summary.warnings:
            out.warn(warning)
        if sources is None and ((summary.failed and failed) or output_dir is not None):
            out.note(WHOLE_ROWS_NOTE)
        out.emit(ResultsReport(summary, url, failed), as_json=as_json)

    job: Job | None = None
    if file is not None:
        summary = _offline(file, output_dir, force, sources)
        report(summary, None)
    else:
        assert job_id is not None
        with app_ctx.client() as client:
            doc = client.get_job(job_id).doc
            _remember(_scope(app_ctx), job_id, doc)
            job = Job.read(doc)
            if not job.finished:
                raise ApiError(
                    f"job {job_id} is {job.status or 'not finished'}: it has no result file yet",
                    hint=f"wait for it with `zbulk job watch {job_id}`",
                )
            url = job.result_url
            if not url:
                raise ApiError(f"job {job_id} ({job.status}) has no result file to download")
            with files.temp_dir() as tmp:
                zip_path = tmp / f"{job_id}.zip"
                try:
                    with files.create_new(zip_path) as fh:
                        client.download(url, fh, MAX_DOWNLOAD)
                except OSError as exc:
                    raise local_error(zip_path, exc) from None
                summary = summarise_zip(zip_path, output_dir=output_dir, job_id=job_id,
                                        force=force, keep_zip=True, source=sources,
                                        resources=job.resources)  # fmt: skip
                # Inside the temporary directory: failed rows are read again from the ZIP.
                report(summary, url)
    if job is not None and (job.status or "").upper() == "FAILED":
        out.note(f"job {job_id} ended FAILED: rows after the failure are unprocessed")
        return ExitCode.ERROR
    if fail_on_skipped and summary.failed:
        return ExitCode.SKIPPED
    return ExitCode.OK


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
    from zbulk.commands.migrations import refresh
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
    if summarise and len(record.parts) == 1 and code in (ExitCode.OK, ExitCode.ERROR,
                                                         ExitCode.SKIPPED):  # fmt: skip
        results(ctx, ids[0], as_json=as_json)
    return code


def import_results(ctx: typer.Context, import_id: str, output_dir: Path, force: bool,
                   as_json: bool, fail_on_skipped: bool) -> int:  # fmt: skip
    """``job results --import ID``: one failed, created and errors file for every part."""
    from zbulk import files
    from zbulk.commands.migrations import downloader, find_import, refresh
    from zbulk.errors import ApiError, ExitCode
    from zbulk.jobs import import_record as rec
    from zbulk.jobs.merged import merge
    from zbulk.reports import MergedImportReport

    app_ctx = ctx.find_root().obj
    out = app_ctx.output
    record = find_import(app_ctx, import_id)
    with app_ctx.client() as client, files.temp_dir() as tmp:
        refresh(ctx, record, client)
        if not any(p.state in rec.FINISHED for p in record.parts):
            raise ApiError(f"no part of import {record.id} has finished yet",
                           hint=f"zbulk job watch --import {record.id}")  # fmt: skip

        merged = merge(record, downloader(client, tmp), output_dir, force)
    for warning in merged.warnings:
        out.warn(warning)
    out.emit(MergedImportReport(merged, len(record.parts)), as_json=as_json)
    if any(p.state == rec.FAILED for p in record.parts):
        return ExitCode.ERROR
    if fail_on_skipped and merged.failed:
        return ExitCode.SKIPPED
    return ExitCode.OK


def _offline(
    file: Path, output_dir: Path | None, force: bool, sources: list[UserFile] | None
) -> Summary:
    """A result ZIP from disk: no credentials, no network. Problems with the file are the
    user's input (``ResultFileError(given=True)``: exit 2), not a download gone wrong."""
    import re

    from zbulk.errors import UsageError
    from zbulk.results import summarise_zip

    if not file.is_file():
        raise UsageError(f"--file {file}: no such file",
                         hint="give the result ZIP you downloaded from Zoho")  # fmt: skip
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", file.stem) or "result"
    summary = summarise_zip(file, output_dir=output_dir, job_id=name, force=force,
                            source=sources, given=True)  # fmt: skip
    summary.label = f"Job {name}" if name.isdigit() else file.name
    return summary


def _history_kept(out: Output) -> None:
    """Say so when history cannot be kept: its directory is refused (see zbulk.files), and
    recording, a convenience, skips it without a word."""
    from zbulk.errors import LocalFileError
    from zbulk.files import check_private, state_dir

    try:
        check_private(state_dir())
    except LocalFileError as exc:
        out.warn(f"job history is not being kept: {exc.message} ({exc.hint})")


@commands.command("recent")
def recent(
    ctx: typer.Context,
    as_json: JsonFlag = False,
    limit: Annotated[
        int,
        typer.Option(
            "--limit",
            min=1,
            metavar="N",
            help="Show at most N jobs. [default: 20]",
            show_default=False,
        ),
    ] = 20,
    refresh: Annotated[
        bool,
        typer.Option("--refresh", help="Fetch the status of the unfinished ones again first."),
    ] = False,
) -> int:
    """Jobs this profile has looked at on this API domain, newest first, with their last
    known status, modules and operation."""
    from zbulk.history import entries
    from zbulk.models import is_finished
    from zbulk.reports import RecentReport

    app_ctx = ctx.find_root().obj
    scope = _scope(app_ctx)
    _history_kept(app_ctx.output)
    seen = entries(scope, limit=limit)
    if refresh and any(not is_finished(e["status"]) for e in seen):
        from zbulk.errors import NotFoundError

        with app_ctx.client() as client:
            for entry in seen:
                if is_finished(entry["status"]):
                    continue
                try:
                    fetched = client.get_job(entry["id"])
                except NotFoundError as exc:
                    app_ctx.output.warn(f"{entry['id']}: {exc.message}")
                    continue
                _remember(scope, entry["id"], fetched.doc)
        seen = entries(scope, limit=limit)
    app_ctx.output.emit(RecentReport(grouped(seen, scope)), as_json=as_json)
    return 0


def grouped(seen: list[dict[str, object]], scope: Scope) -> list[dict[str, object]]:
    """``seen`` with each job of an import marked (``import``, ``part`` N of ``parts``) and
    an import's jobs together, in part order, where its newest one was."""
    from zbulk.jobs.import_record import of_scope

    parts: dict[object, tuple[str, int, int]] = {}
    for record in of_scope(scope.profile, scope.api_domain):
        for part in record.parts:
            if part.job_id:
                parts.setdefault(part.job_id, (record.id, part.number, len(record.parts)))
    if not parts:
        return seen
    groups: dict[str, list[dict[str, object]]] = {}
    order: list[list[dict[str, object]]] = []
    for entry in seen:
        found = parts.get(entry["id"])
        if found is None:
            order.append([entry])
            continue
        entry = {**entry, "import": found[0], "part": found[1], "parts": found[2]}
        if found[0] not in groups:
            groups[found[0]] = []
            order.append(groups[found[0]])
        groups[found[0]].append(entry)
    for group in groups.values():
        group.sort(key=lambda e: int(str(e["part"])))
    return [entry for group in order for entry in group]
