"""The sandbox's result ZIPs over loopback: auth, 404 until a job finishes, one CSV per
resource agreeing with the job document, the FAILED job's unprocessed rows, expiry,
put_download, faults, and build_result_zip itself."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import requests
from sandbox_support import DURATION, Clock, auth

from zbulk.sandbox import DEMO_JOBS, Fault, ResultFile, Sandbox, build_result_zip
from zbulk.sandbox.jobs import ORG_ID, download_path
from zbulk.sandbox.result_files import (
    ERROR_CODES,
    SOURCE_FILES,
    error_text,
    interleave,
    result_files,
)

ERROR_JSON = "application/json;charset=utf-8"
ERRORS_RE = re.compile(r"^[A-Z_]+-[^:,]+(,[^:,]+)*(:[A-Z_]+-[^:,]+(,[^:,]+)*)*$")
TRAILING = ["STATUS", "RECORD_ID", "ERRORS"]


def path(job_id: str) -> str:
    return download_path(job_id)


def download(sb: Sandbox, job_id: str, headers: dict[str, str] | None = None) -> requests.Response:
    return requests.get(
        sb.url + path(job_id), headers=auth() if headers is None else headers, timeout=5
    )


def document(sb: Sandbox, job_id: str) -> dict[str, Any]:
    r = requests.get(f"{sb.url}/crm/bulk/v8/write/{job_id}", headers=auth(), timeout=5)
    assert r.status_code == 200
    return r.json()


def code_of(r: requests.Response) -> tuple[int, str]:
    assert r.headers["Content-Type"] == ERROR_JSON
    return r.status_code, r.json()["code"]


def read_zip(raw: bytes) -> dict[str, tuple[bytes, list[list[str]]]]:
    """Member name -> (raw bytes, rows with the header first)."""
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        out = {}
        for info in archive.infolist():
            assert info.compress_type == zipfile.ZIP_DEFLATED
            data = archive.read(info)
            out[info.filename] = data, list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
        return out


def member_name(resource: dict[str, Any]) -> str:
    """Zoho's name for a resource's result CSV: ``<Module>-<uploaded file stem>.csv``."""
    module = resource["module"]
    module = module["api_name"] if isinstance(module, dict) else module
    return f"{module}-{resource['file']['name'].removesuffix('.csv')}.csv"


def uploaded_header(resource: dict[str, Any]) -> list[str]:
    """The uploaded file's own headers, mapped columns in index order."""
    mappings = sorted(resource["field_mappings"], key=lambda m: m["index"])
    _, names = SOURCE_FILES.get(resource["file"]["name"], (",", {}))
    return [names.get(m["api_name"], m["api_name"]) for m in mappings]


def check_file(data: bytes, rows: list[list[str]], resource: dict[str, Any]) -> Counter[str]:
    """The CSV agrees with its resource as Zoho documents it (only the first three mapped
    columns, under the uploaded file's headers, then STATUS, RECORD_ID, ERRORS); returns
    the rows per STATUS."""
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.count(b"\r\n") == len(rows) and b"\n" not in data.replace(b"\r\n", b"")
    assert rows[0] == uploaded_header(resource)[:3] + TRAILING
    statuses: Counter[str] = Counter()
    for row in rows[1:]:
        status, record_id, errors = row[-3:]
        statuses[status] += 1
        assert bool(record_id) is (status in ("added", "updated"))
        if status in ("added", "updated"):
            assert re.fullmatch(r"\d{19}", record_id)
        if status == "skipped":
            assert ERRORS_RE.match(errors), errors
            codes = [part.partition("-")[0] for part in errors.split(":")]
            assert set(codes) <= set(ERROR_CODES)
            columns = {c for part in errors.split(":") for c in part.partition("-")[2].split(",")}
            assert columns <= set(uploaded_header(resource))
        else:
            assert errors == ""
    file = resource["file"]
    for status in ("added", "updated", "skipped"):
        assert statuses[status] == file[f"{status}_count"]
    assert sum(statuses.values()) == file["total_count"]
    return statuses


def test_needs_a_token(sb: Sandbox) -> None:
    job = DEMO_JOBS["completed"]
    assert code_of(download(sb, job, headers={})) == (401, "AUTHENTICATION_FAILURE")
    assert code_of(download(sb, job, headers=auth("wrong"))) == (401, "INVALID_TOKEN")
    code = sb.issue_grant_code()
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": sb.client_id,
        "client_secret": sb.client_secret,
    }
    minted = requests.post(sb.url + "/oauth/v2/token", data=form, timeout=5).json()
    assert download(sb, job, headers=auth(minted["access_token"])).status_code == 200


def test_404_until_finished_and_for_unknown_ids(sb: Sandbox, clock: Clock) -> None:
    upsert = DEMO_JOBS["upsert"]
    assert code_of(download(sb, upsert)) == (404, "INVALID_URL_PATTERN")
    clock.now += 0.5 * DURATION  # IN PROGRESS
    assert document(sb, upsert)["status"] == "IN PROGRESS"
    assert code_of(download(sb, upsert)) == (404, "INVALID_URL_PATTERN")
    for job in ("4150868000009999999", DEMO_JOBS["recorded_v21"], DEMO_JOBS["recorded_v2"]):
        assert code_of(download(sb, job)) == (404, "INVALID_URL_PATTERN")
    other = DEMO_JOBS["completed"]  # the id twice must agree
    r = requests.get(
        f"{sb.url}/v2/crm/{ORG_ID}/bulk-write/{other}/{upsert}.zip", headers=auth(), timeout=5
    )
    assert code_of(r) == (404, "INVALID_URL_PATTERN")
    r = requests.post(sb.url + path(other), headers=auth(), timeout=5)
    assert code_of(r) == (400, "INVALID_REQUEST_METHOD")


def test_completed_job_zip_agrees_with_its_document(sb: Sandbox, clock: Clock) -> None:
    job = DEMO_JOBS["upsert"]
    clock.now += 1.5 * DURATION
    doc = document(sb, job)
    assert doc["status"] == "COMPLETED"
    assert doc["result"]["download_url"] == sb.url + path(job)
    r = download(sb, job)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/octet-stream"
    assert r.headers["Content-Disposition"] == f'attachment; filename="{job}.zip"'
    files = read_zip(r.content)
    names = [member_name(res) for res in doc["resource"]]
    assert names == ["Leads-leads.csv", "Contacts-contacts.csv", "Accounts-accounts.csv"]
    assert list(files) == names  # one CSV per resource, named <Module>-<file stem>
    for resource, (data, rows) in zip(doc["resource"], files.values(), strict=True):
        statuses = check_file(data, rows, resource)
        assert statuses["unprocessed"] == 0
        order = [row[-3] for row in rows[1:]]
        first_skipped = order.index("skipped")
        assert first_skipped < len(order) // 4  # interleaved, not all skipped at the end
        assert "added" in order[first_skipped:]
    leads = files["Leads-leads.csv"][1]
    assert leads[1][:3] == ["Lead 00001", "Company 00001", "lead00001@example.com"]
    assert download(sb, job).content == r.content  # deterministic (and cached)


def test_failed_job_has_unprocessed_rows(sb: Sandbox, clock: Clock) -> None:
    job = DEMO_JOBS["failing"]
    clock.now += DURATION
    doc = document(sb, job)
    assert doc["status"] == "FAILED"
    with_file = [res for res in doc["resource"] if "file" in res]
    files = read_zip(download(sb, job).content)
    assert list(files) == [member_name(res) for res in with_file] == ["Deals-deals_update.csv"]
    data, rows = files["Deals-deals_update.csv"]
    statuses = check_file(data, rows, with_file[0])
    file = with_file[0]["file"]
    processed = file["added_count"] + file["updated_count"] + file["skipped_count"]
    assert statuses["unprocessed"] == file["total_count"] - processed > 0
    tail = rows[-statuses["unprocessed"] :]
    assert all(row[-3:] == ["unprocessed", "", ""] for row in tail)
    updated = next(row for row in rows[1:] if row[-3] == "updated")
    assert updated[0] == updated[-2]  # an update's id column is its record


def test_done_at_start_job_is_served_at_once(sb: Sandbox) -> None:
    job = DEMO_JOBS["completed"]
    doc = document(sb, job)
    files = read_zip(download(sb, job).content)
    assert list(files) == ["Accounts-accounts_import.csv"]
    data, rows = files["Accounts-accounts_import.csv"]
    check_file(data, rows, doc["resource"][0])
    assert rows[0] == ["Account Name", "Type", "City", *TRAILING]  # the file's own headers


def test_expire_downloads(sb: Sandbox) -> None:
    job = DEMO_JOBS["completed"]
    sb.put_download("123", b"PK")
    sb.expire_downloads()
    for target in (job, "123"):
        r = download(sb, target)
        assert r.status_code == 403
        assert r.content == b'{"info":"Forbidden","x-info":"Link not valid"}'
    sb.expire_downloads(False)
    assert download(sb, job).status_code == 200


def test_put_download(sb: Sandbox) -> None:
    bomb = b"PK\x03\x04 not really a zip"
    sb.put_download("4150868000000000001", bomb)
    r = download(sb, "4150868000000000001")
    assert (r.status_code, r.content, r.headers["Content-Type"]) == (
        200,
        bomb,
        "application/octet-stream",
    )
    sb.put_download(DEMO_JOBS["completed"], b"", status=500, content_type="text/plain")
    r = download(sb, DEMO_JOBS["completed"])
    assert (r.status_code, r.content, r.headers["Content-Type"]) == (500, b"", "text/plain")
    with pytest.raises(ValueError, match="digits"):
        sb.put_download("../x", b"")


def test_put_document_pointing_here_gets_a_file(sb: Sandbox) -> None:
    job = "4150868000000000002"
    resource = {
        "module": {"api_name": "Leads"},
        "field_mappings": [
            {"api_name": "Email", "index": 1},
            {"api_name": "Last_Name", "index": 0},
        ],
        "file": {
            "name": "a b.csv",
            "added_count": 3,
            "updated_count": 0,
            "skipped_count": 2,
            "total_count": 5,
        },
    }
    doc = {
        "status": "COMPLETED",
        "resource": [resource, resource],
        "result": {"download_url": sb.url + path(job)},
    }
    sb.put_document(job, doc)
    files = read_zip(download(sb, job).content)
    assert list(files) == ["Leads-a_b.csv", "Leads-a_b_2.csv"]
    for data, rows in files.values():
        check_file(data, rows, resource)
    sb.put_document(job, {**doc, "result": {"download_url": "https://download.zoho.com/x.zip"}})
    assert download(sb, job).status_code == 404
    sb.put_document(job, "not json")
    assert download(sb, job).status_code == 404


def test_a_fault_applies(sb: Sandbox) -> None:
    sb.add_fault(Fault("status", status=403, path_prefix="/v2/crm/"))
    assert code_of(download(sb, DEMO_JOBS["completed"])) == (403, "NO_PERMISSION")
    assert download(sb, DEMO_JOBS["completed"]).status_code == 200


def test_build_result_zip(tmp_path: Path) -> None:
    counts = {"added": 40, "updated": 7, "skipped": 5, "unprocessed": 3}
    raw = build_result_zip(
        [
            ResultFile("x.csv", ["id", "Phone", "Due_Date"], counts, "Deals"),
            ("y.csv", ["Last_Name"], {"skipped": 2}),
        ]
    )
    files = read_zip(raw)
    assert [len(rows) - 1 for _, rows in files.values()] == [55, 2]
    assert Counter(row[-3] for row in files["x.csv"][1][1:]) == counts
    assert files["y.csv"][1][0] == ["Last_Name", *TRAILING]
    assert build_result_zip([]) == build_result_zip([])


def test_zbulk_reads_what_the_sandbox_serves(sb: Sandbox, tmp_path: Path) -> None:
    from zbulk.result_file import summarise_zip

    target = tmp_path / "r.zip"
    target.write_bytes(download(sb, DEMO_JOBS["completed"]).content)
    summary = summarise_zip(target)
    assert dict(summary.files[0].statuses) == {"added": 528, "skipped": 12}
    assert summary.files[0].encoding == "utf-8-sig" and not summary.warnings


@pytest.mark.parametrize(
    "counts",
    [
        {},
        {"added": 1},
        {"added": 5, "skipped": 5},
        {"added": 3, "updated": 11, "skipped": 2, "unprocessed": 4},
    ],
)
def test_interleave_counts_exactly(counts: dict[str, int]) -> None:
    order = list(interleave(counts))
    assert Counter(order) == Counter({k: v for k, v in counts.items() if v})
    assert "unprocessed" not in order[: len(order) - counts.get("unprocessed", 0)]


def test_error_text_format() -> None:
    texts = [error_text(["Last_Name", "Email", "Company"], j) for j in range(28)]
    assert all(ERRORS_RE.match(t) for t in texts)
    assert {t.split("-")[0] for t in texts} == set(ERROR_CODES)
    assert any(":" in t for t in texts) and any("," in t for t in texts)
    assert ERRORS_RE.match(error_text([], 4))


def test_result_files_refuses_unfinished() -> None:
    for doc in ({"status": "IN PROGRESS"}, {"status": "COMPLETED", "resource": [{}]}, []):
        with pytest.raises(ValueError):
            result_files(doc)
    doc = {"status": "FAILED", "resource": [{"module": "Leads", "file": {"total_count": 2}}]}
    assert result_files(json.loads(json.dumps(doc)))[0].counts["unprocessed"] == 2
