"""The human view of a job, as rich renderables. Prints nothing itself.

Every string that came from the API goes through ``cell()``: made safe and
wrapped in ``Text`` so that ``[red]`` stays ``[red]`` and ``\\x1b[2J`` is shown,
not obeyed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

from rich.cells import cell_len, chop_cells, set_cell_size
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from zbulk.models import FieldMapping, FileInfo, Job, Resource, status_key
from zbulk.output import safe
from zbulk.results import Summary

MISSING = Text("—", style="dim")
BOLD = Style(bold=True)
DIM = Style(dim=True)
_STATUS_STYLES = {
    "COMPLETED": "bold green",
    "FAILED": "bold red",
    "SKIPPED": "bold yellow",
    "INPROGRESS": "bold cyan",
    "ADDED": "bold blue",
}


def cell(value: str | None, style: str = "") -> Text:
    if value is None or value == "":
        return MISSING.copy()
    return Text(safe(value), style=style)


def status_text(status: str | None) -> Text:
    return cell(status, _STATUS_STYLES.get(status_key(status), "bold magenta"))


def relative(then: datetime, now: datetime) -> str:
    seconds = (now - then).total_seconds()
    ago = seconds >= 0
    seconds = abs(seconds)
    for size, unit in (
        (365 * 86400, "year"),
        (30 * 86400, "month"),
        (86400, "day"),
        (3600, "hour"),
        (60, "minute"),
    ):
        if seconds >= size:
            n = int(seconds // size)
            phrase = f"{n} {unit}{'s' if n != 1 else ''}"
            return f"{phrase} ago" if ago else f"in {phrase}"
    return "just now"


def local_time(then: datetime, now: datetime) -> str:
    local = then.astimezone()
    zone = local.strftime("%Z") or local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M:%S} {zone} ({relative(then, now)})"


class Fields:
    """Label/value lines, labels aligned; no trailing padding, long values wrap."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, Text]] = []

    def add_row(self, label: str, value: Text) -> None:
        self.rows.append((label, value))

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = max((len(label) for label, _ in self.rows), default=0) + 2
        room = max(options.max_width - width, 10)
        indent = Text(" " * width)
        for label, value in self.rows:
            if value.cell_len <= room:  # the common case: straight to segments, no wrapping
                yield Segment(label.ljust(width), DIM)
                yield from value.render(console)
                yield Segment.line()
                continue
            for n, part in enumerate(value.wrap(console, room, overflow="fold")):
                line = (Text(label.ljust(width), style="dim") if n == 0 else indent.copy()) + part
                line.end = "\n"
                yield line


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


def counts(file: FileInfo) -> Text:
    out = Text()
    parts = (
        ("added", file.added, "green"),
        ("updated", file.updated, "cyan"),
        ("skipped", file.skipped, "yellow"),
        ("total", file.total, "bold"),
    )
    for i, (label, value, style) in enumerate(parts):
        if i:
            out.append(" · ", style="dim")
        out.append(f"{label} ")
        out.append(
            "—" if value is None else f"{value:,}", style=style if value is not None else "dim"
        )
    return out


def progress(file: FileInfo) -> Text:
    percent = file.percent
    if percent is None:
        return MISSING.copy()
    width = 20
    filled = round(width * percent / 100)
    bar = Text("█" * filled, style="green") + Text("░" * (width - filled), style="dim")
    return bar + Text(f" {file.processed:,}/{file.total:,} ({percent:.0f}% done)")


class PlainTable:
    """A table of plain text: the first column right-aligned, the second bold.

    Written by hand rather than with ``rich.table.Table``: a job can carry tens of
    thousands of mappings (or failed rows) and this renders them about a hundred times
    faster. Cells wider than the terminal allows are folded onto more lines, never cut.
    Cells must already be safe (``safe()``).
    """

    GAP = "  "

    def __init__(
        self, title: str, headers: tuple[str, ...], rows: Sequence[tuple[str, ...]]
    ) -> None:
        self.title = title
        self.HEADERS = headers
        self.rows = rows

    def _widths(self, available: int) -> list[int]:
        widths = [cell_len(h) for h in self.HEADERS]
        for row in self.rows:
            for i, value in enumerate(row):
                if len(value) > widths[i] or not value.isascii():
                    widths[i] = max(widths[i], cell_len(value))
        available -= len(self.GAP) * (len(widths) - 1)
        while sum(widths) > available:
            widest = max(range(1, len(widths)), key=lambda i: widths[i])
            if widths[widest] <= 8:
                break
            widths[widest] -= 1
        return widths

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        widths = self._widths(options.max_width)
        yield Text(self.title, style="bold")
        yield from self._line(self.HEADERS, widths, BOLD, BOLD)
        rule = sum(widths) + len(self.GAP) * (len(widths) - 1)
        yield Segment(("-" if options.ascii_only else "─") * rule, DIM)
        yield Segment.line()
        for row in self.rows:
            yield from self._line(row, widths, None, BOLD)

    def _line(
        self, row: tuple[str, ...], widths: list[int], style: Style | None, name: Style | None
    ) -> Iterator[Segment]:
        gap = self.GAP
        if all(cell_len(v) <= w for v, w in zip(row, widths, strict=True)):
            lines = [row]
        else:
            chunks = [chop_cells(v, w) or [""] for v, w in zip(row, widths, strict=True)]
            height = max(len(c) for c in chunks)
            lines = [tuple(c[n] if n < len(c) else "" for c in chunks) for n in range(height)]
        for parts in lines:
            rest = gap.join(set_cell_size(v, w) for v, w in zip(parts[2:], widths[2:], strict=True))
            rest = rest.rstrip()
            if rest:
                yield Segment(parts[0].rjust(widths[0]) + gap, style)
                yield Segment(set_cell_size(parts[1], widths[1]), name)
                yield Segment(gap + rest, style)
            else:
                yield Segment(parts[0].rjust(widths[0]) + gap, style)
                yield Segment(parts[1], name)
            yield Segment.line()


def mapping_table(mappings: list[FieldMapping]) -> PlainTable:
    """The field mappings in CSV column order."""
    rows = [
        ("" if m.index is None else str(m.index), safe(m.api_name or ""), safe(m.format or ""),
         safe(m.find_by or ""), safe(m.module or ""), safe(m.default_value or ""))
        for m in mappings
    ]  # fmt: skip
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


def status_view(entries: list[dict[str, object]], active: str) -> RenderableType:
    """``zbulk auth status``: one block per credential, never a secret."""
    now = datetime.now(UTC)
    parts: list[RenderableType] = []
    if not entries:
        parts.append(Text(f"No credentials: profile {active!r} is not logged in.", style="bold"))
        parts.append(Text("Run `zbulk auth login`, or set ZBULK_TOKEN.", style="dim"))
    for entry in entries:
        name = entry.get("profile")
        title = Text("environment" if name is None else f"profile {name}", style="bold")
        if entry.get("active"):
            title.append("  (in use)", style="green")
        grid = _fields()
        if name is None:
            grid.add_row("Credential", cell(str(entry["kind"])))
            grid.add_row("Note", cell(str(entry["detail"])))
        elif entry.get("logged_in") is False:
            grid.add_row("Credential", cell("none: not logged in", "red"))
            grid.add_row("Fix", cell(_opt(entry.get("login_command"))))
        else:
            grid.add_row("Data centre", cell(_opt(entry.get("dc"))))
            grid.add_row("API domain", cell(_opt(entry.get("api_domain"))))
            kind = str(entry.get("kind") or "unknown")
            login = {"self_client": "Self Client", "device": "device code", "token": "pasted"}
            how = login.get(str(entry.get("login")), "")
            grid.add_row("Credential", cell(f"{kind} ({how})" if how else kind))
            if entry.get("client_id"):
                grid.add_row("Client id", cell(_opt(entry.get("client_id"))))
            grid.add_row("Stored in", cell(_opt(entry.get("stored_in") or entry.get("source"))))
            expires = entry.get("expires_at")
            if isinstance(expires, int | float):
                when = datetime.fromtimestamp(expires, UTC)
                state = "expired" if when <= now else "valid"
                style = "red" if state == "expired" else "green"
                grid.add_row("Access token", Text(f"{state}, expires {relative(when, now)}",
                                                  style=style))  # fmt: skip
            if entry.get("warning"):
                grid.add_row("Warning", cell(_opt(entry.get("warning")), "yellow"))
            if entry.get("error"):
                grid.add_row("Problem", cell(_opt(entry.get("error")), "red"))
                grid.add_row("Fix", cell(_opt(entry.get("login_command"))))
        parts.extend([title, grid, Text()])
    return Group(*parts)


def _opt(value: object) -> str | None:
    return None if value is None else str(value)


def results_view(summary: Summary, with_rows: bool) -> RenderableType:
    """``zbulk job results``: per result CSV its counts by STATUS, its errors grouped by
    code and column with the first examples, and with ``--failed`` every failed row."""
    parts: list[RenderableType] = [Text(f"Job {summary.job_id}: result file", style="bold")]
    for f in summary.files:
        parts.append(Text())
        head = Text(f.module, style="bold") + Text(f"  {f.rows:,} rows  ", style="dim")
        for n, (status, count) in enumerate(sorted(f.statuses.items(), key=lambda x: -x[1])):
            if n:
                head.append(" · ", style="dim")
            style = "green" if status in ("added", "updated") else "yellow"
            head.append(f"{status} ")
            head.append(f"{count:,}", style=style)
        parts.append(head)
        if f.errors:
            rows: list[tuple[str, ...]] = [
                (f"{g.count:,}", safe(g.code), safe(g.column), _examples(g.examples))
                for g in sorted(f.errors.values(), key=lambda g: (-g.count, g.code, g.column))
            ]
            parts.append(PlainTable("Errors", ("Rows", "Code", "Column", "First rows"), rows))
        if with_rows and f.failed_rows:
            keys = [k for k in f.failed_rows[0] if k != "row"]
            table_rows = [(str(r["row"]), *(safe(str(r.get(k, ""))) for k in keys))
                          for r in f.failed_rows]  # fmt: skip
            parts.append(PlainTable(f"Skipped and failed rows ({len(table_rows):,})",
                                    ("Row", *map(safe, keys)), table_rows))  # fmt: skip
        for path in f.written:
            parts.append(Text(f"wrote {path}", style="dim"))
    if not summary.failed:
        parts.append(Text("\nEvery row was added or updated.", style="green"))
    return Group(*parts)


def _examples(examples: list[tuple[int, str | None]]) -> str:
    return ", ".join(f"row {row}" + (f" ({safe(rid)})" if rid else "") for row, rid in examples)


def recent_view(seen: list[dict[str, object]]) -> RenderableType:
    """``zbulk job recent``: id, last known status, and when it was seen."""
    if not seen:
        return Text("No jobs seen yet on this machine: `zbulk job show <id>` records them.",
                    style="dim")  # fmt: skip
    now = datetime.now(UTC)
    rows = [
        (str(i), safe(str(e["id"])), safe(str(e.get("status") or "—")),
         relative(datetime.fromtimestamp(float(e["seen"]), UTC), now))  # type: ignore[arg-type]
        for i, e in enumerate(seen, 1)
    ]  # fmt: skip
    return PlainTable(f"Recent jobs ({len(rows)})", ("#", "Job", "Last status", "Seen"), rows)
