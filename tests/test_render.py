from __future__ import annotations

import copy
import io
import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from docs import RECORDED_V2, RECORDED_V21, huge_job

from zbulk.client import Fetched
from zbulk.models import Job
from zbulk.output import Output, json_line, safe
from zbulk.views.job import job_view
from zbulk.views.widgets import local_time, relative

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
ESC = "\x1b"


def render(doc: dict, *, width: int = 120, terminal: bool = False) -> str:
    buf = io.StringIO()
    out = Output(stdout=buf, width=width, force_terminal=terminal)
    for part in job_view(Job.read(doc), NOW):
        out.print(part)
    return buf.getvalue()


def test_summary_and_mappings_in_column_order(env) -> None:
    text = render(RECORDED_V2)
    assert "Job 4150868000005392002  INPROGRESS" in text
    assert "Patricia Boyle (4150868000000225013)" in text
    assert "POST https://www.zoho.com/in/crm/" in text
    assert "2021-05-13 05:30:58 UTC (2026d ago)" in text
    rows = re.findall(r"^\s+(\d)  (\w+)", text, re.M)
    assert rows == [
        ("0", "Last_Name"),
        ("1", "Owner"),
        ("2", "Date_3"),
        ("3", "Mobile"),
        ("4", "Layout"),
    ]
    assert "not counted yet" in text
    assert ESC not in text
    assert all(line == line.rstrip() for line in text.splitlines())


def test_counts_and_progress(env) -> None:
    text = render(RECORDED_V21)
    assert "added 9 · updated 0 · skipped 2 · total 11" in text
    assert "11/11 (100% done)" in text
    assert "Leads (4150868000000002175)" in text
    assert "UTF-8" in text and "download-accl.zoho.com" in text


def test_colour_only_on_a_terminal(env) -> None:
    assert ESC in render(RECORDED_V21, terminal=True)
    assert ESC not in render(RECORDED_V21, terminal=False)


def test_no_color_is_honoured(env, monkeypatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    coloured = render(RECORDED_V21, terminal=True)
    assert not re.search(r"\x1b\[[0-9;]*3\dm", coloured)  # no foreground colours


def test_markup_and_escapes_are_shown_literally(env) -> None:
    doc = copy.deepcopy(RECORDED_V2)
    doc["created_by"]["name"] = "[bold red]Mallory[/bold red]\x1b[2J\x1b]0;pwned\x07"
    doc["resource"][0]["field_mappings"][0]["api_name"] = "[link=http://x]Owner[/link]\x9b31m"
    doc["resource"][0]["module"] = "Leads\u202egnp.exe\r\nSecond line"
    for terminal in (False, True):
        text = render(doc, terminal=terminal)
        assert "[bold red]Mallory[/bold red]\\x1b[2J\\x1b]0;pwned\\x07" in text
        assert "[link=http://x]Owner[/link]\\x9b31m" in text
        assert "Leads\\u202egnp.exe\\r\\nSecond line" in text
        assert "\x9b" not in text and "\x07" not in text and "\u202e" not in text
        assert "\x1b[2J" not in text and "\x1b]" not in text


def test_narrow_terminal_folds_long_cells(env) -> None:
    doc = copy.deepcopy(RECORDED_V2)
    doc["resource"][0]["field_mappings"][0]["api_name"] = "A" * 150
    text = render(doc, width=60)
    assert all(len(line) <= 60 for line in text.splitlines())
    assert text.replace("\n", "").count("A") >= 150


def test_wide_characters_align(env) -> None:
    """A double-width field name takes two cells per character: the columns after it start
    at the same cell on every row and in the header."""
    from rich.cells import cell_len

    doc = copy.deepcopy(RECORDED_V2)
    doc["resource"][0]["field_mappings"][0].update(api_name="名前", format="dd.MM")
    lines = render(doc).splitlines()
    header = next(line for line in lines if line.lstrip().startswith("Column"))
    wide = next(line for line in lines if "名前" in line)
    narrow = next(line for line in lines if "Date_3" in line)

    def cell(line: str, text: str) -> int:
        return cell_len(line[: line.index(text)])

    assert cell(wide, "dd.MM") == cell(narrow, "yyyy/MM/dd") == cell(header, "Format")
    assert cell(wide, "名前") == cell(narrow, "Date_3") == cell(header, "Field")


@pytest.mark.parametrize(
    ("delta", "expected"),
    [
        (timedelta(milliseconds=300), "just now"),
        (timedelta(seconds=5), "5s ago"),
        (timedelta(minutes=3), "3m00s ago"),
        (timedelta(hours=1), "1h00m ago"),
        (timedelta(days=2), "2d00h ago"),
        (timedelta(days=65), "65d ago"),
        (timedelta(days=800), "800d ago"),
        (timedelta(minutes=-10), "in 10m00s"),
    ],
)
def test_relative(delta: timedelta, expected: str) -> None:
    assert relative(NOW - delta, NOW) == expected


def test_local_time_uses_the_local_zone(monkeypatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    try:
        then = datetime.fromisoformat("2021-05-13T11:00:58+05:30")
        assert local_time(then, NOW).startswith("2021-05-13 11:00:58 IST")
    finally:
        monkeypatch.setenv("TZ", "UTC")
        time.tzset()


def test_safe() -> None:
    assert safe("plain") == "plain"
    assert safe("a\tb\x00\x7f\u2066") == "a\\tb\\x00\\x7f\\u2066"


def test_json_line_is_lossless_and_safe() -> None:
    import json

    doc = {"id": "1", "name": "é\x1b[2J\x9b\u202e", "n": [1, 2.5, None, True], "new": {}}
    line = json_line(Fetched(doc, json.dumps(doc, ensure_ascii=False, indent=2).encode()))
    assert "\n" not in line and "\x1b" not in line and "\x9b" not in line
    assert "\u202e" not in line and "é" in line
    assert json.loads(line) == doc


def test_json_line_keeps_numbers_a_float_cannot_hold() -> None:
    raw = b'{\n  "id": "1",\n  "big": 1e999,\n  "s": "a  b\\n"\n}'
    import json

    line = json_line(Fetched(json.loads(raw), raw))
    assert line == '{"id":"1","big":1e999,"s":"a  b\\n"}'


def test_huge_job_renders_every_row(env) -> None:
    text = render(huge_job(5, 200))
    assert text.count("Field_") == 1000
    assert "Field mappings (200)" in text


@pytest.mark.parametrize("rows", [1, 499, 500, 501, 1201])
def test_a_table_on_a_pipe_is_the_same_text_as_on_a_colour_terminal(rows: int) -> None:
    """On a pipe the rows go out as plain text in batches of 500; every row, aligned, in
    order, exactly as a terminal shows them once its styles are taken out."""
    from zbulk.views.widgets import PlainTable

    data = [
        (str(n), f"Field_{n}", "x" * (n % 7), "" if n % 3 else "yyyy-MM-dd")
        for n in range(1, rows + 1)
    ]
    table = PlainTable("Mappings", ("Column", "Field", "Default", "Format"), data)
    pipe, tty = io.StringIO(), io.StringIO()
    Output(stdout=pipe).print(table)
    Output(stdout=tty, force_terminal=True, width=200).print(table)
    styled = re.sub(r"\x1b\[[0-9;]*m", "", tty.getvalue())
    assert pipe.getvalue() == styled and "\x1b" in tty.getvalue()
    lines = pipe.getvalue().splitlines()
    assert len(lines) == rows + 3 and lines[-1].split() == list(filter(None, data[-1]))
