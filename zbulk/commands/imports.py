"""``zbulk job import`` and ``zbulk job retry``: check a file, upload it, create a job.

Both are commands of the ``job`` group (``zbulk.commands.job.commands``).

Both change data at Zoho, so both: run the whole pre-flight before sending anything;
print the exact requests and send nothing with ``--dry-run``; ask on a terminal (``--yes``
for scripts; neither is a usage error, with nothing sent); and never send a create twice.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from zbulk.commands.help import epilog
from zbulk.commands.job import commands
from zbulk.commands.options import JsonFlag, complete_job_ids, complete_modules, duration

if TYPE_CHECKING:
    from collections.abc import Callable

    from zbulk.client import ZohoClient
    from zbulk.context import AppContext
    from zbulk.imports import Plan
    from zbulk.output import Output


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

RETRY_EPILOG = """\b
Examples:
  zbulk job retry 4150868000006801003 --source deals.csv --dry-run
  zbulk job retry 4150868000006801003 --source deals.csv --edit
  zbulk job retry 4150868000006801003 --source deals.csv --from fixed.csv --yes --watch

\b
Scopes: those of job import (ZohoCRM.bulk.CREATE or ZohoCRM.bulk.ALL also reads the job).
"""

DryRun = Annotated[
    bool, typer.Option("--dry-run", help="Check, print the exact requests, send nothing.")
]
Yes = Annotated[
    bool,
    typer.Option("--yes", "-y", help="Do not ask for confirmation (needed without a terminal)."),
]
WatchFlag = Annotated[
    bool, typer.Option("--watch", help="Follow the new job to its end, then summarise its results.")
]
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
AllowSkipped = Annotated[
    bool,
    typer.Option("--allow-skipped", help="With --watch: exit 0 even when rows were skipped."),
]
OrgOption = Annotated[
    str | None,
    typer.Option(
        "--org",
        metavar="ORG_ID",
        help="The org id (zgid) for the upload. [env: ZBULK_ORG_ID; default: the profile's, "
        "else asked of the API once and kept]",
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
    from zbulk.commands.migrations import resume_import, start_import
    from zbulk.errors import UsageError

    if resume:
        given = {"--module": module, "--operation": operation, "--find-by": find_by,
                 "--map": maps, "--mapping": mapping, "--ignore-empty": ignore_empty,
                 "--encoding": encoding, "--callback": callback}  # fmt: skip
        refused = [name for name, value in given.items() if value]
        if refused:
            raise UsageError(
                f"{', '.join(refused)} cannot go with --resume: an import goes on with the "
                "settings it began with"
            )
        if dry_run:
            raise UsageError("--dry-run cannot go with --resume")
        return resume_import(ctx, file, recreate_unknown=recreate_unknown,
                             part_jobs=part_jobs or [], parallel=parallel, timeout=timeout,
                             yes=yes, watch=watch, allow_skipped=allow_skipped, org=org,
                             as_json=as_json,
                             follow=follower(ctx, as_json, allow_skipped))  # fmt: skip
    if recreate_unknown or part_jobs:
        raise UsageError("--recreate-unknown and --part-job go with --resume")
    if file is None:
        raise UsageError("give the FILE to import (or --resume)")
    if module is None:
        raise UsageError("missing option --module: the module's API name (Leads, Deals…)")
    if operation is None:
        choices = ", ".join(o.value for o in Operation)
        raise UsageError(f"missing option --operation. Choose from: {choices}")
    from zbulk.imports import prepare

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
                _app(ctx), plan, org=org, refresh=refresh_metadata, skip_invalid=skip_invalid,
                output_dir=output_dir, force=force, as_json=as_json, workdir=workdir,
                dry_run=dry_run,
            )  # fmt: skip
        # --skip-invalid sends a file of the rows that pass, made in workdir: the import's
        # record keeps a copy of it, so --resume and the results find it later
        return start_import(ctx, plan, dry_run=dry_run, yes=yes, watch=watch, org=org,
                            as_json=as_json, parallel=parallel, timeout=timeout,
                            allow_skipped=allow_skipped, keep_source=plan.source.path != checked,
                            follow=follower(ctx, as_json, allow_skipped))  # fmt: skip


def follower(ctx: typer.Context, as_json: bool, allow_skipped: bool) -> Callable[[Any], int]:
    """How ``--watch`` follows an import: ``zbulk job watch --import``'s way."""

    def follow(record: Any) -> int:
        from zbulk.commands.job import follow_import

        return follow_import(ctx, record, as_json=as_json, allow_skipped=allow_skipped)

    return follow


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
    source: Annotated[
        Path | None,
        typer.Option(
            "--source",
            metavar="FILE",
            help="The file the job was created from (its failed rows are taken from it "
            "whole). [default: the file zbulk created the job from, if unchanged]",
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
    """
    from zbulk import files
    from zbulk.client import check_job_id
    from zbulk.commands.migrations import (
        edit_file,
        failed_rows_file,
        keep_for_edit,
        need_confirmation_means,
        start_import,
    )
    from zbulk.errors import UsageError
    from zbulk.jobs.retrying import check_retry_doc, retry_plan
    from zbulk.user_file import open_source

    if edit and fixed is not None:
        raise UsageError("choose one of --edit and --from")
    if (job_id is None) == (import_id is None):
        raise UsageError("give a JOB_ID or --import ID" + (", not both" if job_id else ""))
    if import_id is not None:
        if source is not None:
            raise UsageError("--source goes with a JOB_ID: an import knows its file")
        from zbulk.commands.migrations import retry_import

        return retry_import(ctx, import_id, fixed=fixed, edit=edit, dry_run=dry_run, yes=yes,
                            watch=watch, org=org, as_json=as_json,
                            allow_skipped=allow_skipped,
                            follow=follower(ctx, as_json, allow_skipped))  # fmt: skip
    assert job_id is not None
    job_id = check_job_id(job_id)
    need_confirmation_means(yes or dry_run, f"sending job {job_id}'s rows again")
    app_ctx = _app(ctx)
    out = app_ctx.output
    with app_ctx.client() as client, files.temp_dir() as tmp:
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
        doc = client.get_job(job_id).doc
        _several_resources(job_id, doc)
        encoding = check_retry_doc(job_id, doc)[3]
        sources = open_source(source, encoding)  # read once, for the join and the columns
        if fixed is None:
            fixed = failed_rows_file(client, out, job_id, doc, sources, tmp, label)
            if fixed is None:
                return 0
            if edit:
                fixed = keep_for_edit(fixed, job_id, out)
                edit_file(fixed, out)
        plan = retry_plan(job_id, doc, sources, fixed)
        temporary = fixed.is_relative_to(tmp)  # the failed rows as written here: kept
        return start_import(ctx, plan, dry_run=dry_run, yes=yes, watch=watch, org=org,
                            as_json=as_json, client=client, allow_skipped=allow_skipped,
                            keep_source=temporary,
                            follow=follower(ctx, as_json, allow_skipped))  # fmt: skip


def default_editor(platform: str | None = None) -> str:
    """The editor --edit opens without VISUAL or EDITOR (``migrations.default_editor``)."""
    from zbulk.commands.migrations import default_editor as editor

    return editor(platform)


def _several_resources(job_id: str, doc: dict[str, Any]) -> None:
    """A job of several resources (modules) is retried one resource at a time: say how."""
    from zbulk.errors import UsageError
    from zbulk.models import Job

    job = Job.read(doc)
    if len(job.resources) > 1:
        import shlex

        modules = ", ".join(r.module or "?" for r in job.resources)
        operation = doc.get("operation") or "insert"
        steps = [f"zbulk job results {job_id} --source FILE --output-dir fix"]
        for r in job.resources:
            module = r.module or "MODULE"
            find = f" --find-by {shlex.quote(r.find_by)}" if r.find_by else ""
            path = shlex.quote(f"fix/{job_id}-{module}-failed.csv")
            steps.append(f"zbulk job import {path} --module {shlex.quote(module)} "
                         f"--operation {operation}{find}")  # fmt: skip
        raise UsageError(
            f"job {job_id} has {len(job.resources)} resources ({modules}): zbulk job retry "
            "sends the rows of one module per job",
            hint="write each module's failed rows whole (FILE: the ZIP the job was created "
            "from), then send each module's as its own import:\n  " + "\n  ".join(steps),
        )


# -- sending -----------------------------------------------------------------------------


def _app(ctx: typer.Context) -> AppContext:
    return ctx.find_root().obj


# -- zbulk demo ---------------------------------------------------------------------------

DEMO_CSV = (
    "First_Name,Last_Name,Email,Company,Annual_Revenue\n"
    "Ada,Lovelace,ada@example.com,Analytical Engines,1000\n"
    "Bob,,bob@example.com,Nowhere Ltd,20\n"
    "Cy,Young,cy-at-example.com,Baseball Inc,abc\n"
    "Grace,Hopper,grace@example.com,Navy,5\n"
)
DEMO_FIXES = (("Bob,,", "Bob,Builder,"), ("cy-at-example.com", "cy@example.com"), (",abc", ",300"))


def demo_loop(client: ZohoClient, out: Output, api_domain: str, org_id: str, step: Any,
              upload: str | None = None) -> None:  # fmt: skip
    """``zbulk demo``'s import loop, as the commands do it: import a CSV with planted bad
    rows, read which failed and why, fix them, send them again (``upload``: the upload
    host's address, the sandbox's own port). Records no history."""
    from rich.text import Text

    from zbulk import files
    from zbulk.commands.job import show_jobs
    from zbulk.imports import prepare, upload_url
    from zbulk.jobs.retrying import retry_plan
    from zbulk.models import Job
    from zbulk.reports import ResultsReport
    from zbulk.results import MAX_DOWNLOAD, summarise_zip
    from zbulk.user_file import open_source

    url = upload_url(api_domain, client.settings.api_version, upload)
    with files.temp_dir("zbulk-demo-") as tmp:
        leads = tmp / "leads.csv"
        with files.create_new(leads, binary=False) as fh:
            fh.write(DEMO_CSV)
        command = "zbulk job import leads.csv --module Leads --operation insert --yes"
        step("Import a CSV: checked first, then uploaded and created", command)
        out.print(Text(DEMO_CSV.rstrip(), style="dim"))
        plan = prepare(leads, module="Leads", operation="insert")
        job_id = _demo_import(client, plan, url, org_id, tmp)
        out.print(Text(f"\n{job_id}"))
        step(
            "Its rows, whole, with what went wrong",
            f"zbulk job results {job_id} --source leads.csv",
        )
        job = Job.read(client.get_job(job_id).doc)
        zip_path = tmp / f"{job_id}.zip"
        with files.create_new(zip_path) as fh:
            client.download(job.result_url or "", fh, MAX_DOWNLOAD)
        summary = summarise_zip(
            zip_path,
            output_dir=tmp / "fix",
            job_id=job_id,
            force=True,
            source=open_source(leads),
            resources=job.resources,
        )
        out.emit(ResultsReport(summary, job.result_url, True), as_json=False)
        failed = next(
            Path(p) for f in summary.files for p in f.written if p.endswith("-failed.csv")
        )
        text = failed.read_text(encoding="utf-8-sig")
        for wrong, right in DEMO_FIXES:
            text = text.replace(wrong, right)
        fixed = tmp / "fixed.csv"
        with files.create_new(fixed, binary=False) as fh:
            fh.write(text)
        step(
            "Fix the failed rows and send them again, with the job's own settings",
            f"zbulk job retry {job_id} --source leads.csv --from fixed.csv --yes",
        )
        out.print(Text(text.rstrip(), style="dim"))
        plan = retry_plan(job_id, client.get_job(job_id).doc, leads, fixed)
        retry_id = _demo_import(client, plan, url, org_id, tmp)
        out.print(Text(f"\n{retry_id}"))
        step("Every row is in", f"zbulk job show --brief {job_id} {retry_id}")
        show_jobs(client, out, [job_id, retry_id], as_json=False, brief=True)


def _demo_import(client: ZohoClient, plan: Plan, url: str, org_id: str, tmp: Path) -> str:
    """``plan`` imported as ``zbulk job import`` does, its record kept in ``tmp``."""
    from zbulk.jobs.importing import Importer, plan_import

    class Quiet:
        def note(self, message: str) -> None:
            pass

        def created(self, part: object, answer: object) -> None:
            pass

    record = plan_import(plan, "demo", client.settings.api_domain, client.settings.api_version)
    Importer(record, client, org_id, url, Quiet(), tmp,
             env={"ZBULK_STATE_DIR": str(tmp / "state")}).run()  # fmt: skip
    return record.parts[0].job_id or ""
