"""The import pre-flight (zbulk.import_plan): every problem found, with record and column,
before anything is sent; the mappings; the ZIP and the multipart body."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from zbulk.errors import ExitCode, UsageError
from zbulk.http import MultipartFile
from zbulk.import_plan import (
    MAX_FILE_BYTES,
    MAX_RECORDS,
    PreflightError,
    build_zip,
    prepare,
    upload_url,
)


def write(tmp_path: Path, text: str, name: str = "leads.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def problems(path: Path, **options: object) -> list[str]:
    options.setdefault("module", "Leads")
    options.setdefault("operation", "insert")
    with pytest.raises(PreflightError) as caught:
        prepare(path, **options)  # type: ignore[arg-type]
    assert caught.value.exit_code == ExitCode.USAGE
    assert "nothing was sent" in caught.value.message
    return [str(p) for p in caught.value.problems]


def test_a_good_file_is_planned(tmp_path: Path) -> None:
    path = write(tmp_path, "Last_Name,Email\nLovelace,ada@example.com\nHopper,grace@example.com\n")
    plan = prepare(path, module="Leads", operation="insert")
    assert plan.records == 2 and plan.source.delimiter == ","
    body = plan.create_body("123")
    assert body["operation"] == "insert" and "character_encoding" not in body
    resource = body["resource"][0]
    assert resource == {
        "type": "data",
        "module": {"api_name": "Leads"},
        "file_id": "123",
        "field_mappings": [
            {"api_name": "Last_Name", "index": 0},
            {"api_name": "Email", "index": 1},
        ],
    }


def test_bom_is_read_and_not_part_of_the_first_header(tmp_path: Path) -> None:
    path = write(tmp_path, "\ufeffLast_Name,Email\nLovelace,ada@example.com\n")
    plan = prepare(path, module="Leads", operation="insert")
    assert plan.source.headers[0] == "Last_Name" and plan.source.encoding.bom == b"\xef\xbb\xbf"
    assert plan.source.encoding.codec == "utf-8"
    assert plan.character_encoding is None


def test_windows_1252_is_found_with_its_record_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "Last_Name,City\nMüller,Köln\nSmith,Leeds\n", encoding="cp1252")
    found = problems(path)
    assert len(found) == 1
    assert found[0].startswith("record 1 (line 2), column Last_Name: bytes that are not UTF-8")
    assert "0xFC" in found[0] and "--encoding windows-1252" in found[0]
    plan = prepare(path, module="Leads", operation="insert", encoding="windows-1252")
    assert plan.character_encoding == "windows-1252" and plan.records == 2
    assert plan.create_body("1")["character_encoding"] == "windows-1252"


def test_semicolons_are_detected(tmp_path: Path) -> None:
    path = write(tmp_path, "Last_Name;Email;Company\nLovelace;ada@example.com;A, B and C\n")
    plan = prepare(path, module="Leads", operation="insert")
    assert plan.source.delimiter == ";" and len(plan.mappings) == 3


def test_quoted_newlines_are_one_record(tmp_path: Path) -> None:
    text = 'Last_Name,Description\nLovelace,"line one\nline two"\nHopper,"a ""quoted"" word"\n\n,\n'
    found = problems(write(tmp_path, text))
    assert found == ["line 5: a blank line between records", "record 3 (line 6): empty record"]
    ok = write(tmp_path, 'Last_Name,Description\nLovelace,"one\r\ntwo"\r\nHopper,x\r\n', "ok.csv")
    assert prepare(ok, module="Leads", operation="insert").records == 2


def test_tabs_are_not_a_zoho_delimiter(tmp_path: Path) -> None:
    found = problems(write(tmp_path, "Last_Name\tEmail\nLovelace\tada@example.com\n"))
    assert found == [
        "header: the columns are separated by tabs: Zoho takes , ; : or | (save the file as CSV)"
    ]


def test_25001_records_are_too_many(tmp_path: Path) -> None:
    rows = "".join(f"Name {n}\n" for n in range(MAX_RECORDS + 1))
    found = problems(write(tmp_path, "Last_Name\n" + rows))
    assert found == ["25,001 records: Zoho takes at most 25,000 per file; split it"]
    exact = write(tmp_path, "Last_Name\n" + rows.split("\n", 1)[1], "exact.csv")
    assert prepare(exact, module="Leads", operation="insert").records == MAX_RECORDS


def test_26_mb_is_too_large(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    cell = "x" * 2000
    rows = "".join(f"Name {n},{cell}\n" for n in range(100))  # 100 rows, written 135 times
    with path.open("w") as fh:
        fh.write("Last_Name,Description\n")
        for _ in range(135):
            fh.write(rows)
    assert path.stat().st_size > 26 * 1024 * 1024 - 1024 * 1024
    with pytest.raises(UsageError) as caught:
        prepare(path, module="Leads", operation="insert")
    found = caught.value.message
    assert found.startswith(f"big.csv is {path.stat().st_size:,} bytes")
    assert f"{MAX_FILE_BYTES:,}" in found and "nothing was read" in found


def test_duplicate_and_empty_headers_each_named(tmp_path: Path) -> None:
    found = problems(write(tmp_path, "Last_Name,Email,,Email\nLovelace,a@example.com,x,b@x.com\n"))
    assert found == [
        "header, column 3: empty header: every column needs a name",
        "header, column 4: header 'Email' repeats column 2: headers must be unique",
    ]


def test_every_problem_is_listed_at_once(tmp_path: Path) -> None:
    text = "Last_Name,Email\nLovelace,a@example.com,extra\n,\nHopper,g@example.com\n"
    found = problems(write(tmp_path, text), operation="update", maps=["Phone=Phone"])
    assert found == [
        "record 1 (line 2): 3 values, but the header has 2 columns (a stray delimiter, or a "
        "value that needs quotes?)",
        "record 2 (line 3): empty record",
        "column Phone: is mapped, but the file has no such column (its columns: Last_Name, Email)",
        "update needs --find-by FIELD: the field that finds each record (id, or a unique field "
        "such as Email)",
    ]


def test_mapping_to_a_missing_column(tmp_path: Path) -> None:
    path = write(tmp_path, "Last_Name,Mail\nLovelace,a@example.com\n")
    found = problems(path, maps=["E-mail=Email"])
    assert found == [
        "column E-mail: is mapped, but the file has no such column (its columns: Last_Name, Mail)"
    ]


def test_maps_rename_skip_and_find_by(tmp_path: Path) -> None:
    path = write(tmp_path, "Name,E-mail,Notes\nLovelace,a@example.com,x\n")
    plan = prepare(
        path,
        module="Leads",
        operation="upsert",
        find_by="Email",
        maps=["Name=Last_Name", "E-mail=Email", "Notes="],
    )
    assert [m.as_json() for m in plan.mappings] == [
        {"api_name": "Last_Name", "index": 0},
        {"api_name": "Email", "index": 1},
    ]
    assert plan.create_body("9")["resource"][0]["find_by"] == "Email"
    assert problems(path, operation="upsert", find_by="Phone") == [
        "--find-by Phone: no column is mapped to Phone"
    ]
    assert problems(path, find_by="Email", maps=["Name=Last_Name", "E-mail=Email"]) == [
        "--find-by is for update and upsert; insert adds every record"
    ]
    assert problems(path, maps=["Name=Email", "E-mail=Email"]) == [
        "column E-mail: maps to Email, as column Name does"
    ]


def test_mapping_file(tmp_path: Path) -> None:
    path = write(tmp_path, "Deal,Close,Account,Junk\nBig,12/31/2024,Zylker,x\n")
    spec = tmp_path / "map.toml"
    spec.write_text(
        '[columns.Deal]\napi_name = "Deal_Name"\n'
        '[columns.Close]\napi_name = "Closing_Date"\nformat = "MM/dd/yyyy"\n'
        '[columns.Account]\napi_name = "Account_Name"\nfind_by = "Account_Name"\n'
        'module = "Accounts"\ndefault = "Zylker Inc."\n'
        "[columns.Junk]\nskip = true\n"
    )
    plan = prepare(path, module="Deals", operation="insert", mapping_file=spec)
    assert [m.as_json() for m in plan.mappings] == [
        {"api_name": "Deal_Name", "index": 0},
        {"api_name": "Closing_Date", "index": 1, "format": "MM/dd/yyyy"},
        {
            "api_name": "Account_Name",
            "index": 2,
            "find_by": "Account_Name",
            "module": "Accounts",
            "default_value": {"value": "Zylker Inc."},
        },
    ]
    spec.write_text("[columns.Deal]\napi_nam = 'x'\n")
    with pytest.raises(UsageError, match="unknown keys api_nam"):
        prepare(path, module="Deals", operation="insert", mapping_file=spec)
    spec.write_text("[columns.Deal\n")
    with pytest.raises(UsageError, match="not valid TOML"):
        prepare(path, module="Deals", operation="insert", mapping_file=spec)


def test_zip_with_one_csv_is_sent_as_is(tmp_path: Path) -> None:
    path = tmp_path / "leads.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("leads.csv", "Last_Name\nLovelace\n")
    plan = prepare(path, module="Leads", operation="insert")
    assert plan.source.is_zip and plan.source.member == "leads.csv" and plan.records == 1
    assert build_zip(plan, tmp_path) == path and plan.zip_name == "leads.zip"


def test_zip_with_two_csvs_for_a_module_without_subforms(tmp_path: Path) -> None:
    path = tmp_path / "two.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("leads.csv", "Last_Name\nLovelace\n")
        zf.writestr("more.csv", "Last_Name\nHopper\n")
    assert problems(path) == [
        "the ZIP holds 2 files (leads.csv, more.csv): Zoho takes one CSV "
        "per ZIP for a module without subforms"
    ]


def test_not_a_zip_and_unreadable_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(UsageError, match="not a ZIP file"):
        prepare(bad, module="Leads", operation="insert")
    with pytest.raises(UsageError, match="cannot read"):
        prepare(tmp_path / "missing.csv", module="Leads", operation="insert")
    with pytest.raises(UsageError, match="unknown encoding"):
        prepare(
            write(tmp_path, "Last_Name\nx\n"),
            module="Leads",
            operation="insert",
            encoding="klingon",
        )
    with pytest.raises(UsageError, match="not a module API name"):
        prepare(write(tmp_path, "Last_Name\nx\n"), module="../x", operation="insert")
    with pytest.raises(UsageError, match="not a valid https URL"):
        prepare(
            write(tmp_path, "Last_Name\nx\n"),
            module="Leads",
            operation="insert",
            callback="ftp://x",
        )


def test_utf16_and_empty_files(tmp_path: Path) -> None:
    plan = prepare(
        write(tmp_path, "\ufeffLast_Name\nx\n", encoding="utf-16-le"),
        module="Leads",
        operation="insert",
    )
    assert plan.source.encoding.label == "UTF-16LE with a BOM" and plan.records == 1
    assert plan.character_encoding == "UTF-16LE"
    with pytest.raises(UsageError, match="has no header row"):
        prepare(write(tmp_path, "", "empty.csv"), module="Leads", operation="insert")


def test_zip_built_streams_the_csv_and_multipart_has_its_length(tmp_path: Path) -> None:
    path = write(tmp_path, "Last_Name\n" + "".join(f"Name {n}\n" for n in range(5000)))
    plan = prepare(path, module="Leads", operation="insert", callback="https://h.example/cb")
    assert plan.create_body("1")["callback"] == {"url": "https://h.example/cb", "method": "post"}
    archive = build_zip(plan, tmp_path / "..")
    with zipfile.ZipFile(archive) as zf:
        assert zf.namelist() == ["leads.csv"] and zf.read("leads.csv") == path.read_bytes()
    body = MultipartFile(archive, plan.zip_name)
    data = b"".join(body)
    body.close()
    assert len(data) == body.length == len(body) and body.tell() == body.length
    assert data.startswith(f"--{body.boundary}\r\n".encode())
    assert data.endswith(f"\r\n--{body.boundary}--\r\n".encode())
    assert io.BytesIO(data).getvalue().count(archive.read_bytes()) == 1
    with MultipartFile(archive, plan.zip_name) as again:  # the retry policy rewinds it
        first = b"".join(iter(lambda: again.read(777), b""))
        again.seek(0)
        assert first == b"".join(again) and again.tell() == again.length
        again.seek(again.length - 10)
        assert again.read() == first[-10:] and again.read() == b""


@pytest.mark.parametrize(
    ("domain", "host"),
    [
        ("https://www.zohoapis.com", "https://upload-accl.zoho.com"),
        ("https://www.zohoapis.eu", "https://upload-accl.zoho.eu"),
        ("https://www.zohoapis.in", "https://upload-accl.zoho.in"),
        ("https://www.zohoapis.com.au", "https://content.zohoapis.com.au"),
        ("https://www.zohoapis.jp", "https://content.zohoapis.jp"),
        ("https://www.zohoapis.uk", "https://content.zohoapis.uk"),
        ("https://www.zohoapis.com.cn", "https://content.zohoapis.com.cn"),
        ("https://www.zohoapis.ca", "https://upload.zohocloud.ca"),
        ("https://www.zohoapis.sa", "https://files.zoho.sa"),
        # Zoho's sandbox and developer orgs: their data centre's upload host
        ("https://sandbox.zohoapis.com", "https://upload-accl.zoho.com"),
        ("https://developer.zohoapis.eu/", "https://upload-accl.zoho.eu"),
        ("https://sandbox.zohoapis.com.cn", "https://content.zohoapis.com.cn"),
        ("https://developer.zohoapis.ca", "https://upload.zohocloud.ca"),
        ("https://WWW.ZohoAPIs.SA", "https://files.zoho.sa"),
        ("http://127.0.0.1:8790", "http://127.0.0.1:8790"),  # loopback: its own host
        ("http://localhost:8790/", "http://localhost:8790"),
    ],
)
def test_upload_host_per_data_centre(env, domain: str, host: str) -> None:
    assert upload_url(domain, "v8") == f"{host}/crm/v8/upload"
    assert upload_url(domain, "v2.1") == f"{host}/crm/v2.1/upload"


@pytest.mark.parametrize(
    "domain",
    [
        "https://crm.example.com",
        "https://www.zohoapis.com:8443",
        "https://zohoapis.com",
        "https://www.zohoapis.com.evil.example",
        "https://eu.zohoapis.eu",
    ],
)
def test_no_upload_host_for_other_domains(env, domain: str) -> None:
    with pytest.raises(UsageError, match="no upload host is known") as caught:
        upload_url(domain, "v8")
    assert caught.value.hint and "zbulk config set data_centres." in caught.value.hint


def test_a_data_centre_table_names_the_upload_host(env) -> None:
    from zbulk.client import UrlGate

    config = Path(env["ZBULK_CONFIG_DIR"]) / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(
        '[data_centres.lab]\naccounts = "https://accounts.lab.example"\n'
        'api_domain = "https://crm.lab.example/"\nupload = "https://files.lab.example"\n'
        '[data_centres.us]\napi_domain = "https://www.zohoapis.com"\n'
        'upload = "https://upload.zoho.com"\n'
        '[data_centres.sandbox]\napi_domain = "http://127.0.0.1:8790"\n'
        'upload = "http://127.0.0.1:8791"\n'
    )
    assert upload_url("https://crm.lab.example", "v8") == "https://files.lab.example/crm/v8/upload"
    assert upload_url("https://www.zohoapis.com", "v8") == "https://upload.zoho.com/crm/v8/upload"
    assert upload_url("http://127.0.0.1:8790", "v8") == "http://127.0.0.1:8791/crm/v8/upload"
    assert upload_url("https://www.zohoapis.eu", "v8").startswith("https://upload-accl.zoho.eu/")
    # The token may go to the upload host configured for the API domain, and no further.
    gate = UrlGate("https://crm.lab.example")
    assert gate.problem("https://files.lab.example/crm/v8/upload") is None
    assert gate.problem("https://files.lab.example/x", redirect=True)
    assert gate.problem("http://files.lab.example/crm/v8/upload")
    assert UrlGate("https://www.zohoapis.eu").problem("https://files.lab.example/crm/v8/upload")
    config.write_text(
        '[data_centres.lab]\napi_domain = "https://crm.lab.example"\n'
        'upload = "http://files.lab.example"\n'
    )
    with pytest.raises(UsageError, match=r"data_centres\.lab\.upload"):
        upload_url("https://crm.lab.example", "v8")
    assert UrlGate("https://crm.lab.example").problem("http://files.lab.example/crm/v8/upload")


def test_the_create_body_takes_each_versions_module_shape(tmp_path: Path) -> None:
    """v2 takes ``"module": "Leads"`` (Zoho's v2 Postman collection); v2.1 on an object."""
    path = tmp_path / "leads.csv"
    path.write_text("Last_Name\nLovelace\n")
    plan = prepare(path, module="Leads", operation="insert")
    assert plan.create_body("1", "v2")["resource"][0]["module"] == "Leads"
    for version in ("v2.1", "v3", "v8"):
        assert plan.create_body("1", version)["resource"][0]["module"] == {"api_name": "Leads"}
