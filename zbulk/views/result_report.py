"""``zbulk job results``: counts by STATUS, errors grouped, and failed rows."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.text import Text

from zbulk.output import safe
from zbulk.result_codes import explain
from zbulk.result_file import Summary
from zbulk.views.format import SEPARATOR, by_status_order, shown_path
from zbulk.views.widgets import PlainTable

ROWS_PER_PART = 2000


def results_view(summary: Summary, with_rows: bool) -> Iterator[RenderableType]:
    """``zbulk job results``: per result CSV its CRM module and counts by STATUS, its errors
    grouped by code and column with the first examples, what each code means and what to
    do, and with ``--failed`` every failed row (whole, with a source), read again from the
    files and shown a part at a time (memory does not grow with rows)."""
    title = summary.label or f"Job {summary.job_id}"
    yield Text(f"{safe(title)}: result file", style="bold")
    for f in summary.files:
        yield Text()
        head = Text(safe(f.module), style="bold")
        if f.uploaded:
            head.append(f" ({safe(f.uploaded)})", style="dim")
        head.append(f"  {f.rows:,} records  ", style="dim")
        for n, status in enumerate(by_status_order(f.statuses)):
            count = f.statuses[status]
            if n:
                head.append(SEPARATOR, style="dim")
            style = "green" if status in ("added", "updated") else "yellow"
            head.append(f"{safe(status)} ")
            head.append(f"{count:,}", style=style)
        yield head
        if f.source is not None:
            yield Text(
                f"lined up with {safe(f.source.label)} ({f.source.encoding.label}, "
                f"{_delimiter(f.source.delimiter)})",
                style="dim",
            )
        if f.errors:
            groups = sorted(f.errors.values(), key=lambda g: (-g.count, g.code, g.column))
            rows: list[tuple[str, ...]] = [
                (f"{g.count:,}", safe(g.code), safe(g.column), _examples(g.examples))
                for g in groups
            ]
            yield PlainTable("Errors", ("Records", "Code", "Column", "First rows"), rows)
            yield from _meanings(g.code for g in groups)
        if with_rows and f.failed:
            yield from failed_tables(f.failed_columns, f.failed, summary.failed_rows(f))
        for path in f.written:
            yield Text(f"wrote {safe(shown_path(path))}", style="dim")
    if not summary.failed:
        yield Text("\nEvery row was added or updated.", style="green")


def _meanings(codes: Iterable[str]) -> Iterator[Text]:
    """One line per distinct documented code: what it means and what to do."""
    seen: list[str] = []
    for code in codes:
        if code not in seen and explain(code) is not None:
            seen.append(code)
    if not seen:
        return
    yield Text("What the codes mean", style="bold")
    width = max(len(code) for code in seen)
    for code in seen:
        line = Text("  ")
        line.append(code.ljust(width), style="bold")
        line.append(f"  {explain(code)}")
        yield line


def _delimiter(sep: str) -> str:
    return {",": "commas", ";": "semicolons", ":": "colons", "|": "pipes"}.get(sep, repr(sep))


class _Continued(PlainTable):
    """More rows of a table already shown: no title or header, the first part's column
    widths (wider where a cell needs it, never cut), stacked if the first part was."""

    def __init__(self, first: PlainTable, rows: Sequence[tuple[str, ...]]) -> None:
        super().__init__(first.title, first.HEADERS, rows)
        self.first = first

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        widths = [max(a, b) for a, b in zip(self._widths(), self.first._widths(), strict=True)]
        if sum(widths) + len(self.GAP) * (len(widths) - 1) > options.max_width:
            yield Text()  # between the last record of the previous part and this one
            yield from self._stacked()
            return
        yield from self._body(console, widths)


def failed_tables(
    columns: list[str],
    count: int,
    rows: Iterable[tuple[int, list[str]]],
    part_size: int = ROWS_PER_PART,
) -> Iterator[PlainTable]:
    """The failed rows as tables of ``part_size`` rows: the first with the title and
    header, the others continuing it."""
    width = len(columns)
    headers = ("Row", *(safe(c) for c in columns))
    title = f"Skipped and failed rows ({count:,})"
    first: PlainTable | None = None

    def part(chunk: list[tuple[str, ...]]) -> PlainTable:
        nonlocal first
        if first is None:
            first = PlainTable(title, headers, chunk)
            return first
        return _Continued(first, chunk)

    chunk: list[tuple[str, ...]] = []
    for number, cells in rows:
        if len(cells) > width:  # more cells than headers: all kept, in the last column
            cells = [*cells[: width - 1], ",".join(cells[width - 1 :])]
        joined = "".join(cells)
        if safe(joined) is not joined:
            cells = [safe(c) for c in cells]
        chunk.append((str(number), *cells))
        if len(chunk) == part_size:
            yield part(chunk)
            chunk = []
    if chunk:
        yield part(chunk)


def _examples(examples: list[tuple[int, str | None]]) -> str:
    return ", ".join(f"row {row}" + (f" ({safe(rid)})" if rid else "") for row, rid in examples)
