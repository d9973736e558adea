"""The sandbox over real loopback HTTP: routes, error envelopes, version shapes, demo job
progression on a fake clock, faults, put_document and request recording."""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from sandbox_support import DURATION, TOKEN, Clock, auth

from zbulk.sandbox import DEMO_JOB_IDS, DEMO_JOBS, Fault, Sandbox

ERROR_JSON = "application/json;charset=utf-8"
RECORDED_V2, RECORDED_V21 = "4150868000005392002", "4150868000005350003"
FINISHED = ("COMPLETED", "FAILED")


def get(sb: Sandbox, job_id: str, version: str = "v8", **kwargs: Any) -> requests.Response:
    kwargs.setdefault("headers", auth())
    kwargs.setdefault("timeout", 5)
    url = f"{sb.url}/crm/bulk/{version}/write/{job_id}"
    return requests.get(url, **kwargs)  # noqa: S113 (the timeout is in kwargs)


def doc(sb: Sandbox, job_id: str, version: str = "v8") -> dict[str, Any]:
    r = get(sb, job_id, version)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "application/json"
    return r.json()


def envelope(code: str, message: str) -> dict[str, Any]:
    return {"code": code, "details": {}, "message": message, "status": "error"}


def assert_error(r: requests.Response, status: int, code: str, message: str) -> None:
    assert r.status_code == status
    if code == "RESOURCE_NOT_FOUND":  # the API's own answer, as recorded
        assert r.headers["Content-Type"] == "application/json"
        assert list(r.json()) == ["status", "code", "message", "details"]
    else:  # the front end's and authentication's: compact, a newline, a Content-Length
        assert r.headers["Content-Type"] == ERROR_JSON
        assert (
            r.content == json.dumps(envelope(code, message), separators=(",", ":")).encode() + b"\n"
        )
        assert int(r.headers["Content-Length"]) == len(r.content)
    assert r.json() == envelope(code, message)


# --- routes, errors, headers ---------------------------------------------------------------


def test_url_token_and_jobs(sb: Sandbox) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", sb.url)
    assert sb.token == TOKEN
    assert sb.jobs == list(DEMO_JOB_IDS)
    assert set(DEMO_JOBS) >= {
        "upsert",
        "large",
        "failing",
        "completed",
        "defaults",
        "recorded_v2",
        "recorded_v21",
    }
    assert all(re.fullmatch(r"\d{19}", j) for j in DEMO_JOB_IDS)
    assert len(set(DEMO_JOB_IDS)) == len(DEMO_JOB_IDS)


def test_random_token_and_unbound_url() -> None:
    a, b = Sandbox(), Sandbox()
    assert a.token.startswith("sandbox-") and len(a.token) > 30 and a.token != b.token
    with pytest.raises(RuntimeError):
        _ = a.url
    a.stop()  # never started: a no-op


def test_recorded_v2(sb: Sandbox) -> None:
    d = doc(sb, RECORDED_V2, "v2")
    assert d["status"] == "INPROGRESS" and d["id"] == RECORDED_V2
    assert d["created_by"] == {"id": "4150868000000225013", "name": "Patricia Boyle"}
    assert d["created_time"] == "2021-05-13T11:00:58+05:30"
    assert d["ignore_empty"] is True and d["operation"] == "insert"
    assert d["callback"]["method"] == "post"
    (res,) = d["resource"]
    assert res["module"] == "Leads" and res["code"] == "INPROGRESS" and "file" not in res
    assert [m["index"] for m in res["field_mappings"]] == [1, 2, 0, 4, 3]
    assert res["field_mappings"][1]["format"] == "yyyy/MM/dd"


@pytest.mark.parametrize("version", ["v2.1", "v3", "v7", "v8"])
def test_recorded_v2_in_the_shape_of_the_version_asked(sb: Sandbox, version: str) -> None:
    recorded, d = doc(sb, RECORDED_V2, "v2"), doc(sb, RECORDED_V2, version)
    assert d["status"] == "IN PROGRESS" and d["character_encoding"] == "UTF-8"
    (res,) = d["resource"]
    assert res["module"] == {"id": "4150868000000002175", "api_name": "Leads"}
    assert res["status"] == res["code"] == "IN PROGRESS"
    assert res["field_mappings"] == recorded["resource"][0]["field_mappings"]
    v8_keys = {"file_id", "file_names", "find_by", "ignore_empty"}
    assert (v8_keys & set(res)) == (v8_keys if version == "v8" else set())
    same = ("id", "callback", "created_by", "ignore_empty", "operation", "created_time")
    assert [(k, d[k]) for k in same] == [(k, recorded[k]) for k in same]


# Zoho's recorded answers (its v2 and v2.1 Postman collections, "Job Details"), compact: the
# sandbox serves each, asked at its own version, byte for byte (values and key order).
ZOHO_V2 = (
    '{"status":"INPROGRESS","resource":[{"status":"INPROGRESS","type":"data","module":"Leads",'
    '"field_mappings":[{"api_name":"Owner","index":1,"format":null,"find_by":null,"module":null,'
    '"default_value":null},{"api_name":"Date_3","index":2,"format":"yyyy/MM/dd","find_by":null,'
    '"module":null,"default_value":null},{"api_name":"Last_Name","index":0,"format":null,'
    '"find_by":null,"module":null,"default_value":null},{"api_name":"Layout","index":4,'
    '"format":null,"find_by":null,"module":null,"default_value":null},{"api_name":"Mobile",'
    '"index":3,"format":null,"find_by":null,"module":null,"default_value":null}],'
    '"code":"INPROGRESS"}],"id":"4150868000005392002","callback":{"url":'
    '"https://www.zoho.com/in/crm/","method":"post"},"created_by":{"id":"4150868000000225013",'
    '"name":"Patricia Boyle"},"ignore_empty":true,"operation":"insert",'
    '"created_time":"2021-05-13T11:00:58+05:30"}'
)
ZOHO_V21 = (
    '{"status":"COMPLETED","character_encoding":"UTF-8","resource":[{"status":"COMPLETED",'
    '"type":"data","module":{"id":"4150868000000002175","api_name":"Leads"},"field_mappings":'
    '[{"api_name":"Owner","index":2,"format":null,"find_by":null,"module":null,'
    '"default_value":null},{"api_name":"Last_Name","index":0,"format":null,"find_by":null,'
    '"module":null,"default_value":null},{"api_name":"Mobile","index":1,"format":null,'
    '"find_by":null,"module":null,"default_value":null}],"file":{"status":"COMPLETED",'
    '"name":"Fil2.csv","added_count":9,"skipped_count":2,"updated_count":0,"total_count":11},'
    '"code":"COMPLETED"}],"id":"4150868000005350003","callback":{"url":"https://www.zoho.com/",'
    '"method":"post"},"result":{"download_url":"https://download-accl.zoho.com/v2/crm/694902309/'
    'bulk-write/4150868000005350003/4150868000005350003.zip"},"created_by":{"id":'
    '"4150868000000225013","name":"Patricia Boyle"},"ignore_empty":true,"operation":"insert",'
    '"created_time":"2021-05-11T12:38:29+05:30"}'
)


@pytest.mark.parametrize(
    ("job_id", "version", "recorded"),
    [(RECORDED_V2, "v2", ZOHO_V2), (RECORDED_V21, "v2.1", ZOHO_V21)],
)
def test_recorded_answers_byte_for_byte(
    sb: Sandbox, job_id: str, version: str, recorded: str
) -> None:
    r = get(sb, job_id, version, headers={**auth(), "Accept-Encoding": "identity"})
    assert r.status_code == 200 and r.content == recorded.encode()


def test_recorded_v21_as_v2(sb: Sandbox) -> None:
    d = doc(sb, RECORDED_V21, "v2")
    assert "character_encoding" not in d and d["resource"][0]["module"] == "Leads"
    assert d["status"] == "COMPLETED" and d["resource"][0]["file"]["total_count"] == 11


def test_recorded_v21(sb: Sandbox) -> None:
    d = doc(sb, RECORDED_V21, "v2.1")
    assert d["status"] == "COMPLETED" and d["character_encoding"] == "UTF-8"
    (res,) = d["resource"]
    assert res["module"] == {"id": "4150868000000002175", "api_name": "Leads"}
    assert [(m["api_name"], m["index"]) for m in res["field_mappings"]] == [
        ("Owner", 2),
        ("Last_Name", 0),
        ("Mobile", 1),
    ]
    assert res["file"] == {
        "status": "COMPLETED",
        "name": "Fil2.csv",
        "added_count": 9,
        "skipped_count": 2,
        "updated_count": 0,
        "total_count": 11,
    }
    assert d["result"]["download_url"] == (
        "https://download-accl.zoho.com/v2/crm/694902309/bulk-write/"
        "4150868000005350003/4150868000005350003.zip"
    )


def test_unknown_id_is_400_resource_not_found(sb: Sandbox) -> None:
    r = get(sb, "4150868000000000001")
    assert_error(r, 400, "RESOURCE_NOT_FOUND", "The requested resource doesn't exist.")


@pytest.mark.parametrize(
    "path",
    [
        "/crm/bulk/v2/writ/4150868000005392002",
        "/crm/bulk/2/write/1",
        "/crm/bulk/v8/write/12a",
        "/crm/bulk/v8/write/",
        "/crm/bulk/v8/write/1/",
        "/",
        "/crm/bulk/v8.x/write/1",
        "/crm/bulk/v1/write/4150868000005392002",
        "/crm/bulk/v9/write/4150868000005392002",
        "/crm/bulk/v99.7/write/4150868000005392002",
        "/crm/bulk/v2.2/write/4150868000005392002",
        "/crm/bulk/v8.0/write/4150868000005392002",
        "/crm/bulk/V8/write/4150868000005392002",
    ],
)
def test_wrong_path_is_404_before_method_and_auth(sb: Sandbox, path: str) -> None:
    for method in ("GET", "POST"):
        r = requests.request(method, sb.url + path, timeout=5)
        message = "Please check if the URL trying to access is a correct one"
        assert_error(r, 404, "INVALID_URL_PATTERN", message)


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "COPY", "OPTIONS"])
def test_other_verbs_are_400_before_auth(sb: Sandbox, method: str) -> None:
    url = f"{sb.url}/crm/bulk/v8/write/{DEMO_JOBS['upsert']}"
    for headers in ({}, auth()):
        r = requests.request(method, url, headers=headers, data=b'{"x": 1}', timeout=5)
        message = "The http request method type is not a valid one"
        assert_error(r, 400, "INVALID_REQUEST_METHOD", message)


def test_head_gets_no_body(sb: Sandbox) -> None:
    r = requests.head(f"{sb.url}/crm/bulk/v8/write/{DEMO_JOBS['upsert']}", timeout=5)
    assert r.status_code == 400 and r.content == b""


@pytest.mark.parametrize(
    ("header", "code", "message"),
    [
        (None, "AUTHENTICATION_FAILURE", "Authentication failed"),
        (f"Bearer {TOKEN}", "AUTHENTICATION_FAILURE", "Authentication failed"),
        (TOKEN, "AUTHENTICATION_FAILURE", "Authentication failed"),
        ("Zoho-oauthtoken", "INVALID_TOKEN", "invalid oauth token"),
        ("Zoho-oauthtoken wrong", "INVALID_TOKEN", "invalid oauth token"),
        (f"Zoho-oauthtoken {TOKEN}x", "INVALID_TOKEN", "invalid oauth token"),
    ],
)
def test_auth(sb: Sandbox, header: str | None, code: str, message: str) -> None:
    headers = {} if header is None else {"Authorization": header}
    for job_id in (DEMO_JOBS["upsert"], "4150868000000000001"):  # auth comes before lookup
        assert_error(get(sb, job_id, headers=headers), 401, code, message)


@pytest.mark.parametrize("version", ["v2", "v2.1", "v3", "v4", "v5", "v6", "v7", "v8"])
def test_every_version_answers(sb: Sandbox, version: str) -> None:
    r = get(sb, DEMO_JOBS["upsert"], version)
    assert r.status_code == 200 and r.json()["id"] == DEMO_JOBS["upsert"]
    assert r.headers["Server"] == "ZGS" and "Date" in r.headers
    assert r.headers["Transfer-Encoding"] == "chunked" and "Content-Length" not in r.headers
    assert r.headers["Content-Encoding"] == "gzip"  # requests accepts gzip
    assert "X-ACCESSTOKEN-RESET" in r.headers


def test_keep_alive_session(sb: Sandbox) -> None:
    with requests.Session() as s:
        s.headers.update(auth())
        for _ in range(3):
            r = s.get(f"{sb.url}/crm/bulk/v8/write/{DEMO_JOBS['large']}", timeout=5)
            assert r.status_code == 200 and r.headers["Connection"] == "keep-alive"
        assert s.get(f"{sb.url}/nope", timeout=5).status_code == 404


# --- version shapes ------------------------------------------------------------------------


def test_v2_shape(sb: Sandbox, clock: Clock) -> None:
    clock.now += 70
    d = doc(sb, DEMO_JOBS["upsert"], "v2")
    assert d["status"] == "INPROGRESS" and "character_encoding" not in d and "result" not in d
    statuses = [r["status"] for r in d["resource"]]
    assert statuses == ["COMPLETED", "INPROGRESS", "ADDED"]
    for res in d["resource"]:
        assert isinstance(res["module"], str)
        assert res["code"] == res["status"] and res["type"] == "data"
        assert set(res) <= {"status", "code", "type", "module", "field_mappings", "file"}
        assert all("parent_column_index" not in m for m in res["field_mappings"])
    assert d["resource"][1]["file"]["status"] == "INPROGRESS"


@pytest.mark.parametrize("version", ["v2.1", "v3", "v7"])
def test_v21_to_v7_shape(sb: Sandbox, clock: Clock, version: str) -> None:
    clock.now += 70
    d = doc(sb, DEMO_JOBS["upsert"], version)
    assert d["status"] == "IN PROGRESS" and d["character_encoding"] == "UTF-8"
    assert [r["status"] for r in d["resource"]] == ["COMPLETED", "IN PROGRESS", "ADDED"]
    for res in d["resource"]:
        assert set(res["module"]) == {"api_name", "id"}
        assert not {"file_id", "file_names", "find_by", "ignore_empty"} & set(res)
        assert all("parent_column_index" not in m for m in res["field_mappings"])


def test_v8_shape(sb: Sandbox, clock: Clock) -> None:
    clock.now += 70
    d = doc(sb, DEMO_JOBS["upsert"], "v8")
    assert d["status"] == "IN PROGRESS" and d["character_encoding"] == "UTF-8"
    assert [r["module"]["api_name"] for r in d["resource"]] == ["Leads", "Contacts", "Accounts"]
    for res in d["resource"]:
        assert re.fullmatch(r"\d+", res["file_id"]) and res["file_names"][0].endswith(".csv")
        assert res["find_by"] and res["ignore_empty"] is True
        assert all("parent_column_index" not in m for m in res["field_mappings"])  # no subforms
    assert d["operation"] == "upsert" and d["created_by"]["name"]


def test_mappings_shuffled_but_stable(sb: Sandbox) -> None:
    for job_id in DEMO_JOB_IDS[:5]:
        orders = {
            v: [m["api_name"] for r in doc(sb, job_id, v)["resource"] for m in r["field_mappings"]]
            for v in ("v2", "v2.1", "v8")
        }
        assert orders["v2"] == orders["v2.1"] == orders["v8"]
        for res in doc(sb, job_id)["resource"]:
            indexes = [m["index"] for m in res["field_mappings"]]
            assert sorted(indexes) == list(range(len(indexes))) and indexes != sorted(indexes)


def test_lookup_default_and_format_mappings(sb: Sandbox) -> None:
    contacts = doc(sb, DEMO_JOBS["upsert"])["resource"][1]
    lookup = next(m for m in contacts["field_mappings"] if m["module"])
    assert lookup["find_by"] and lookup["module"] == "Accounts"
    assert set(lookup["default_value"]) == {"name"}
    (deals,) = doc(sb, DEMO_JOBS["defaults"])["resource"]
    values = [m["default_value"] for m in deals["field_mappings"] if m["default_value"]]
    assert values and all(set(v) == {"name"} for v in values)
    assert "yyyy-MM-dd" in [m["format"] for m in deals["field_mappings"]]


def test_created_times(sb: Sandbox) -> None:
    now = datetime.now(UTC)
    for job_id in DEMO_JOB_IDS[:5]:
        created = datetime.fromisoformat(doc(sb, job_id)["created_time"])
        assert created.utcoffset() is not None
        age = now - created
        if job_id == DEMO_JOBS["completed"]:
            assert timedelta(hours=20) < age < timedelta(days=2)
        else:
            assert timedelta(0) <= age < timedelta(minutes=1)


# --- demo jobs over time -------------------------------------------------------------------


def counts(res: dict[str, Any]) -> tuple[int, int, int]:
    f = res.get("file") or {}
    return f.get("added_count", 0), f.get("updated_count", 0), f.get("skipped_count", 0)


def test_progression(sb: Sandbox, clock: Clock) -> None:
    start = clock.now
    seen: dict[str, list[dict[str, Any]]] = {j: [] for j in DEMO_JOB_IDS[:5]}
    with requests.Session() as s:
        s.headers.update(auth())
        for step in range(0, 121, 3):
            clock.now = start + step
            for job_id, docs in seen.items():
                docs.append(s.get(f"{sb.url}/crm/bulk/v8/write/{job_id}", timeout=5).json())
    order = {"ADDED": 0, "IN PROGRESS": 1, "COMPLETED": 2, "FAILED": 2}
    for job_id, docs in seen.items():
        statuses = [d["status"] for d in docs]
        assert [order[x] for x in statuses] == sorted(order[x] for x in statuses), job_id
        for before, after in itertools.pairwise(docs):
            for rb, ra in zip(before["resource"], after["resource"], strict=True):
                assert all(a >= b for a, b in zip(counts(ra), counts(rb), strict=True))
        for d in docs:
            for res in d["resource"]:
                if "file" in res:
                    assert sum(counts(res)) <= res["file"]["total_count"]
                    assert all(isinstance(c, int) for c in counts(res))
            assert ("result" in d) == (d["status"] in FINISHED)
    upsert, large = seen[DEMO_JOBS["upsert"]], seen[DEMO_JOBS["large"]]
    for docs in (upsert, large):
        assert docs[0]["status"] == "ADDED" and all("file" not in r for r in docs[0]["resource"])
        assert "IN PROGRESS" in [d["status"] for d in docs]
        final = docs[-1]
        assert final["status"] == "COMPLETED"
        assert final["result"]["download_url"] == sb.download_url(final["id"])
        for res in final["resource"]:
            assert res["status"] == "COMPLETED" and sum(counts(res)) == res["file"]["total_count"]
    assert sum(counts(r)[2] for r in upsert[-1]["resource"]) > 0
    (big,) = large[-1]["resource"]
    assert big["file"]["total_count"] == 25_000 and large[-1]["operation"] == "insert"
    failing = seen[DEMO_JOBS["failing"]]
    assert failing[-1]["status"] == "FAILED"
    first, rest = failing[-1]["resource"][0], failing[-1]["resource"][1:]
    assert first["status"] == first["file"]["status"] == "FAILED"
    assert 0 < sum(counts(first)) < first["file"]["total_count"]
    assert all(r["status"] == "SKIPPED" and "file" not in r for r in rest)
    failed = [d for d in failing if d["status"] == "FAILED"]
    assert len(failed) > 10 and all(d == failed[0] for d in failed)  # fails part way, then frozen
    completed = seen[DEMO_JOBS["completed"]]
    assert all(d == completed[0] for d in completed) and completed[0]["status"] == "COMPLETED"
    url = completed[0]["result"]["download_url"]
    assert re.fullmatch(re.escape(sb.url) + r"/v2/crm/\d+/bulk-write/(\d+)/\1\.zip", url)


def test_phases_on_the_clock(sb: Sandbox, clock: Clock) -> None:
    job = DEMO_JOBS["large"]
    assert doc(sb, job)["status"] == "ADDED"
    clock.now += 0.09 * DURATION
    assert doc(sb, job)["status"] == "ADDED"
    clock.now += 0.02 * DURATION
    d = doc(sb, job)
    assert d["status"] == "IN PROGRESS" and d["resource"][0]["file"]["total_count"] == 25_000
    clock.now += DURATION
    assert doc(sb, job)["status"] == "COMPLETED"
    assert doc(sb, job, "v2")["status"] == "COMPLETED"
    sb.restart_jobs()
    d = doc(sb, job, "v2")
    assert d["status"] == "ADDED" and "result" not in d
    assert doc(sb, DEMO_JOBS["completed"])["status"] == "COMPLETED"


# --- faults --------------------------------------------------------------------------------


def test_502_html_then_recovers(sb: Sandbox) -> None:
    sb.add_fault(Fault("status", status=502))
    r = get(sb, DEMO_JOBS["upsert"])
    assert r.status_code == 502 and r.headers["Content-Type"].startswith("text/html")
    assert "502 Bad Gateway" in r.text
    assert get(sb, DEMO_JOBS["upsert"]).status_code == 200


def test_429_with_retry_after(sb: Sandbox) -> None:
    sb.add_fault(Fault("status", status=429, headers={"Retry-After": "1"}))
    r = get(sb, DEMO_JOBS["upsert"])
    assert r.status_code == 429 and r.headers["Retry-After"] == "1"
    assert r.headers["Content-Type"] == ERROR_JSON and r.json()["status"] == "error"


def test_status_fault_with_own_body_and_type(sb: Sandbox) -> None:
    body = json.dumps(envelope("NO_PERMISSION", "permission denied"))
    sb.add_fault(Fault("status", status=403, body=body))
    sb.add_fault(Fault("status", status=500, body=b"plain", headers={"Content-Type": "text/x"}))
    r = get(sb, DEMO_JOBS["upsert"])
    assert r.status_code == 403 and r.text == body and r.headers["Content-Type"] == ERROR_JSON
    r = get(sb, DEMO_JOBS["upsert"])
    assert (r.status_code, r.content, r.headers["Content-Type"]) == (500, b"plain", "text/x")


def test_stall_times_out_the_client(sb: Sandbox) -> None:
    sb.add_fault(Fault("stall", delay=1.0))
    started = time.monotonic()
    with pytest.raises(requests.Timeout):
        get(sb, DEMO_JOBS["upsert"], timeout=0.3)
    assert time.monotonic() - started < 0.9
    assert get(sb, DEMO_JOBS["upsert"]).status_code == 200  # served by another thread


def test_short_stall_then_normal_answer(sb: Sandbox) -> None:
    sb.add_fault(Fault("stall", delay=0.05))
    started = time.monotonic()
    assert get(sb, DEMO_JOBS["upsert"]).status_code == 200
    assert time.monotonic() - started >= 0.05


def test_malformed(sb: Sandbox) -> None:
    sb.add_fault(Fault("malformed"))
    r = get(sb, DEMO_JOBS["upsert"])
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/json"
    assert r.content == b'{"status": "COMPL'
    with pytest.raises(ValueError):
        r.json()


def test_drop(sb: Sandbox) -> None:
    sb.add_fault(Fault("drop"))
    with pytest.raises(requests.ConnectionError):
        get(sb, DEMO_JOBS["upsert"])
    assert get(sb, DEMO_JOBS["upsert"]).status_code == 200
    assert [r.status for r in sb.requests] == [0, 200]


def test_times_and_order(sb: Sandbox) -> None:
    sb.add_fault(Fault("status", status=503, times=2))
    sb.add_fault(Fault("status", status=504))
    got = [get(sb, DEMO_JOBS["upsert"]).status_code for _ in range(4)]
    assert got == [503, 503, 504, 200]
    sb.add_fault(Fault("status", status=502, times=None))
    assert [get(sb, DEMO_JOBS["upsert"]).status_code for _ in range(3)] == [502] * 3
    sb.clear_faults()
    assert get(sb, DEMO_JOBS["upsert"]).status_code == 200


def test_path_prefix(sb: Sandbox) -> None:
    sb.add_fault(Fault("status", status=503, path_prefix="/crm/bulk/v8/"))
    assert get(sb, DEMO_JOBS["upsert"], "v2").status_code == 200  # not matched, not consumed
    assert get(sb, DEMO_JOBS["upsert"], "v8").status_code == 503
    assert get(sb, DEMO_JOBS["upsert"], "v8").status_code == 200


def test_faults_come_before_the_url_check(sb: Sandbox) -> None:
    sb.add_fault(Fault("status", status=418))
    r = requests.get(sb.url + "/not/a/route", timeout=5)
    assert r.status_code == 418


def test_unknown_fault_kind() -> None:
    with pytest.raises(ValueError):
        Fault("explode")  # type: ignore[arg-type]


# --- put_document, recording, life cycle ---------------------------------------------------


def test_put_document_dict(sb: Sandbox) -> None:
    body = {"z_first": 1, "status": "COMPLETED", "id": "77", "nested": [None, {"x": "ü"}]}
    sb.put_document("77", body)
    for version in ("v2", "v8"):
        r = get(sb, "77", version)
        assert r.status_code == 200 and r.json() == body and list(r.json()) == list(body)
    assert sb.jobs == [*DEMO_JOB_IDS, "77"]
    assert_error(get(sb, "77", headers={}), 401, "AUTHENTICATION_FAILURE", "Authentication failed")


@pytest.mark.parametrize("body", ['{"status": "COMPL', "", "NaN", b"\xff\xfe garbage"])
def test_put_document_verbatim(sb: Sandbox, body: str | bytes) -> None:
    sb.put_document("42", body)
    r = get(sb, "42")
    assert r.status_code == 200
    assert r.content == (body.encode() if isinstance(body, str) else body)


def test_put_document_status_type_and_override(sb: Sandbox) -> None:
    job = DEMO_JOBS["upsert"]
    sb.put_document(job, "<html>oops</html>", status=500, content_type="text/html")
    r = get(sb, job)
    assert r.status_code == 500 and r.text == "<html>oops</html>"
    assert r.headers["Content-Type"] == "text/html"
    assert sb.jobs == list(DEMO_JOB_IDS)
    with pytest.raises(ValueError):
        sb.put_document("12a", {})


def test_requests_are_recorded(sb: Sandbox) -> None:
    assert sb.request_count() == 0
    get(sb, DEMO_JOBS["upsert"], params={"a": "1"})
    get(sb, DEMO_JOBS["upsert"], "v2", headers={"Authorization": "Bearer x"})
    requests.post(sb.url + "/oauth/v2/nowhere", timeout=5)
    first, second, third = sb.requests
    assert (first.method, first.status) == ("GET", 200)
    assert first.path == f"/crm/bulk/v8/write/{DEMO_JOBS['upsert']}?a=1"
    assert first.headers["Authorization"] == f"Zoho-oauthtoken {TOKEN}"
    assert second.headers["Authorization"] == "Bearer x" and second.status == 401
    assert (third.method, third.status) == ("POST", 404)
    assert first.time <= second.time <= third.time
    assert sb.request_count() == 3
    assert sb.request_count("/crm/bulk/v8/") == 1
    assert sb.request_count("/crm/") == 2


def test_serve_forever_and_stop_from_another_thread() -> None:
    sb = Sandbox(token=TOKEN).bind()
    thread = threading.Thread(target=sb.serve_forever, daemon=True)
    thread.start()
    assert get(sb, DEMO_JOBS["completed"]).json()["status"] == "COMPLETED"
    url = sb.url
    sb.stop()
    thread.join(timeout=2)
    assert not thread.is_alive()
    sb.stop()  # idempotent
    with pytest.raises(requests.ConnectionError):
        requests.get(url, timeout=1)


def test_stop_ends_stalls_and_idle_connections(clock: Clock) -> None:
    sb = Sandbox(token=TOKEN, clock=clock).start()
    session = requests.Session()
    session.get(sb.url + "/", timeout=5)  # leaves an idle keep-alive connection
    sb.add_fault(Fault("stall", delay=30.0))
    errors: list[BaseException] = []

    def stalled() -> None:
        try:
            get(sb, DEMO_JOBS["upsert"], timeout=10)
        except requests.RequestException as exc:
            errors.append(exc)

    waiter = threading.Thread(target=stalled)
    waiter.start()
    while sb.request_count() < 2:
        time.sleep(0.01)
    started = time.monotonic()
    sb.stop()
    waiter.join(timeout=5)
    assert time.monotonic() - started < 1 and errors
    session.close()


def test_restart_one_job_or_all(sb: Sandbox, clock: Clock) -> None:
    clock.now += 2 * DURATION
    assert doc(sb, DEMO_JOBS["large"])["status"] == "COMPLETED"
    sb.restart_jobs(DEMO_JOBS["large"])
    assert doc(sb, DEMO_JOBS["large"])["status"] == "ADDED"
    assert doc(sb, DEMO_JOBS["upsert"])["status"] == "COMPLETED"  # the others go on
    with pytest.raises(KeyError):
        sb.restart_jobs(RECORDED_V2)
    clock.now += 2 * DURATION
    url = f"{sb.url}/sandbox/jobs/{DEMO_JOBS['upsert']}/restart"
    r = requests.post(url, headers=auth(), timeout=5)
    assert r.status_code == 200 and r.json()["details"] == {"id": DEMO_JOBS["upsert"]}
    assert doc(sb, DEMO_JOBS["upsert"])["status"] == "ADDED"
    assert requests.post(url, timeout=5).status_code == 401
    r = requests.post(f"{sb.url}/sandbox/jobs/{RECORDED_V2}/restart", headers=auth(), timeout=5)
    assert r.status_code == 400 and r.json()["code"] == "RESOURCE_NOT_FOUND"
    sb.restart_jobs()
    assert {doc(sb, j)["status"] for j in DEMO_JOB_IDS[:3]} == {"ADDED"}
