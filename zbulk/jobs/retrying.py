"""A retry's plan: rows to send again (a fixed file) with every setting of the original
job (module, operation, field mappings with formats and defaults, find_by, ignore_empty,
character encoding, callback); the columns found by the headers the job's mappings point
at in the original file. Every value of the job document is checked before use."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from zbulk.client import ZohoClient
    from zbulk.import_plan import Plan
    from zbulk.jobs.import_record import ImportRecord
    from zbulk.jobs.merged import Merged
    from zbulk.result_file import Summary
    from zbulk.user_file import UserFile


def retry_plan(
    job_id: str, doc: dict[str, Any], source: Path | list[UserFile], fixed: Path
) -> Plan:
    """The plan for ``fixed`` with the job's settings; its columns are found by the headers
    the job's mappings point at in ``source``. Every value of the job document is checked
    before use (a UsageError names the one that is not what Zoho sends)."""
    from zbulk.import_plan import FieldMap, Plan, PreflightError, Problem, check_find_by, inspect
    from zbulk.user_file import open_source

    resource, module, operation, encoding = check_retry_doc(job_id, doc)
    original = open_source(source, encoding)[0] if isinstance(source, Path) else source[0]
    plan_source, problems = inspect(fixed, encoding, what="--from", one_file=False)
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
    callback = doc.get("callback")
    url = callback.get("url") if isinstance(callback, dict) else None
    url = url if isinstance(url, str) and url.startswith(("https://", "http://")) else None
    return Plan(plan_source, module, operation, mappings, find_by, ignore is True, url, encoding)


def check_retry_doc(
    job_id: str, doc: dict[str, Any]
) -> tuple[dict[str, Any], str, str, str | None]:
    """The job document's parts a retry uses, each checked: its one resource (a table whose
    ``field_mappings`` is a list of tables with a string ``api_name``, an integer ``index``
    or none, a ``default_value`` as a mapping file's default), the module, the operation
    and the ``character_encoding`` (a text codec; None for UTF-8)."""
    from zbulk.errors import UsageError
    from zbulk.import_plan import check_default
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
    from zbulk.import_plan import _kind as kind

    return "missing" if value is None else kind(value)


def _s(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def several_resources(doc: dict[str, Any]) -> bool:
    resources = doc.get("resource")
    return isinstance(resources, list) and len(resources) > 1


def resource_plans(
    client: ZohoClient,
    job_id: str,
    doc: dict[str, Any],
    sources: list[Path],
    directory: Path,
    warn: Callable[[str], None],
    edit: Callable[[Path, str], Path] | None = None,
) -> list[Plan]:
    """A job of several resources, retried: per resource with failed rows, the plan of
    its failed rows (whole, from its source) with its own settings (module, find_by,
    mappings) and the job's (operation, ignore_empty, encoding, callback). ``sources``:
    one per resource in the job's order (or one ZIP holding each resource's CSV); the
    join is the results command's. ``edit(rows, module)`` opens each resource's rows in
    turn and gives the file to send. Nothing is sent here."""
    import dataclasses
    import shlex

    from zbulk.errors import UsageError
    from zbulk.jobs.fetch_result import fetch_and_summarise
    from zbulk.models import Job
    from zbulk.user_file import open_source

    resources = doc["resource"]
    if not all(isinstance(r, dict) for r in resources) or len(resources) > 100:
        raise _doc_error(job_id, "has resources that are not tables")
    parsed = Job.read(doc).resources
    subs = [{**doc, "resource": [r]} for r in resources]
    checked = [check_retry_doc(job_id, sub) for sub in subs]  # every one, before anything
    encoding = checked[0][3]
    names = [(r.file.name if r.file and r.file.name else None) for r in parsed]
    modules = [c[1] for c in checked]
    files: list[UserFile] = []
    for path in sources:
        files += open_source(path, encoding)
    if len(files) < len(resources):
        n = len(files)
        uploaded = f", uploaded as {names[n]}" if names[n] else ""
        wanted = " ".join(f"--source {shlex.quote(f'{m.upper()}_FILE')}" for m in modules)
        raise UsageError(
            f"job {job_id} has {len(resources)} resources ({', '.join(modules)}): resource "
            f"{n + 1} ({modules[n]}{uploaded}) needs its source: add "
            f"{'a' if n == 0 else 'another'} --source FILE, the file uploaded for it; "
            "nothing was sent",
            hint=f"give --source once per resource, in the job's order: zbulk job retry "
            f"{job_id} {wanted}",
        )
    if len(files) > len(resources):
        raise UsageError(
            f"job {job_id} has {len(resources)} resources, and --source gives {len(files)} "
            "CSV files; nothing was sent",
            hint="give --source once per resource, in the job's order",
        )
    if len(sources) == len(resources):  # one per resource, in order: named as uploaded
        files = [
            dataclasses.replace(f, member=name) if (name := names[n]) and not f.is_zip else f
            for n, f in enumerate(files)
        ]
    got = fetch_and_summarise(
        client,
        job_id,
        directory,
        doc=doc,
        wanted="failed rows to send",
        output_dir=directory / "rows",
        force=True,
        source=files,
    )
    for warning in got.summary.warnings:
        warn(warning)
    plans: list[Plan] = []
    for n, module in enumerate(modules):
        found = [f for f in got.summary.files if names[n] and f.uploaded == names[n]] or [
            f for f in got.summary.files if f.module == module
        ]
        if len(found) != 1:
            warn(
                f"job {job_id}'s result file has {len(found)} CSV files for resource {n + 1} "
                f"({module}), not one: its rows are not sent"
            )
            continue
        if not found[0].failed:
            continue
        failed = [Path(p) for p in found[0].written if p.endswith("-failed.csv")]
        if len(failed) != 1:
            continue
        rows = edit(failed[0], module) if edit is not None else failed[0]
        source = found[0].source or files[n]
        plans.append(retry_plan(job_id, subs[n], [source], rows))
    return plans


@dataclass(frozen=True)
class FailedRows:
    """A job's failed rows, whole: ``path`` (None when no row failed) and the summary of
    its result file (``summary.warnings`` for the caller to say)."""

    summary: Summary
    path: Path | None


def failed_rows(
    client: ZohoClient, job_id: str, doc: dict[str, Any], sources: list[UserFile], directory: Path
) -> FailedRows:
    """The job's failed rows, whole, under the original header: ``sources`` lined up with
    the result file by the results command's join (``zbulk job results --source``), written
    as ``<job>-<Module>-failed.csv`` under ``directory``."""
    from zbulk.errors import ApiError
    from zbulk.jobs.fetch_result import fetch_and_summarise

    got = fetch_and_summarise(
        client,
        job_id,
        directory,
        doc=doc,
        wanted="failed rows to send",
        output_dir=directory / "rows",
        force=True,
        source=sources,
    )
    summary = got.summary
    if not summary.failed:
        return FailedRows(summary, None)
    written = [Path(p) for f in summary.files if f.failed for p in f.written]
    failed = [p for p in written if p.name.endswith("-failed.csv")]
    if len(failed) != 1:
        raise ApiError(
            f"job {job_id}'s failed rows are in {len(failed)} files: zbulk job retry sends one",
            hint=f"write them with `zbulk job results {job_id} --source "
            f"{sources[0].path}` and send each with `zbulk job import`",
        )
    return FailedRows(summary, failed[0])


def import_failed_rows(client: ZohoClient, record: ImportRecord, directory: Path) -> Merged:
    """Every failed row of every part of ``record`` (each part's state fetched again;
    every part must have finished), merged into one file in ``directory``."""
    from zbulk.errors import ApiError
    from zbulk.jobs import import_record as rec
    from zbulk.jobs.fetch_result import downloader
    from zbulk.jobs.import_lookup import refresh_parts
    from zbulk.jobs.merged import merge

    refresh_parts(client, record)
    waiting = [p.number for p in record.parts if p.state not in rec.FINISHED]
    if waiting:
        raise ApiError(
            f"import {record.id}: part(s) {', '.join(map(str, waiting))} have not "
            "finished; their failed rows are not known yet",
            hint=f"zbulk job watch --import {record.id}",
        )
    return merge(record, downloader(client, directory), directory, True)
