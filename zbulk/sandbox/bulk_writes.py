"""Creating jobs in the sandbox, and jobs that really run over the rows uploaded.

Each takes a token with its scopes, as Zoho's pages say (``accounts``): an upload
ZohoFiles.files.ALL; the org ZohoCRM.org.READ; a create ZohoCRM.bulk.CREATE (or .ALL) and the
module's (ZohoCRM.modules.ALL, or ZohoCRM.modules.<module>.ALL or .CREATE).

- ``POST /crm/{v}/upload`` (multipart, field ``file``; headers ``feature: bulk-write`` and
  ``X-CRM-ORG`` with the sandbox org's id): a ZIP of at most 25 MB, else the OpenAPI file's
  INVALID_FILE_FORMAT (HTTP 200 with ``details.created_time``, as Zoho's recorded answer),
  FILE_TOO_LARGE (HTTP 413, as the docs say), FILE_NOT_SUPPORTED (400). Answers
  ``FILE_UPLOAD_SUCCESS`` with a ``file_id``.
- ``GET /crm/{v}/org``: the sandbox org, its ``zgid`` the id uploads carry.
- ``POST /crm/bulk/{v}/write``: checks the body as Zoho does (HEADER_LIMIT_EXCEEDED over
  200 columns, MISSING_REQUIRED_KEY,
  INVALID_DATA, INVALID_CALLBACK_METHOD, MODULE_NOT_AVAILABLE, INVALID_FILE_ID,
  INVALID_FIELD, COLUMN_INDEX_NOT_FOUND, MANDATORY_FIELDS_NOT_MAPPED), then runs the job over
  the uploaded rows at once against the field definitions of ``zbulk.sandbox.modules`` (the
  ones its metadata endpoints describe: mandatory fields, lengths, email, date, date-time,
  boolean, number and lookup id formats, unique fields; update and upsert match on
  ``find_by``, once per record in a file), keeping the records made, so a later job sees
  them. The module is a string at v2 and an object from v2.1 on (the other shape is
  INVALID_DATA); the job is served in the shape of the version asked (as ``jobs.shape``
  shapes every job). The job's document then moves from ADDED through IN PROGRESS to
  COMPLETED over ``import_duration`` seconds; its counts (``file``) appear only at the end,
  as in Zoho's one recorded IN PROGRESS answer, saying what happened, and its
  result file (``<Module>-<file stem>.csv``: the first three mapped columns under the
  uploaded headers, then STATUS, RECORD_ID, ERRORS) saying it row by row, for seven days
  after the job ends (``LINK_LIFETIME``, on the sandbox clock); then 403 "Link not valid".
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
import re
import threading
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from zbulk.sandbox.accounts import (
    CREATE_SCOPES,
    ORG_SCOPES,
    UPLOAD_SCOPES,
    allows,
    module_scope,
)
from zbulk.sandbox.jobs import (
    _CREATED_BY,
    _MODULE_IDS,
    ORG_ID,
    ORG_TZ,
    VERSION_PATTERN,
    Answer,
    compact,
    download_path,
    shape,
)
from zbulk.sandbox.modules import MODULES, NUMBER_TYPES, Field
from zbulk.sandbox.result_files import EXPIRED_BODY, EXPIRED_STATUS, TRAILING

if TYPE_CHECKING:
    from zbulk.sandbox.messages import Request

UPLOAD_ROUTE = rf"/crm/(?P<version>{VERSION_PATTERN})/upload"
ORG_ROUTE = rf"/crm/(?P<version>{VERSION_PATTERN})/org"
CREATE_ROUTE = rf"/crm/bulk/(?P<version>{VERSION_PATTERN})/write"
MAX_UPLOAD = 25 * 1024 * 1024
MAX_RECORDS = 25_000
MAX_HEADERS = 200  # column headers per file (HEADER_LIMIT_EXCEEDED)
LINK_LIFETIME = 7 * 24 * 3600.0  # a result link lasts up to seven days (Zoho's OpenAPI file)
ORG = {
    "id": "4150868000000225001",
    "company_name": "Zylker Sandbox",
    "zgid": ORG_ID,
    "primary_email": "patricia.boyle@zylker.example",
    "time_zone": "Asia/Kolkata",
    "country_code": "IN",
    "currency": "INR",
    "type": "production",
}
_FILE_BASE = 4150868000008000000
_JOB_BASE = 4150868000007000000
_RECORD_BASE = 4150868000020000000
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")
_DATE_PARTS = {"yyyy": "%Y", "MM": "%m", "dd": "%d", "HH": "%H", "mm": "%M", "ss": "%S"}
_INT_RANGE = {"integer": 2**31 - 1, "bigint": 2**63 - 1}
_BOOLEANS = frozenset({"true", "false"})
_NOT_MEASURED = frozenset(
    {"boolean", "date", "datetime", "picklist", "multiselectpicklist", "lookup", "ownerlookup"}
)


class Refused(Exception):
    """A request the sandbox answers with Zoho's error envelope."""

    def __init__(self, status: int, code: str, message: str, details: dict[str, Any]) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details

    def body(self) -> bytes:
        return compact(
            {"code": self.code, "details": self.details, "message": self.message, "status": "error"}
        )


def _missing(key: str, extra: str = "") -> Refused:
    return Refused(
        400,
        "MISSING_REQUIRED_KEY",
        f"required key {key} is not found in request body{extra}.",
        {"api_name": key},
    )


@dataclass
class Uploaded:
    file_id: str
    zip_name: str
    members: list[tuple[str, bytes]]


@dataclass
class Row:
    cells: list[str]  # the first three mapped columns
    status: str  # added, updated, skipped
    record_id: str = ""
    errors: str = ""


@dataclass
class Created:
    """A job made by a create request, its rows already processed."""

    id: str
    started: float  # on the sandbox clock
    created_time: str
    body: dict[str, Any]
    module: str
    file_id: str
    file_name: str  # the CSV in the uploaded ZIP
    columns: list[str]  # the result file's mapped columns (uploaded headers)
    rows: list[Row] = field(default_factory=list)


class BulkWrites:
    """Uploaded files, created jobs, and the records they made, per module."""

    def __init__(self, clock: Callable[[], float], duration: float = 3.0) -> None:
        self._clock = clock
        self.duration = duration
        self._lock = threading.Lock()
        self._files: dict[str, Uploaded] = {}
        self._jobs: dict[str, Created] = {}
        self._ids = itertools.count(1)
        self._record_ids = itertools.count(1)
        self.records: dict[str, dict[str, dict[str, str]]] = {m: {} for m in MODULES}
        # the jobs created from each uploaded CSV, by its sha256: what Zoho's import history
        # would show, and how a test sees a part created twice
        self.created_from: dict[str, list[str]] = {}
        # per module and unique field: value (lower case) -> record id
        self._unique: dict[str, dict[str, dict[str, str]]] = {
            name: {f.api_name: {} for f in m.fields if f.unique} for name, m in MODULES.items()
        }

    # uploads
    def upload(self, headers: Any, body: bytes) -> Answer:
        feature = (headers.get("feature") or "").strip()
        org = (headers.get("X-CRM-ORG") or "").strip()
        if feature != "bulk-write" or org != ORG_ID:
            doc = {
                "ERROR_CODE": 400,
                "ERROR_MESSAGE": "Bad Request",
                "x-error": "check if headers [feature, X-CRM-ORG] are present and valid",
                "http_status": "400",
            }
            return 400, compact(doc), "application/json;charset=utf-8", {}
        created = datetime.now(UTC).astimezone(ORG_TZ).isoformat(timespec="seconds")
        try:
            name, data = _file_part(headers.get("Content-Type") or "", body)
            members = _zip_members(data)
        except Refused as exc:
            if exc.code == "INVALID_FILE_FORMAT":  # Zoho's recorded answer: HTTP 200
                exc.status, exc.details = 200, {"created_time": created}
            return exc.status, exc.body(), "application/json;charset=utf-8", {}
        with self._lock:
            file_id = str(_FILE_BASE + next(self._ids))
            self._files[file_id] = Uploaded(file_id, name, members)
        doc = {
            "status": "success",
            "code": "FILE_UPLOAD_SUCCESS",
            "message": "file uploaded.",
            "details": {"file_id": file_id, "created_time": created},
        }
        return 200, compact(doc), "application/json", {}

    # creates
    def create(
        self, body: bytes, base_url: str, version: str = "v8", scopes: frozenset[str] | None = None
    ) -> Answer:
        try:
            job = self._create(body, version, scopes)
        except Refused as exc:
            return exc.status, exc.body(), "application/json;charset=utf-8", {}
        doc = {
            "status": "success",
            "code": "SUCCESS",
            "message": "success",
            "details": {"id": job.id, "created_by": dict(_CREATED_BY)},
        }
        return 201, compact(doc), "application/json", {}

    def _create(self, raw: bytes, version: str, scopes: frozenset[str] | None) -> Created:
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            body = None
        if not isinstance(body, dict):
            raise Refused(400, "INVALID_DATA", "the request body is not a JSON object", {})
        operation = body.get("operation")
        if operation is None:
            raise _missing("operation")
        if operation not in ("insert", "update", "upsert"):
            raise Refused(400, "INVALID_DATA", "invalid data", {"api_name": "operation"})
        callback = body.get("callback")
        if callback is not None:
            if not isinstance(callback, dict) or not callback.get("url"):
                raise _missing("url", " of callback")
            if callback.get("method") != "post":
                raise Refused(
                    400,
                    "INVALID_CALLBACK_METHOD",
                    "invalid callback method",
                    {"supported_callback_methods": ["post"]},
                )
        resources = body.get("resource")
        if not isinstance(resources, list) or not resources:
            raise _missing("resource")
        if len(resources) != 1 or not isinstance(resources[0], dict):
            raise Refused(
                400,
                "INVALID_DATA",
                "the sandbox takes one resource per job",
                {"api_name": "resource"},
            )
        resource = resources[0]
        module = resource.get("module")
        if module is None:
            raise _missing("module")
        # v2 takes the module as a string (Zoho's v2 Postman collection); v2.1 on, an object.
        if version == "v2" and not isinstance(module, str):
            raise Refused(400, "INVALID_DATA", "invalid data", {"api_name": "module"})
        if version != "v2":
            if not isinstance(module, dict):
                raise Refused(400, "INVALID_DATA", "invalid data", {"api_name": "module"})
            module = module.get("api_name")
        if not module or not isinstance(module, str):
            raise _missing("api_name", " of module")
        if not allows(scopes, module_scope(module)):  # the bulk scope was the route's
            raise Refused(401, "OAUTH_SCOPE_MISMATCH", "invalid oauth scope to access this URL", {})
        if module not in MODULES or not MODULES[module].creatable:
            raise Refused(
                400,
                "MODULE_NOT_AVAILABLE",
                f"Requested module '{module}' is not available.",
                {"api_name": "module"},
            )
        file_id = resource.get("file_id")
        if not file_id:
            raise _missing("file_id")
        with self._lock:
            uploaded = self._files.get(str(file_id))
        if uploaded is None:
            raise Refused(400, "INVALID_FILE_ID", "improper file id", {"api_name": "file_id"})
        if len(uploaded.members) != 1:
            raise Refused(
                400,
                "FILE_NOT_SUPPORTED",
                "File not supported for bulk write",
                {"api_name": "file_id"},
            )
        member, data = uploaded.members[0]
        encoding = body.get("character_encoding") or "utf-8-sig"
        if str(encoding).lower().replace("_", "-") in ("utf-8", "utf8"):
            encoding = "utf-8-sig"
        try:
            headers, rows = _parse_csv(data, str(encoding))
        except (LookupError, UnicodeDecodeError, csv.Error) as exc:
            raise Refused(
                400, "INVALID_DATA", f"the file cannot be read: {exc}", {"api_name": "file_id"}
            ) from None
        if len(headers) > MAX_HEADERS:
            raise Refused(
                400,
                "HEADER_LIMIT_EXCEEDED",
                f"the file has {len(headers)} column headers; at most {MAX_HEADERS} are allowed",
                {"api_name": "file_id"},
            )
        if len(rows) > MAX_RECORDS:
            raise Refused(
                400,
                "LIMIT_EXCEEDED",
                "more than 25000 records in the file",
                {"api_name": "file_id"},
            )
        fields = MODULES[module].by_name
        mappings = _mappings(resource, headers, fields)
        find_by = resource.get("find_by")
        if operation != "insert":
            if not find_by:
                raise _missing("find_by")
            unique = find_by == "id" or (find_by in fields and fields[find_by].unique)
            if not unique or find_by not in {m["api_name"] for m in mappings}:
                raise Refused(
                    400,
                    "INVALID_DATA",
                    "find_by must be id or a unique field that is mapped",
                    {"api_name": "find_by"},
                )
        if operation != "update":
            mapped = {m["api_name"] for m in mappings}
            missing = [name for name in MODULES[module].mandatory() if name not in mapped]
            if missing:
                raise Refused(
                    400,
                    "MANDATORY_FIELDS_NOT_MAPPED",
                    "All mandatory fields are not mapped for the layout",
                    {"api_names": missing},
                )
        ignore_empty = bool(resource.get("ignore_empty", body.get("ignore_empty")))
        with self._lock:
            job_id = str(_JOB_BASE + next(self._ids))
            shown = sorted(
                (m for m in mappings if m.get("index") is not None), key=lambda m: m["index"]
            )[:3]
            job = Created(
                job_id,
                self._clock(),
                datetime.now(UTC).astimezone(ORG_TZ).isoformat(timespec="seconds"),
                body,
                module,
                uploaded.file_id,
                member,
                [headers[m["index"]] for m in shown],
            )
            keys: set[str] = set()  # find_by values met in this file
            for cells in rows:
                job.rows.append(
                    self._process(
                        module,
                        operation,
                        find_by,
                        mappings,
                        headers,
                        cells,
                        shown,
                        ignore_empty,
                        keys,
                    )
                )
            self._jobs[job_id] = job
            digest = hashlib.sha256(data).hexdigest()
            self.created_from.setdefault(digest, []).append(job_id)
        return job

    def _process(
        self,
        module: str,
        operation: str,
        find_by: str | None,
        mappings: list[dict[str, Any]],
        headers: list[str],
        cells: list[str],
        shown: list[dict[str, Any]],
        ignore_empty: bool,
        keys: set[str],
    ) -> Row:
        definition = MODULES[module]
        fields = definition.by_name
        mandatory = set(definition.mandatory())
        store = self.records[module]
        values: dict[str, str] = {}
        column: dict[str, str] = {}
        for m in mappings:
            index = m.get("index")
            value = cells[index].strip() if index is not None and index < len(cells) else ""
            default = m.get("default_value")
            if not value and isinstance(default, dict):
                value = str(default.get("value") or default.get("name") or "")
            values[m["api_name"]] = value
            column[m["api_name"]] = headers[index] if index is not None else m["api_name"]
        row_cells = [cells[m["index"]] if m["index"] < len(cells) else "" for m in shown]
        target = None
        if operation != "insert" and find_by:
            key = values.get(find_by, "")
            folded = key if find_by == "id" or fields[find_by].casesensitive else key.lower()
            if key and folded in keys:  # a second row for one record in the same file
                return Row(row_cells, "skipped", "", f"DUPLICATE_DATA-{column[find_by]}")
            keys.add(folded)
            target = key if find_by == "id" and key in store else self._find(module, find_by, key)
            if target is None and operation == "update":
                return Row(row_cells, "skipped", "", f"RESOURCE_NOT_FOUND-{column[find_by]}")
        errors: dict[str, list[str]] = {}
        for m in mappings:
            api_name = m["api_name"]
            value = values[api_name]
            f = fields.get(api_name)
            if f is None:
                continue
            required = api_name in mandatory and target is None
            code = _check(f, value, required, m.get("format"), m.get("find_by"))
            if code is None and f.unique and value:
                other = self._find(module, api_name, value)
                if other is not None and other != target:
                    code = "DUPLICATE_DATA"
            if code:
                errors.setdefault(code, []).append(column[api_name])
        if errors:
            text = ":".join(f"{code}-{','.join(cols)}" for code, cols in errors.items())
            return Row(row_cells, "skipped", "", text)
        kept = {k: v for k, v in values.items() if k != "id" and (v or not ignore_empty)}
        index = self._unique[module]
        if target is None:
            record_id = str(_RECORD_BASE + next(self._record_ids))
            store[record_id] = kept
        else:
            record_id = target
            for api_name, by_value in index.items():
                old = _fold(fields[api_name], store[target].get(api_name, ""))
                if old and by_value.get(old) == target:
                    del by_value[old]
            store[target].update(kept)
        for api_name, by_value in index.items():
            value = store[record_id].get(api_name, "")
            if value:
                by_value[_fold(fields[api_name], value)] = record_id
        return Row(row_cells, "added" if target is None else "updated", record_id)

    def _find(self, module: str, api_name: str, value: str) -> str | None:
        """The record whose unique field ``api_name`` holds ``value`` (in any case, unless
        the field is case-sensitive)."""
        by_value = self._unique[module].get(api_name)
        if not value or by_value is None:
            return None
        return by_value.get(_fold(MODULES[module].by_name[api_name], value))

    # answers
    def answer(self, job_id: str, version: str, base_url: str) -> Answer | None:
        """The job document for a created job, or None if ``job_id`` is not one."""
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            return None
        return 200, compact(shape(self.document(job, base_url), version)), "application/json", {}

    def _progress(self, job: Created) -> tuple[str, int]:
        if self.duration <= 0:
            return "COMPLETED", len(job.rows)
        share = (self._clock() - job.started) / self.duration
        if share < 0.1:
            return "ADDED", 0
        if share >= 1.0:
            return "COMPLETED", len(job.rows)
        return "IN PROGRESS", int(len(job.rows) * (share - 0.1) / 0.9)

    def document(self, job: Created, base_url: str) -> dict[str, Any]:
        status, done = self._progress(job)
        body, resource = job.body, job.body["resource"][0]
        mappings = []
        for m in resource.get("field_mappings") or []:
            # parent_column_index is only a subform column's (an int32, never null): left out
            doc = {
                k: m.get(k)
                for k in ("api_name", "index", "format", "find_by", "module", "default_value")
            }
            mappings.append(doc)
        res: dict[str, Any] = {
            "status": status,
            "type": "data",
            "module": {"api_name": job.module, "id": _MODULE_IDS.get(job.module, "")},
            "code": status,
            "file_id": job.file_id,
            "file_names": [job.file_name],
            "find_by": resource.get("find_by"),
            "ignore_empty": bool(resource.get("ignore_empty", body.get("ignore_empty"))),
            "field_mappings": mappings,
        }
        if status == "COMPLETED":  # as Zoho's recorded IN PROGRESS answer: no counts before
            counts = {
                s: sum(r.status == s for r in job.rows[:done])
                for s in ("added", "updated", "skipped")
            }
            res["file"] = {
                "status": status,
                "name": job.file_name,
                "added_count": counts["added"],
                "skipped_count": counts["skipped"],
                "updated_count": counts["updated"],
                "total_count": len(job.rows),
            }
        top: dict[str, Any] = {
            "status": status,
            "character_encoding": body.get("character_encoding") or "UTF-8",
            "resource": [res],
            "id": job.id,
        }
        if status == "COMPLETED":
            top["result"] = {"download_url": base_url + download_path(job.id)}
        if isinstance(body.get("callback"), dict):
            top["callback"] = body["callback"]
        top["created_by"] = dict(_CREATED_BY)
        top["ignore_empty"] = bool(body.get("ignore_empty"))
        top["operation"] = body["operation"]
        top["created_time"] = job.created_time
        return top

    def download(self, job_id: str) -> Answer | None:
        """The result ZIP of a finished created job; None if ``job_id`` is not one."""
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None or self._progress(job)[0] != "COMPLETED":
            return None
        if self._clock() - job.started - max(self.duration, 0.0) >= LINK_LIFETIME:
            return EXPIRED_STATUS, compact(EXPIRED_BODY), "application/json;charset=utf-8", {}
        buffer = io.BytesIO()
        stem = job.file_name.rsplit("/", 1)[-1].removesuffix(".csv").removesuffix(".CSV")
        name = f"{job.module}-{stem}.csv"
        with (
            zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive,
            archive.open(name, "w") as member,
        ):
            text = io.TextIOWrapper(member, encoding="utf-8-sig", newline="")
            writer = csv.writer(text, lineterminator="\r\n")
            writer.writerow([*job.columns, *TRAILING])
            for row in job.rows:
                writer.writerow([*row.cells, row.status, row.record_id, row.errors])
            text.flush()
            text.detach()
        disposition = {"Content-Disposition": f'attachment; filename="{job_id}.zip"'}
        return 200, buffer.getvalue(), "application/octet-stream", disposition


def _mappings(
    resource: dict[str, Any], headers: list[str], fields: dict[str, Field]
) -> list[dict[str, Any]]:
    given = resource.get("field_mappings")
    if given is None:  # the headers are the fields' API names
        given = [{"api_name": h, "index": i} for i, h in enumerate(headers)]
        resource["field_mappings"] = given
    if not isinstance(given, list):
        raise _missing("field_mappings")
    checked = []
    for m in given:
        if not isinstance(m, dict) or not m.get("api_name"):
            raise _missing("api_name", " of field_mappings")
        api_name = m["api_name"]
        index = m.get("index")
        if index is None and not isinstance(m.get("default_value"), dict):
            raise _missing("index", f" for field {api_name}")
        if api_name not in fields and api_name != "id":
            raise Refused(
                400,
                "INVALID_FIELD",
                f"invalid mapping. invalid api_name {api_name}.",
                {"api_name": api_name},
            )
        if api_name in fields and fields[api_name].read_only:
            raise Refused(
                400,
                "INVALID_DATA",
                f"the field {api_name} is read only",
                {"api_name": api_name},
            )
        if index is not None and not (
            isinstance(index, int) and not isinstance(index, bool) and 0 <= index < len(headers)
        ):
            raise Refused(
                400,
                "COLUMN_INDEX_NOT_FOUND",
                f"column index {index} not found",
                {"api_name": api_name, "index": index},
            )
        checked.append(m)
    return checked


def _fold(f: Field, value: str) -> str:
    return value if f.casesensitive else value.lower()


def _check(
    f: Field, value: str, required: bool, fmt: str | None, find_by: str | None
) -> str | None:
    """The sandbox's verdict on one value of a field: None, or the error code Zoho's result
    file would give. (zbulk's pre-flight has its own checks; these are "Zoho's".)"""
    if not value:
        return "MANDATORY_NOT_FOUND" if required else None
    kind = f.data_type
    if kind not in _NOT_MEASURED and len(value) > f.length:
        return "INVALID_DATA"
    if kind == "email" and not _EMAIL.fullmatch(value):
        return "INVALID_DATA"
    if kind == "date":
        pattern = fmt or "yyyy-MM-dd"
        for java, py in _DATE_PARTS.items():
            pattern = pattern.replace(java, py)
        try:
            datetime.strptime(value, pattern)
        except ValueError:
            return "INVALID_DATA"
    if kind == "datetime":
        try:
            stamp = datetime.fromisoformat(value)
        except ValueError:
            return "INVALID_DATA"
        if stamp.tzinfo is None:
            return "INVALID_DATA"
    if kind == "boolean" and value.lower() not in _BOOLEANS:
        return "INVALID_DATA"
    if (
        kind in ("lookup", "ownerlookup")
        and find_by in (None, "id")
        and not (value.isascii() and value.isdigit())
    ):
        return "INVALID_DATA"
    if kind in NUMBER_TYPES:
        if "_" in value or value != value.strip():
            return "INVALID_DATA"
        try:
            if kind in _INT_RANGE:
                if abs(int(value)) > _INT_RANGE[kind]:
                    return "INVALID_DATA"
            else:
                number = float(value.replace(",", ""))
                if number != number or number in (float("inf"), float("-inf")):
                    return "INVALID_DATA"
        except ValueError:
            return "INVALID_DATA"
    return None


def _file_part(content_type: str, body: bytes) -> tuple[str, bytes]:
    """The ``file`` field of a multipart/form-data body: (file name, bytes)."""
    found = re.search(r'boundary="?([^";]+)"?', content_type)
    if not content_type.lower().startswith("multipart/form-data") or found is None:
        raise Refused(
            400, "INVALID_FILE_FORMAT", "invalid file format. only zip format is supported", {}
        )
    delimiter = b"--" + found[1].encode()
    for part in body.split(delimiter)[1:]:
        if part.startswith(b"--"):
            break
        head, sep, data = part.partition(b"\r\n\r\n")
        if not sep:
            continue
        disposition = re.search(rb'name="([^"]*)"(?:; filename="([^"]*)")?', head)
        if disposition is not None and disposition[1] == b"file":
            name = (disposition[2] or b"file.zip").decode("utf-8", "replace")
            return name, data.removesuffix(b"\r\n")
    raise _missing("file")


def _zip_members(data: bytes) -> list[tuple[str, bytes]]:
    if len(data) > MAX_UPLOAD:
        raise Refused(413, "FILE_TOO_LARGE", "File size too large to process", {})
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = [i for i in archive.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, ValueError):
        raise Refused(
            400, "INVALID_FILE_FORMAT", "invalid file format. only zip format is supported", {}
        ) from None
    if not infos or any(not i.filename.lower().endswith(".csv") for i in infos):
        raise Refused(400, "FILE_NOT_SUPPORTED", "File not supported for bulk write", {})
    if sum(i.file_size for i in infos) > MAX_UPLOAD:
        raise Refused(413, "FILE_TOO_LARGE", "File size too large to process", {})
    with archive:
        return [(i.filename, archive.read(i)) for i in infos]


def _parse_csv(data: bytes, encoding: str) -> tuple[list[str], list[list[str]]]:
    text = data.decode(encoding)
    first = text.split("\n", 1)[0]
    outside = re.sub(r'"[^"]*"', "", first)
    delimiter = max((",", ";", ":", "|"), key=outside.count)
    if not outside.count(delimiter):
        delimiter = ","
    reader: Iterator[list[str]] = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    headers = next(reader, [])
    rows = [row for row in reader if any(cell.strip() for cell in row)]
    return headers, rows


class BulkWritesMixin:
    """The routes of creating jobs, for the Sandbox."""

    _imports: BulkWrites

    if TYPE_CHECKING:

        @property
        def url(self) -> str: ...

        def add_route(
            self, pattern: str, handler: Any, methods: str = "GET", auth: bool = True
        ) -> None: ...

    def _init_imports(self, clock: Callable[[], float]) -> list[tuple[str, str, Any, Any]]:
        """Start the store; the routes (pattern, methods, answer, scopes) for the server."""
        self._imports = BulkWrites(clock)
        return [
            (UPLOAD_ROUTE, "POST", self._post_upload, UPLOAD_SCOPES),
            (ORG_ROUTE, "GET", self._get_org, ORG_SCOPES),
            (CREATE_ROUTE, "POST", self._post_create, CREATE_SCOPES),
        ]

    @property
    def import_duration(self) -> float:
        """Seconds a created job takes from ADDED to COMPLETED (0: done at once)."""
        return self._imports.duration

    @import_duration.setter
    def import_duration(self, seconds: float) -> None:
        self._imports.duration = seconds

    @property
    def records(self) -> dict[str, dict[str, dict[str, str]]]:
        """The records created jobs made, per module: {record id: {field: value}}."""
        return self._imports.records

    @property
    def created_from(self) -> dict[str, list[str]]:
        """The jobs created from each uploaded CSV, by the CSV's sha256 (an import's part
        created twice shows as two ids)."""
        return self._imports.created_from

    @property
    def create_bodies(self) -> dict[str, dict[str, Any]]:
        """The body of each job created, by job id, in the order they came."""
        imports = self._imports
        with imports._lock:
            return {job_id: job.body for job_id, job in imports._jobs.items()}

    @property
    def uploaded_files(self) -> list[list[tuple[str, bytes]]]:
        """Each uploaded ZIP's members (name, bytes), in the order they came."""
        imports = self._imports
        with imports._lock:
            return [u.members for _, u in sorted(imports._files.items())]

    def _post_upload(self, request: Request) -> Answer:
        return self._imports.upload(request.headers, request.body)

    def _get_org(self, request: Request) -> Answer:
        return 200, compact({"org": [dict(ORG)]}), "application/json", {}

    def _post_create(self, request: Request) -> Answer:
        version = request.match["version"]
        return self._imports.create(request.body, self.url, version, request.scopes)

    def _created_job(self, job_id: str, version: str) -> Answer | None:
        return self._imports.answer(job_id, version, self.url)

    def _get_download(self, request: Request) -> Answer | None:
        """A created job's result file; the others' as ``ResultFilesMixin`` serves them."""
        found = self._imports.download(request.match["job_id"])
        if found is not None:
            return found
        return super()._get_download(request)  # type: ignore[misc]
