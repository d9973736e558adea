"""The output contract over every kind of console (issue 10).

Every command (show, watch, results, recent, auth status, --help) runs in-process
against the sandbox over {pipe, pty} × {COLUMNS 40, 80, 200} × {UTF-8, C locale,
Latin-1} × {TERM=xterm-256color, TERM=dumb} × {NO_COLOR unset, set}: 432 cases.
The pty cases write to a real pseudo-terminal (opened in this process, sized to
COLUMNS); the pipe cases to a non-terminal stream of the given encoding. Each case
asserts: no traceback, the contract's exit code, no escape sequence or carriage
return on a pipe, and every value the view shows from the job document present in
full (on a terminal, folded values are compared with the line breaks taken out).
"""

from __future__ import annotations

import copy
import fcntl
import io
import os
import pty
import re
import struct
import sys
import termios
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from zbulk.cli import main
from zbulk.output import fallback
from zbulk.sandbox import DEMO_JOBS, Sandbox

JOB = "4150868000006809001"  # a completed job with long and non-ASCII values
LONG_URL = "https://download-accl.zoho.com/v2/crm/bulk/" + "x" * 150 + "/result.zip"
ENCODINGS = {"utf-8": "C.UTF-8", "ascii": "C", "latin-1": "en_US.ISO-8859-1"}
COMMANDS = {
    "show": (["job", "show", JOB], 0),
    "watch": (["job", "watch", JOB], 0),
    "results": (["job", "results", DEMO_JOBS["failing"]], 1),  # the job FAILED: exit 1
    "recent": (["job", "recent"], 0),
    "auth-status": (["auth", "status"], 0),
    "help": (["--help"], 0),
}


def hostile_doc(base: dict) -> dict:
    doc = copy.deepcopy(base)
    doc["id"] = JOB
    doc["created_by"]["name"] = "Zoë Ñandú 名前 — Boyle"
    doc["result"] = {"download_url": LONG_URL}
    res = doc["resource"][0]
    res["file"]["name"] = "accounts · import ✓ " + "n" * 60 + ".csv"
    res["field_mappings"][0].update(
        module="Accounts", find_by="Account_Name", default_value="Zylker Inc. — Ünïcode ✓ 🧪"
    )
    res["field_mappings"][1]["api_name"] = "Very_Long_Field_Name_" + "Q" * 70
    return doc


def shown_values(doc: dict) -> list[str]:
    """The values of the job document that the human view shows, as the API sent them."""
    values = [
        doc["id"],
        doc["status"],
        doc["operation"],
        doc["created_by"]["name"],
        doc["created_by"]["id"],
        doc["callback"]["url"],
        doc["character_encoding"],
        doc["result"]["download_url"],
    ]
    for res in doc["resource"]:
        values += [
            res["module"]["api_name"],
            res["module"]["id"],
            res["status"],
            res["file"]["name"],
        ]
        values += [f"{res['file'][k]:,}" for k in ("added_count", "skipped_count", "total_count")]
        for m in res["field_mappings"]:
            values += [
                str(m[k])
                for k in ("api_name", "index", "format", "find_by", "module", "default_value")
                if m[k] is not None
            ]
    return values


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def present(value: str, output: str, encoding: str) -> bool:
    flat = squeeze(strip_ansi(output))
    return any(squeeze(v) in flat for v in (value, fallback(value, encoding)))


@pytest.fixture(scope="module")
def server() -> Iterator[Sandbox]:
    with Sandbox(job_duration=0.2) as sb:
        deadline = time.monotonic() + 30
        while sb_doc(sb, DEMO_JOBS["failing"])["status"] != "FAILED":  # a finished job
            assert time.monotonic() < deadline
            time.sleep(0.05)
        base = sb_doc(sb, DEMO_JOBS["completed"])
        sb.put_document(JOB, hostile_doc(base))
        sb.doc = hostile_doc(base)  # type: ignore[attr-defined]
        yield sb


def sb_doc(sb: Sandbox, job_id: str) -> dict:
    import json
    import urllib.request

    auth = {"Authorization": f"Zoho-oauthtoken {sb.token}"}
    req = urllib.request.Request(f"{sb.url}/crm/bulk/v8/write/{job_id}", headers=auth)
    with urllib.request.urlopen(req) as answer:
        return json.loads(answer.read())


class PtyStream:
    """A real pseudo-terminal of ``columns`` columns; collects what reaches its screen."""

    def __init__(self, columns: int, encoding: str) -> None:
        self.master, self.slave = pty.openpty()
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
        raw = io.FileIO(self.slave, "w", closefd=False)
        self.stream = io.TextIOWrapper(raw, encoding=encoding, line_buffering=True)
        self.chunks: list[bytes] = []
        self.reader = threading.Thread(target=self._drain, daemon=True)
        self.reader.start()

    def _drain(self) -> None:
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            self.chunks.append(data)

    def close(self) -> bytes:
        self.stream.flush()
        os.close(self.slave)
        self.reader.join(10)
        os.close(self.master)
        return b"".join(self.chunks).replace(b"\r\n", b"\n")


class PipeStream:
    def __init__(self, encoding: str) -> None:
        self.buffer = io.BytesIO()
        errors = "surrogateescape" if encoding == "ascii" else "strict"
        self.stream = io.TextIOWrapper(self.buffer, encoding=encoding, errors=errors)

    def close(self) -> bytes:
        self.stream.flush()
        return self.buffer.getvalue()


CASES = [
    (command, terminal, columns, encoding, term, no_color)
    for command in COMMANDS
    for terminal in ("pipe", "pty")
    for columns in (40, 80, 200)
    for encoding in ENCODINGS
    for term in ("xterm-256color", "dumb")
    for no_color in (False, True)
]


@pytest.mark.parametrize(("command", "terminal", "columns", "encoding", "term", "no_color"), CASES)
def test_output_matrix(
    server, monkeypatch, tmp_path: Path, command, terminal, columns, encoding, term, no_color
) -> None:
    for name in list(os.environ):
        if name.startswith("ZBULK_") or name in ("NO_COLOR", "FORCE_COLOR", "CLICOLOR_FORCE"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("ZBULK_API_DOMAIN", server.url)
    monkeypatch.setenv("ZBULK_TOKEN", server.token)
    monkeypatch.setenv("ZBULK_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("ZBULK_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("COLUMNS", str(columns))
    monkeypatch.setenv("TERM", term)
    monkeypatch.setenv("LC_ALL", ENCODINGS[encoding])
    monkeypatch.setenv("TZ", "UTC")
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    if command == "recent":  # something to list
        (tmp_path / "state").mkdir()
        assert main(["job", "show", "--json", JOB]) == 0
    out = PtyStream(columns, encoding) if terminal == "pty" else PipeStream(encoding)
    err = out if terminal == "pty" else PipeStream(encoding)
    monkeypatch.setattr(sys, "stdout", out.stream)
    monkeypatch.setattr(sys, "stderr", err.stream)
    args, expected = COMMANDS[command]
    try:
        code = main(list(args))
    finally:
        monkeypatch.undo()  # stdout back before reading the streams
    raw = out.close() + (b"" if err is out else err.close())
    text = raw.decode(encoding, errors="surrogateescape")

    assert code == expected, text
    assert "Traceback" not in text and "Error:" not in text
    if terminal == "pipe":
        assert "\x1b" not in text and "\r" not in text
        if command in ("show", "results", "help"):  # one logical line per line, never cut
            assert all(len(line) < 400 for line in text.splitlines())
    if command == "show":
        for value in shown_values(server.doc):
            assert present(value, text, encoding), (value, text)
        if terminal == "pipe":
            assert f"Result        {LONG_URL}\n" in text  # whole, on one line
        else:
            # Escapes for characters the console cannot show are wider than the
            # characters; the terminal wraps those lines itself, nothing is lost.
            lines = [x for x in _screen_lines(text) if "\\" not in x]
            assert all(len(line) <= columns for line in lines), text
    elif command == "watch":
        assert present(f"{JOB}  COMPLETED", text, encoding)
        assert "540/540" in text
    elif command == "results":
        assert "deals_update" in text and "MANDATORY_NOT_FOUND" in squeeze(text)
    elif command == "recent":
        assert JOB in text and "COMPLETED" in text
    elif command == "auth-status":
        assert "ZBULK_TOKEN" in text
    else:
        assert "Usage: zbulk" in text and "Exit codes:" in text


def _screen_lines(text: str) -> list[str]:
    """The lines as a terminal shows them: escape sequences take no columns."""
    return strip_ansi(text).split("\n")


def strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07", "", text)
