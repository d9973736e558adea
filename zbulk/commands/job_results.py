"""``zbulk job results``: a finished job's result file (fetched through
``zbulk.jobs.fetch_result``, or a ZIP given with --file), or an import's, merged."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from zbulk.commands import Commands
from zbulk.commands.job import remember, scope_of
from zbulk.commands.options import ImportIdOption, JsonFlag, complete_job_ids

if TYPE_CHECKING:
    from zbulk.models import Job
    from zbulk.result_file import Summary
    from zbulk.user_file import UserFile

commands = Commands()


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
    from zbulk.errors import ExitCode, UsageError
    from zbulk.jobs.fetch_result import fetch_and_summarise
    from zbulk.reports import ResultFileReport
    from zbulk.result_file import WHOLE_ROWS_NOTE
    from zbulk.user_file import open_source

    if import_id is not None:
        if job_id is not None or file is not None or source is not None:
            raise UsageError("--import goes alone: no JOB_ID, --file or --source")
        return import_results(
            ctx, import_id, output_dir or Path.cwd(), force, as_json, fail_on_skipped
        )
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
        out.emit(ResultFileReport(summary, url, failed), as_json=as_json)

    job: Job | None = None
    if file is not None:
        summary = _offline(file, output_dir, force, sources)
        report(summary, None)
    else:
        assert job_id is not None
        scope = scope_of(app_ctx)
        with app_ctx.client() as client, files.temp_dir() as tmp:
            got = fetch_and_summarise(
                client,
                job_id,
                tmp,
                output_dir=output_dir,
                force=force,
                keep_zip=True,
                source=sources,
                on_doc=lambda doc: remember(scope, job_id, doc),
            )
            job, summary = got.job, got.summary
            # Inside the temporary directory: failed rows are read again from the ZIP.
            report(summary, got.url)
    if job is not None and (job.status or "").upper() == "FAILED":
        out.note(f"job {job_id} ended FAILED: rows after the failure are unprocessed")
        return ExitCode.ERROR
    if fail_on_skipped and summary.failed:
        return ExitCode.SKIPPED
    return ExitCode.OK


def import_results(
    ctx: typer.Context,
    import_id: str,
    output_dir: Path,
    force: bool,
    as_json: bool,
    fail_on_skipped: bool,
) -> int:
    """``job results --import ID``: one failed, created and errors file for every part."""
    from zbulk import files
    from zbulk.commands.import_flow import find_import
    from zbulk.errors import ExitCode
    from zbulk.jobs import import_record as rec
    from zbulk.jobs.fetch_result import merge_import_results
    from zbulk.reports import MergedImportReport

    app_ctx = ctx.find_root().obj
    out = app_ctx.output
    record = find_import(app_ctx, import_id)
    with app_ctx.client() as client, files.temp_dir() as tmp:
        merged = merge_import_results(client, record, tmp, output_dir, force)
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
    from zbulk.result_file import summarise_zip

    if not file.is_file():
        raise UsageError(
            f"--file {file}: no such file", hint="give the result ZIP you downloaded from Zoho"
        )
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", file.stem) or "result"
    summary = summarise_zip(
        file, output_dir=output_dir, job_id=name, force=force, source=sources, given=True
    )
    summary.label = f"Job {name}" if name.isdigit() else file.name
    return summary
