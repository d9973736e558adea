"""The package's shape: the import contracts of pyproject.toml hold (layers, no cycles, the
core free of auth and output, one HTTP layer: import-linter, lazy imports inside functions
included), every module imports on its own, and everything imports on a platform without
fcntl (Windows)."""

from __future__ import annotations

import ast
import json
import os
import shutil
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


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` (import-linter, the contracts in pyproject.toml) on the package
    under ``root``."""
    script = Path(sys.executable).with_name("lint-imports")
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(script), "--config", str(ROOT.parent / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_import_contracts_hold() -> None:
    """The layers, no cycles, the core free of auth and output, one HTTP layer: the
    contracts of [tool.importlinter], as .ci/run checks them."""
    r = lint_imports(ROOT.parent)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 broken" in r.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("watch.py", "from zbulk import output", "The core never imports"),
        ("auth/model.py", "from zbulk import client", "auth and the API client"),
        ("orgid.py", "import requests", "Only the HTTP layer talks HTTP"),
        ("config.py", "from zbulk import orgid", "No import cycle"),
        ("output.py", "from zbulk.commands import job", "Layers"),
    ],
)
def test_import_contracts_catch_a_wrong_import(
    tmp_path: Path, module: str, line: str, contract: str
) -> None:
    """Each contract fails on the import it forbids (in a copy of the package)."""
    shutil.copytree(ROOT, tmp_path / "zbulk", ignore=shutil.ignore_patterns("__pycache__"))
    target = tmp_path / "zbulk" / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")
    r = lint_imports(tmp_path)
    assert r.returncode != 0
    broken = [t for t in r.stdout.splitlines() if " BROKEN" in t]
    assert any(t.startswith(contract) for t in broken), r.stdout


# One interpreter loads the third-party libraries zbulk uses (none of zbulk), then forks a
# child per module that imports that module and nothing else of zbulk: each import starts
# from a process where no zbulk module is loaded, without paying interpreter start-up and
# the libraries' imports fifty times.
IMPORT_EACH = """
import json, os, sys, traceback
for lib in ("typer", "rich.console", "rich.table", "requests", "urllib3", "platformdirs",
            "tomlkit"):
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
    r = subprocess.run(
        [sys.executable, "-c", IMPORT_EACH, *MODULES], capture_output=True, text=True, timeout=120
    )
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
    r = subprocess.run(
        [sys.executable, "-c", NO_FCNTL, *MODULES], capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr


def test_more_than_three_parameters_are_keyword_only() -> None:
    """In the auth package and its command, a function taking more than three parameters
    takes the rest by keyword (no adjacent strings to mix up)."""
    offenders = []
    paths = [*sorted((ROOT / "auth").glob("*.py")), ROOT / "commands" / "auth.py"]
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                positional = [
                    a.arg
                    for a in node.args.posonlyargs + node.args.args
                    if a.arg not in ("self", "cls")
                ]
                if len(positional) > 3 and not node.name.startswith("test"):
                    offenders.append(f"{path.name}:{node.lineno} {node.name}{positional}")
    # typer commands take their options positionally by design (the framework passes them)
    offenders = [o for o in offenders if not o.startswith("auth.py") or " login[" not in o]
    assert offenders == []
