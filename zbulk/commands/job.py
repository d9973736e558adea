"""``zbulk job …``: look at bulk write jobs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from zbulk.client import Fetched, ZohoClient
    from zbulk.output import Output
    from zbulk.results import Summary

app = typer.Typer(
    help="Look at bulk write jobs.",
    no_args_is_help=True,
)


def _complete_ids(incomplete: str) -> list[tuple[str, str]]:
    """Tab completion: job ids this machine has seen, newest first (zbulk job recent)."""
    from zbulk.history import complete_job_ids

    return complete_job_ids(incomplete)


JobIds = Annotated[
    list[str],
    typer.Argument(
        metavar="JOB_ID",
        help="One or more bulk write job ids (all digits).",
        show_default=False,
        autocompletion=_complete_ids,
    ),
]
JsonFlag = Annotated[
    bool,
    typer.Option(
        "--json", help="Print each job document exactly as the API sent it, one per line."
    ),
]


@app.command("show")
def show(ctx: typer.Context, job_ids: JobIds, as_json: JsonFlag = False) -> int:
    """Fetch each job and show it: summary, per-resource counts and field mappings."""
    from zbulk.client import check_job_id

    ids = [check_job_id(job_id) for job_id in job_ids]
    app_ctx = ctx.find_root().obj
    with app_ctx.client() as client:
        return show_jobs(client, app_ctx.output, ids, as_json=as_json)


def show_jobs(client: ZohoClient, out: Output, ids: list[str], *, as_json: bool) -> int:
    """Fetch and print each job in order. A job that is not found is reported and the
    others still shown (exit 4); any other error stops at once."""
    from zbulk.errors import ExitCode, NotFoundError

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
        if as_json:
            out.json(fetched)
        else:
            _print_job(out, fetched.doc)
    return status


def _remember(job_id: str, doc: dict[str, object]) -> None:
    from zbulk.history import record

    status = doc.get("status")
    record(job_id, status if isinstance(status, str) else None)


def _print_job(out: Output, doc: dict[str, object]) -> None:
    from zbulk.models import Job
    from zbulk.render import job_view

    for part in job_view(Job.read(doc)):
        out.print(part)
    out.print()


@app.command("watch")
def watch(
    ctx: typer.Context,
    job_ids: JobIds,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print the job document each time its status or counts "
            "change, one per line; the last line of each job is its final state.",
        ),
    ] = False,
    interval: Annotated[
        float,
        typer.Option(
            "--interval",
            metavar="S",
            min=0.1,
            help="First wait between polls; grows while nothing changes.",
        ),
    ] = 2.0,
    max_interval: Annotated[
        float,
        typer.Option("--max-interval", metavar="S", min=0.1, help="Longest wait between polls."),
    ] = 30.0,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            metavar="S",
            min=0.1,
            help="Give up after this long (exit 124); the job goes on at Zoho.",
            show_default=False,
        ),
    ] = None,
    fail_on_skipped: Annotated[
        bool, typer.Option("--fail-on-skipped", help="Exit 6 if records were skipped.")
    ] = False,
) -> int:
    """Follow jobs until each finishes; the exit code says how they ended."""
    import gc
    import time

    from zbulk.client import check_job_id
    from zbulk.errors import UsageError
    from zbulk.models import Job
    from zbulk.render_watch import WatchView
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
    job_id: Annotated[
        str,
        typer.Argument(
            metavar="JOB_ID",
            help="A finished job's id.",
            show_default=False,
            autocompletion=_complete_ids,
        ),
    ],
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
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the summary as one JSON document.")
    ] = False,
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
            _print_results(out, summary, url, failed, as_json)  # failed rows: read again
    return 0


def _print_results(out: Output, summary: Summary, url: str, failed: bool, as_json: bool) -> None:
    """The summary, then (with --failed) every failed row streamed from the ZIP."""
    from zbulk.output import json_text
    from zbulk.render import results_view

    for warning in summary.warnings:
        out.warn(warning)
    if as_json:
        for piece in summary.json_chunks(url, failed, json_text):
            out.write(piece)
        out.write_line("")
    else:
        for part in results_view(summary, failed):
            out.print(part)


@app.command("recent")
def recent(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> int:
    """Jobs this machine has looked at, newest first, with their last known status."""
    from zbulk.history import entries

    out = ctx.find_root().obj.output
    seen = entries()
    if as_json:
        from zbulk.output import json_text

        for entry in seen:
            out.write_line(json_text(entry))
        return 0
    from zbulk.render import recent_view

    out.print(recent_view(seen))
    return 0
