"""Shared pieces of the human views. Prints nothing itself.

Every string that came from the API goes through ``cell()`` (or ``safe()`` for the
plain tables): made safe and wrapped in ``Text`` so that ``[red]`` stays ``[red]`` and
``\\x1b[2J`` is shown, not obeyed.

Width rules (see the README, "Output"): the output layer gives a console that writes
to a pipe an unlimited width, so nothing here wraps there. On a terminal, label/value
fields fold long values onto more lines, and a table that does not fit at its natural
width is shown stacked, one block per record; no value is ever cut.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

from rich.cells import cell_len, set_cell_size
from rich.console import Console, ConsoleOptions, RenderResult
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from zbulk.models import status_key
from zbulk.output import safe
from zbulk.views.format import ago_from

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
    """``26h05m ago`` (the one spelling of an age: ``zbulk.views.format.ago``)."""
    return ago_from(then, now)


def local_time(then: datetime, now: datetime) -> str:
    local = then.astimezone()
    zone = local.strftime("%Z") or local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M:%S} {zone} ({relative(then, now)})"


# Below this many columns for the value, a field's value goes on its own lines.
_MIN_ROOM = 16


class Fields:
    """Label/value lines, labels aligned; no trailing padding, long values fold whole."""

    def __init__(self, label_width: int = 0) -> None:
        self.rows: list[tuple[str, Text]] = []
        self.label_width = label_width

    def add_row(self, label: str, value: Text) -> None:
        self.rows.append((label, value))

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = max([self.label_width, *(cell_len(label) for label, _ in self.rows)]) + 2
        room = options.max_width - width
        for label, value in self.rows:
            if value.cell_len <= room:  # the common case: straight to segments, no wrapping
                yield Segment(set_cell_size(label, width), DIM)
                yield from value.render(console)
                yield Segment.line()
                continue
            if room >= _MIN_ROOM:
                indent, lines = width, value.wrap(console, room, overflow="fold")
                head: Text | None = Text(set_cell_size(label, width), style="dim")
            else:  # too narrow for a value column: the label on its line, the value below
                yield Text(label, style="dim")
                indent = 2
                lines = value.wrap(console, max(options.max_width - indent, 1), overflow="fold")
                head = None
            for part in lines:
                part.rstrip()
                line = (head if head is not None else Text(" " * indent)) + part
                head = None
                line.end = "\n"
                yield line


class PlainTable:
    """A table of plain text: the first column right-aligned, the second bold.

    Written by hand rather than with ``rich.table.Table``: a job can carry tens of
    thousands of mappings (or failed rows) and this renders them about a hundred times
    faster. When the table does not fit the width at its natural size it is shown
    stacked, one block of ``Header  value`` lines per record, so no cell is ever cut.
    Cells must already be safe (``safe()``).
    """

    GAP = "  "

    def __init__(
        self, title: str, headers: tuple[str, ...], rows: Sequence[tuple[str, ...]]
    ) -> None:
        self.title = title
        self.HEADERS = headers
        self.rows = rows

    def _widths(self) -> list[int]:
        widths = [cell_len(h) for h in self.HEADERS]
        for row in self.rows:
            for i, value in enumerate(row):
                if len(value) > widths[i] or not value.isascii():
                    widths[i] = max(widths[i], cell_len(value))
        return widths

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        widths = self._widths()
        yield Text(self.title, style="bold")
        rule = sum(widths) + len(self.GAP) * (len(widths) - 1)
        if rule > options.max_width:
            yield from self._stacked()
            return
        yield from self._line(self.HEADERS, widths, BOLD, BOLD)
        yield Segment(("-" if options.ascii_only else "─") * rule, DIM)
        yield Segment.line()
        yield from self._body(console, widths)

    BATCH = 500  # rows per segment when nothing is styled

    def _body(self, console: Console, widths: list[int]) -> Iterator[Segment]:
        """The rows; without styles (a pipe), as plain text in a few large segments: rich's
        work is per segment, and a table can have tens of thousands of rows."""
        if console.color_system is not None:
            for row in self.rows:
                yield from self._line(row, widths, None, BOLD)
            return
        lines: list[str] = []
        for count, row in enumerate(self.rows, 1):
            lines.extend(segment.text for segment in self._line(row, widths, None, None))
            if count % self.BATCH == 0:
                yield Segment("".join(lines))
                lines = []
        if lines:
            yield Segment("".join(lines))

    def _stacked(self) -> Iterator[Fields | Text]:
        label_width = max(cell_len(h) for h in self.HEADERS)
        for n, row in enumerate(self.rows):
            if n:
                yield Text()  # a blank line between records
            block = Fields(label_width)
            for n, (header, value) in enumerate(zip(self.HEADERS, row, strict=True)):
                if value or n == 0:
                    block.add_row(header, Text(value, style="bold" if n == 1 else ""))
            yield block

    def _line(
        self, row: tuple[str, ...], widths: list[int], style: Style | None, name: Style | None
    ) -> Iterator[Segment]:
        gap = self.GAP
        rest = gap.join(set_cell_size(v, w) for v, w in zip(row[2:], widths[2:], strict=True))
        rest = rest.rstrip()
        yield Segment(row[0].rjust(widths[0]) + gap, style)
        if rest:
            yield Segment(set_cell_size(row[1], widths[1]), name)
            yield Segment(gap + rest, style)
        else:
            yield Segment(row[1], name)
        yield Segment.line()
