"""The README's tables against the code: exit codes against ``ExitCode`` and its severity
order; (the command table against the app is tests/test_output_contract.py's
``test_readme_command_table_matches_the_app``)."""

from __future__ import annotations

import re
from pathlib import Path

from zbulk.errors import SEVERITY, ExitCode

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


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
