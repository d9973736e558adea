"""``zbulk job import`` and ``zbulk job retry``: check a file, upload it, create a job.

Both are commands of the ``job`` group (``zbulk.commands.job.commands``).

Both change data at Zoho, so both: run the whole pre-flight before sending anything;
print the exact requests and send nothing with ``--dry-run``; ask on a terminal (``--yes``
for scripts; neither is a usage error, with nothing sent); and never send a create twice.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from zbulk.commands.help import epilog
from zbulk.commands.job import commands
from zbulk.commands.options import JobId, JsonFlag, complete_modules

if TYPE_CHECKING:
    from zbulk.client import Fetched, ZohoClient
    from zbulk.context import AppContext
    from zbulk.imports import Plan
    from zbulk.orgid import Org
    from zbulk.output import Output
    from zbulk.user_file import UserFile


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
        Path,
        typer.Argument(metavar="FILE", help="A CSV, or a ZIP holding one.", show_default=False),
    ],
    module: Annotated[
        str,
        typer.Option(
            "--module",
            metavar="MODULE",
            autocompletion=complete_modules,
            help="The module's API name (Leads, Deals…).",
            show_default=False,
        ),
    ],
    operation: Annotated[
        Operation,
        typer.Option("--operation", help="insert, update or upsert.", show_default=False),
    ],
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
        bool, typer.Option("--ignore-empty", help="Empty cells leave fields unchanged.")
    ] = False,
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
    dry_run: DryRun = False,
    yes: Yes = False,
    watch: WatchFlag = False,
    org: OrgOption = None,
    as_json: JsonFlag = False,
) -> int:
    """Check a CSV, upload it and create a bulk write job.

    Everything is checked before anything is sent: Zoho's limits (25 MB, 25,000 records,
    one CSV per ZIP), the delimiter (, ; : |), headers, the encoding, empty records, the
    mapping; then, against the org's modules and fields (read from Zoho, kept for a day):
    the module, each mapped field (a label suggests its API name), read-only and mandatory
    fields, find_by, and every value (lengths, numbers, emails, dates, lookup ids,
    duplicates on unique fields). Rows that would be rejected stop the import (exit 2,
    nothing sent) and go to <file>-rejected.csv; --skip-invalid sends the others. Prints
    the new job's id (with --json, Zoho's answer).
    """
    from zbulk import files
    from zbulk.imports import prepare

    plan = prepare(
        file,
        module=module,
        operation=operation.value,
        find_by=find_by,
        maps=maps or (),
        mapping_file=mapping,
        ignore_empty=ignore_empty,
        encoding=encoding,
        callback=callback,
    )
    if find_by and plan.find_by != find_by:
        _app(ctx).output.note(f"--find-by {find_by}: the field {plan.find_by}")
    with files.temp_dir() as workdir:
        from zbulk.commands.preflight import check_against_org, file_only

        if no_metadata:
            plan = file_only(_app(ctx).output, plan, as_json)
        else:
            plan = check_against_org(
                _app(ctx), plan, org=org, refresh=refresh_metadata, skip_invalid=skip_invalid,
                output_dir=output_dir, force=force, as_json=as_json, workdir=workdir,
                dry_run=dry_run,
            )  # fmt: skip
        return submit(ctx, plan, dry_run=dry_run, yes=yes, watch=watch, org=org, as_json=as_json)


@commands.command("retry", epilog=epilog(RETRY_EPILOG))
def retry_command(
    ctx: typer.Context,
    job_id: JobId,
    source: Annotated[
        Path,
        typer.Option(
            "--source",
            metavar="FILE",
            help="The file the job was created from (its failed rows are taken from it whole).",
            show_default=False,
        ),
    ],
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
    org: OrgOption = None,
    as_json: JsonFlag = False,
) -> int:
    """Send a finished job's failed rows again as a new job, with the same settings.

    The module, operation, field mappings, find_by and ignore_empty come from the job;
    the rows from --source, joined with the job's result file (or from --from FIXED).
    """
    from zbulk import files
    from zbulk.client import check_job_id
    from zbulk.errors import UsageError
    from zbulk.user_file import open_source

    job_id = check_job_id(job_id)
    if edit and fixed is not None:
        raise UsageError("choose one of --edit and --from")
    _need_confirmation_means(yes or dry_run, f"sending job {job_id}'s rows again")
    app_ctx = _app(ctx)
    with app_ctx.client() as client, files.temp_dir() as tmp:
        doc = client.get_job(job_id).doc
        encoding = check_retry_doc(job_id, doc)[3]
        sources = open_source(source, encoding)  # read once, for the join and the columns
        if fixed is None:
            fixed = failed_rows_file(client, app_ctx.output, job_id, doc, sources, tmp)
            if fixed is None:
                return 0
            if edit:
                _edit(fixed, app_ctx.output)
        plan = retry_plan(job_id, doc, sources, fixed)
        return submit(
            ctx,
            plan,
            dry_run=dry_run,
            yes=yes,
            watch=watch,
            org=org,
            as_json=as_json,
            client=client,
        )


def retry_plan(
    job_id: str, doc: dict[str, Any], source: Path | list[UserFile], fixed: Path
) -> Plan:
    """The plan for ``fixed`` with the job's settings; its columns are found by the headers
    the job's mappings point at in ``source``. Every value of the job document is checked
    before use (a UsageError names the one that is not what Zoho sends)."""
    from zbulk.imports import FieldMap, Plan, PreflightError, Problem, check_find_by, inspect
    from zbulk.user_file import open_source

    resource, module, operation, encoding = check_retry_doc(job_id, doc)
    original = open_source(source, encoding)[0] if isinstance(source, Path) else source[0]
    plan_source, problems = inspect(fixed, encoding, what="--from")
    headers = original.header
    source = original.path
    mappings: list[FieldMap] = []
    for m in resource.get("field_mappings") or []:
        index = m.get("index")
        column = None
        if index is not None:
            if not 0 <= index < len(headers):
                raise _doc_error(
                    job_id,
                    f"maps column {index + 1}, but {source} has {len(headers)}: is it the "
                    "file the job was created from?",
                )
            column = headers[index]
            if column not in plan_source.headers:
                problems.append(
                    Problem(
                        f"is mapped to {m['api_name']} by job {job_id}, but "
                        f"{fixed} has no such column",
                        column=column,
                    )
                )
                continue
            index = plan_source.headers.index(column)
        mappings.append(
            FieldMap(
                m["api_name"],
                index,
                column,
                _s(m.get("format")),
                _s(m.get("find_by")),
                _s(m.get("module")),
                m.get("default_value"),
            )
        )
    find_by = _s(resource.get("find_by"))
    check_find_by(operation, find_by, mappings, problems)
    if problems:
        raise PreflightError(fixed, problems)
    ignore = resource.get("ignore_empty", doc.get("ignore_empty"))
    return Plan(plan_source, module, operation, mappings, find_by, ignore is True, None, encoding)


def check_retry_doc(
    job_id: str, doc: dict[str, Any]
) -> tuple[dict[str, Any], str, str, str | None]:
    """The job document's parts a retry uses, each checked: its one resource (a table whose
    ``field_mappings`` is a list of tables with a string ``api_name``, an integer ``index``
    or none, a ``default_value`` as a mapping file's default), the module, the operation
    and the ``character_encoding`` (a text codec; None for UTF-8)."""
    from zbulk.errors import UsageError
    from zbulk.imports import check_default
    from zbulk.models import Job
    from zbulk.user_file import text_codec

    resources = doc.get("resource")
    if not isinstance(resources, list) or not all(isinstance(r, dict) for r in resources):
        raise _doc_error(job_id, f"has a resource that is {_kind(resources)}, not a list of tables")
    if len(resources) != 1:
        raise _doc_error(
            job_id,
            f"has {len(resources)} resources: zbulk job retry sends the rows of a job with one",
        )
    resource = resources[0]
    job = Job.read(doc)
    module = job.resources[0].module if job.resources else None
    operation = doc.get("operation")
    if not isinstance(module, str) or not module or operation not in ("insert", "update", "upsert"):
        raise _doc_error(job_id, "does not say its module and operation")
    mappings = resource.get("field_mappings")
    if mappings is not None and not isinstance(mappings, list):
        raise _doc_error(job_id, f"has field_mappings that are {_kind(mappings)}, not a list")
    for n, m in enumerate(mappings or [], 1):
        where = f"field mapping {n}"
        if not isinstance(m, dict) or not isinstance(m.get("api_name"), str) or not m["api_name"]:
            raise _doc_error(job_id, f"has a {where} without an api_name")
        index = m.get("index")
        if index is not None and (not isinstance(index, int) or isinstance(index, bool)):
            raise _doc_error(job_id, f"has a {where} whose index is {_kind(index)}")
        for key in ("format", "find_by", "module"):
            if m.get(key) is not None and not isinstance(m[key], str):
                raise _doc_error(job_id, f"has a {where} whose {key} is {_kind(m[key])}")
        default = m.get("default_value")
        if default is not None:
            if not isinstance(default, dict):
                raise _doc_error(job_id, f"has a {where} whose default_value is not a table")
            check_default(default, f"job {job_id}'s {where} default_value")
    for key in ("find_by",):
        if resource.get(key) is not None and not isinstance(resource[key], str):
            raise _doc_error(job_id, f"has a {key} that is {_kind(resource[key])}")
    encoding = doc.get("character_encoding")
    if encoding is not None:
        try:
            codec = text_codec(encoding, "character_encoding")
        except UsageError as exc:
            raise _doc_error(job_id, f"has a {exc.message.rstrip('.')}") from None
        if codec == "utf-8":
            encoding = None  # Zoho's default: not sent again
    return resource, module, operation, encoding  # as the job spells it, checked


def _doc_error(job_id: str, what: str) -> Exception:
    from zbulk.errors import UsageError

    return UsageError(
        f"job {job_id}'s document {what}; nothing was sent",
        hint=f"check the job with `zbulk job show {job_id} --json`",
    )


def _kind(value: Any) -> str:
    from zbulk.imports import _kind as kind

    return "missing" if value is None else kind(value)


def _s(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def failed_rows_file(
    client: ZohoClient,
    out: Output,
    job_id: str,
    doc: dict[str, Any],
    sources: list[UserFile],
    directory: Path,
) -> Path | None:
    """The job's failed rows, whole, under the original header: ``source`` lined up with
    the result file by the results command's join (``zbulk job results --source``), written
    as ``<job>-<Module>-failed.csv`` in ``directory``; None when no row failed."""
    from zbulk import files
    from zbulk.errors import ApiError
    from zbulk.models import Job
    from zbulk.results import MAX_DOWNLOAD, local_error, summarise_zip

    job = Job.read(doc)
    if not job.finished or not job.result_url:
        raise ApiError(
            f"job {job_id} is {job.status or 'not finished'}: it has no failed rows to send yet",
            hint=f"wait for it with `zbulk job watch {job_id}`",
        )
    source = sources[0].path
    zip_path = directory / f"{job_id}.zip"
    try:
        with files.create_new(zip_path) as fh:
            client.download(job.result_url, fh, MAX_DOWNLOAD)
    except OSError as exc:
        raise local_error(zip_path, exc) from None
    rows = directory / "rows"
    summary = summarise_zip(
        zip_path,
        output_dir=rows,
        job_id=job_id,
        force=True,
        source=sources,
        resources=job.resources,
    )
    for warning in summary.warnings:
        out.warn(warning)
    if not summary.failed:
        out.note(f"job {job_id} has no failed rows: nothing to send")
        return None
    written = [Path(p) for f in summary.files if f.failed for p in f.written]
    failed = [p for p in written if p.name.endswith("-failed.csv")]
    if len(failed) != 1:
        raise ApiError(
            f"job {job_id}'s failed rows are in {len(failed)} files: zbulk job retry sends one",
            hint=f"write them with `zbulk job results {job_id} --source "
            f"{source}` and send each with `zbulk job import`",
        )
    out.note(f"{summary.failed:,} failed rows of job {job_id}, whole, from {source}")
    return failed[0]


def default_editor(platform: str | None = None) -> str:
    """The editor --edit opens without VISUAL or EDITOR: notepad on Windows, else vi."""
    import os

    return "notepad" if (platform or os.name) == "nt" else "vi"


def _edit(path: Path, out: Output) -> None:
    """Open $VISUAL or $EDITOR (else ``default_editor()``) on ``path`` and wait for it."""
    import os
    import shlex
    import subprocess

    from zbulk.errors import UsageError

    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or default_editor()
    from zbulk.views.format import shown_path

    out.note(f"opening {shown_path(path)} in {editor}: fix the rows, save and quit to send them")
    try:
        # Windows paths keep their backslashes (C:\Program Files\…): not POSIX quoting there.
        words = shlex.split(editor, posix=os.name != "nt")
        done = subprocess.run([*words, str(path)], check=False)
    except (OSError, ValueError) as exc:
        raise UsageError(
            f"cannot run the editor {editor!r}: {exc}", hint="set EDITOR to your editor's command"
        ) from None
    if done.returncode != 0:
        raise UsageError(
            f"the editor {editor!r} exited with status {done.returncode}; nothing was sent"
        )


# -- sending -----------------------------------------------------------------------------


def _app(ctx: typer.Context) -> AppContext:
    return ctx.find_root().obj


def submit(
    ctx: typer.Context,
    plan: Plan,
    *,
    dry_run: bool,
    yes: bool,
    watch: bool,
    org: str | None,
    as_json: bool,
    client: ZohoClient | None = None,
) -> int:
    """Upload and create, or (``dry_run``) print what would be sent."""
    from zbulk import files, orgid
    from zbulk.imports import build_zip, upload_url

    app_ctx = _app(ctx)
    out = app_ctx.output
    settings = app_ctx.settings
    known = orgid.known(org, settings.profile, settings.api_domain)
    url = upload_url(settings.api_domain, settings.api_version)
    with files.temp_dir() as tmp:
        archive = build_zip(plan, tmp)
        if dry_run:
            _print_requests(out, plan, archive, url, known, settings, as_json)
            return 0
        _need_confirmation_means(yes, _describe(plan))
        if client is None:
            with app_ctx.client() as own:
                return _send(ctx, own, plan, archive, url, known, yes, watch, as_json)
        return _send(ctx, client, plan, archive, url, known, yes, watch, as_json)


def _need_confirmation_means(yes: bool, what: str) -> None:
    """Without a terminal to confirm on, a change at Zoho needs --yes (exit 2, nothing sent)."""
    from zbulk.errors import UsageError

    if not yes and not sys.stdin.isatty():
        raise UsageError(
            f"{what} changes data at Zoho: confirm on a terminal, or pass --yes; nothing was sent",
            hint="check first with --dry-run",
        )


def _send(
    ctx: typer.Context,
    client: ZohoClient,
    plan: Plan,
    archive: Path,
    url: str,
    known: Org | None,
    yes: bool,
    watch: bool,
    as_json: bool,
) -> int:
    from zbulk import orgid
    from zbulk.history import Scope, record

    app_ctx = _app(ctx)
    out, settings = app_ctx.output, app_ctx.settings
    org = known
    if org is None:
        org = orgid.from_answer(client.get_org().doc)
        orgid.keep(settings.profile, settings.api_domain, org)
    if not yes and not _confirm(f"{_describe(plan)} for org {_org_label(org)}?"):
        out.note("not confirmed: nothing was sent")
        return 1
    created, body = upload_and_create(client, plan, archive, url, org.id)
    job_id = _job_id(created)
    record(
        job_id,
        {"status": "ADDED", "operation": plan.operation, **body},
        Scope.of(settings.profile, settings.api_domain),
    )
    if as_json:
        from zbulk.output import json_line

        out.write_line(json_line(created))
    else:
        out.write_line(job_id)
    if not watch:
        out.note(
            f"created bulk write job {job_id}: {_describe(plan, past=True)}\n"
            f"follow it: zbulk job watch {job_id}"
        )
        return 0
    return _follow(ctx, job_id, as_json)


def upload_and_create(
    client: ZohoClient, plan: Plan, archive: Path, url: str, org_id: str
) -> tuple[Fetched, dict[str, Any]]:
    """Upload the ZIP, then create the job with the file's id: Zoho's answer and the body."""
    from zbulk.errors import ApiError

    uploaded = client.upload(url, archive, plan.zip_name, org_id).doc
    details = uploaded.get("details")
    file_id = details.get("file_id") if isinstance(details, dict) else None
    if isinstance(file_id, int) and not isinstance(file_id, bool):
        file_id = str(file_id)
    if not isinstance(file_id, str) or not file_id:
        raise ApiError("the upload's answer holds no file_id: no job was created")
    body = plan.create_body(file_id, client.settings.api_version)
    return client.create_job(body), body


def _job_id(created: Fetched) -> str:
    from zbulk.client import created_job_id

    return created_job_id(created.doc)


def _follow(ctx: typer.Context, job_id: str, as_json: bool) -> int:
    """``zbulk job watch JOB_ID``, then (once it ended) ``zbulk job results JOB_ID``."""
    from zbulk.commands import job
    from zbulk.errors import ExitCode

    code = int(job.watch(ctx, [job_id], as_json=as_json) or 0)
    if code in (ExitCode.OK, ExitCode.ERROR, ExitCode.SKIPPED):
        job.results(ctx, job_id, as_json=as_json)
    return code


def _describe(plan: Plan, past: bool = False) -> str:
    n = plan.records
    records = f"{n:,} record" + ("s" if n != 1 else "")
    verb = {"insert": "Import", "update": "Update with", "upsert": "Upsert"}[plan.operation]
    if past:
        return f"{records} of {plan.source.path.name} into {plan.module} ({plan.operation})"
    return f"{verb} {records} into {plan.module} ({plan.operation})"


def _org_label(org: Org) -> str:
    return f"{org.name} ({org.id})" if org.name else org.id


def _confirm(question: str) -> bool:
    """Ask on the terminal; Ctrl-C or end of input interrupts (nothing is sent)."""
    from zbulk.errors import Interrupted

    try:
        sys.stderr.write(f"{question} [y/N] ")
        sys.stderr.flush()
        answer = sys.stdin.readline()
    except KeyboardInterrupt:
        raise Interrupted(nothing_sent=True) from None
    if not answer:
        raise Interrupted(nothing_sent=True)
    return answer.strip().lower() in ("y", "yes")


def _print_requests(
    out: Output,
    plan: Plan,
    archive: Path,
    url: str,
    known: Org | None,
    settings: Any,
    as_json: bool,
) -> None:
    """The requests the command would send, token redacted, in order."""
    import json

    from zbulk.http import MultipartFile
    from zbulk.output import json_text

    auth = "Zoho-oauthtoken ***"
    requests: list[dict[str, Any]] = []
    if known is None:
        org_url = f"{settings.api_domain}/crm/{settings.api_version}/org"
        requests.append({"method": "GET", "url": org_url, "headers": {"Authorization": auth}})
        org_id = f"<the zgid of GET {org_url}>"
    else:
        org_id = known.id
    body = MultipartFile(archive, plan.zip_name)
    body.close()
    form = {
        "file": {
            "filename": plan.zip_name,
            "bytes": archive.stat().st_size,
            "csv": plan.source.member,
            "csv_bytes": plan.source.size,
            "records": plan.records,
        }
    }
    requests.append(
        {
            "method": "POST",
            "url": url,
            "headers": {
                "Authorization": auth,
                "feature": "bulk-write",
                "X-CRM-ORG": org_id,
                "Content-Type": "multipart/form-data; boundary=<random>",
                "Content-Length": str(body.length),
            },
            "form": form,
        }
    )
    create = f"{settings.api_domain}/crm/bulk/{settings.api_version}/write"
    requests.append(
        {
            "method": "POST",
            "url": create,
            "headers": {"Authorization": auth, "Content-Type": "application/json"},
            "body": plan.create_body("<file_id from the upload's answer>", settings.api_version),
        }
    )
    if as_json:
        for request in requests:
            out.write_line(json_text(request))
        return
    lines = [f"# dry run: {_describe(plan)}; nothing is sent. The requests, in order:"]
    for request in requests:
        lines.append("")
        lines.append(f"{request['method']} {request['url']}")
        lines.extend(f"{k}: {v}" for k, v in request["headers"].items())
        if "form" in request:
            f = request["form"]["file"]
            lines.append("")
            lines.append(
                f'[form field "file": {f["filename"]}, {f["bytes"]:,} bytes of ZIP '
                f"holding {f['csv']}: {f['csv_bytes']:,} bytes, {f['records']:,} "
                "records]"
            )
        if "body" in request:
            lines.append("")
            body_text = json.dumps(request["body"], indent=2, ensure_ascii=False, allow_nan=False)
            lines.extend(body_text.splitlines())
    for line in lines:
        out.write_line(line)


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
    from zbulk.imports import build_zip, prepare, upload_url
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
        created, _ = upload_and_create(client, plan, build_zip(plan, tmp), url, org_id)
        job_id = _job_id(created)
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
        created, _ = upload_and_create(client, plan, build_zip(plan, tmp), url, org_id)
        retry_id = _job_id(created)
        out.print(Text(f"\n{retry_id}"))
        step("Every row is in", f"zbulk job show --brief {job_id} {retry_id}")
        show_jobs(client, out, [job_id, retry_id], as_json=False, brief=True)
