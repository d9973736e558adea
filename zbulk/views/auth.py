"""``zbulk auth status``: one block per credential, never a secret."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.console import Group, RenderableType
from rich.text import Text

from zbulk.views.widgets import Fields, cell, relative

_fields = Fields


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
                grid.add_row(
                    "Access token", Text(f"{state}, expires {relative(when, now)}", style=style)
                )
            if entry.get("warning"):
                grid.add_row("Warning", cell(_opt(entry.get("warning")), "yellow"))
            if entry.get("error"):
                grid.add_row("Problem", cell(_opt(entry.get("error")), "red"))
                grid.add_row("Fix", cell(_opt(entry.get("login_command"))))
        parts.extend([title, grid, Text()])
    return Group(*parts)


def _opt(value: object) -> str | None:
    return None if value is None else str(value)
