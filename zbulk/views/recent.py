"""``zbulk job recent``: id, last known status, and when it was seen."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.console import RenderableType
from rich.text import Text

from zbulk.output import safe
from zbulk.views.widgets import PlainTable, relative


def recent_view(seen: list[dict[str, object]]) -> RenderableType:
    """``zbulk job recent``: id, last known status, and when it was seen."""
    if not seen:
        return Text(
            "No jobs seen yet with this profile and API domain: the jobs you show or "
            "watch appear here.",
            style="dim",
        )
    now = datetime.now(UTC)
    if any("import" in e for e in seen):
        return _grouped(seen, now)
    rows = [
        (
            str(i),
            safe(str(e["id"])),
            safe(str(e.get("status") or "—")),
            safe(", ".join(e.get("modules") or []) or "—"),  # type: ignore[arg-type]
            safe(str(e.get("operation") or "—")),
            relative(datetime.fromtimestamp(float(e["seen"]), UTC), now),  # type: ignore[arg-type]
        )
        for i, e in enumerate(seen, 1)
    ]
    columns = ("#", "Job", "Last status", "Modules", "Operation", "Seen")
    return PlainTable(f"Recent jobs ({len(rows)})", columns, rows)


def _grouped(seen: list[dict[str, object]], now: datetime) -> RenderableType:
    """Jobs with an Import column: an import's jobs one after another, ``imp-… 2/5``."""
    rows = [
        (
            str(i),
            safe(str(e["id"])),
            safe(f"{e['import']} {e['part']}/{e['parts']}") if "import" in e else "—",
            safe(str(e.get("status") or "—")),
            safe(", ".join(e.get("modules") or []) or "—"),  # type: ignore[arg-type]
            safe(str(e.get("operation") or "—")),
            relative(datetime.fromtimestamp(float(e["seen"]), UTC), now),  # type: ignore[arg-type]
        )
        for i, e in enumerate(seen, 1)
    ]
    columns = ("#", "Job", "Import", "Last status", "Modules", "Operation", "Seen")
    return PlainTable(f"Recent jobs ({len(rows)})", columns, rows)
