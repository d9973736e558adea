"""Result files from a hostile server: cells zbulk writes from Zoho's columns never start a
spreadsheet formula (the user's own cells stay byte for byte), a ZIP of many members keeps
few files open, and a central directory of more than 100,000 entries is refused unread."""

from __future__ import annotations

import csv
import io
import struct
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from zbulk import result_file
from zbulk.errors import ExitCode

PUT = "4150868000000000778"
HOSTILE = (
    "Last_Name,Company,Email,STATUS,RECORD_ID,ERRORS\r\n"
    'Smith,"=cmd|\' /C calc\'!A0",a@x.example,added,"=HYPERLINK(""http://evil.example"",""x"")",\r\n'
    "Doe,Acme,b@x.example,skipped,@SUM(1),=2+5-Last_Name\r\n"
    "Roe,Beta,c@x.example,skipped,-1,MANDATORY_NOT_FOUND-+Phone\r\n"
    "Poe,Gamma,d@x.example,=evil,,\r\n"
    "Low,Delta,e@x.example,added,+41,\r\n"
)
SOURCE = (
    "Last_Name,Company,Email,Phone\r\n"
    "Smith,=cmd|' /C calc'!A0,a@x.example,=1+1\r\n"
    "Doe,Acme,b@x.example,@x\r\n"
    "Roe,Beta,c@x.example,\r\n"
    "Poe,Gamma,d@x.example,-3\r\n"
    "Low,Delta,e@x.example,\t5\r\n"
)


def job_doc(url: str) -> dict:
    return {
        "id": PUT,
        "status": "COMPLETED",
        "operation": "insert",
        "resource": [
            {
                "status": "COMPLETED",
                "module": {"api_name": "Leads"},
                "file": {"added_count": 2, "skipped_count": 3, "total_count": 5},
            }
        ],
        "result": {"download_url": url},
    }


def serve(sandbox, members: dict[str, str]) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, text in members.items():
            zf.writestr(name, text)
    sandbox.put_document(PUT, job_doc(sandbox.download_url(PUT)))
    sandbox.put_download(PUT, buf.getvalue())


def cells(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def formulas(rows: list[list[str]], columns: list[int]) -> list[str]:
    return [row[c] for row in rows[1:] for c in columns if row[c][:1] in "=+-@\t\r" and row[c]]


@pytest.mark.parametrize("lead", ["=", "+", "-", "@", "\t", "\r"])
def test_inert_prefixes_each_formula_start(lead: str) -> None:
    assert result_file.inert(lead + "1") == "'" + lead + "1"
    assert result_file.inert("1" + lead) == "1" + lead
    assert result_file.inert("") == ""


def test_zoho_cells_never_start_a_formula(zbulk, sandbox, tmp_path) -> None:
    serve(sandbox, {"Leads-leads.csv": HOSTILE})
    out = tmp_path / "out"
    r = zbulk("job", "results", "--output-dir", str(out), PUT)
    assert r.code == 0, r.err
    errors = cells(out / f"{PUT}-Leads-errors.csv")
    assert errors[0] == ["row", "RECORD_ID", "code", "column", "explanation"]
    assert formulas(errors, [1, 2, 3, 4]) == []
    by_row = {row[0]: row for row in errors[1:]}
    assert by_row["2"][1:3] == ["'@SUM(1)", "'=2+5-Last_Name"]
    assert by_row["3"][1] == "'-1" and by_row["3"][3] == "'+Phone"
    assert by_row["4"][4].startswith("'=evil")
    created = cells(out / f"{PUT}-Leads-created.csv")
    assert created[1][-1] == '\'=HYPERLINK("http://evil.example","x")'
    assert created[2][-1] == "'+41"
    assert created[1][1] == "=cmd|' /C calc'!A0"  # the user's own cell, as it was


def test_zoho_cells_with_the_source_and_the_users_bytes_kept(zbulk, sandbox, tmp_path) -> None:
    serve(sandbox, {"Leads-leads.csv": HOSTILE})
    source = tmp_path / "leads.csv"
    source.write_bytes(SOURCE.encode())
    out = tmp_path / "out"
    r = zbulk("job", "results", "--output-dir", str(out), "--source", str(source), PUT)
    assert r.code == 0, r.err
    lines = SOURCE.split("\r\n")
    created = (out / f"{PUT}-Leads-created.csv").read_bytes().decode()
    assert created.split("\r\n")[1] == (
        lines[1] + ',"\'=HYPERLINK(""http://evil.example"",""x"")"'
    )  # the row byte for byte, then its id made inert
    assert created.split("\r\n")[2] == lines[5] + ",'+41"
    failed = (out / f"{PUT}-Leads-failed.csv").read_bytes().decode()
    assert failed == "\r\n".join([lines[0], lines[2], lines[3], lines[4], ""])
    assert formulas(cells(out / f"{PUT}-Leads-errors.csv"), [1, 2, 3, 4]) == []


# --- many members -----------------------------------------------------------------------


def many_members(path: Path, count: int) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        for n in range(count):
            zf.writestr(
                f"Leads-part{n}.csv",
                f"Last_Name,STATUS,RECORD_ID,ERRORS\r\nA{n},added,{n},\r\n"
                f"B{n},skipped,,INVALID_DATA-Last_Name\r\n",
            )


def test_500_members_at_ulimit_64(tmp_path: Path) -> None:
    """3 output files per member were all kept open to the end: the 84th member of a ZIP
    failed at ulimit -n 256. Now a member's files are closed once written."""
    archive = tmp_path / "result.zip"
    many_members(archive, 500)
    out = tmp_path / "out"
    code = textwrap.dedent(f"""
        import resource, sys
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
        from zbulk.cli import main
        sys.exit(main(["job", "results", "--file", {str(archive)!r}, "--output-dir",
                       {str(out)!r}, "--json"]))
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(list(out.iterdir())) == 1500
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "result.zip"]  # no temporaries
    assert cells(out / "result-Leads-500-created.csv") == [
        ["Last_Name", "RECORD_ID"],
        ["A499", "499"],
    ]


def central_directory(entries: int, declared: int, zip64: bool = False) -> bytes:
    """A ZIP that is only a central directory of ``entries`` (empty-file) entries, whose end
    record declares ``declared`` (ZIP64's when ``zip64``)."""
    names = (f"{n:06d}.csv".encode() for n in range(entries))
    central = b"".join(
        struct.pack(
            "<4s4B4HL2L5H2L",
            b"PK\x01\x02",
            20,
            3,
            20,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            len(name),
            0,
            0,
            0,
            0,
            0,
            0,
        )
        + name
        for name in names
    )
    size = len(central)
    if not zip64:
        end = struct.pack(
            "<4s4H2LH",
            b"PK\x05\x06",
            0,
            0,
            min(declared, 0xFFFF),
            min(declared, 0xFFFF),
            size,
            0,
            0,
        )
        return central + end
    record = struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, declared, declared, size, 0)
    locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, size, 1)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    return central + record + locator + end


@pytest.mark.parametrize(
    ("entries", "declared", "zip64", "said"),
    [
        (10, 600_000, True, "lists 600,000 entries"),  # the count alone refuses it
        (100_001, 5, False, "lists more than 100,000 entries"),  # a count that lies
        (100_001, 100_001, True, "lists 100,001 entries"),
    ],
)
def test_a_central_directory_over_100000_entries_is_refused(
    run, tmp_path, entries, declared, zip64, said
) -> None:
    archive = tmp_path / "many.zip"
    archive.write_bytes(central_directory(entries, declared, zip64))
    r = run("job", "results", "--file", str(archive))
    # a local --file that is not a readable result file is a usage error, as any other
    assert r.code == ExitCode.USAGE and said in r.err and "at most 100,000" in r.err, r.err
    assert "Traceback" not in r.err


def test_100000_entries_are_still_read(tmp_path: Path) -> None:
    """The limit is the limit: a directory of exactly 100,000 entries goes on to zipfile."""
    archive = tmp_path / "many.zip"
    archive.write_bytes(central_directory(100_000, 100_000, True))
    with archive.open("rb") as fh:
        result_file._check_entries(fh)  # no refusal
