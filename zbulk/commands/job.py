"""``zbulk job …``: look at bulk write jobs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from zbulk.commands.options import JobIds, JsonFlag, complete_job_ids, duration

if TYPE_CHECKING:
    from zbulk.client import Fetched, ZohoClient
    from zbulk.context import AppContext
    from zbulk.history import Scope
    from zbulk.output import Output
    from zbulk.results import Summary
    from zbulk.source import SourceFile

app = typer.Typer(
    help="Show, follow and diagnose bulk write jobs.",
    no_args_is_help=True,
)


@app.command("show")
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


@app.command("watch")
def watch(
    ctx: typer.Context,
    job_ids: JobIds,
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
) -> int:
    """Follow jobs until each finishes; the exit code says how they ended.

    With --json, one line each time a job's status or counts change; the last line of
    each job is its final state.
    """
    import gc
    import time

    from zbulk.client import check_job_id
    from zbulk.errors import UsageError
    from zbulk.models import Job
    from zbulk.reports import WatchReport
    from zbulk.views.watch import WatchView
    from zbulk.watch import WatchOptions, hard_deadline, signals_interrupt
    from zbulk.watch import watch as follow

    ids = [check_job_id(job_id) for job_id in job_ids]
    if max_interval < interval:
        raise UsageError("--max-interval must not be shorter than --interval")
    gc.enable()  # a long-running command: collect cycles as usual
    app_ctx = ctx.find_root().obj
    out = app_ctx.output
    fetched: dict[str, Fetched] = {}
    scope = _scope(app_ctx)
    with app_ctx.client() as client:

        def fetch(job_id: str) -> Job:
            fetched[job_id] = client.get_job(job_id)
            _remember(scope, job_id, fetched[job_id].doc)
            return Job.read(fetched[job_id].doc)

        view = WatchView(out, as_json, fetched)
        options = WatchOptions(interval=interval, max_interval=max_interval, timeout=timeout,
                               fail_on_skipped=fail_on_skipped)  # fmt: skip
        jobs: list = []
        client.deadline = hard_deadline(timeout, time.monotonic())
        with signals_interrupt():  # SIGTERM/SIGHUP: as Ctrl-C
            try:
                code, jobs = follow(fetch, ids, options, view.event, on_start=view.start)
            finally:
                view.stop()
    for w in jobs:
        if w.error is not None:
            out.error(w.error)
    out.emit(WatchReport(jobs, fail_on_skipped, view.clock()), as_json=as_json)
    view.hints(jobs)
    return int(code)


@app.command("results")
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
) -> int:
    """Read a finished job's result file: counts, errors explained, and the rows to fix.

    With --source (the file that was uploaded), each result row is lined up with its
    uploaded row, and <job>-<Module>-failed.csv holds every skipped row whole, under the
    original header: fix it and send it again. A FAILED job exits 1.
    """
    import tempfile

    from zbulk.client import check_job_id
    from zbulk.errors import ApiError, ExitCode, UsageError
    from zbulk.models import Job
    from zbulk.reports import ResultsReport
    from zbulk.results import MAX_DOWNLOAD, WHOLE_ROWS_NOTE, local_error, summarise_zip
    from zbulk.source import open_source

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
            with tempfile.TemporaryDirectory(prefix="zbulk-") as tmp:
                zip_path = Path(tmp) / f"{job_id}.zip"
                try:
                    with zip_path.open("wb") as fh:
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


def _offline(
    file: Path, output_dir: Path | None, force: bool, sources: list[SourceFile] | None
) -> Summary:
    """A result ZIP from disk: no credentials, no network. Problems with the file are the
    user's input (exit 2), not a download gone wrong."""
    import re

    from zbulk.errors import NetworkError, UsageError
    from zbulk.results import summarise_zip

    if not file.is_file():
        raise UsageError(f"--file {file}: no such file",
                         hint="give the result ZIP you downloaded from Zoho")  # fmt: skip
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", file.stem) or "result"
    try:
        summary = summarise_zip(file, output_dir=output_dir, job_id=name, force=force,
                                source=sources)  # fmt: skip
    except NetworkError as exc:
        raise UsageError(f"{file}: {exc.message}", hint=exc.hint) from None
    summary.label = f"Job {name}" if name.isdigit() else file.name
    return summary


@app.command("recent")
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
    from zbulk.history import entries, is_finished
    from zbulk.reports import RecentReport

    app_ctx = ctx.find_root().obj
    scope = _scope(app_ctx)
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
    app_ctx.output.emit(RecentReport(seen), as_json=as_json)
    return 0
