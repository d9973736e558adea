"""``zbulk job …``: look at bulk write jobs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from zbulk.commands import Commands
from zbulk.commands.options import JobIds, JsonFlag

if TYPE_CHECKING:
    from zbulk.client import ZohoClient
    from zbulk.context import AppContext
    from zbulk.history import Scope
    from zbulk.output import Output

HELP = "Show, follow and diagnose bulk write jobs."
commands = Commands()  # in the order help lists them; each module imported when it is run


@commands.command("show")
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
        return show_jobs(
            client, app_ctx.output, ids, as_json=as_json, brief=brief, scope=scope_of(app_ctx)
        )


def show_jobs(
    client: ZohoClient,
    out: Output,
    ids: list[str],
    *,
    as_json: bool,
    brief: bool = False,
    scope: Scope | None = None,
) -> int:
    """Fetch and emit each job in order. A job that is not found is reported and the
    others still shown (exit 4); any other error stops at once. Each job shown is recorded
    in ``scope``'s history (None: not recorded, as in the demo)."""
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
        if scope is not None:
            remember(scope, job_id, fetched.doc)
        out.emit(JobReport(fetched, brief=brief), as_json=as_json)
    return status


commands.include("watch", "zbulk.commands.job_watch")
commands.include("results", "zbulk.commands.job_results")


def scope_of(app_ctx: AppContext) -> Scope:
    """The history this command's jobs go to: its profile and API domain."""
    from zbulk.history import Scope

    settings = app_ctx.settings
    return Scope.of(settings.profile, settings.api_domain)


def remember(scope: Scope, job_id: str, doc: dict[str, object]) -> None:
    from zbulk.history import record

    record(job_id, doc, scope)


def _history_kept(out: Output) -> None:
    """Say so when history cannot be kept: its directory is refused (see zbulk.files), and
    recording, a convenience, skips it without a word."""
    from zbulk.errors import LocalFileError
    from zbulk.files import check_private, state_dir

    try:
        check_private(state_dir())
    except LocalFileError as exc:
        out.warn(f"job history is not being kept: {exc.message} ({exc.hint})")


@commands.command("recent")
def recent(
    ctx: typer.Context,
    as_json: JsonFlag = False,
    limit: Annotated[
        int,
        typer.Option(
            "--limit",
            min=1,
            metavar="N",
            help="Show at most N jobs. [default: 20]",
            show_default=False,
        ),
    ] = 20,
    refresh: Annotated[
        bool,
        typer.Option("--refresh", help="Fetch the status of the unfinished ones again first."),
    ] = False,
) -> int:
    """Jobs this profile has looked at on this API domain, newest first, with their last
    known status, modules and operation."""
    from zbulk.history import entries
    from zbulk.jobs.recent import grouped, refresh_unfinished
    from zbulk.models import is_finished
    from zbulk.reports import RecentReport

    app_ctx = ctx.find_root().obj
    scope = scope_of(app_ctx)
    _history_kept(app_ctx.output)
    seen = entries(scope, limit=limit)
    if refresh and any(not is_finished(e["status"]) for e in seen):
        with app_ctx.client() as client:
            refresh_unfinished(client, seen, scope, app_ctx.output.warn)
        seen = entries(scope, limit=limit)
    app_ctx.output.emit(RecentReport(grouped(seen, scope)), as_json=as_json)
    return 0


commands.include("import", "zbulk.commands.job_import")
commands.include("retry", "zbulk.commands.job_retry")
