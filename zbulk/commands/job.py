"""``zbulk job …``: look at bulk write jobs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from zbulk.client import ZohoClient
    from zbulk.output import Output

app = typer.Typer(
    help="Look at bulk write jobs.",
    no_args_is_help=True,
)

JobIds = Annotated[
    list[str],
    typer.Argument(
        metavar="JOB_ID", help="One or more bulk write job ids (all digits).", show_default=False
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
        if as_json:
            out.json(fetched)
        else:
            _print_job(out, fetched.doc)
    return status


def _print_job(out: Output, doc: dict[str, object]) -> None:
    from zbulk.models import Job
    from zbulk.render import job_view

    for part in job_view(Job.read(doc)):
        out.print(part)
    out.print()
