"""``zbulk job retry``: send a finished job's (or an import's) failed rows again, with
every setting of the original; the plan is ``zbulk.jobs.retrying``'s, the sending the same
as ``zbulk job import``'s (``commands.import_flow``)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from zbulk.commands import Commands
from zbulk.commands.help import epilog
from zbulk.commands.options import (
    AllowSkipped,
    DryRun,
    JsonFlag,
    OrgOption,
    WatchFlag,
    Yes,
    complete_job_ids,
)

if TYPE_CHECKING:
    from zbulk.client import ZohoClient
    from zbulk.commands.import_flow import Follow
    from zbulk.output import Output
    from zbulk.user_file import UserFile

commands = Commands()

RETRY_EPILOG = """\b
Examples:
  zbulk job retry 4150868000006801002 --source leads_2024_q3.csv --dry-run
  zbulk job retry 4150868000006801002 --source leads_2024_q3.csv --edit --yes --watch
  zbulk job retry 4150868000006801003 --source deals_update.csv --source tasks_update.csv
                                            # two resources (Deals, Tasks): a part each

\b
Scopes: those of job import (ZohoCRM.bulk.CREATE or ZohoCRM.bulk.ALL also reads the job).
"""


@commands.command("retry", epilog=epilog(RETRY_EPILOG))
def retry_command(
    ctx: typer.Context,
    job_id: Annotated[
        str | None,
        typer.Argument(
            metavar="JOB_ID",
            help="A finished job's id (all digits); or --import.",
            show_default=False,
            autocompletion=complete_job_ids,
        ),
    ] = None,
    import_id: Annotated[
        str | None,
        typer.Option(
            "--import",
            metavar="ID",
            help="Send every failed row of every part of an import (imp-…).",
            show_default=False,
        ),
    ] = None,
    sources: Annotated[
        list[Path] | None,
        typer.Option(
            "--source",
            metavar="FILE",
            help="The file the job was created from (its failed rows are taken from it "
            "whole); a job of several resources: once per resource, in the job's order. "
            "[default: the file zbulk created the job from, if unchanged]",
            show_default=False,
        ),
    ] = None,
    fixed: Annotated[
        Path | None,
        typer.Option(
            "--from",
            metavar="FIXED",
            help="Send this file (the failed rows, fixed) instead.",
            show_default=False,
        ),
    ] = None,
    edit: Annotated[
        bool, typer.Option("--edit", help="Open $EDITOR on the failed rows before sending.")
    ] = False,
    dry_run: DryRun = False,
    yes: Yes = False,
    watch: WatchFlag = False,
    allow_skipped: AllowSkipped = False,
    org: OrgOption = None,
    as_json: JsonFlag = False,
) -> int:
    """Send a finished job's (or a whole import's) failed rows again, with every setting of
    the original: module, operation, field mappings (formats, defaults), find_by,
    ignore_empty, character encoding and callback.

    The rows come from the file the job was created from (zbulk remembers it; --source for
    jobs created elsewhere), joined with the job's result file, or from --from FIXED. With
    --edit the rows to fix are kept beside you (the path is printed), so the next round
    works too. A new import: split as needed, each part its own job.

    A job of several resources (modules) is retried as one import of one part per
    resource (more if a resource's rows need splitting), each with that resource's
    settings: --source once per resource, in the job's order; --edit opens each
    resource's rows in turn; --from is refused (it holds one module's rows).
    """
    from zbulk import files
    from zbulk.client import check_job_id
    from zbulk.commands.import_flow import edit_file, need_confirmation_means, start_import
    from zbulk.commands.job_watch import follower
    from zbulk.errors import UsageError
    from zbulk.jobs.retrying import check_retry_doc, retry_plan, several_resources
    from zbulk.user_file import open_source

    if edit and fixed is not None:
        raise UsageError("choose one of --edit and --from")
    if (job_id is None) == (import_id is None):
        raise UsageError("give a JOB_ID or --import ID" + (", not both" if job_id else ""))
    if import_id is not None:
        if sources:
            raise UsageError("--source goes with a JOB_ID: an import knows its file")
        return retry_import(
            ctx,
            import_id,
            fixed=fixed,
            edit=edit,
            dry_run=dry_run,
            yes=yes,
            watch=watch,
            org=org,
            as_json=as_json,
            allow_skipped=allow_skipped,
            follow=follower(ctx, as_json, allow_skipped),
        )
    assert job_id is not None
    job_id = check_job_id(job_id)
    need_confirmation_means(yes or dry_run, f"sending job {job_id}'s rows again")
    app_ctx = ctx.find_root().obj
    out = app_ctx.output
    with app_ctx.client() as client, files.temp_dir() as tmp:
        # Every way on sends with the same settings; only the plans and what is kept differ.
        send = functools.partial(
            start_import,
            ctx,
            dry_run=dry_run,
            yes=yes,
            watch=watch,
            org=org,
            as_json=as_json,
            client=client,
            allow_skipped=allow_skipped,
            follow=follower(ctx, as_json, allow_skipped),
        )
        doc = client.get_job(job_id).doc
        if several_resources(doc):
            from zbulk.jobs.retrying import resource_plans

            if fixed is not None:
                raise UsageError(
                    f"job {job_id} has several resources: --from holds one module's rows; "
                    "nothing was sent",
                    hint=f"use --edit to fix each resource's rows in turn: zbulk job retry "
                    f"{job_id} --source FILE … --edit",
                )
            plans = resource_plans(
                client,
                job_id,
                doc,
                sources or [],
                tmp,
                out.warn,
                edit=(lambda rows, module: _edit(rows, job_id, module, out)) if edit else None,
            )
            if not plans:
                out.note(f"job {job_id} has no failed rows: nothing to send")
                return 0
            for plan in plans:
                out.note(f"{plan.records:,} failed rows of job {job_id}'s {plan.module}, whole")
            return send(plans, keep_source=True)
        if sources and len(sources) > 1:
            raise UsageError(f"job {job_id} has one resource: give --source once")
        source = sources[0] if sources else None
        label = None
        if source is None:
            from zbulk.jobs.import_record import with_job
            from zbulk.jobs.remembered import source_of

            found = with_job(job_id)
            label = found[0].source["path"] if found else None
            source = source_of(job_id, tmp, out.warn)
            if source is None:
                raise UsageError(
                    f"zbulk did not create job {job_id} here (or its file changed): give the "
                    "file it was created from",
                    hint=f"zbulk job retry {job_id} --source FILE",
                )
        encoding = check_retry_doc(job_id, doc)[3]
        opened = open_source(source, encoding)  # read once, for the join and the columns
        if fixed is None:
            fixed = failed_rows_file(client, out, job_id, doc, opened, tmp, label)
            if fixed is None:
                return 0
            if edit:
                fixed = keep_for_edit(fixed, job_id, out)
                edit_file(fixed, out)
        plan = retry_plan(job_id, doc, opened, fixed)
        temporary = fixed.is_relative_to(tmp)  # the failed rows as written here: kept
        return send(plan, keep_source=temporary)


def retry_import(
    ctx: typer.Context,
    import_id: str,
    *,
    fixed: Path | None,
    edit: bool,
    dry_run: bool,
    yes: bool,
    watch: bool,
    org: str | None,
    as_json: bool,
    allow_skipped: bool,
    follow: Follow | None = None,
) -> int:
    """``job retry --import ID``: every failed row of every part (the merged failed.csv, or
    FIXED), sent again as a new import with the first one's settings, split as needed."""
    from zbulk import files
    from zbulk.commands.import_flow import (
        edit_file,
        find_import,
        need_confirmation_means,
        start_import,
    )
    from zbulk.errors import UsageError
    from zbulk.jobs.importing import check_source
    from zbulk.jobs.retrying import import_failed_rows, retry_plan

    app_ctx = ctx.find_root().obj
    out = app_ctx.output
    record = find_import(app_ctx, import_id)
    check_source(record)
    need_confirmation_means(yes or dry_run, f"sending import {record.id}'s failed rows again")
    original = Path(record.source["path"])
    if record.resources and fixed is not None:
        raise UsageError(
            f"import {record.id} has several resources ({record.module}): --from holds one "
            "module's rows; nothing was sent",
            hint=f"use --edit to fix each resource's rows in turn: zbulk job retry --import "
            f"{record.id} --edit",
        )
    with app_ctx.client() as client, files.temp_dir() as tmp:
        send = functools.partial(
            start_import,
            ctx,
            dry_run=dry_run,
            yes=yes,
            watch=watch,
            org=org,
            as_json=as_json,
            client=client,
            allow_skipped=allow_skipped,
            retry_of=record.id,
            follow=follow,
        )
        if record.resources:
            merged = import_failed_rows(client, record, tmp)
            plans = []
            for n, segment in enumerate(record.segments()):
                numbers = {p.number for p in segment.parts}
                failed = sum(p.failed for p in merged.parts if p.number in numbers)
                if not failed:
                    continue
                rows = Path(merged.files[3 * n])  # each resource's failed, created, errors
                out.note(f"{failed:,} failed rows of import {record.id}'s {segment.module}")
                if edit:
                    rows = keep_for_edit(rows, record.id, out)
                    edit_file(rows, out)
                plans.append(
                    retry_plan(
                        record.id, segment.settings["body"], Path(segment.source["path"]), rows
                    )
                )
            if not plans:
                out.note(f"import {record.id} has no failed rows: nothing to send")
                return 0
            return send(plans, keep_source=True)
        if fixed is None:
            merged = import_failed_rows(client, record, tmp)
            if not merged.failed:
                out.note(f"import {record.id} has no failed rows: nothing to send")
                return 0
            fixed = Path(merged.files[0])
            out.note(f"{merged.failed:,} failed rows of import {record.id}, whole")
            if edit:
                fixed = keep_for_edit(fixed, record.id, out)
                edit_file(fixed, out)
        plan = retry_plan(record.id, record.settings["body"], original, fixed)
        temporary = fixed.is_relative_to(tmp)  # the merged failed rows: the record keeps them
        return send(plan, keep_source=temporary)


def _edit(rows: Path, job_id: str, module: str, out: Output) -> Path:
    """--edit of one resource's rows: kept beside the user, opened in the editor."""
    from zbulk.commands.import_flow import edit_file

    kept = keep_for_edit(rows, job_id, out)
    edit_file(kept, out)
    return kept


def keep_for_edit(rows: Path, name: str, out: Output) -> Path:
    """The rows to edit, copied beside the user (the current directory) as
    ``<name>-<Module>-edited.csv`` (``-2``… if taken), and the path said: the edited
    file is kept, so the next round can start from it."""
    from zbulk import files

    stem = rows.name.removesuffix(".csv").removesuffix("-failed")
    module = stem.removeprefix(name).lstrip("-") or "rows"
    base = f"{name}-{module}-edited"
    target, n = Path.cwd() / f"{base}.csv", 1
    while target.exists() or target.is_symlink():
        n += 1
        target = Path.cwd() / f"{base}-{n}.csv"
    files.copy_to_output(rows, target, force=False)
    out.note(f"the rows to fix are in {target}; it is kept after sending")
    return target


def failed_rows_file(
    client: ZohoClient,
    out: Output,
    job_id: str,
    doc: dict[str, Any],
    sources: list[UserFile],
    directory: Path,
    label: str | None = None,
) -> Path | None:
    """The job's failed rows, whole (``zbulk.jobs.retrying.failed_rows``), said; None when
    no row failed."""
    from zbulk.jobs.retrying import failed_rows

    found = failed_rows(client, job_id, doc, sources, directory)
    for warning in found.summary.warnings:
        out.warn(warning)
    if found.path is None:
        out.note(f"job {job_id} has no failed rows: nothing to send")
        return None
    out.note(
        f"{found.summary.failed:,} failed rows of job {job_id}, whole, "
        f"from {label or sources[0].path}"
    )
    return found.path
