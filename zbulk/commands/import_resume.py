"""``zbulk job import --resume``: go on with an interrupted import, never creating a part
twice (an *unknown* part only with the user's word)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import typer

    from zbulk.commands.import_flow import Follow


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
    from zbulk.commands.import_flow import (
        confirm,
        create_parts,
        find_import,
        need_confirmation_means,
        org_for,
    )
    from zbulk.errors import UsageError
    from zbulk.jobs import import_record as rec
    from zbulk.jobs.importing import check_hint, check_source, settle_unknown

    app_ctx = ctx.find_root().obj
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
        left = settle_unknown(
            record, recreate=recreate_unknown, part_jobs=given, ask=ask if left else None
        )
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
            question = (
                f"Go on with import {record.id}: create {len(to_create)} more "
                f"part{plural} of {len(record.parts)}?"
            )
            if not confirm(question):
                out.note("not confirmed: nothing was sent")
                return 1
        done = len(record.parts) - len(to_create)
        out.note(
            f"import {record.id}: {done} of {len(record.parts)} parts have a job; "
            f"{len(to_create)} to create"
        )
        create_parts(ctx, client, record, parallel, timeout, as_json)
    if not watch:
        out.note(
            f"import {record.id}: every part has its job\n"
            f"follow it: zbulk job watch --import {record.id}"
        )
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
