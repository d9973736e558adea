"""One terminal writer (issue 22, Build 1): only ``zbulk/output.py`` writes to stdout,
stderr or the terminal, so everything zbulk shows passes its one sanitiser.

The door test reads every module under ``zbulk/`` and fails on any way around it; the
others check at run time what no source line shows: Python's own "Exception ignored",
``warnings``, library log records, and the sandbox server's request log.
"""

from __future__ import annotations

import ast
import contextlib
import io
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "zbulk"
LAYER = "zbulk/output.py"

# Module -> names it may use, each with its reason. Keep it short.
ALLOWED: dict[str, dict[str, str]] = {
    "zbulk/notify.py": {
        "subprocess.run": "runs the desktop's notification tool with stdin, stdout and stderr "
        "on /dev/null; its text goes through the sanitiser and markup escaping first",
    },
    "zbulk/commands/import_flow.py": {
        "subprocess.run": "`job retry --edit` hands the terminal to the user's own $EDITOR, "
        "on purpose, and waits for it; zbulk writes nothing meanwhile",
    },
}
# Attribute chains and calls that reach a terminal by themselves.
FORBIDDEN_ATTRS = {
    "sys.stdout",
    "sys.stderr",
    "sys.stdin",
    "sys.__stdout__",
    "sys.__stderr__",
    "sys.__stdin__",
    "typer.echo",
    "typer.secho",
    "typer.prompt",
    "typer.confirm",
    "click.echo",
    "click.secho",
    "click.prompt",
    "click.confirm",
    "click.getchar",
    "click.echo_via_pager",
    "typer.echo_via_pager",
    "warnings.warn",
    "logging.basicConfig",
    "logging.StreamHandler",
    "logging.debug",
    "logging.info",
    "logging.warning",
    "logging.error",
    "logging.exception",
    "logging.critical",
    "logging.log",
    "traceback.print_exc",
    "traceback.print_exception",
    "traceback.print_stack",
    "faulthandler.enable",
    "os.write",
    "rich.print",
    "rich.console.Console",
    # a child process inherits the terminal unless told otherwise
    "subprocess.run",
    "subprocess.Popen",
    "subprocess.call",
    "subprocess.check_call",
    "subprocess.check_output",
    "os.system",
    "os.popen",
    "os.execv",
    "os.execvp",
    "os.spawnv",
    "webbrowser.open",
}
FORBIDDEN_CALLS = {"print", "input", "breakpoint", "pprint", "Console", "getpass"}
FORBIDDEN_IMPORTS = {"getpass", "pprint", "pdb", "code", "readline"}
FORBIDDEN_STRINGS = {"/dev/tty", "CONOUT$", "CONIN$"}


def dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def ways_around(source: str) -> Iterator[tuple[int, str]]:
    """(line, what) for each way to the terminal that does not pass through Output."""
    tree = ast.parse(source)
    imported: dict[str, str] = {}  # local name -> what it is: `from sys import stderr`
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                imported[alias.asname or alias.name.split(".")[0]] = (
                    alias.name if alias.asname else alias.name.split(".")[0]
                )
                if alias.name.split(".")[0] in FORBIDDEN_IMPORTS:
                    yield node.lineno, f"import {alias.name}"
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                imported[alias.asname or alias.name] = full
                if node.module.split(".")[0] in FORBIDDEN_IMPORTS or (
                    full in FORBIDDEN_ATTRS and full != "rich.console.Console"  # a type
                ):
                    yield node.lineno, f"from {node.module} import {alias.name}"
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            name = dotted(node)
            if name is not None:
                head, _, rest = name.partition(".")
                full = f"{imported.get(head, head)}.{rest}" if rest else name
                if any(full == f or full.startswith(f + ".") for f in FORBIDDEN_ATTRS):
                    yield node.lineno, name
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            name = node.func.id
            full = imported.get(name, name)
            if name in FORBIDDEN_CALLS or full in FORBIDDEN_ATTRS or full.endswith(".Console"):
                yield node.lineno, f"{name}(…)"
        elif isinstance(node, ast.Constant) and node.value in FORBIDDEN_STRINGS:
            yield node.lineno, repr(node.value)


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def test_only_the_output_layer_writes_to_the_terminal() -> None:
    found = []
    for path in modules():
        where = str(path.relative_to(ROOT))
        if where == LAYER:
            continue
        for line, what in ways_around(path.read_text(encoding="utf-8")):
            if what.removesuffix("(…)") in ALLOWED.get(where, {}):
                continue
            found.append(f"{where}:{line}: {what}")
    assert not found, "write through zbulk.output.Output instead:\n" + "\n".join(found)


@pytest.mark.parametrize(
    "line",
    [
        'sys.stderr.write("x")',
        "print(x)",
        "print(x, file=sys.stderr)",
        "from sys import stderr\nstderr.write(x)",
        "import sys as s\ns.stdout.write(x)",
        'typer.echo("x", err=True)',
        'click.echo("x")',
        "typer.prompt('Token', hide_input=True)",
        "import getpass\ngetpass.getpass()",
        "from getpass import getpass\ngetpass()",
        "input('? ')",
        "Console(file=f)",
        "rich.console.Console()",
        "from rich.console import Console as C\nC()",
        "warnings.warn('x')",
        "logging.warning('x')",
        "logging.basicConfig()",
        "open('/dev/tty', 'w')",
        "os.write(2, b'x')",
        "traceback.print_exc()",
        "subprocess.run(['vi', path])",
        "os.system('clear')",
    ],
)
def test_the_door_test_finds_each_way_around(line: str) -> None:
    assert list(ways_around(line)), line


def test_a_command_that_writes_to_stderr_fails_the_door_test(tmp_path: Path) -> None:
    """The check is on the real tree: a command module with one `sys.stderr.write` added
    (as `_confirm` in commands/imports.py, now job_import.py, was) is found, with its line."""
    source = (PACKAGE / "commands" / "job_import.py").read_text(encoding="utf-8")
    assert not list(ways_around(source))
    tampered = source + "\n\ndef _confirm(q: str) -> None:\n    sys.stderr.write(q)\n"
    added = len(source.splitlines()) + 4
    assert {(line, what) for line, what in ways_around(tampered)} >= {(added, "sys.stderr")}


def test_the_allow_list_is_short_and_every_entry_is_used() -> None:
    assert sum(len(v) for v in ALLOWED.values()) <= 5
    for where, names in ALLOWED.items():
        found = {what for _, what in ways_around((ROOT / where).read_text(encoding="utf-8"))}
        for name, reason in names.items():
            assert name in found and len(reason) > 20, (where, name)


# --- what Python and libraries write by themselves ---------------------------------------


def run_zbulk(
    code: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``code`` (which may set things up), then zbulk's entry point with ``args``."""
    script = textwrap.dedent(code) + (
        "\nimport sys\nsys.argv = ['zbulk', *sys.argv[1:]]\nfrom zbulk.__main__ import run\nrun()\n"
    )
    return subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=ROOT / "tests",
    )


def test_library_logs_warnings_and_lost_exceptions_go_through_output(sandbox) -> None:
    """A library's WARNING record (with no handler of its own, Python's last-resort handler
    printed it raw), ``warnings``, a thread's uncaught exception and an exception in a
    finalizer ("Exception ignored in", with a traceback) are -v lines, sanitised."""
    import os

    setup = """
        import logging, threading, warnings
        from zbulk.commands import job
        shown = job.show_jobs
        def noisy(*args, **kwargs):
            logging.getLogger("a.library").warning("pool \\x1b]52;c;eA==\\x07 full")
            warnings.warn("old \\x1b[2J thing")
            class Finalized:
                def __del__(self):
                    raise ValueError("in __del__ \\x1b[31m")
            Finalized()
            t = threading.Thread(target=lambda: 1 / 0, name="worker")
            t.start(); t.join()
            return shown(*args, **kwargs)
        job.show_jobs = noisy
    """
    env = {**os.environ, "ZBULK_API_DOMAIN": sandbox.url, "ZBULK_TOKEN": sandbox.token}
    from zbulk.sandbox import DEMO_JOBS

    quiet = run_zbulk(setup, "job", "show", "--brief", DEMO_JOBS["large"], env=env)
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == ""
    loud = run_zbulk(setup, "job", "show", "--brief", DEMO_JOBS["large"], "-v", env=env)
    assert loud.returncode == 0, loud.stderr
    assert "\x1b" not in loud.stderr and "Traceback" not in loud.stderr
    said = (
        "pool \\x1b]52;c;eA==\\x07 full",
        "UserWarning: old \\x1b[2J thing",
        "ValueError: in __del__ \\x1b[31m",
        "worker failed: ZeroDivisionError",
    )
    for line in said:
        assert line in loud.stderr, (line, loud.stderr)


def test_the_sandbox_server_writes_nothing_to_the_terminal(make_sandbox, capfd) -> None:
    """http.server logs every request and error to stderr unless told otherwise."""
    import socket
    import urllib.request

    server = make_sandbox()
    capfd.readouterr()
    for path in ("/crm/bulk/v8/write/1", "/nowhere", "/crm/v8/org"):
        with contextlib.suppress(OSError):
            urllib.request.urlopen(server.url + path, timeout=5).close()
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"\x1b]0;garbage\x07 / HTTP/9\r\n\r\n")
        sock.recv(1024)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_output_asks_through_the_sanitiser() -> None:
    from zbulk.output import Output

    err = io.StringIO()
    out = Output(io.StringIO(), err, stdin=io.StringIO("yes\n"))
    assert out.confirm("Import into \x1b[2K\rEvil \u202eCorp?") is True
    assert err.getvalue() == "Import into \\x1b[2K\\rEvil \\u202eCorp? [y/N] "
    out = Output(io.StringIO(), io.StringIO(), stdin=io.StringIO("\n"))
    assert out.ask("Choice", default="2") == "2"
