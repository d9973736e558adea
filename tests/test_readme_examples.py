"""The README's examples run as printed against the sandbox: every ``zbulk job …`` and
``curl …`` line of its ``sh`` blocks (placeholders like ``<id>`` aside), in order, in one
folder, through bash with ``pipefail``, the installed ``zbulk`` and the real ``jq``."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
RUNNABLE = re.compile(r"^(zbulk job |curl )")


def examples() -> list[str]:
    lines, inside = [], False
    for line in README.read_text(encoding="utf-8").splitlines():
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
    environ = dict(os.environ, ZBULK_API_DOMAIN=sandbox.url, ZBULK_TOKEN=sandbox.token,
                   NO_COLOR="1")  # fmt: skip
    for line in examples():
        r = subprocess.run(["bash", "-o", "pipefail", "-c", line], cwd=tmp_path, env=environ,
                           capture_output=True, text=True, timeout=60)  # fmt: skip
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
