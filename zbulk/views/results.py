"""``zbulk job results``: counts by STATUS, errors grouped, and failed rows."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text

from zbulk.output import safe
from zbulk.results import Summary
from zbulk.views.widgets import PlainTable


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
