"""``job results --source``: each result row lined up with its uploaded row, and the three
files written from the join (failed rows whole, errors explained, created rows with their
ids); ``--file`` offline; module names, explanations and exit codes."""

from __future__ import annotations

import codecs
import csv
import io
import json
import zipfile
from pathlib import Path

import pytest
import requests
from test_results_cli import PUT, Listener, job_doc

from zbulk.errors import ApiError, ExitCode
from zbulk.result_codes import CODES
from zbulk.result_file import summarise_zip
from zbulk.sandbox import DEMO_JOBS, ResultFile, Sandbox
from zbulk.sandbox.result_files import (
    ERROR_CODES,
    source_rows,
    write_result_zip,
    write_source_zip,
)
from zbulk.user_file import UserFileError, detect_delimiter, open_source

DONE = DEMO_JOBS["completed"]  # Accounts, accounts_import.csv: ";" and the file's own headers
HEADER = ["Last_Name", "Company", "Email", "Phone", "Lead_Source", "City", "Description"]
COUNTS = {"added": 30, "updated": 5, "skipped": 8, "unprocessed": 2}
SPEC = ResultFile("Leads-leads.csv", HEADER, COUNTS, "Leads", "leads.csv")


def result_zip(tmp_path: Path, *specs: ResultFile) -> Path:
    path = tmp_path / "4150868000000000042.zip"
    with path.open("wb") as fh:
        write_result_zip(list(specs or [SPEC]), fh)
    return path


def source_lines(spec: ResultFile = SPEC) -> list[list[str]]:
    """The uploaded file's rows, header first."""
    return [list(spec.columns), *(cells for cells, *_ in source_rows(spec, 0))]


def write_csv(
    path: Path,
    rows: list[list[str]],
    encoding: str = "utf-8",
    bom: bytes = b"",
    delimiter: str = ",",
) -> Path:
    text = io.StringIO()
    csv.writer(text, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    path.write_bytes(bom + text.getvalue().encode(encoding))
    return path


def statuses(spec: ResultFile = SPEC) -> list[str]:
    return [status for _, status, _, _ in source_rows(spec, 0)]


def read(path: Path, encoding: str = "utf-8-sig", delimiter: str = ",") -> list[list[str]]:
    with path.open(encoding=encoding, newline="") as fh:
        return list(csv.reader(fh, delimiter=delimiter))


def join(tmp_path: Path, source: Path, *specs: ResultFile, out: str = "out"):  # type: ignore[no-untyped-def]
    return summarise_zip(
        result_zip(tmp_path, *specs),
        output_dir=tmp_path / out,
        job_id="42",
        source=open_source(source),
    )


# -- the join ------------------------------------------------------------------------------


def test_join_agreeing_source_gives_whole_rows(tmp_path: Path) -> None:
    rows = source_lines()
    summary = join(tmp_path, write_csv(tmp_path / "leads.csv", rows))
    out = tmp_path / "out"
    (f,) = summary.files
    assert f.module == "Leads" and f.uploaded == "leads.csv"
    failed = read(out / "42-Leads-failed.csv")
    created = read(out / "42-Leads-created.csv")
    errors = read(out / "42-Leads-errors.csv")
    marks = statuses()
    # failed.csv: the original header and every original column, nothing else
    assert failed[0] == HEADER
    assert failed[1:] == [
        r for r, s in zip(rows[1:], marks, strict=True) if s in ("skipped", "unprocessed")
    ]
    assert len(failed) - 1 == COUNTS["skipped"] + COUNTS["unprocessed"]
    # created.csv: each added/updated row's original columns plus RECORD_ID
    assert created[0] == [*HEADER, "RECORD_ID"]
    ids = [rid for _, s, rid, _ in source_rows(SPEC, 0) if s in ("added", "updated")]
    assert [r[-1] for r in created[1:]] == ids
    assert [r[:-1] for r in created[1:]] == [
        r for r, s in zip(rows[1:], marks, strict=True) if s in ("added", "updated")
    ]
    # errors.csv: source row number, RECORD_ID, code, column, explanation
    assert errors[0] == ["row", "RECORD_ID", "code", "column", "explanation"]
    first = next(n for n, s in enumerate(marks, 1) if s == "skipped")
    _, _, _, text = list(source_rows(SPEC, 0))[first - 1]
    code, _, columns = text.split(":")[0].partition("-")
    assert errors[1][:4] == [str(first), "", code, columns.split(",")[0]]
    assert errors[1][4] == "; ".join(CODES[code])
    # the view's failed rows are the whole rows too
    cells = [c for _, c in summary.failed_rows(f)]
    assert [c[: len(HEADER)] for c in cells] == failed[1:]
    assert f.failed_columns == [*HEADER, "STATUS", "RECORD_ID", "ERRORS"]


def test_join_disagreeing_source_names_the_first_row_and_writes_nothing(tmp_path: Path) -> None:
    rows = source_lines()
    rows[7][1] = "Another Company"  # row 7 of the data (Company is a kept column)
    rows[20][0] = "Someone Else"
    with pytest.raises(UserFileError, match=r"row 7 has 'Company' = 'Another Company'"):
        join(tmp_path, write_csv(tmp_path / "leads.csv", rows))
    assert not any((tmp_path / "out").iterdir())  # nothing written, no temporary left


def test_join_a_change_outside_the_kept_columns_is_not_a_mismatch(tmp_path: Path) -> None:
    rows = source_lines()
    rows[3][6] = "edited after upload"  # Description: not in the result file
    summary = join(tmp_path, write_csv(tmp_path / "leads.csv", rows))
    assert summary.files[0].rows == sum(COUNTS.values())


def test_join_shorter_source(tmp_path: Path) -> None:
    rows = source_lines()[:-3]
    total = sum(COUNTS.values())
    with pytest.raises(UserFileError, match=rf"ends after {total - 3} rows.*row {total - 2}"):
        join(tmp_path, write_csv(tmp_path / "leads.csv", rows))
    assert not any((tmp_path / "out").iterdir())


def test_join_longer_source(tmp_path: Path) -> None:
    rows = [*source_lines(), ["Extra", "Row", "x@example.com", "", "", "", ""]]
    with pytest.raises(UserFileError, match=r"more rows than the result file"):
        join(tmp_path, write_csv(tmp_path / "leads.csv", rows))
    assert not any((tmp_path / "out").iterdir())


def test_join_blank_lines_in_the_source_are_no_records(tmp_path: Path) -> None:
    rows = source_lines()
    rows.insert(4, [])
    rows.append([])
    summary = join(tmp_path, write_csv(tmp_path / "leads.csv", rows))
    assert summary.files[0].rows == sum(COUNTS.values())


def test_join_zip_source_pairs_each_resource_by_file_name(tmp_path: Path) -> None:
    other = ResultFile(
        "Contacts-contacts.csv",
        ["Last_Name", "First_Name", "Email", "Phone"],
        {"added": 10, "skipped": 3},
        "Contacts",
        "contacts.csv",
        ";",
    )
    source = tmp_path / "upload.zip"
    with source.open("wb") as fh:  # in the other order than the result's
        write_source_zip([other, SPEC], fh)
    path = tmp_path / "r.zip"
    with path.open("wb") as fh:
        write_result_zip([SPEC, other], fh)
    summary = summarise_zip(
        path, output_dir=tmp_path / "out", job_id="42", source=open_source(source)
    )
    leads, contacts = summary.files
    assert (leads.module, contacts.module) == ("Leads", "Contacts")
    assert leads.source is not None and leads.source.label == "upload.zip: leads.csv"
    assert contacts.source is not None and contacts.source.delimiter == ";"
    failed = read(tmp_path / "out" / "42-Contacts-failed.csv", delimiter=";")
    assert failed[0] == ["Last_Name", "First_Name", "Email", "Phone"]
    assert len(failed) == 1 + 3


def test_join_source_pairing_with_nothing_is_refused(tmp_path: Path) -> None:
    other = ResultFile(
        "Contacts-contacts.csv",
        ["Last_Name", "Email", "Phone"],
        {"added": 2},
        "Contacts",
        "contacts.csv",
    )
    path = tmp_path / "r.zip"
    with path.open("wb") as fh:
        write_result_zip([SPEC, other], fh)
    source = write_csv(tmp_path / "renamed.csv", source_lines())
    with pytest.raises(UserFileError, match="cannot tell which resource"):
        summarise_zip(path, output_dir=tmp_path / "out", job_id="42", source=open_source(source))


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [("cp1252", codecs.BOM_UTF8), ("cp1252", b""), ("utf-8", codecs.BOM_UTF8)],
    ids=["windows-1252-with-bom", "windows-1252", "utf-8-with-bom"],
)
def test_join_source_encoding_is_kept(tmp_path: Path, encoding: str, bom: bytes) -> None:
    """Windows-1252 (with or without a BOM, as Excel writes it) and UTF-8 with a BOM are
    read right, compared with the UTF-8 result, and the files written back in the same
    encoding with the same BOM, so they re-import as the original did."""
    spec = SPEC._replace(module="Zoë")  # every generated value carries non-ASCII text
    rows = source_lines(spec)
    rows[0][6] = "Beschreibung – Größe"
    source = write_csv(tmp_path / "leads.csv", rows, encoding, bom)
    path = tmp_path / "r.zip"
    with path.open("wb") as fh:
        write_result_zip([spec], fh)
    summary = summarise_zip(
        path, output_dir=tmp_path / "out", job_id="42", source=open_source(source)
    )
    (f,) = summary.files
    assert f.source is not None and f.source.encoding.codec == encoding
    (written,) = (tmp_path / "out").glob("42-*-failed.csv")
    raw = written.read_bytes()
    assert raw.startswith(bom) if bom else not raw.startswith(codecs.BOM_UTF8)
    failed = list(csv.reader(io.StringIO(raw[len(bom) :].decode(encoding))))
    assert failed[0] == rows[0]
    assert failed[1][0].startswith("Zoë") or failed[1][0] == ""


def test_join_semicolon_delimited_source(tmp_path: Path) -> None:
    rows = source_lines()
    rows[2][6] = "a, b; and c"  # quoted, with both delimiters inside
    source = write_csv(tmp_path / "leads.csv", rows, delimiter=";")
    summary = join(tmp_path, source)
    assert summary.files[0].source is not None and summary.files[0].source.delimiter == ";"
    raw = (tmp_path / "out" / "42-Leads-failed.csv").read_text(encoding="utf-8")
    assert raw.splitlines()[0] == ";".join(HEADER)
    created = read(tmp_path / "out" / "42-Leads-created.csv", delimiter=";")
    assert created[0][-1] == "RECORD_ID" and len(created[0]) == len(HEADER) + 1


@pytest.mark.parametrize(
    ("line", "sep"),
    [
        ("a,b,c", ","),
        ("a;b;c", ";"),
        ("a:b:c", ":"),
        ("a|b|c", "|"),
        ('"a;b",c', ","),
        ("single", ","),
        ("a;b,c;d", ";"),
    ],
)
def test_detect_delimiter(line: str, sep: str) -> None:
    assert detect_delimiter(line) == sep


def test_result_file_with_semicolons_is_read(tmp_path: Path) -> None:
    text = "Last_Name;STATUS;RECORD_ID;ERRORS\r\nAda;added;1;\r\nBo;skipped;;INVALID_DATA-X\r\n"
    path = tmp_path / "r.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("Leads-x.csv", text)
    summary = summarise_zip(path)
    assert dict(summary.files[0].statuses) == {"added": 1, "skipped": 1}
    assert summary.files[0].delimiter == ";"


# -- through the CLI, against the sandbox --------------------------------------------------


def fetch_source(sandbox: Sandbox, job_id: str, dest: Path) -> Path:
    """The sandbox's uploaded file, fetched as a user would (curl -o)."""
    r = requests.get(f"{sandbox.url}/sandbox/source/{job_id}.zip", timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/zip"
    dest.write_bytes(r.content)
    return dest


def test_cli_source_writes_the_three_files(zbulk, sandbox, tmp_path: Path) -> None:
    source = fetch_source(sandbox, DONE, tmp_path / "upload.zip")
    out = tmp_path / "fix"
    r = zbulk("job", "results", DONE, "--source", str(source), "--output-dir", str(out), "--json")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    (f,) = doc["files"]
    assert f["module"] == "Accounts" and f["uploaded_file"] == "accounts_import.csv"
    assert f["source"] == {
        "name": "upload.zip: accounts_import.csv",
        "encoding": "UTF-8",
        "delimiter": ";",
    }
    assert {g["code"] for g in f["errors"]} == set(ERROR_CODES)  # all eight, explained
    assert all(g["explanation"] == "; ".join(CODES[g["code"]]) for g in f["errors"])
    failed = read(out / f"{DONE}-Accounts-failed.csv", delimiter=";")
    with zipfile.ZipFile(source) as zf:
        uploaded = list(
            csv.reader(io.StringIO(zf.read("accounts_import.csv").decode()), delimiter=";")
        )
    assert failed[0] == uploaded[0] == ["Account Name", "Type", "City", "Revenue"]
    assert len(failed) - 1 == f["statuses"]["skipped"] == 12
    assert all(row in uploaded for row in failed[1:])  # whole rows, four columns each
    assert f["written"] == [
        str(out / f"{DONE}-Accounts-{k}.csv") for k in ("failed", "errors", "created")
    ]
    assert "--source" not in r.err  # no "whole rows" note when they are whole


def test_cli_source_defaults_to_the_current_directory(
    zbulk, sandbox, tmp_path: Path, monkeypatch
) -> None:
    source = fetch_source(sandbox, DONE, tmp_path / "upload.zip")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    r = zbulk("job", "results", DONE, "--source", str(source))
    assert r.code == 0, r.err
    assert sorted(p.name for p in work.iterdir()) == sorted(
        [f"{DONE}.zip", *(f"{DONE}-Accounts-{k}.csv" for k in ("failed", "errors", "created"))]
    )
    r = zbulk("job", "results", DONE, "--source", str(source))
    assert r.code == ExitCode.ERROR and "--force" in r.err  # never over a file without it
    assert zbulk("job", "results", DONE, "--source", str(source), "--force").code == 0


def test_cli_human_view_explains_each_code(zbulk) -> None:
    r = zbulk("job", "results", DONE)
    assert r.code == 0, r.err
    assert "Accounts (accounts_import.csv)  540 records" in r.out
    assert "Records  Code" in r.out and "Rows  Code" not in r.out
    assert "What the codes mean" in r.out
    for code, (meaning, _) in CODES.items():
        assert code in r.out and meaning in r.out


def test_cli_unknown_code_is_shown_verbatim(zbulk, sandbox) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(
            "Leads-x.csv",
            "Last_Name,STATUS,RECORD_ID,ERRORS\r\nAda,skipped,,SOMETHING_NEW-Last_Name\r\n",
        )
    sandbox.put_document(PUT, job_doc(sandbox.download_url(PUT)))
    sandbox.put_download(PUT, buf.getvalue())
    r = zbulk("job", "results", PUT)
    assert r.code == 0 and "SOMETHING_NEW" in r.out and "What the codes mean" not in r.out
    doc = json.loads(zbulk("job", "results", "--json", PUT).out)
    assert doc["files"][0]["errors"][0]["explanation"] is None
    assert doc["files"][0]["module"] == "Leads"


def test_cli_disagreeing_source_writes_nothing(zbulk, sandbox, tmp_path: Path) -> None:
    source = fetch_source(sandbox, DONE, tmp_path / "upload.zip")
    with zipfile.ZipFile(source) as zf:
        text = zf.read("accounts_import.csv").decode()
    lines = text.split("\r\n")
    lines[5] = lines[5].replace("Company 00005", "Company 99999")
    bad = tmp_path / "accounts_import.csv"
    bad.write_text("\r\n".join(lines), encoding="utf-8")
    out = tmp_path / "out"
    r = zbulk("job", "results", DONE, "--source", str(bad), "--output-dir", str(out))
    assert r.code == ExitCode.USAGE
    assert "row 5 has 'Account Name' = 'Company 99999'" in r.err and "nothing was written" in r.err
    assert not out.exists() or not any(out.iterdir())
    assert "Traceback" not in r.err


def test_cli_source_missing_sends_nothing(zbulk, sandbox, tmp_path: Path) -> None:
    before = sandbox.request_count()
    r = zbulk("job", "results", DONE, "--source", str(tmp_path / "nope.csv"))
    assert r.code == ExitCode.USAGE and "no such file" in r.err
    assert sandbox.request_count() == before


def test_failed_job_exits_1(zbulk, sandbox) -> None:
    sandbox.put_document(PUT, job_doc(sandbox.download_url(PUT), status="FAILED"))
    r = zbulk("job", "results", PUT)
    assert r.code == ExitCode.ERROR and "FAILED" in r.err
    assert "Job 4150868000000000777" in r.out  # the summary is still shown
    assert zbulk("job", "results", "--json", PUT).code == ExitCode.ERROR


def test_fail_on_skipped_exits_6(zbulk, sandbox) -> None:
    assert zbulk("job", "results", DONE, "--fail-on-skipped").code == ExitCode.SKIPPED
    assert zbulk("job", "results", DONE).code == 0
    clean = {"added_count": 2, "skipped_count": 0, "total_count": 2}
    doc = job_doc(sandbox.download_url(PUT))
    doc["resource"][0]["file"] = clean
    sandbox.put_document(PUT, doc)
    assert zbulk("job", "results", PUT, "--fail-on-skipped").code == 0


# -- offline: --file ------------------------------------------------------------------------


def test_file_offline_needs_no_credentials_and_no_network(run, sandbox, tmp_path: Path) -> None:
    """A result ZIP saved by hand, read with no token, no login and an API domain that
    is a listening spy: nothing connects to it, and the files are written."""
    zip_path = tmp_path / f"{DONE}.zip"
    zip_path.write_bytes(
        requests.get(
            sandbox.download_url(DONE),
            headers={"Authorization": f"Zoho-oauthtoken {sandbox.token}"},
            timeout=10,
        ).content
    )
    source = fetch_source(sandbox, DONE, tmp_path / "upload.zip")
    spy = Listener()
    out = tmp_path / "out"
    before = sandbox.request_count()
    r = run(
        "job",
        "results",
        "--file",
        str(zip_path),
        "--source",
        str(source),
        "--output-dir",
        str(out),
        "--json",
        ZBULK_TOKEN=None,
        ZBULK_API_DOMAIN=f"http://127.0.0.1:{spy.port}",
    )
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["job_id"] == DONE and doc["download_url"] is None
    assert doc["files"][0]["module"] == "Accounts"  # from the member's name, no document
    assert len(read(out / f"{DONE}-Accounts-failed.csv", delimiter=";")) == 13
    assert not (out / f"{DONE}.zip").exists()  # the user has it already
    assert spy.received == [] and sandbox.request_count() == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give a JOB_ID, or --file"),
        ([DONE, "--file", "x.zip"], "not both"),
        (["--file", "missing.zip"], "no such file"),
    ],
)
def test_file_usage_errors(run, args: list[str], message: str) -> None:
    r = run("job", "results", *args)
    assert r.code == ExitCode.USAGE and message in r.err


def test_file_that_is_not_a_zip_is_a_usage_error(run, tmp_path: Path) -> None:
    bad = tmp_path / "result.zip"
    bad.write_bytes(b"not a zip")
    r = run("job", "results", "--file", str(bad))
    assert r.code == ExitCode.USAGE and "not a readable ZIP" in r.err and "Traceback" not in r.err


def test_file_in_the_old_shape_is_still_read(run, tmp_path: Path) -> None:
    path = tmp_path / "export.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("leads.csv", "Last_Name,STATUS,RECORD_ID,ERRORS\r\nAda,added,1,\r\n")
    r = run("job", "results", "--file", str(path), "--json")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["files"][0]["module"] == "leads"
    r = run("job", "results", "--file", str(path))
    assert "export.zip: result file" in r.out


# -- the token check lives in the client's download -------------------------------------------


def test_client_download_checks_the_host_itself(sandbox) -> None:
    """No caller can skip the gate: ZohoClient.download refuses a foreign host before any
    connection is made."""
    from zbulk.client import ZohoClient
    from zbulk.config import Settings

    class Token:
        origin = "the test"

        def access_token(self) -> str:
            return sandbox.token

        def rejected(self) -> bool:
            return False

    spy = Listener()
    settings = Settings(api_domain="https://www.zohoapis.com", request_timeout=5.0)
    with ZohoClient(settings, Token()) as client:  # type: ignore[arg-type]
        for url in (f"http://127.0.0.1:{spy.port}/x.zip", "https://attacker.example/x.zip"):
            with pytest.raises(ApiError, match="refusing to send your token"):
                client.download(url, io.BytesIO(), 1 << 20)
    assert spy.received == []


def test_cli_failed_file_is_the_uploaded_lines_byte_for_byte(zbulk, sandbox, tmp_path) -> None:
    """Ready to import again as it is: the failed file is the uploaded file's header line and
    the failed rows' own lines, byte for byte (delimiter, quoting, line ends, encoding)."""
    source = fetch_source(sandbox, DONE, tmp_path / "upload.zip")
    out = tmp_path / "fix"
    r = zbulk("job", "results", DONE, "--source", str(source), "--output-dir", str(out))
    assert r.code == 0, r.err
    with zipfile.ZipFile(source) as zf:
        uploaded = zf.read("accounts_import.csv").split(b"\r\n")
    failed = (out / f"{DONE}-Accounts-failed.csv").read_bytes().split(b"\r\n")
    errors = read(out / f"{DONE}-Accounts-errors.csv", encoding="utf-8")
    numbers = sorted({int(e[0]) for e in errors[1:]})
    assert failed[0] == uploaded[0]
    assert failed[1:-1] == [uploaded[n] for n in numbers]  # row n is line n + 1 of the file
    created = (out / f"{DONE}-Accounts-created.csv").read_bytes().split(b"\r\n")
    assert len(created) - 2 + len(failed) - 2 == len(uploaded) - 2  # every row in one of them


def test_join_mismatch_message_cuts_a_huge_cell(tmp_path: Path) -> None:
    rows = source_lines()
    rows[1][0] = "x" * 100_000
    with pytest.raises(UserFileError) as caught:
        join(tmp_path, write_csv(tmp_path / "leads.csv", rows))
    assert "row 1 has 'Last_Name' = 'xxxx" in caught.value.message
    assert len(caught.value.message) < 400


def test_join_keeps_each_row_as_written(tmp_path: Path) -> None:
    """Quoting, a line break inside a cell, a short row and a byte Windows-1252 has no
    character for all come back exactly as they were in the uploaded file."""
    spec = ResultFile(
        "Leads-leads.csv",
        ["Last_Name", "Company", "Email", "Notes"],
        {"skipped": 2, "added": 2},
        "Leads",
        "leads.csv",
    )
    rows = list(source_rows(spec, 0))
    lines = [b"Last_Name,Company,Email,Notes\r\n"]
    for n, (cells, *_) in enumerate(rows):
        head = ",".join(f'"{c}"' if n == 0 else c for c in cells[:3]).encode("cp1252")
        tail = [b',"two\nlines, quoted"', b",caf\x81 \xe9", b"", b",x"][n]  # row 3: short
        lines.append(head + tail + b"\r\n")
    source = tmp_path / "leads.csv"
    source.write_bytes(b"".join(lines))
    path = tmp_path / "r.zip"
    with path.open("wb") as fh:
        write_result_zip([spec], fh)
    summary = summarise_zip(
        path, output_dir=tmp_path / "out", job_id="42", source=open_source(source)
    )
    assert summary.files[0].source is not None
    assert summary.files[0].source.encoding.codec == "cp1252"
    marks = [status for _, status, _, _ in rows]
    failed = (tmp_path / "out" / "42-Leads-failed.csv").read_bytes()
    assert failed == lines[0] + b"".join(
        line for line, s in zip(lines[1:], marks, strict=True) if s == "skipped"
    )
    created = (tmp_path / "out" / "42-Leads-created.csv").read_bytes().split(b"\r\n")
    assert created[0] == b"Last_Name,Company,Email,Notes,RECORD_ID"
    for line in created[1:-1]:
        assert len(next(csv.reader([line.decode("cp1252", "replace")]))) == 5  # padded


# -- the loop: failed rows back into the sandbox as a new job ---------------------------------

UPLOADED = (
    "Last_Name;First_Name;Email;Company;Annual_Revenue;Phone\r\n"
    "Lovelace;Ada;ada@example.com;Analytical Engines;1000;+1 555 0100\r\n"
    ";Bob;bob@example.com;Nowhere Ltd;20;\r\n"
    "Young;Cy;cy@example.com;Baseball Inc;abc;+1 555 0102\r\n"
    "Hopper;Grace;grace@example.com;Navy;5;\r\n"
    "Duplicate;Dee;ADA@example.com;Copy Co;7;\r\n"
)


def _import(zbulk, path: Path) -> tuple[str, dict]:  # type: ignore[no-untyped-def]
    r = zbulk(
        "job",
        "import",
        str(path),
        "--module",
        "Leads",
        "--operation",
        "insert",
        "--yes",
        "--no-metadata",
    )  # the rows are for the sandbox to skip, not the pre-flight
    assert r.code == 0, r.err
    job_id = r.out.strip()
    assert zbulk("job", "watch", job_id).code == 0
    return job_id, json.loads(zbulk("job", "show", "--json", job_id).out)


def test_failed_file_reimports_as_is_and_succeeds_once_fixed(zbulk, sandbox, tmp_path) -> None:
    """import (semicolons, a bad value in a column the result file does not keep) ->
    results --source -> the failed file imported again unchanged (same rows fail the
    same way: it is importable as it is) -> fixed -> imported again: every row added."""
    sandbox.import_duration = 0
    source = tmp_path / "leads.csv"
    source.write_bytes(UPLOADED.encode())
    job_id, _ = _import(zbulk, source)
    r = zbulk(
        "job", "results", job_id, "--source", str(source), "--output-dir", str(tmp_path / "a")
    )
    assert r.code == 0, r.err
    failed_csv = tmp_path / "a" / f"{job_id}-Leads-failed.csv"
    lines = UPLOADED.split("\r\n")
    assert failed_csv.read_bytes().decode() == "\r\n".join(
        [lines[0], *lines[2:3], *lines[3:4], lines[5], ""]
    )
    errors = read(tmp_path / "a" / f"{job_id}-Leads-errors.csv", encoding="utf-8")
    assert [(e[0], e[2], e[3]) for e in errors[1:]] == [
        ("2", "MANDATORY_NOT_FOUND", "Last_Name"),
        ("3", "INVALID_DATA", "Annual_Revenue"),  # only the whole row shows the bad value
        ("5", "DUPLICATE_DATA", "Email"),
    ]
    # As it is: a valid import whose rows fail again for the same reasons.
    again, doc = _import(zbulk, failed_csv)
    assert doc["resource"][0]["file"]["skipped_count"] == 3
    r = zbulk("job", "results", again, "--json")
    assert {(g["code"], g["column"]) for g in json.loads(r.out)["files"][0]["errors"]} == {
        ("MANDATORY_NOT_FOUND", "Last_Name"),
        ("INVALID_DATA", "Annual_Revenue"),
        ("DUPLICATE_DATA", "Email"),
    }
    # Fixed, in place, keeping the file's header, delimiter and other cells.
    rows = read(failed_csv, encoding="utf-8", delimiter=";")
    rows[1][0] = "Builder"
    rows[2][4] = "300"
    rows[3][2] = "dee@example.com"
    fixed = tmp_path / "fixed.csv"
    write_csv(fixed, rows, delimiter=";")
    done, doc = _import(zbulk, fixed)
    file = doc["resource"][0]["file"]
    assert (file["added_count"], file["skipped_count"], file["total_count"]) == (3, 0, 3)
    r = zbulk("job", "results", done, "--fail-on-skipped")
    assert r.code == 0 and "Every row was added or updated." in r.out
    emails = sorted(v["Email"] for v in sandbox.records["Leads"].values())
    assert emails == [
        "ada@example.com",
        "bob@example.com",
        "cy@example.com",
        "dee@example.com",
        "grace@example.com",
    ]
