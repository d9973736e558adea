"""The user's side of an import (``zbulk job import``, ``--resume``, ``job retry``): the
confirmation, the org, what is printed as parts are created, and following them. The flow
itself is ``zbulk.jobs.importing``'s.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from zbulk import files

if TYPE_CHECKING:
    from collections.abc import Callable

    import typer

    from zbulk.client import Fetched, ZohoClient
    from zbulk.context import AppContext
    from zbulk.imports import Plan
    from zbulk.jobs.import_record import ImportRecord, PartState
    from zbulk.orgid import Org
    from zbulk.output import Output
    from zbulk.user_file import UserFile

    Follow = Callable[[ImportRecord], int]  # watch an import's parts; its exit code


def _app(ctx: typer.Context) -> AppContext:
    return ctx.find_root().obj


class Printed:
    """Events of an import, printed: each created job id on stdout (Zoho's answer with
    --json), progress on stderr."""

    def __init__(self, out: Output, record: ImportRecord, as_json: bool) -> None:
        self.out, self.record, self.as_json = out, record, as_json

    def note(self, message: str) -> None:
        self.out.note(message)

    def created(self, part: PartState, answer: Fetched) -> None:
        from zbulk.reports import CreatedJobReport

        self.out.emit(CreatedJobReport(part.job_id or "", answer), as_json=self.as_json)
        self.out.flush()
        n = len(self.record.parts)
        if n > 1:
            self.out.note(
                f"{self.record.id}: part {part.number}/{n} (rows {part.first_row:,}–"
                f"{part.last_row:,}) is job {part.job_id}"
            )


def need_confirmation_means(yes: bool, what: str) -> None:
    """Without a terminal to confirm on, a change at Zoho needs --yes (exit 2, nothing sent)."""
    from zbulk.errors import UsageError
    from zbulk.output import stdin_is_terminal

    if not yes and not stdin_is_terminal():
        raise UsageError(
            f"{what} changes data at Zoho: confirm on a terminal, or pass --yes; nothing was sent",
            hint="check first with --dry-run",
        )


def confirm(question: str) -> bool:
    """Ask on the terminal, through the output layer (the question sanitised like all
    else); Ctrl-C or end of input interrupts (nothing is sent)."""
    from zbulk.output import Output

    return Output().confirm(question)


def org_for(client: ZohoClient, app_ctx: AppContext, known: Org | None) -> Org:
    from zbulk import orgid

    if known is not None:
        return known
    settings = app_ctx.settings
    org = orgid.from_answer(client.get_org().doc)
    orgid.keep(settings.profile, settings.api_domain, org)
    return org


def org_label(org: Org) -> str:
    return f"{org.name} ({org.id})" if org.name else org.id


def what(record: ImportRecord) -> str:
    from zbulk.jobs.importing import describe

    op = record.settings["operation"]
    verb = {"insert": "Import", "update": "Update with", "upsert": "Upsert"}.get(op, op)
    return f"{verb} {describe(record)}"


def start_import(
    ctx: typer.Context,
    plan: Plan,
    *,
    dry_run: bool,
    yes: bool,
    watch: bool,
    org: str | None,
    as_json: bool,
    parallel: int = 2,
    timeout: float = 3600.0,
    allow_skipped: bool = False,
    retry_of: str | None = None,
    client: ZohoClient | None = None,
    follow: Follow | None = None,
    keep_source: bool = False,
) -> int:
    """A new import of ``plan``'s file: split, confirm, record, create every part.
    ``keep_source``: the file is a temporary one (the rows that passed ``--skip-invalid``),
    so the record keeps a copy of it in the state directory."""
    from zbulk import orgid
    from zbulk.jobs import import_record as rec
    from zbulk.jobs.importing import plan_import

    app_ctx = _app(ctx)
    out, settings = app_ctx.output, app_ctx.settings
    record = plan_import(plan, settings.profile, settings.api_domain, settings.api_version,
                         retry_of=retry_of)  # fmt: skip
    known = orgid.known(org, settings.profile, settings.api_domain)
    if dry_run:
        print_plan(ctx, plan, record, known, as_json)
        return 0
    need_confirmation_means(yes, what(record))
    with _client(app_ctx, client) as own:
        the_org = org_for(own, app_ctx, known)
        if not yes and not confirm(f"{what(record)}, for org {org_label(the_org)}?"):
            out.note("not confirmed: nothing was sent")
            return 1
        record.settings["org_id"] = the_org.id
        if keep_source:
            keep_copy(record)
        rec.save(record)
        from zbulk.jobs.importing import describe

        out.note(f"import {record.id}: {describe(record)}, from {plan.source.path.name}")
        create_parts(ctx, own, record, parallel, timeout, as_json)
    if not watch:
        if len(record.parts) == 1:
            part = record.parts[0]
            out.note(
                f"created bulk write job {part.job_id}: {plan.records:,} record"
                f"{'s' if plan.records != 1 else ''} of {plan.source.path.name} into "
                f"{plan.module} ({plan.operation})\nfollow it: zbulk job watch {part.job_id}"
            )
        else:
            out.note(
                f"import {record.id}: created {len(record.parts)} jobs\n"
                f"follow it: zbulk job watch --import {record.id}"
            )
        return 0
    assert follow is not None, "--watch needs a way to follow"
    return follow(record)


def keep_copy(record: ImportRecord) -> None:
    """The record's source copied beside the record (0600), and the record pointed at it."""
    from zbulk import files
    from zbulk.jobs import import_record as rec

    source = Path(record.source["path"])
    kept = rec.directory() / f"{record.id}-source{source.suffix.lower() or '.csv'}"
    with (
        files.open_private_for_write(kept, durable=True, binary=True) as dest,
        source.open("rb") as src,
    ):
        while chunk := src.read(1 << 20):
            dest.write(chunk)
    record.source["path"] = str(kept)


class _client:
    """The client given, or a new one closed at the end."""

    def __init__(self, app_ctx: AppContext, client: ZohoClient | None) -> None:
        self.given, self.app_ctx = client, app_ctx
        self.own: ZohoClient | None = None

    def __enter__(self) -> ZohoClient:
        if self.given is not None:
            return self.given
        self.own = self.app_ctx.client()
        return self.own.__enter__()

    def __exit__(self, *exc: object) -> None:
        if self.own is not None:
            self.own.__exit__(*exc)


def create_parts(
    ctx: typer.Context,
    client: ZohoClient,
    record: ImportRecord,
    parallel: int,
    timeout: float,
    as_json: bool,
) -> None:
    from zbulk.history import Scope
    from zbulk.history import record as remember
    from zbulk.imports import upload_url
    from zbulk.jobs.importing import Importer

    app_ctx = _app(ctx)
    settings = app_ctx.settings
    scope = Scope.of(settings.profile, settings.api_domain)
    url = upload_url(settings.api_domain, settings.api_version)
    with files.temp_dir() as tmp:
        importer = Importer(
            record,
            client,
            str(record.settings["org_id"]),
            url,
            Printed(app_ctx.output, record, as_json),
            tmp,
            parallel=parallel,
            timeout=timeout,
            remember=lambda job_id, doc: remember(job_id, doc, scope),
        )
        try:
            importer.run()
        except KeyboardInterrupt:
            app_ctx.output.note(f"import {record.id} stopped; the jobs created go on at Zoho. "
                                f"Go on with: zbulk job import --resume {record.id}")  # fmt: skip
            raise


def resume_import(
    ctx: typer.Context,
    import_id: str | None,
    *,
    recreate_unknown: bool,
    part_jobs: list[str],
    parallel: int,
    timeout: float,
    yes: bool,
    watch: bool,
    allow_skipped: bool,
    org: str | None,
    as_json: bool,
    follow: Follow | None = None,
) -> int:
    from zbulk.errors import UsageError
    from zbulk.jobs import import_record as rec
    from zbulk.jobs.importing import check_hint, check_source, settle_unknown

    app_ctx = _app(ctx)
    out, settings = app_ctx.output, app_ctx.settings
    record = find_import(app_ctx, import_id)
    check_source(record)
    given = parse_part_jobs(part_jobs)
    left = record.unknown
    if left and not recreate_unknown and not given:
        for part in left:
            out.warn(
                f"part {part.number} of {record.id} (rows {part.first_row:,}–"
                f"{part.last_row:,}) is unknown: its create was sent and the answer was lost"
            )
    from zbulk.output import stdin_is_terminal

    terminal = stdin_is_terminal()
    ask = None
    if terminal and not recreate_unknown:

        def ask(question: str) -> bool:
            return confirm(question)

    if left or given:
        left = settle_unknown(record, recreate=recreate_unknown, part_jobs=given,
                              ask=ask if left else None)  # fmt: skip
    if left:
        raise UsageError(
            f"import {record.id} has {len(left)} unknown part"
            f"{'s' if len(left) != 1 else ''} ({', '.join(str(p.number) for p in left)}): "
            "zbulk creates none of them again without your word; nothing was sent",
            hint=check_hint(record, left[0]),
        )
    to_create = [p for p in record.parts if not p.has_job and p.state not in rec.FINISHED]
    if to_create:
        need_confirmation_means(yes, f"going on with import {record.id}")
    with app_ctx.client() as client:
        if "org_id" not in record.settings:
            from zbulk import orgid

            known = orgid.known(org, settings.profile, settings.api_domain)
            record.settings["org_id"] = org_for(client, app_ctx, known).id
        if to_create and not yes:
            plural = "s" if len(to_create) != 1 else ""
            question = (f"Go on with import {record.id}: create {len(to_create)} more "
                        f"part{plural} of {len(record.parts)}?")  # fmt: skip
            if not confirm(question):
                out.note("not confirmed: nothing was sent")
                return 1
        done = len(record.parts) - len(to_create)
        out.note(f"import {record.id}: {done} of {len(record.parts)} parts have a job; "
                 f"{len(to_create)} to create")  # fmt: skip
        create_parts(ctx, client, record, parallel, timeout, as_json)
    if not watch:
        out.note(f"import {record.id}: every part has its job\n"
                 f"follow it: zbulk job watch --import {record.id}")  # fmt: skip
        return 0
    assert follow is not None, "--watch needs a way to follow"
    return follow(record)


def parse_part_jobs(items: list[str]) -> dict[int, str]:
    from zbulk.errors import UsageError

    found: dict[int, str] = {}
    for item in items:
        number, sep, job_id = item.partition("=")
        if not sep or not number.isdigit() or not job_id.isdigit() or len(job_id) > 30:
            raise UsageError(f"--part-job {item!r}: use --part-job PART=JOB_ID (both digits)")
        found[int(number)] = job_id
    return found


def find_import(app_ctx: AppContext, import_id: str | None) -> ImportRecord:
    """The import named, or the newest unfinished one of this profile and API domain."""
    from zbulk.errors import UsageError
    from zbulk.jobs import import_record as rec

    settings = app_ctx.settings
    domain = settings.api_domain.rstrip("/").lower()
    if import_id is not None:
        record = rec.load(rec.check_id(import_id))
        if (record.profile, record.api_domain) != (settings.profile, domain):
            raise UsageError(
                f"import {record.id} was made with profile {record.profile} against "
                f"{record.api_domain}, not {settings.profile} against {domain}",
                hint=f"add --profile {record.profile} --api-domain {record.api_domain}",
            )
        return record
    open_ = [r for r in rec.of_scope(settings.profile, domain) if not r.finished]
    if not open_:
        raise UsageError(
            f"no unfinished import of profile {settings.profile} against {domain}",
            hint="zbulk job recent lists the imports made here",
        )
    if len(open_) > 1:
        listed = "\n".join(f"  {r.id}  {Path(r.source['path']).name}  {len(r.parts)} parts"
                           for r in open_[:20])  # fmt: skip
        raise UsageError(
            f"{len(open_)} unfinished imports of profile {settings.profile}; say which:\n" + listed,
            hint=f"zbulk job import --resume {open_[0].id}",
        )
    return open_[0]


def refresh(ctx: typer.Context, record: ImportRecord, client: ZohoClient | None = None) -> None:
    """Fetch each unfinished part's job and note its state in the record."""
    from zbulk.jobs import import_record as rec
    from zbulk.jobs.importing import update_part
    from zbulk.models import Job

    todo = [p for p in record.parts if p.job_id and p.state not in rec.FINISHED]
    if not todo:
        return
    with _client(_app(ctx), client) as c:
        for part in todo:
            assert part.job_id is not None
            update_part(part, Job.read(c.get_job(part.job_id).doc))
    rec.save(record)


def print_plan(
    ctx: typer.Context, plan: Plan, record: ImportRecord, known: Org | None, as_json: bool
) -> None:
    """--dry-run: one part, the exact requests; several, the parts and the requests of
    the first."""
    from zbulk.jobs.importing import build_part_zip

    app_ctx = _app(ctx)
    out = app_ctx.output
    from zbulk.imports import upload_url

    url = upload_url(app_ctx.settings.api_domain, app_ctx.settings.api_version)
    if len(record.parts) > 1:
        from zbulk.reports import DryRunPartsReport

        parts = [f"part {p.number}: rows {p.first_row:,}–{p.last_row:,} "
                 f"({p.records:,} records, {p.size:,} bytes)" for p in record.parts]  # fmt: skip
        out.emit(DryRunPartsReport(what(record), parts), as_json=as_json)
    with files.temp_dir() as tmp:
        archive = build_part_zip(record, record.parts[0], tmp)
        print_requests(out, plan, archive, url, known, app_ctx.settings, as_json,
                       part=record.parts[0] if len(record.parts) > 1 else None)  # fmt: skip


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
    from zbulk.errors import ApiError
    from zbulk.jobs import import_record as rec
    from zbulk.jobs.importing import check_source
    from zbulk.jobs.merged import merge
    from zbulk.jobs.retrying import retry_plan

    app_ctx = _app(ctx)
    out = app_ctx.output
    record = find_import(app_ctx, import_id)
    check_source(record)
    need_confirmation_means(yes or dry_run, f"sending import {record.id}'s failed rows again")
    original = Path(record.source["path"])
    with app_ctx.client() as client, files.temp_dir() as tmp:
        if fixed is None:
            refresh(ctx, record, client)
            waiting = [p.number for p in record.parts if p.state not in rec.FINISHED]
            if waiting:
                raise ApiError(
                    f"import {record.id}: part(s) {', '.join(map(str, waiting))} have not "
                    "finished; their failed rows are not known yet",
                    hint=f"zbulk job watch --import {record.id}",
                )
            merged = merge(record, downloader(client, tmp), tmp, True)
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
        return start_import(ctx, plan, dry_run=dry_run, yes=yes, watch=watch, org=org,
                            keep_source=temporary,
                            as_json=as_json, client=client, allow_skipped=allow_skipped,
                            retry_of=record.id, follow=follow)  # fmt: skip


def downloader(client: ZohoClient, directory: Path) -> Callable[[PartState], Path]:
    """A part's result ZIP, downloaded into ``directory``."""
    from zbulk import files
    from zbulk.errors import ApiError
    from zbulk.models import Job
    from zbulk.results import MAX_DOWNLOAD, local_error

    def result_zip(part: PartState) -> Path:
        job_id = part.job_id or ""
        job = Job.read(client.get_job(job_id).doc)
        if not job.result_url:
            raise ApiError(f"job {job_id} ({job.status}) has no result file to download")
        path = directory / f"{job_id}.zip"
        try:
            with files.create_new(path) as fh:
                client.download(job.result_url, fh, MAX_DOWNLOAD)
        except OSError as exc:
            raise local_error(path, exc) from None
        return path

    return result_zip


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
    out.note(f"{summary.failed:,} failed rows of job {job_id}, whole, from {label or source}")
    return failed[0]


def default_editor(platform: str | None = None) -> str:
    """The editor --edit opens without VISUAL or EDITOR: notepad on Windows, else vi."""
    import os

    return "notepad" if (platform or os.name) == "nt" else "vi"


def edit_file(path: Path, out: Output) -> None:
    """Open $VISUAL or $EDITOR (else ``default_editor()``) on ``path`` and wait for it."""
    import os
    import shlex
    import subprocess

    from zbulk.errors import UsageError
    from zbulk.views.format import shown_path

    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or default_editor()
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


def print_requests(
    out: Output,
    plan: Plan,
    archive: Path,
    url: str,
    known: Org | None,
    settings: Any,
    as_json: bool,
    part: PartState | None = None,
) -> None:
    """The requests the command would send (for ``part``, the first of several: its own
    CSV), token redacted, in order."""
    from zbulk.http import MultipartFile
    from zbulk.reports import DryRunReport

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
            "filename": archive.name if part else plan.zip_name,
            "bytes": archive.stat().st_size,
            "csv": archive.with_suffix(".csv").name if part else plan.source.member,
            "csv_bytes": part.size if part else plan.source.size,
            "records": part.records if part else plan.records,
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
    n = plan.records
    records = f"{n:,} record" + ("s" if n != 1 else "")
    verb = {"insert": "Import", "update": "Update with", "upsert": "Upsert"}[plan.operation]
    what = f"{verb} {records} into {plan.module} ({plan.operation})"
    out.emit(DryRunReport(what, requests, " (of part 1)" if part else ""), as_json=as_json)
