"""The user's side of sending an import (``zbulk job import``, ``--resume``, ``job
retry``): the confirmation, the org, what is printed as parts are created, the editor of
``--edit``. The flow itself is ``zbulk.jobs.importing``'s; ``--resume`` is
``import_resume``, ``--dry-run`` ``import_dry_run``, following the parts ``job_watch``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from zbulk import files

if TYPE_CHECKING:
    from collections.abc import Callable

    import typer

    from zbulk.client import Fetched, ZohoClient
    from zbulk.context import AppContext
    from zbulk.import_plan import Plan
    from zbulk.jobs.import_record import ImportRecord, PartState
    from zbulk.orgid import Org
    from zbulk.output import Output

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
            module = f"{self.record.of(part).module}, " if self.record.resources else ""
            self.out.note(
                f"{self.record.id}: part {part.number}/{n} ({module}rows {part.first_row:,}–"
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
    from zbulk.jobs.import_lookup import org_of

    return org_of(client, app_ctx.settings.profile, app_ctx.settings.api_domain, known)


def org_label(org: Org) -> str:
    return f"{org.name} ({org.id})" if org.name else org.id


def what(record: ImportRecord) -> str:
    from zbulk.jobs.dry_run import what as said

    return said(record)


def start_import(
    ctx: typer.Context,
    plan: Plan | list[Plan],
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
    so the record keeps a copy of it in the state directory. Several plans (a retry of a
    job with several resources): one import, each plan's parts with its own settings."""
    from zbulk import orgid
    from zbulk.jobs import import_record as rec
    from zbulk.jobs.importing import plan_several

    app_ctx = _app(ctx)
    out, settings = app_ctx.output, app_ctx.settings
    plans = plan if isinstance(plan, list) else [plan]
    plan = plans[0]
    record = plan_several(
        plans, settings.profile, settings.api_domain, settings.api_version, retry_of=retry_of
    )
    known = orgid.known(org, settings.profile, settings.api_domain)
    if dry_run:
        from zbulk.commands.import_dry_run import print_plan

        if record.resources:
            out.note(f"dry run: {what(record)}; each part's requests follow")
        for one, segment in zip(plans, record.segments(), strict=True):
            print_plan(out, settings, one, segment, known, as_json)
        return 0
    need_confirmation_means(yes, what(record))
    with _client(app_ctx, client) as own:
        the_org = org_for(own, app_ctx, known)
        if not yes and not confirm(f"{what(record)}, for org {org_label(the_org)}?"):
            out.note("not confirmed: nothing was sent")
            return 1
        record.settings["org_id"] = the_org.id
        if keep_source:
            from zbulk.jobs.import_lookup import keep_copy

            keep_copy(record)
        rec.save(record)
        from zbulk.jobs.importing import describe

        names = ", ".join(p.source.path.name for p in plans)
        out.note(f"import {record.id}: {describe(record)}, from {names}")
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
    from zbulk.import_plan import upload_url
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
            app_ctx.output.note(
                f"import {record.id} stopped; the jobs created go on at Zoho. "
                f"Go on with: zbulk job import --resume {record.id}"
            )
            raise


def find_import(app_ctx: AppContext, import_id: str | None) -> ImportRecord:
    """The import named, or the newest unfinished one of this profile and API domain."""
    from zbulk.jobs.import_lookup import find_import as find

    return find(app_ctx.settings.profile, app_ctx.settings.api_domain, import_id)


def refresh(ctx: typer.Context, record: ImportRecord, client: ZohoClient | None = None) -> None:
    """Fetch each unfinished part's job and note its state in the record."""
    from zbulk.jobs import import_record as rec
    from zbulk.jobs.import_lookup import refresh_parts

    if not any(p.job_id and p.state not in rec.FINISHED for p in record.parts):
        return
    with _client(_app(ctx), client) as c:
        refresh_parts(c, record)


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
