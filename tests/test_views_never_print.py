"""Views build renderables and never print (issue 23, item 7 / Build 4).

A module under ``zbulk/views/`` returns rich renderables or text; the output layer
(``zbulk/output.py``) decides where and how they are written: stdout or stderr, JSON or
human, a live display or plain lines. This test reads every view module and fails on any
call that writes or drives a display, and on an import of the live display or of
``Output`` itself (a view holding the writer is a view that can write).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VIEWS = ROOT / "zbulk" / "views"

# Methods of Output, of a rich Console or of a Live display that write or draw.
WRITING_METHODS = {
    "print", "write", "write_line", "warn", "note", "json", "log", "error", "emit",
    "control", "say", "rule", "print_json", "out", "input", "refresh", "update",
    "stream_events", "live",
}  # fmt: skip
WRITING_CALLS = {"Live", "Console", "Output", "print"}
FORBIDDEN_IMPORTS = {"rich.live": "the live display is the output layer's"}
FORBIDDEN_NAMES = {("zbulk.output", "Output"): "views are handed nothing to write with"}

# Module -> "name" -> reason. Empty on purpose: add an entry only with its reason.
ALLOWED: dict[str, dict[str, str]] = {}


def view_modules() -> list[Path]:
    return sorted(VIEWS.rglob("*.py"))


def writes(source: str) -> list[str]:
    """What in ``source`` writes, draws or imports the means to: ``line: what``."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in WRITING_METHODS:
                found.append(f"{node.lineno}: .{func.attr}(")
            elif isinstance(func, ast.Name) and func.id in WRITING_CALLS:
                found.append(f"{node.lineno}: {func.id}(")
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            if node.module in FORBIDDEN_IMPORTS:
                found.append(f"{node.lineno}: from {node.module} import")
            for alias in node.names:
                if (node.module, alias.name) in FORBIDDEN_NAMES:
                    found.append(f"{node.lineno}: {node.module}.{alias.name}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in FORBIDDEN_IMPORTS:
                    found.append(f"{node.lineno}: import {alias.name}")
    return found


def test_there_are_views_to_check() -> None:
    names = {p.name for p in view_modules()}
    assert {"watch.py", "job.py", "widgets.py"} <= names


@pytest.mark.parametrize("path", view_modules(), ids=lambda p: p.name)
def test_a_view_module_never_writes(path: Path) -> None:
    rel = path.relative_to(ROOT).as_posix()
    allowed = ALLOWED.get(rel, {})
    bad = [w for w in writes(path.read_text()) if w.split(": ", 1)[1] not in allowed]
    assert not bad, (
        f"{rel} writes or drives a display itself ({', '.join(bad)}); build a renderable "
        "or text and let zbulk.output write it"
    )


def test_every_allow_list_entry_has_its_reason() -> None:
    for module, names in ALLOWED.items():
        assert (ROOT / module).is_file(), module
        for name, reason in names.items():
            assert len(reason.split()) >= 5, f"{module}: {name} needs its reason"


@pytest.mark.parametrize(
    "line",
    [
        "self.out.err.print(line, soft_wrap=True)",
        "self.out.json(fetched)",
        "self.out.warn('x')",
        "self.out.note('x')",
        "out.log('x')",
        "console.print(x)",
        "stream.write('x')",
        "Live(panel, console=c).start()",
        "from rich.live import Live",
        "from zbulk.output import Output",
    ],
)
def test_the_check_catches_each_way_of_writing(line: str) -> None:
    assert writes(line), line


def test_the_check_lets_renderables_be_built() -> None:
    source = (
        "from rich.text import Text\nfrom zbulk.output import safe\n"
        "def f(x):\n    t = Text(safe(x))\n    t.append('y')\n    return t\n"
    )
    assert writes(source) == []
