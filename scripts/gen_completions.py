"""Regenerate the committed completion scripts in completions/ from `zbulk completion`.

Run after upgrading typer or renaming the program: python scripts/gen_completions.py
tests/test_completion.py fails while a committed script differs from the command's output.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

from zbulk.cli import main

FILES = {"bash": "zbulk.bash", "zsh": "_zbulk", "fish": "zbulk.fish"}
OUT = Path(__file__).resolve().parent.parent / "completions"


def generate(shell: str) -> bytes:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(["completion", shell])
    if code != 0:
        raise SystemExit(f"zbulk completion {shell} exited {code}")
    return buf.getvalue().encode()


if __name__ == "__main__":
    OUT.mkdir(exist_ok=True)
    for shell, name in FILES.items():
        path = OUT / name
        data = generate(shell)
        if not path.exists() or path.read_bytes() != data:
            path.write_bytes(data)
            print(f"wrote {path}")
