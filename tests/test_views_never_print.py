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
    "print",
    "write",
    "write_line",
    "warn",
    "note",
    "json",
    "log",
    "error",
    "emit",
    "control",
    "say",
    "rule",
    "print_json",
    "out",
    "input",
    "refresh",
    "update",
    "stream_events",
    "live",
}
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


# -- commands never pick the format: they hand a result (or events) to Output ----------

COMMANDS = ROOT / "zbulk" / "commands"
WRITERS = {"write_line", "print", "note", "warn", "json", "emit", "write"}


def format_branches(source: str) -> list[str]:
    """``if as_json:`` (or ``self.as_json``) with a write in one of its branches."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.If | ast.IfExp):
            continue
        names = {n.id for n in ast.walk(node.test) if isinstance(n, ast.Name)}
        names |= {n.attr for n in ast.walk(node.test) if isinstance(n, ast.Attribute)}
        if "as_json" not in names:
            continue
        body = node.body if isinstance(node.body, list) else [node.body]
        orelse = node.orelse if isinstance(node.orelse, list) else [node.orelse]
        for part in [*body, *orelse]:
            for call in ast.walk(part):
                if (
                    isinstance(call, ast.Call)
                    and isinstance(call.func, ast.Attribute)
                    and call.func.attr in WRITERS
                ):
                    found.append(f"{node.lineno}: .{call.func.attr}(")
    return found


@pytest.mark.parametrize("path", sorted(COMMANDS.rglob("*.py")), ids=lambda p: p.name)
def test_a_command_never_picks_the_format(path: Path) -> None:
    bad = format_branches(path.read_text())
    assert not bad, (
        f"{path.relative_to(ROOT)} writes differently with --json ({', '.join(bad)}); "
        "hand a report to Output.emit (or events to Output.stream_events) instead"
    )


def test_the_format_check_catches_a_branch() -> None:
    assert format_branches("if as_json:\n    out.write_line(x)\nelse:\n    out.note(y)\n")
    assert format_branches("if self.as_json:\n    self.out.json(a)\n")
    assert not format_branches("if as_json:\n    parts.append('--json')\n")


# -- the output layer chooses the form of a stream of events ---------------------------


class Events:
    """A stream of one kind of event, ``"change"``, whose item is a word."""

    def panel(self) -> str:
        return "PANEL"

    def json_line(self, kind: str, item: str) -> str:
        return f'{{"word":"{item}"}}'

    def line(self, kind: str, item: str) -> str:
        return f"line {item}"

    def above(self, kind: str, item: str) -> list[object]:
        from zbulk.output import Notice

        return [f"above {item}", Notice(f"hint {item}")]

    def said(self, kind: str, item: str) -> list[object]:
        from zbulk.output import Notice

        return [Notice(f"careful {item}", warning=True)]


def streamed(*, as_json: bool, terminal: bool) -> tuple[str, str]:
    import io

    from zbulk.output import Output

    out_s, err_s = io.StringIO(), io.StringIO()
    out = Output(out_s, err_s, force_terminal=terminal, width=80)
    writer = out.stream_events(Events(), as_json=as_json)  # type: ignore[arg-type]
    writer.start()
    writer.event("change", "one")
    writer.stop()
    return out_s.getvalue(), err_s.getvalue()


def test_events_with_json_are_ndjson_on_stdout_and_messages_on_stderr() -> None:
    stdout, stderr = streamed(as_json=True, terminal=True)
    assert stdout == '{"word":"one"}\n'
    assert "warning: careful one" in stderr
    assert "PANEL" not in stderr and "line one" not in stderr


def test_events_on_a_pipe_are_plain_lines_on_stderr() -> None:
    stdout, stderr = streamed(as_json=False, terminal=False)
    assert stdout == ""
    assert stderr == "line one\nwarning: careful one\n"


def test_events_on_a_terminal_are_a_live_display_with_lines_above_it() -> None:
    stdout, stderr = streamed(as_json=False, terminal=True)
    assert stdout == ""
    plain = __import__("re").sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", stderr)
    assert "PANEL" in plain and "above one" in plain and "hint one" in plain
    assert "line one" not in plain
