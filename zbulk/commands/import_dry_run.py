"""``--dry-run`` of ``zbulk job import`` and ``job retry``: the parts, and the exact
requests (``zbulk.jobs.dry_run``) shown; nothing is sent."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    from zbulk.import_plan import Plan
    from zbulk.jobs.import_record import ImportRecord, PartState
    from zbulk.orgid import Org
    from zbulk.output import Output


def print_plan(
    out: Output, settings: Any, plan: Plan, record: ImportRecord, known: Org | None, as_json: bool
) -> None:
    """--dry-run: one part, the exact requests; several, the parts and the requests of
    the first."""
    from zbulk import files
    from zbulk.import_plan import upload_url
    from zbulk.jobs.dry_run import what
    from zbulk.jobs.importing import build_part_zip

    url = upload_url(settings.api_domain, settings.api_version)
    if len(record.parts) > 1:
        from zbulk.reports import DryRunPartsReport

        parts = [
            f"part {p.number}: rows {p.first_row:,}–{p.last_row:,} "
            f"({p.records:,} records, {p.size:,} bytes)"
            for p in record.parts
        ]
        out.emit(DryRunPartsReport(what(record), parts), as_json=as_json)
    with files.temp_dir() as tmp:
        archive = build_part_zip(record, record.parts[0], tmp)
        print_requests(
            out,
            plan,
            archive,
            url,
            known,
            settings,
            as_json,
            part=record.parts[0] if len(record.parts) > 1 else None,
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
    """The requests the command would send (``zbulk.jobs.dry_run``), shown."""
    from zbulk.jobs.dry_run import planned_requests
    from zbulk.reports import DryRunReport

    planned = planned_requests(
        plan, archive, url, known, settings.api_domain, settings.api_version, part
    )
    out.emit(DryRunReport(planned.what, planned.requests, planned.of_part), as_json=as_json)
