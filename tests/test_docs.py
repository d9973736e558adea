"""Every README check, in one place: its exit-code table against ``ExitCode`` and its
severity order, its command table against the app (every command and option documented,
nothing documented that does not exist), its versions against the sandbox's, and its
examples run as printed against the sandbox (every ``zbulk job …`` and ``curl …`` line of
its ``sh`` blocks, placeholders like ``<id>`` aside, in order, in one folder, through bash
with ``pipefail``, the installed ``zbulk`` and the real ``jq``)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from zbulk.errors import SEVERITY, ExitCode

README_PATH = Path(__file__).resolve().parents[1] / "README.md"
README = README_PATH.read_text(encoding="utf-8")


def section(title: str) -> str:
    return README.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_exit_code_table_lists_every_exit_code_once() -> None:
    table = section("Exit codes")
    codes = [int(c) for c in re.findall(r"^\| (\d+) \|", table, re.M)]
    assert codes == sorted(int(code) for code in ExitCode)  # each once, in order


def test_severity_order_in_the_readme_is_the_codes() -> None:
    table = section("Exit codes")
    match = re.search(r"most severe, in this order:\s*([\d,\s]+)\.", table)
    assert match is not None
    order = [int(c) for c in match[1].replace("\n", " ").split(",")]
    assert order == [int(code) for code in SEVERITY]


def test_documented_versions_are_the_sandbox_versions() -> None:
    from zbulk.sandbox.jobs import VERSIONS

    assert "`v2`, `v2.1`, `v3` … `v8`" in README
    assert ("v2", "v2.1", *(f"v{n}" for n in range(3, 9))) == VERSIONS


def _all_commands() -> list[tuple[str, object]]:
    from zbulk.cli import walk

    return list(walk())


def test_readme_command_table_matches_the_app() -> None:
    table = README.split("## Commands\n", 1)[1].strip().split("\n\n", 1)[0]
    groups = {path for path, cmd in _all_commands() if getattr(cmd, "commands", None)}
    documented: dict[str, set[str]] = {}
    for row in re.findall(r"^\| `zbulk ([^`]+)`", table, re.M):
        words = row.replace("\\|", "|").split()
        path: list[str] = []
        for word in words:  # command words; `a|b|c` are subcommands only after a group
            if not re.fullmatch(r"[a-z][a-z|]*", word) or (
                "|" in word and " ".join(path) not in groups
            ):
                break
            path.append(word)
        options = set(re.findall(r"--[a-z][a-z-]*", row))
        *group, last = path or [""]
        for name in last.split("|"):
            documented[" ".join([*group, name]).strip()] = options
    app: dict[str, set[str]] = {}
    for path, cmd in _all_commands():
        if getattr(cmd, "commands", None):
            continue
        opts = {
            o
            for p in cmd.params
            if not getattr(p, "hidden", False)  # the global ones
            for o in getattr(p, "opts", ())
            if o.startswith("--")
        }
        app[path] = opts - {"--help"}
    documented.pop("", None)
    assert set(documented) == set(app), set(documented) ^ set(app)
    for path, options in app.items():
        assert documented[path] == options, (path, documented[path] ^ options)


RUNNABLE = re.compile(r"^(zbulk job |curl )")


def examples() -> list[str]:
    lines, inside = [], False
    for line in README.splitlines():
        if line.startswith("```"):
            inside = line.strip() == "```sh"
            continue
        if inside and RUNNABLE.match(line) and "<" not in line and "…" not in line:
            lines.append(line)
    return lines


def test_the_readme_has_results_examples() -> None:
    found = examples()
    assert any("--source" in line for line in found)
    assert any("--file" in line for line in found)
    assert any("jq '.resource[].file'" in line for line in found)


@pytest.mark.skipif(not (shutil.which("jq") and shutil.which("curl")), reason="needs jq and curl")
def test_readme_examples_run_as_printed(sandbox, env, tmp_path: Path) -> None:
    environ = dict(
        os.environ, ZBULK_API_DOMAIN=sandbox.url, ZBULK_TOKEN=sandbox.token, NO_COLOR="1"
    )
    for line in examples():
        r = subprocess.run(
            ["bash", "-o", "pipefail", "-c", line],
            cwd=tmp_path,
            env=environ,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert r.returncode == 0, f"{line}\n{r.stderr}"
        assert "Traceback" not in r.stderr, line
        assert "null" not in r.stdout.split(), f"{line} printed null:\n{r.stdout}"
        if line.startswith("zbulk"):
            assert r.stdout.strip(), f"{line} printed nothing"
    written = sorted(p.name for p in (tmp_path / "fix").iterdir())
    assert "4150868000006801004-Accounts-failed.csv" in written
    assert (tmp_path / "offline" / "4150868000006801004-Accounts-failed.csv").read_bytes() == (
        tmp_path / "fix" / "4150868000006801004-Accounts-failed.csv"
    ).read_bytes()


def test_the_import_check_against_the_org_is_documented() -> None:
    """The README's import section and ``job import --help`` name the check's options and
    the scopes it reads."""
    from typer.testing import CliRunner

    from zbulk.cli import app

    imports = README.split("### `zbulk job import` and `zbulk job retry`", 1)[1].split("\n## ")[0]
    helped = CliRunner().invoke(app, ["job", "import", "--help"], env={"COLUMNS": "200"}).output
    for text in (
        "--skip-invalid",
        "--no-metadata",
        "--refresh-metadata",
        "-rejected.csv",
        "ZohoCRM.settings.modules.READ",
        "ZohoCRM.settings.ALL",
    ):
        assert text in imports, text
        assert text.replace("ZohoCRM.settings.modules", ".modules") in helped or text in helped


def test_the_imports_section_says_what_the_code_does() -> None:
    """Parts, credits, the import id and --parallel as the README states them."""
    import inspect

    from zbulk.commands.job_import import import_command
    from zbulk.jobs import import_record, importing, split

    text = " ".join(README.split())
    assert split.MAX_RECORDS == 25_000 and "at most 25,000 records" in text
    assert split.MAX_PART_BYTES == 25 * 1024 * 1024 and "25 MB (25 × 1024 × 1024 bytes" in text
    assert f"({importing.CREDITS_PER_JOB} API credits each" in text
    example = re.search(r"`(imp-[a-z0-9]+)`\)", text)
    assert example and import_record.ID_RE.fullmatch(example[1])
    assert import_record.ID_RE.fullmatch(import_record.new_id())
    assert inspect.signature(import_command).parameters["parallel"].default == 2
    assert "`--parallel N` (default 2)" in text


def test_the_layout_names_every_module_and_nothing_else() -> None:
    """The README's layout table has one line for each module (and package) of zbulk."""
    table = README.split("\n### Layout\n", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^\| `(zbulk/[\w/]*(?:\.py)?)` \|", table, re.M)
    assert len(listed) == len(set(listed)), "a module is listed twice"
    root = README_PATH.parent
    present = set()
    for path in (root / "zbulk").rglob("*.py"):
        relative = path.relative_to(root).as_posix()
        if path.name == "__init__.py":
            if path.parent.name != "zbulk":
                present.add(path.parent.relative_to(root).as_posix() + "/")
        else:
            present.add(relative)
    assert set(listed) == present, set(listed) ^ present
