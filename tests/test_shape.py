"""The package's shape: every module imports on its own, no import cycles inside zbulk/ (the
module graph read from the source with ast, lazy imports inside functions included), and
everything imports on a platform without fcntl (Windows)."""

from __future__ import annotations

import ast
import functools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent / "zbulk"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = sorted(module_name(p) for p in ROOT.rglob("*.py"))


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """zbulk modules imported anywhere in ``path`` (``if TYPE_CHECKING:`` blocks excepted:
    they never run). ``from zbulk import x`` counts as importing ``zbulk.x`` if it is one."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for child in node.body for n in ast.walk(child))
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:  # a submodule, else a name defined in ``base``
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in modules else base)
    # Importing a.b.c first runs the packages a and a.b, except those this module is inside
    # of (they are already being imported when it runs).
    mine = {".".join(me.split(".")[:i]) for i in range(1, me.count(".") + 1)}
    closed = set(found)
    for name in found:
        parts = name.split(".")
        closed.update(".".join(parts[:i]) for i in range(1, len(parts)))
    closed -= mine - found
    return {m for m in closed if m in modules and m != me and m != "zbulk"}


@functools.cache
def graph() -> dict[str, set[str]]:
    modules = set(MODULES)
    return {module_name(p): imports_of(p, modules) for p in ROOT.rglob("*.py")}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_cycle_finder_finds_cycles() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    modules = set(MODULES)
    edges = imports_of(ROOT / "auth" / "profiles.py", modules)
    assert {"zbulk.config", "zbulk.auth.oauth", "zbulk.auth.state", "zbulk.client"} <= edges


def test_no_import_cycle_inside_zbulk() -> None:
    cycle = find_cycle(graph())
    assert cycle is None, " -> ".join(cycle or [])


def test_auth_package_layers() -> None:
    """model and datacentres import no other auth module; nothing but profiles and the
    command import the use-cases."""
    edges = graph()
    assert not {m for m in edges["zbulk.auth.model"] if m.startswith("zbulk.auth")}
    assert not {m for m in edges["zbulk.auth.datacentres"] if m.startswith("zbulk.auth")}
    users = {m for m, e in edges.items() if "zbulk.auth.profiles" in e}
    assert users <= {"zbulk.commands.auth"}


# One interpreter loads the third-party libraries zbulk uses (none of zbulk), then forks a
# child per module that imports that module and nothing else of zbulk: each import starts
# from a process where no zbulk module is loaded, without paying interpreter start-up and
# the libraries' imports fifty times.
IMPORT_EACH = """
import json, os, sys, traceback
for lib in ("typer", "rich.console", "rich.table", "requests", "urllib3", "platformdirs",
            "tomlkit", "filelock"):
    __import__(lib)
assert not [m for m in sys.modules if m == "zbulk" or m.startswith("zbulk.")]
results = {}
for name in sys.argv[1:]:
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            __import__(name)
            message = b""
        except BaseException:
            message = traceback.format_exc().encode()
        os.write(w, message)
        os._exit(1 if message else 0)
    os.close(w)
    chunks = []
    while chunk := os.read(r, 65536):
        chunks.append(chunk)
    os.close(r)
    status = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    results[name] = [status, b"".join(chunks).decode("utf-8", "replace")]
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def imported_alone() -> dict[str, list[Any]]:
    """Each module's exit status and traceback, imported alone in a fresh child."""
    r = subprocess.run([sys.executable, "-c", IMPORT_EACH, *MODULES], capture_output=True,
                       text=True, timeout=120)  # fmt: skip
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)  # type: ignore[no-any-return]


@pytest.mark.parametrize("module", MODULES)
def test_each_module_imports_alone(module: str, imported_alone: dict[str, list[Any]]) -> None:
    status, traceback = imported_alone[module]
    assert status == 0, traceback


NO_FCNTL = """
import importlib, sys
sys.modules["fcntl"] = None  # `import fcntl` now raises ImportError, as on Windows
for name in sys.argv[1:]:
    importlib.import_module(name)
print("ok")
"""


def test_every_module_imports_without_fcntl() -> None:
    r = subprocess.run([sys.executable, "-c", NO_FCNTL, *MODULES], capture_output=True,
                       text=True, timeout=120)  # fmt: skip
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr


def test_more_than_three_parameters_are_keyword_only() -> None:
    """In the auth package and its command, a function taking more than three parameters
    takes the rest by keyword (no adjacent strings to mix up)."""
    offenders = []
    paths = [*sorted((ROOT / "auth").glob("*.py")), ROOT / "commands" / "auth.py"]
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                positional = [a.arg for a in node.args.posonlyargs + node.args.args
                              if a.arg not in ("self", "cls")]  # fmt: skip
                if len(positional) > 3 and not node.name.startswith("test"):
                    offenders.append(f"{path.name}:{node.lineno} {node.name}{positional}")
    # typer commands take their options positionally by design (the framework passes them)
    offenders = [o for o in offenders if not o.startswith("auth.py") or " login[" not in o]
    assert offenders == []
