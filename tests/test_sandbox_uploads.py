"""The sandbox creates jobs as Zoho does: upload, org, create (each documented refusal), and
jobs that really run over the uploaded rows, their counts and result files agreeing."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from typing import Any

import pytest
import requests
from sandbox_support import TOKEN, auth

from zbulk.sandbox.jobs import ORG_ID

HEADERS = {**auth(), "feature": "bulk-write", "X-CRM-ORG": ORG_ID}


def zipped(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return buffer.getvalue()


def upload(sb, data: bytes, headers: dict[str, str] | None = None) -> requests.Response:
    return requests.post(
        f"{sb.url}/crm/v8/upload",
        headers=headers or HEADERS,
        files={"file": ("f.zip", data, "application/zip")},
        timeout=10,
    )


def file_id(sb, text: str, name: str = "leads.csv") -> str:
    r = upload(sb, zipped({name: text}))
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["code"] == "FILE_UPLOAD_SUCCESS" and doc["message"] == "file uploaded."
    return doc["details"]["file_id"]


def create(sb, body: dict[str, Any]) -> requests.Response:
    return requests.post(f"{sb.url}/crm/bulk/v8/write", json=body, headers=auth(), timeout=10)


def body(
    fid: str, mappings: list[dict[str, Any]] | None, operation: str = "insert", **resource: Any
) -> dict[str, Any]:
    res = {"type": "data", "module": {"api_name": "Leads"}, "file_id": fid, **resource}
    if mappings is not None:
        res["field_mappings"] = mappings
    return {"operation": operation, "ignore_empty": True, "resource": [res]}


def job(sb, job_id: str) -> dict[str, Any]:
    r = requests.get(f"{sb.url}/crm/bulk/v8/write/{job_id}", headers=auth(), timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def result_rows(sb, doc: dict[str, Any]) -> tuple[str, list[list[str]]]:
    r = requests.get(doc["result"]["download_url"], headers=auth(), timeout=10)
    assert r.status_code == 200
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        (name,) = zf.namelist()
        text = zf.read(name).decode("utf-8-sig")
    return name, list(csv.reader(io.StringIO(text, newline="")))


def test_org(sb) -> None:
    r = requests.get(f"{sb.url}/crm/v8/org", headers=auth(), timeout=10)
    assert r.status_code == 200 and r.json()["org"][0]["zgid"] == ORG_ID
    assert requests.get(f"{sb.url}/crm/v8/org", timeout=10).status_code == 401


@pytest.mark.parametrize(
    ("headers", "data", "status", "code"),
    [
        ({**auth(), "X-CRM-ORG": ORG_ID}, zipped({"a.csv": "x"}), 400, None),
        ({**auth(), "feature": "bulk-write", "X-CRM-ORG": "1"}, zipped({"a.csv": "x"}), 400, None),
        (HEADERS, b"Last_Name\nx\n", 200, "INVALID_FILE_FORMAT"),  # as Zoho's recorded one
        (HEADERS, zipped({"a.txt": "x"}), 400, "FILE_NOT_SUPPORTED"),
        (HEADERS, b"x" * (25 * 1024 * 1024 + 1), 413, "FILE_TOO_LARGE"),
        (auth("wrong"), zipped({"a.csv": "x"}), 401, "INVALID_TOKEN"),
    ],
)
def test_upload_refusals(sb, headers, data, status, code) -> None:
    r = upload(sb, data, headers)
    assert r.status_code == status
    doc = r.json()
    if code is None:
        assert doc["x-error"] == "check if headers [feature, X-CRM-ORG] are present and valid"
    else:
        assert doc["code"] == code and doc["status"] == "error"


def test_upload_errors_as_zoho_answers_them(sb) -> None:
    """INVALID_FILE_FORMAT as Zoho's recorded answer (HTTP 200, details.created_time);
    FILE_TOO_LARGE as its docs say (HTTP 413), a big ZIP of CSV as much as a big blob."""
    r = upload(sb, b"Last_Name\nx\n")
    doc = r.json()
    assert r.status_code == 200 and list(doc) == ["code", "details", "message", "status"]
    assert (doc["code"], doc["message"], doc["status"]) == (
        "INVALID_FILE_FORMAT",
        "invalid file format. only zip format is supported",
        "error",
    )
    assert list(doc["details"]) == ["created_time"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+05:30", doc["details"]["created_time"])
    big = upload(sb, zipped({"a.csv": "Last_Name\n" + "x" * (26 * 1024 * 1024)}))
    assert (big.status_code, big.json()["code"]) == (413, "FILE_TOO_LARGE")


def test_more_than_200_columns_is_header_limit_exceeded(sb) -> None:
    wide = ",".join(["Last_Name", *(f"C{i}" for i in range(200))])
    r = create(sb, body(file_id(sb, wide + "\n" + "x," * 200 + "x\n"), None))
    assert r.status_code == 400 and r.json()["code"] == "HEADER_LIMIT_EXCEEDED"
    fits = ",".join(["Last_Name", *(f"C{i}" for i in range(199))])
    r = create(sb, body(file_id(sb, fits + "\nx\n"), [{"api_name": "Last_Name", "index": 0}]))
    assert r.status_code == 201, r.text


def test_upload_without_the_file_field(sb) -> None:
    r = requests.post(
        f"{sb.url}/crm/v8/upload", headers=HEADERS, files={"other": ("f.zip", b"x")}, timeout=10
    )
    assert r.status_code == 400 and r.json()["code"] == "MISSING_REQUIRED_KEY"


def test_zip_bomb_of_csv_is_too_large(sb) -> None:
    big = zipped({"a.csv": "Last_Name\n" + "x" * (26 * 1024 * 1024)})
    assert upload(sb, big).json()["code"] == "FILE_TOO_LARGE"


GOOD = "Last_Name,Email,Company\nLovelace,ada@example.com,A\n"


@pytest.mark.parametrize(
    ("make", "code", "details"),
    [
        (
            lambda f: {"resource": body(f, None)["resource"]},
            "MISSING_REQUIRED_KEY",
            {"api_name": "operation"},
        ),
        (
            lambda f: {**body(f, None), "operation": "merge"},
            "INVALID_DATA",
            {"api_name": "operation"},
        ),
        (lambda f: {"operation": "insert"}, "MISSING_REQUIRED_KEY", {"api_name": "resource"}),
        (
            lambda f: body(f, [{"api_name": "Email", "index": 1}]),
            "MANDATORY_FIELDS_NOT_MAPPED",
            {"api_names": ["Last_Name"]},
        ),
        (
            lambda f: body(
                f, [{"api_name": "Last_Name", "index": 0}, {"api_name": "ast_Name", "index": 1}]
            ),
            "INVALID_FIELD",
            {"api_name": "ast_Name"},
        ),
        (
            lambda f: body(f, [{"api_name": "Last_Name", "index": 7}]),
            "COLUMN_INDEX_NOT_FOUND",
            {"api_name": "Last_Name", "index": 7},
        ),
        (
            lambda f: body(f, [{"api_name": "Last_Name"}]),
            "MISSING_REQUIRED_KEY",
            {"api_name": "index"},
        ),
        (lambda f: body("999", None), "INVALID_FILE_ID", {"api_name": "file_id"}),
        (
            lambda f: {**body(f, None), "callback": {"url": "https://x.example", "method": "get"}},
            "INVALID_CALLBACK_METHOD",
            {"supported_callback_methods": ["post"]},
        ),
        (
            lambda f: {**body(f, None), "callback": {"method": "post"}},
            "MISSING_REQUIRED_KEY",
            {"api_name": "url"},
        ),
        (
            lambda f: {
                "operation": "insert",
                "resource": [{"module": {"api_name": "Nope"}, "file_id": f}],
            },
            "MODULE_NOT_AVAILABLE",
            {"api_name": "module"},
        ),
        (lambda f: body(f, None, "upsert"), "MISSING_REQUIRED_KEY", {"api_name": "find_by"}),
        (
            lambda f: body(f, None, "upsert", find_by="Company"),
            "INVALID_DATA",
            {"api_name": "find_by"},
        ),
    ],
)
def test_create_refusals(sb, make, code, details) -> None:
    r = create(sb, make(file_id(sb, GOOD)))
    assert r.status_code == 400, r.text
    doc = r.json()
    assert (doc["code"], doc["details"], doc["status"]) == (code, details, "error")


def test_two_csvs_are_refused_at_create(sb) -> None:
    r = upload(sb, zipped({"a.csv": GOOD, "b.csv": GOOD}))
    fid = r.json()["details"]["file_id"]
    assert create(sb, body(fid, None)).json()["code"] == "FILE_NOT_SUPPORTED"


ROWS = (
    "First_Name,Last_Name,Email,Annual_Revenue,Date_3\n"
    "Ada,Lovelace,ada@example.com,1000,2024-01-31\n"
    "Bob,,bob@example.com,20,\n"
    "Cy,Young,not-an-email,abc,2024-13-01\n"
    "Dee,Dup,ADA@example.com,5,\n"
    "Eve,Smith,eve@example.com,7,\n"
)


def test_a_job_runs_over_the_rows(sb, clock) -> None:
    sb.import_duration = 10.0
    r = create(sb, body(file_id(sb, ROWS), None))
    assert r.status_code == 201
    created = r.json()
    assert created["code"] == "SUCCESS" and created["details"]["created_by"]["name"]
    job_id = created["details"]["id"]
    doc = job(sb, job_id)
    assert doc["status"] == "ADDED" and "file" not in doc["resource"][0]
    clock.now += 5.5
    moving = job(sb, job_id)
    assert moving["status"] == moving["resource"][0]["status"] == "IN PROGRESS"
    assert "file" not in moving["resource"][0]  # counts come at the end, as at Zoho
    clock.now += 5
    doc = job(sb, job_id)
    resource = doc["resource"][0]
    assert doc["status"] == "COMPLETED" and resource["file_names"] == ["leads.csv"]
    assert [m["api_name"] for m in resource["field_mappings"]] == [
        "First_Name",
        "Last_Name",
        "Email",
        "Annual_Revenue",
        "Date_3",
    ]
    assert resource["file"] == {
        "status": "COMPLETED",
        "name": "leads.csv",
        "added_count": 2,
        "skipped_count": 3,
        "updated_count": 0,
        "total_count": 5,
    }
    name, rows = result_rows(sb, doc)
    assert name == "Leads-leads.csv"
    assert rows[0] == ["First_Name", "Last_Name", "Email", "STATUS", "RECORD_ID", "ERRORS"]
    assert [(r[3], r[5]) for r in rows[1:]] == [
        ("added", ""),
        ("skipped", "MANDATORY_NOT_FOUND-Last_Name"),
        ("skipped", "INVALID_DATA-Email,Annual_Revenue,Date_3"),
        ("skipped", "DUPLICATE_DATA-Email"),
        ("added", ""),
    ]
    assert rows[1][4] and rows[1][4] in sb.records["Leads"]


def test_upsert_matches_on_find_by_and_update_skips_the_unknown(sb) -> None:
    sb.import_duration = 0
    first = create(sb, body(file_id(sb, "Last_Name,Email\nLovelace,ada@example.com\n"), None))
    assert first.status_code == 201
    text = "Last_Name,Email,Company\nKing,ada@example.com,Analytical\nHopper,grace@example.com,\n"
    r = create(sb, body(file_id(sb, text), None, "upsert", find_by="Email"))
    doc = job(sb, r.json()["details"]["id"])
    assert doc["resource"][0]["file"]["updated_count"] == 1
    assert doc["resource"][0]["file"]["added_count"] == 1
    ada = next(v for v in sb.records["Leads"].values() if v["Email"] == "ada@example.com")
    assert ada == {"Last_Name": "King", "Email": "ada@example.com", "Company": "Analytical"}
    text = "Email,Company\nnobody@example.com,X\ngrace@example.com,Navy\n"
    r = create(sb, body(file_id(sb, text), None, "update", find_by="Email"))
    doc = job(sb, r.json()["details"]["id"])
    _, rows = result_rows(sb, doc)
    assert [(r[2], r[4]) for r in rows[1:]] == [
        ("skipped", "RESOURCE_NOT_FOUND-Email"),
        ("updated", ""),
    ]


def test_dates_in_a_mapping_format_and_windows_1252(sb) -> None:
    sb.import_duration = 0
    text = "Deal_Name;Stage;Closing_Date;Amount\nMünchen;Qualification;12/31/2024;1,000.50\n"
    r = upload(sb, zipped({"deals.csv": ""}))  # an empty member is refused at create
    fid = r.json()["details"]["file_id"]
    assert create(sb, body(fid, None)).status_code == 400
    data = zipped({})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("deals.csv", text.encode("cp1252"))
    data = buffer.getvalue()
    fid = upload(sb, data).json()["details"]["file_id"]
    req = {
        "operation": "insert",
        "character_encoding": "windows-1252",
        "resource": [
            {
                "type": "data",
                "module": {"api_name": "Deals"},
                "file_id": fid,
                "field_mappings": [
                    {"api_name": "Deal_Name", "index": 0},
                    {"api_name": "Stage", "index": 1},
                    {"api_name": "Closing_Date", "index": 2, "format": "MM/dd/yyyy"},
                    {"api_name": "Amount", "index": 3},
                ],
            }
        ],
    }
    r = create(sb, req)
    assert r.status_code == 201, r.text
    doc = job(sb, r.json()["details"]["id"])
    assert doc["character_encoding"] == "windows-1252"
    assert doc["resource"][0]["file"]["added_count"] == 1
    assert json.dumps(sb.records["Deals"], ensure_ascii=False).count("München") == 1
    assert TOKEN not in json.dumps(doc)


def test_a_created_jobs_result_link_lasts_seven_days(sb, clock) -> None:
    """Zoho's result links last up to seven days; a job created here ends at
    ``import_duration`` and its file is then served for seven days on the sandbox clock."""
    sb.import_duration = 10.0
    job_id = create(sb, body(file_id(sb, ROWS), None)).json()["details"]["id"]
    clock.now += 10
    doc = job(sb, job_id)
    assert doc["status"] == "COMPLETED"
    assert result_rows(sb, doc)[0] == "Leads-leads.csv"
    clock.now += 7 * 24 * 3600 - 1
    assert result_rows(sb, doc)[0] == "Leads-leads.csv"
    clock.now += 1
    r = requests.get(doc["result"]["download_url"], headers=auth(), timeout=10)
    assert (r.status_code, r.json()) == (403, {"info": "Forbidden", "x-info": "Link not valid"})


def create_at(sb, version: str, module: Any) -> requests.Response:
    res = {
        "type": "data",
        "module": module,
        "file_id": file_id(sb, ROWS),
        "field_mappings": [{"api_name": "Last_Name", "index": 1}],
    }
    return requests.post(
        f"{sb.url}/crm/bulk/{version}/write",
        headers=auth(),
        timeout=10,
        json={"operation": "insert", "resource": [res]},
    )


@pytest.mark.parametrize(
    ("version", "good", "bad"),
    [
        ("v2", "Leads", {"api_name": "Leads"}),
        ("v2.1", {"api_name": "Leads"}, "Leads"),
        ("v8", {"api_name": "Leads"}, "Leads"),
    ],
)
def test_create_takes_each_versions_module_shape(sb, version, good, bad) -> None:
    r = create_at(sb, version, bad)
    assert r.status_code == 400 and r.json()["code"] == "INVALID_DATA"
    assert r.json()["details"] == {"api_name": "module"}
    assert create_at(sb, version, good).status_code == 201


def test_created_jobs_in_each_versions_shape(sb) -> None:
    sb.import_duration = 0
    job_id = create_at(sb, "v8", {"api_name": "Leads"}).json()["details"]["id"]

    def get(version: str) -> dict[str, Any]:
        r = requests.get(f"{sb.url}/crm/bulk/{version}/write/{job_id}", headers=auth(), timeout=5)
        return r.json()

    v2, v21, v8 = get("v2"), get("v2.1"), get("v8")
    assert v2["resource"][0]["module"] == "Leads" and "character_encoding" not in v2
    assert (
        v21["resource"][0]["module"]["api_name"]
        == "Leads"
        == v8["resource"][0]["module"]["api_name"]
    )
    assert "file_id" not in v21["resource"][0] and "file_id" in v8["resource"][0]
    for doc in (v2, v21, v8):
        for mapping in doc["resource"][0]["field_mappings"]:
            assert "parent_column_index" not in mapping  # an int32, never null
