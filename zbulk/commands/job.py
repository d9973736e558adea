"""``zbulk job …``: look at bulk write jobs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from zbulk.commands.options import JobId, JobIds, JsonFlag, duration

if TYPE_CHECKING:
    from zbulk.client import Fetched, ZohoClient
    from zbulk.output import Output

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
        return show_jobs(client, app_ctx.output, ids, as_json=as_json, brief=brief)


def show_jobs(
    client: ZohoClient, out: Output, ids: list[str], *, as_json: bool, brief: bool = False
) -> int:
    """Fetch and emit each job in order. A job that is not found is reported and the
    others still shown (exit 4); any other error stops at once."""
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
        _remember(job_id, fetched.doc)
        out.emit(JobReport(fetched, brief=brief), as_json=as_json)
    return status


def _remember(job_id: str, doc: dict[str, object]) -> None:
    from zbulk.history import record

    status = doc.get("status")
    record(job_id, status if isinstance(status, str) else None)


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
    with app_ctx.client() as client:

        def fetch(job_id: str) -> Job:
            fetched[job_id] = client.get_job(job_id)
            _remember(job_id, fetched[job_id].doc)
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
    view.summary(jobs, fail_on_skipped)
    view.hints(jobs)
    return int(code)


@app.command("results")
def results(
    ctx: typer.Context,
    job_id: JobId,
    output_dir: Annotated[
        Path | None,
        typer.Option(
            "--output-dir",
            metavar="DIR",
            file_okay=False,
            help="Write <job>-<module>-success.csv and -failed.csv per resource, and keep the ZIP.",
            show_default=False,
        ),
    ] = None,
    failed: Annotated[
        bool, typer.Option("--failed", help="List every skipped or failed row.")
    ] = False,
    as_json: JsonFlag = False,
    force: Annotated[
        bool,
        typer.Option("--force", help="Replace files that already exist in --output-dir."),
    ] = False,
) -> int:
    """Download a finished job's result file and say which rows failed and why."""
    import tempfile

    from zbulk.client import check_job_id
    from zbulk.errors import ApiError
    from zbulk.models import Job
    from zbulk.reports import ResultsReport
    from zbulk.results import MAX_DOWNLOAD, local_error, summarise_zip

    job_id = check_job_id(job_id)
    app_ctx = ctx.find_root().obj
    out = app_ctx.output
    with app_ctx.client() as client:
        doc = client.get_job(job_id).doc
        _remember(job_id, doc)
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
                                    force=force, keep_zip=True)  # fmt: skip
            for warning in summary.warnings:
                out.warn(warning)
            # Inside the temporary directory: failed rows are read again from the ZIP.
            out.emit(ResultsReport(summary, url, failed), as_json=as_json)
    return 0


@app.command("recent")
def recent(ctx: typer.Context, as_json: JsonFlag = False) -> int:
    """Jobs this machine has looked at, newest first, with their last known status."""
    from zbulk.history import entries
    from zbulk.reports import RecentReport

    ctx.find_root().obj.output.emit(RecentReport(entries()), as_json=as_json)
    return 0
