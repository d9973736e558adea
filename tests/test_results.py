"""Result files: the token's allowed hosts, the error format, and hostile ZIPs (built here)."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import pytest

from zbulk.client import token_may_go_to
from zbulk.errors import ResultFileError
from zbulk.result_file import parse_errors, summarise_zip

HEADER = "Last_Name,Email,STATUS,RECORD_ID,ERRORS\r\n"
ROWS = (
    "Ada,ada@example.com,added,4150868000001,\r\n"
    "Bob,,skipped,,MANDATORY_NOT_FOUND-Email\r\n"
    ',bob@example.com,skipped,,"MANDATORY_NOT_FOUND-Company,Last_Name:DUPLICATE_DATA-Email"\r\n'
    "Cy,cy@example.com,updated,4150868000002,\r\n"
    "Di,di@example.com,unprocessed,,\r\n"
)


def make_zip(tmp_path: Path, members: dict[str, bytes], name: str = "r.zip") -> Path:
    path = tmp_path / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for member, data in members.items():
            zf.writestr(member, data)
    return path


@pytest.mark.parametrize(
    ("url", "api", "allowed"),
    [
        (
            "https://download-accl.zoho.com/v2/crm/1/bulk-write/2/2.zip",
            "https://www.zohoapis.com",
            True,
        ),
        ("https://download.zoho.eu/x.zip", "https://www.zohoapis.eu", True),
        ("https://files.zoho.com.au/x.zip", "https://www.zohoapis.com.au", True),
        ("https://download.zohocloud.ca/x.zip", "https://www.zohoapis.ca", True),
        ("https://zoho.com/x.zip", "https://www.zohoapis.com", True),
        ("https://www.zohoapis.eu/files/x.zip", "https://www.zohoapis.eu", True),
        ("http://127.0.0.1:8790/download/x.zip", "http://127.0.0.1:8790", True),
        ("http://localhost:9/x.zip", "http://127.0.0.1:8790", True),
        ("http://download-accl.zoho.com/x.zip", "https://www.zohoapis.com", False),  # not https
        ("https://evilzoho.com/x.zip", "https://www.zohoapis.com", False),
        ("https://zoho.com.evil.com/x.zip", "https://www.zohoapis.com", False),
        ("https://download.zoho.com@evil.com/x.zip", "https://www.zohoapis.com", False),
        ("https://attacker.example/x.zip", "https://www.zohoapis.com", False),
        ("http://127.0.0.1:8790/x.zip", "https://www.zohoapis.com", False),  # loopback, real API
        ("https://www.zohoapis.com:444/x.zip", "https://www.zohoapis.com", False),
        ("https://user:pw@download.zoho.com/x.zip", "https://www.zohoapis.com", False),
    ],
)
def test_where_the_token_may_go(url: str, api: str, allowed: bool) -> None:
    assert token_may_go_to(url, api) is allowed


def test_parse_errors() -> None:
    assert parse_errors("MANDATORY_NOT_FOUND-Company,Last_Name:DUPLICATE_DATA-Email") == [
        ("MANDATORY_NOT_FOUND", "Company"),
        ("MANDATORY_NOT_FOUND", "Last_Name"),
        ("DUPLICATE_DATA", "Email"),
    ]
    assert parse_errors("") == []
    assert parse_errors("something odd happened") == [("something odd happened", "")]
    assert parse_errors("INVALID_DATA-") == []


def test_summary_counts_groups_and_examples(tmp_path: Path) -> None:
    path = make_zip(tmp_path, {"Leads.csv": (HEADER + ROWS).encode()})
    summary = summarise_zip(path, job_id="42")
    (f,) = summary.files
    assert f.module == "Leads" and f.rows == 5
    assert dict(f.statuses) == {"added": 1, "skipped": 2, "updated": 1, "unprocessed": 1}
    groups = {(g.code, g.column): (g.count, g.examples) for g in f.errors.values()}
    assert groups[("MANDATORY_NOT_FOUND", "Email")] == (1, [(2, None)])
    assert groups[("MANDATORY_NOT_FOUND", "Last_Name")] == (1, [(3, None)])
    assert [n for n, _ in summary.failed_rows(f)] == [2, 3, 5]
    assert summary.failed == 3
    doc = summary.as_json("https://x")
    assert json.loads(json.dumps(doc))["files"][0]["statuses"]["skipped"] == 2


def test_output_dir_splits_created_failed_and_errors(tmp_path: Path) -> None:
    """Without a source: the result's own columns, never STATUS/RECORD_ID/ERRORS in the
    failed file; RECORD_ID added to the created one; errors one line per code and column."""
    path = make_zip(tmp_path, {"Leads.csv": ("\ufeff" + HEADER + ROWS).encode()})
    out = tmp_path / "out"
    summary = summarise_zip(path, output_dir=out, job_id="42")
    own = [h for h in HEADER.strip().split(",") if h not in ("STATUS", "RECORD_ID", "ERRORS")]
    created = list(csv.reader((out / "42-Leads-created.csv").open(encoding="utf-8-sig")))
    failed = list(csv.reader((out / "42-Leads-result-rows.csv").open(encoding="utf-8-sig")))
    assert not (out / "42-Leads-failed.csv").exists()  # never named as whole rows
    errors = list(csv.reader((out / "42-Leads-errors.csv").open(encoding="utf-8")))
    assert failed[0] == HEADER.strip().split(",") and created[0] == [*own, "RECORD_ID"]
    assert len(created) == 3 and len(failed) == 4
    assert errors[0] == ["row", "RECORD_ID", "code", "column", "explanation"]
    assert [e[:4] for e in errors[1:3]] == [
        ["2", "", "MANDATORY_NOT_FOUND", "Email"],
        ["3", "", "MANDATORY_NOT_FOUND", "Company"],
    ]
    assert "layout requires" in errors[1][4]
    assert errors[-1][:4] == ["5", "", "", ""] and "unprocessed" in errors[-1][4]
    assert summary.files[0].encoding == "utf-8-sig"


def test_bom_and_windows_1252(tmp_path: Path) -> None:
    text = HEADER + "Zoë,z@example.com,skipped,,INVALID_DATA-Last_Name\r\n"
    path = make_zip(
        tmp_path, {"a.csv": b"\xef\xbb\xbf" + text.encode(), "b.csv": text.encode("cp1252")}
    )
    summary = summarise_zip(path)
    a, b = summary.files
    (_, cells_a), (_, cells_b) = [next(summary.failed_rows(f)) for f in (a, b)]
    assert cells_a[0] == cells_b[0] == "Zoë"
    assert any("Windows-1252" in w for w in summary.warnings)


def test_missing_columns(tmp_path: Path) -> None:
    path = make_zip(tmp_path, {"a.csv": b"STATUS\r\nadded\r\nskipped\r\n"})
    (f,) = summarise_zip(path).files
    assert dict(f.statuses) == {"added": 1, "skipped": 1} and not f.errors
    short = make_zip(tmp_path, {"a.csv": (HEADER + "Ada,x,skipped\r\n").encode()}, "s.zip")
    assert summarise_zip(short).files[0].statuses["skipped"] == 1
    no_status = make_zip(tmp_path, {"a.csv": b"Last_Name,RECORD_ID\r\nAda,1\r\n"}, "n.zip")
    with pytest.raises(ResultFileError, match="no STATUS column"):
        summarise_zip(no_status)


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ({"../x.csv": b"STATUS\r\n"}, "unsafe name"),
        ({"/etc/x.csv": b"STATUS\r\n"}, "unsafe name"),
        ({"a\\..\\..\\x.csv": b"STATUS\r\n"}, "unsafe name"),
        ({"C:x.csv": b"STATUS\r\n"}, "unsafe name"),
        ({"readme.txt": b"hello"}, "no CSV file"),
        ({}, "no CSV file"),
    ],
)
def test_hostile_members(tmp_path: Path, members: dict[str, bytes], message: str) -> None:
    with pytest.raises(ResultFileError, match=message):
        summarise_zip(make_zip(tmp_path, members))


def test_non_csv_members_are_skipped_with_a_warning(tmp_path: Path) -> None:
    path = make_zip(tmp_path, {"a.csv": (HEADER + ROWS).encode(), "notes.txt": b"x"})
    summary = summarise_zip(path)
    assert len(summary.files) == 1 and "notes.txt" in summary.warnings[0]


def test_zip_bomb_is_refused(tmp_path: Path) -> None:
    path = make_zip(tmp_path, {"a.csv": b"STATUS\r\n" + b"0" * 50_000_000})
    with pytest.raises(ResultFileError, match="ZIP bomb"):
        summarise_zip(path)


@pytest.mark.parametrize("data", [b"", b"not a zip at all", b"PK\x03\x04" + b"\x00" * 40])
def test_corrupt_or_empty_zip(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "bad.zip"
    path.write_bytes(data)
    with pytest.raises(ResultFileError, match="not a readable ZIP"):
        summarise_zip(path)


def test_damaged_member(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.csv", (HEADER + ROWS * 200).encode())
    data = bytearray(buf.getvalue())
    data[60:90] = b"\xff" * 30  # inside the compressed stream
    path = tmp_path / "damaged.zip"
    path.write_bytes(bytes(data))
    with pytest.raises(ResultFileError, match=r"damaged|not a readable ZIP|STATUS"):
        summarise_zip(path)
