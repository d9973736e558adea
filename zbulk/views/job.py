"""``zbulk job show``: the full view of a job, and the one-line ``--brief`` view."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from rich.console import Group, RenderableType
from rich.text import Text

from zbulk.models import FieldMapping, FileInfo, Job, Resource, status_key
from zbulk.output import safe
from zbulk.views.format import SEPARATOR, count_parts
from zbulk.views.format import counts as format_counts
from zbulk.views.widgets import MISSING, Fields, PlainTable, cell, local_time, relative, status_text


def _fields() -> Fields:
    return Fields()


def summary(job: Job, now: datetime) -> Fields:
    grid = _fields()
    grid.add_row("Operation", cell(job.operation))
    grid.add_row("Status", status_text(job.status))
    by = job.created_by_name
    if job.created_by_id:
        by = f"{by} ({job.created_by_id})" if by else job.created_by_id
    grid.add_row("Created by", cell(by))
    if job.created_time is not None:
        grid.add_row("Created", Text(local_time(job.created_time, now)))
    else:
        grid.add_row("Created", cell(job.created_time_text))
    callback = " ".join(p for p in ((job.callback_method or "").upper(), job.callback_url) if p)
    grid.add_row("Callback", cell(callback or None))
    ignore = None if job.ignore_empty is None else ("yes" if job.ignore_empty else "no")
    grid.add_row("Ignore empty", cell(ignore))
    grid.add_row("Encoding", cell(job.character_encoding))
    grid.add_row("Result", cell(job.result_url))
    return grid


_COUNT_STYLES = {"added": "green", "updated": "cyan", "skipped": "yellow", "total": "bold"}


def counts(file: FileInfo) -> Text:
    """``added 1,200 · updated 0 · skipped 49 · total 1,249`` (``format.counts``), styled."""
    out = Text()
    values = {
        "added": file.added,
        "updated": file.updated,
        "skipped": file.skipped,
        "total": file.total,
    }
    for i, (label, number) in enumerate(count_parts(values)):
        if i:
            out.append(SEPARATOR, style="dim")
        out.append(f"{label} ")
        out.append(number, style=_COUNT_STYLES[label] if number != "—" else "dim")
    return out


def progress(file: FileInfo) -> Text:
    percent = file.percent
    if percent is None:
        return MISSING.copy()
    width = 20
    filled = round(width * percent / 100)
    bar = Text("█" * filled, style="green") + Text("░" * (width - filled), style="dim")
    return bar + Text(f" {file.processed:,}/{file.total:,} ({percent:.0f}% done)")


def mapping_table(mappings: list[FieldMapping]) -> PlainTable:
    """The field mappings in CSV column order."""
    rows = [
        (
            "" if m.index is None else str(m.index),
            safe(m.api_name or ""),
            safe(m.format or ""),
            safe(m.find_by or ""),
            safe(m.module or ""),
            safe(m.default_value or ""),
        )
        for m in mappings
    ]
    headers = ("Column", "Field", "Format", "Find by", "Module", "Default")
    return PlainTable(f"Field mappings ({len(rows)})", headers, rows)


def resource_view(resource: Resource, number: int, of: int) -> RenderableType:
    title = Text(f"Resource {number}/{of}", style="bold") + Text("  ")
    title.append_text(cell(resource.module, "bold"))
    if resource.module_id:
        title.append(f" ({safe(resource.module_id)})", style="dim")
    title.append("  ")
    title.append_text(status_text(resource.status))
    grid = _fields()
    if resource.code and status_key(resource.code) != status_key(resource.status):
        grid.add_row("Code", cell(resource.code))
    file = resource.file
    name = file.name if file and file.name else ", ".join(resource.file_names) or None
    grid.add_row("File", cell(name))
    if file is not None:
        if file.status and status_key(file.status) != status_key(resource.status):
            grid.add_row("File status", status_text(file.status))
        grid.add_row("Counts", counts(file))
        grid.add_row("Progress", progress(file))
    else:
        grid.add_row("Counts", Text("not counted yet", style="dim"))
    if resource.find_by:
        grid.add_row("Find by", cell(resource.find_by))
    parts: list[RenderableType] = [Text(), title, grid]
    if resource.mappings:
        parts.append(mapping_table(resource.mappings))
    else:
        parts.append(Text("No field mappings", style="dim"))
    return Group(*parts)


def job_view(job: Job, now: datetime | None = None) -> Iterator[RenderableType]:
    """The renderables of one job, top to bottom (a generator: large jobs print as they go)."""
    now = now or datetime.now(UTC)
    header = (
        Text("Job ", style="bold") + cell(job.id, "bold") + Text("  ") + status_text(job.status)
    )
    yield header
    yield summary(job, now)
    total = len(job.resources)
    if not total:
        yield Text("\nNo resources", style="dim")
    for number, resource in enumerate(job.resources, 1):
        yield resource_view(resource, number, total)


def brief_line(job: Job, now: datetime | None = None) -> Text:
    """``job show --brief``: id, operation, module(s), status, counts and age on one line."""
    now = now or datetime.now(UTC)
    modules = ",".join(safe(r.module) for r in job.resources if r.module) or "—"
    files = [r.file for r in job.resources if r.file is not None]
    line = cell(job.id, "bold") + Text("  ") + cell(job.operation) + Text(f"  {modules}  ")
    line.append_text(status_text(job.status))
    if files:
        values: dict[str, int | None] = {
            "added": sum(f.added or 0 for f in files),
            "updated": sum(f.updated or 0 for f in files),
            "skipped": sum(f.skipped or 0 for f in files),
            "total": sum(f.total or 0 for f in files),
        }
        line.append(f"  {format_counts(values)}")
    else:
        line.append("  not counted yet", style="dim")
    if job.created_time is not None:
        line.append(f"  {relative(job.created_time, now)}", style="dim")
    return line
