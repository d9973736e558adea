"""``zbulk job import``: check a CSV, split it, upload each part and create its job.

It changes data at Zoho, so it: runs the whole pre-flight before sending anything; prints
the exact requests and sends nothing with ``--dry-run``; asks on a terminal (``--yes`` for
scripts; neither is a usage error, with nothing sent); and never sends a create twice.
The flow is ``zbulk.jobs.importing``'s; the user's side of it ``commands.import_flow``.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

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
    complete_modules,
    duration,
)

if TYPE_CHECKING:
    from zbulk.context import AppContext

commands = Commands()


class Operation(StrEnum):
    insert = "insert"
    update = "update"
    upsert = "upsert"


IMPORT_EPILOG = """\b
Examples:
  zbulk job import leads.csv --module Leads --operation insert --dry-run
  zbulk job import leads.csv --module Leads --operation insert --skip-invalid --yes --watch
  zbulk job import contacts.csv --module Contacts --operation upsert --find-by Email \\
      --map "E-mail=Email" --map "Notes="

\b
Scopes: ZohoCRM.bulk.CREATE (or ZohoCRM.bulk.ALL), ZohoCRM.modules.ALL (or
ZohoCRM.modules.<module>.ALL or .CREATE), ZohoFiles.files.ALL (the upload), and
ZohoCRM.org.READ unless the org id is given (--org, ZBULK_ORG_ID, or org_id in the profile).
The check against the org's fields reads ZohoCRM.settings.modules.READ, .fields.READ and
.layouts.READ (or ZohoCRM.settings.ALL); without them zbulk warns once and checks the file
alone.
"""

TimeoutOption = Annotated[
    float,
    typer.Option(
        "--timeout",
        metavar="DURATION",
        parser=duration(),
        help="How long to wait while Zoho's limit of jobs at once holds parts back; then "
        "the import stops, resumable (exit 5). [default: 1h]",
        show_default=False,
    ),
]


@commands.command("import", epilog=epilog(IMPORT_EPILOG))
def import_command(
    ctx: typer.Context,
    file: Annotated[
        str | None,
        typer.Argument(
            metavar="FILE",
            help="A CSV, or a ZIP holding one (with --resume: an import id, or none).",
            show_default=False,
        ),
    ] = None,
    module: Annotated[
        str | None,
        typer.Option(
            "--module",
            metavar="MODULE",
            autocompletion=complete_modules,
            help="The module's API name (Leads, Deals…).",
            show_default=False,
        ),
    ] = None,
    operation: Annotated[
        Operation | None,
        typer.Option("--operation", help="insert, update or upsert.", show_default=False),
    ] = None,
    find_by: Annotated[
        str | None,
        typer.Option(
            "--find-by",
            metavar="FIELD",
            help="The field that finds each record (update, upsert): id or a unique field.",
            show_default=False,
        ),
    ] = None,
    maps: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            metavar="COLUMN=API_NAME",
            help="Send COLUMN to the field API_NAME (COLUMN= leaves it out); "
            "repeatable. Unmapped columns go to the field named by their header.",
            show_default=False,
        ),
    ] = None,
    mapping: Annotated[
        Path | None,
        typer.Option(
            "--mapping",
            metavar="FILE",
            help='A TOML mapping file: [columns."Header"] with api_name, format, '
            "find_by, module, default or skip.",
            show_default=False,
        ),
    ] = None,
    ignore_empty: Annotated[
        bool | None, typer.Option("--ignore-empty", help="Empty cells leave fields unchanged.")
    ] = None,
    encoding: Annotated[
        str | None,
        typer.Option(
            "--encoding",
            metavar="CODEC",
            help="The file's encoding, e.g. windows-1252. [default: UTF-8]",
            show_default=False,
        ),
    ] = None,
    callback: Annotated[
        str | None,
        typer.Option(
            "--callback",
            metavar="URL",
            help="A URL Zoho POSTs to when the job ends.",
            show_default=False,
        ),
    ] = None,
    skip_invalid: Annotated[
        bool,
        typer.Option(
            "--skip-invalid",
            help="Upload only the rows that pass the check against the org's fields; the "
            "others go to <file>-rejected.csv.",
        ),
    ] = False,
    no_metadata: Annotated[
        bool,
        typer.Option(
            "--no-metadata",
            help="Do not read the org's modules and fields: check the file alone.",
        ),
    ] = False,
    refresh_metadata: Annotated[
        bool,
        typer.Option(
            "--refresh-metadata",
            help="Read the org's modules and fields again (they are kept for a day).",
        ),
    ] = False,
    output_dir: Annotated[
        Path,
        typer.Option(
            "--output-dir",
            metavar="DIR",
            help="Where <file>-rejected.csv goes. [default: the current directory]",
            show_default=False,
        ),
    ] = Path(),
    force: Annotated[
        bool, typer.Option("--force", help="Replace files already in --output-dir.")
    ] = False,
    parallel: Annotated[
        int,
        typer.Option(
            "--parallel",
            metavar="N",
            min=1,
            max=10,
            help="Parts unfinished at Zoho at once, at most. [default: 2]",
            show_default=False,
        ),
    ] = 2,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="Go on with an interrupted import (FILE is then its id; none: the newest "
            "unfinished one of this profile and API domain).",
        ),
    ] = False,
    recreate_unknown: Annotated[
        bool,
        typer.Option(
            "--recreate-unknown",
            help="With --resume: create again the parts whose create answer was lost "
            "(check first that Zoho has no such job).",
        ),
    ] = False,
    part_jobs: Annotated[
        list[str] | None,
        typer.Option(
            "--part-job",
            metavar="PART=JOB_ID",
            help="With --resume: the job you found at Zoho for an unknown part; repeatable.",
            show_default=False,
        ),
    ] = None,
    timeout: TimeoutOption = 3600.0,
    allow_skipped: AllowSkipped = False,
    dry_run: DryRun = False,
    yes: Yes = False,
    watch: WatchFlag = False,
    org: OrgOption = None,
    as_json: JsonFlag = False,
) -> int:
    """Check a CSV, split it into parts Zoho takes, upload each and create its job.

    Everything is checked before anything is sent: the delimiter (, ; : |), headers, the
    encoding, empty records, the mapping; then, against the org's modules and fields (read
    from Zoho, kept for a day): the module, each mapped field (a label suggests its API
    name), read-only and mandatory fields, find_by, and every value (lengths, numbers,
    emails, dates, lookup ids, duplicates on unique fields). Rows that would be rejected
    stop the import (exit 2, nothing sent) and go to <file>-rejected.csv; --skip-invalid
    sends the others. A file over 25,000 records or 25 MB is split on record boundaries
    into parts (each its own bulk write job, 500 API credits), named by an import id
    (imp-…) whose record lets --resume finish it after a crash without creating any part
    twice. Prints each new job's id (with --json, Zoho's answer). With --watch: exit 0
    only when every row landed, 6 when rows were skipped (unless --allow-skipped), 1 when
    a job FAILED.
    """
    from zbulk import files
    from zbulk.commands.import_flow import start_import
    from zbulk.commands.import_resume import resume_import
    from zbulk.commands.job_watch import follower
    from zbulk.errors import UsageError

    if resume:
        given = {
            "--module": module,
            "--operation": operation,
            "--find-by": find_by,
            "--map": maps,
            "--mapping": mapping,
            "--ignore-empty": ignore_empty,
            "--encoding": encoding,
            "--callback": callback,
        }
        refused = [name for name, value in given.items() if value]
        if refused:
            raise UsageError(
                f"{', '.join(refused)} cannot go with --resume: an import goes on with the "
                "settings it began with"
            )
        if dry_run:
            raise UsageError("--dry-run cannot go with --resume")
        return resume_import(
            ctx,
            file,
            recreate_unknown=recreate_unknown,
            part_jobs=part_jobs or [],
            parallel=parallel,
            timeout=timeout,
            yes=yes,
            watch=watch,
            allow_skipped=allow_skipped,
            org=org,
            as_json=as_json,
            follow=follower(ctx, as_json, allow_skipped),
        )
    if recreate_unknown or part_jobs:
        raise UsageError("--recreate-unknown and --part-job go with --resume")
    if file is None:
        raise UsageError("give the FILE to import (or --resume)")
    if module is None:
        raise UsageError("missing option --module: the module's API name (Leads, Deals…)")
    if operation is None:
        choices = ", ".join(o.value for o in Operation)
        raise UsageError(f"missing option --operation. Choose from: {choices}")
    from zbulk.import_plan import prepare

    plan = prepare(
        Path(file),
        module=module,
        operation=operation.value,
        find_by=find_by,
        maps=maps or (),
        mapping_file=mapping,
        ignore_empty=bool(ignore_empty),
        encoding=encoding,
        callback=callback,
        one_file=False,
    )
    if find_by and plan.find_by != find_by:
        _app(ctx).output.note(f"--find-by {find_by}: the field {plan.find_by}")
    with files.temp_dir() as workdir:
        from zbulk.commands.preflight import check_against_org, file_only

        checked = plan.source.path
        if no_metadata:
            plan = file_only(_app(ctx).output, plan, as_json)
        else:
            plan = check_against_org(
                _app(ctx),
                plan,
                org=org,
                refresh=refresh_metadata,
                skip_invalid=skip_invalid,
                output_dir=output_dir,
                force=force,
                as_json=as_json,
                workdir=workdir,
                dry_run=dry_run,
            )
        # --skip-invalid sends a file of the rows that pass, made in workdir: the import's
        # record keeps a copy of it, so --resume and the results find it later
        return start_import(
            ctx,
            plan,
            dry_run=dry_run,
            yes=yes,
            watch=watch,
            org=org,
            as_json=as_json,
            parallel=parallel,
            timeout=timeout,
            allow_skipped=allow_skipped,
            keep_source=plan.source.path != checked,
            follow=follower(ctx, as_json, allow_skipped),
        )


def _app(ctx: typer.Context) -> AppContext:
    return ctx.find_root().obj
