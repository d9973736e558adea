"""Result ZIPs in the sandbox, at Zoho's download path shape with the sandbox's org id:
``GET /v2/crm/{org}/bulk-write/{id}/{id}.zip`` (with the token), served as
``application/octet-stream`` as the OpenAPI file says; and the file each job's resources
were "uploaded" from: ``GET /sandbox/source/{id}.zip`` (no token; the sandbox's own
addition, not Zoho's, so users and tests can try ``zbulk job results --source``).

A job's files are built from the document the sandbox answers for it at that moment (its v8
shape), so the counts always agree. Per resource that has a ``file``, the uploaded CSV holds
every mapped column under the file's own headers (``SOURCE_FILES`` gives some demo files
human headers or another delimiter), and the result ZIP holds one CSV as Zoho's
download-result page documents it: named ``<Module>-<file stem>.csv``, holding only the
first three mapped columns of the uploaded file (under its headers), then STATUS, RECORD_ID
and ERRORS, one row per uploaded row in the uploaded order. Statuses interleave evenly among
the processed rows; a FAILED job's not-processed rest follows as ``unprocessed``. Skipped
rows carry every documented code across the demo jobs, and their uploaded cells show why
(a mandatory value empty, an invalid one malformed). Only documents whose
``result.download_url`` is this sandbox's own download path get files (the recorded v2.1
job's points at Zoho). Tests can serve any bytes of their own with ``put_download`` and make
every link expired with ``expire_downloads``: then every download answers as the OpenAPI
file documents a link no longer valid (403, ``Forbidden``, ``Link not valid``).
"""

from __future__ import annotations

import csv
import io
import json
import re
import threading
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from typing import IO, TYPE_CHECKING, Any, NamedTuple

from zbulk.sandbox.jobs import ORG_ID, Answer, Catalogue, compact, download_path

if TYPE_CHECKING:
    from zbulk.sandbox.messages import Request

DOWNLOAD_ROUTE = rf"/v2/crm/{ORG_ID}/bulk-write/(?P<job_id>\d+)/(?P=job_id)\.zip"
SOURCE_ROUTE = r"/sandbox/source/(?P<job_id>\d+)\.zip"
ZIP = "application/octet-stream"  # the OpenAPI file's type for the result download
SOURCE_TYPE = "application/zip"
STATUSES = ("added", "updated", "skipped", "unprocessed")
TRAILING = ("STATUS", "RECORD_ID", "ERRORS")
KEPT = 3  # mapped columns of the uploaded file a result file keeps
ERROR_CODES = (
    "MANDATORY_NOT_FOUND",
    "INVALID_DATA",
    "DUPLICATE_DATA",
    "NOT_APPROVED",
    "BLOCKED_RECORD",
    "CANNOT_PROCESS",
    "LIMIT_EXCEEDED",
    "RESOURCE_NOT_FOUND",
)
# A link no longer valid, in the terms the OpenAPI file's API_Exception documents for the
# download (``info`` "Forbidden", ``x-info`` "Link not valid").
EXPIRED_STATUS = 403
EXPIRED_BODY = {"info": "Forbidden", "x-info": "Link not valid"}
# Uploaded files that differ from "API names as headers, commas": file name -> (delimiter,
# header per api_name). Zoho detects the delimiter from the header and maps by index.
SOURCE_FILES: dict[str, tuple[str, dict[str, str]]] = {
    "accounts_import.csv": (
        ";",
        {
            "Account_Name": "Account Name",
            "Account_Type": "Type",
            "Billing_City": "City",
            "Annual_Revenue": "Revenue",
        },
    ),
    "deals.csv": ("|", {}),
    "tasks_update.csv": (";", {}),
}
_RECORD_BASE = 4150868000010000000
_FIRST = ("Ada", "José", "Mei", "Olu", "Priya", "Sven", "Zoë", "Tomás")
_CITIES = ("Chennai", "Austin", "Zürich", "Osaka", "Lagos", "São Paulo", "Leeds")
_PICKS = {  # a column's api_name (lower case): values to cycle through
    "lead_source": ("Web Download", "Trade Show", "Cold Call", "Partner"),
    "lead_status": ("Not Contacted", "Contacted", "Qualified"),
    "stage": ("Qualification", "Needs Analysis", "Proposal", "Closed Won"),
    "status": ("Not Started", "In Progress", "Completed"),
    "industry": ("Manufacturing", "Retail", "Technology", "Healthcare"),
    "account_type": ("Customer", "Prospect", "Partner"),
    "pipeline": ("Standard",),
    "owner": ("patricia.boyle@zylker.com", "sam.rivera@zylker.com"),
    "layout": ("Standard",),
}


class ResultFile(NamedTuple):
    """One resource's files: the result CSV's name, the uploaded file's header (its mapped
    columns in index order), how many rows of each status, the module (for plausible
    values), the uploaded file's name and delimiter, and the api_name of each column
    (``columns`` itself when empty)."""

    name: str
    columns: Sequence[str]
    counts: Mapping[str, int]
    module: str = ""
    source: str = ""
    delimiter: str = ","
    api_names: Sequence[str] = ()


def build_result_zip(files: Sequence[ResultFile | tuple[Any, ...]]) -> bytes:
    """The bytes of a result ZIP (deflated) holding one CSV per entry of ``files``."""
    buffer = io.BytesIO()
    write_result_zip(files, buffer)
    return buffer.getvalue()


def write_result_zip(files: Sequence[ResultFile | tuple[Any, ...]], dest: IO[bytes]) -> None:
    """Write a result ZIP to ``dest``, streaming each CSV's rows into the archive: UTF-8 with
    a BOM, CRLF line ends, the csv module's quoting; the first ``KEPT`` columns of the
    uploaded file, then STATUS, RECORD_ID, ERRORS."""
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as archive:
        for position, entry in enumerate(files):
            spec = ResultFile(*entry)
            with archive.open(spec.name, "w") as member:
                text = io.TextIOWrapper(member, encoding="utf-8-sig", newline="")
                writer = csv.writer(text, lineterminator="\r\n")
                writer.writerow([*spec.columns[:KEPT], *TRAILING])
                for cells, status, record_id, errors in source_rows(spec, position):
                    writer.writerow([*cells[:KEPT], status, record_id, errors])
                text.flush()
                text.detach()


def write_source_zip(files: Sequence[ResultFile | tuple[Any, ...]], dest: IO[bytes]) -> None:
    """Write the ZIP the resources of ``files`` were uploaded in: per entry its CSV (named
    ``source``), UTF-8, its delimiter, every mapped column, one row per result row."""
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as archive:
        for position, entry in enumerate(files):
            spec = ResultFile(*entry)
            with archive.open(spec.source or spec.name, "w") as member:
                text = io.TextIOWrapper(member, encoding="utf-8", newline="")
                writer = csv.writer(text, delimiter=spec.delimiter, lineterminator="\r\n")
                writer.writerow(spec.columns)
                writer.writerows(cells for cells, *_ in source_rows(spec, position))
                text.flush()
                text.detach()


def interleave(counts: Mapping[str, int]) -> Iterator[str]:
    """Every status its count of times: added, updated and skipped spread evenly (each next
    row goes to the status furthest behind its share), then the unprocessed ones."""
    wanted = [(s, max(0, int(counts.get(s, 0)))) for s in STATUSES[:3]]
    processed = sum(n for _, n in wanted)
    emitted = [0] * len(wanted)
    for i in range(1, processed + 1):
        behind = [n * i - emitted[k] * processed for k, (_, n) in enumerate(wanted)]
        k = behind.index(max(behind))
        emitted[k] += 1
        yield wanted[k][0]
    for _ in range(max(0, int(counts.get("unprocessed", 0)))):
        yield "unprocessed"


def error_text(columns: Sequence[str], j: int) -> str:
    """The ERRORS of the ``j``-th skipped row in Zoho's form, one or two codes of one or two
    columns each: ``MANDATORY_NOT_FOUND-Company,Last_Name:DUPLICATE_DATA-Email``."""
    names = list(dict.fromkeys(columns)) or ["Record"]
    parts = []
    for e in range(1 + (j % 3 == 2)):
        code = ERROR_CODES[(j + 3 * e) % len(ERROR_CODES)]
        width = min(len(names), 1 + ((j // 2 + e) % 4 == 0))
        parts.append(code + "-" + ",".join(names[(j + e + c) % len(names)] for c in range(width)))
    return ":".join(parts)


def source_rows(spec: ResultFile, position: int) -> Iterator[tuple[list[str], str, str, str]]:
    """Each uploaded row in order: (its cells, STATUS, RECORD_ID, ERRORS). A mandatory
    value reported missing is empty in the row, an invalid one is malformed."""
    singular = (spec.module or "Record").removesuffix("s")
    api_names = list(spec.api_names) or list(spec.columns)
    skipped = 0
    for n, status in enumerate(interleave(spec.counts), 1):
        record = str(_RECORD_BASE + position * 100_000_000 + n)
        values = [_value(api, n, singular, record) for api in api_names]
        errors = ""
        if status == "skipped":
            errors = error_text(spec.columns, skipped)
            skipped += 1
            for part in errors.split(":"):
                code, _, names = part.partition("-")
                broken = names.split(",")
                if code in ("MANDATORY_NOT_FOUND", "INVALID_DATA"):
                    values = [
                        v if c not in broken else "" if code == "MANDATORY_NOT_FOUND" else _bad(v)
                        for c, v in zip(spec.columns, values, strict=True)
                    ]
        record_id = record if status in ("added", "updated") else ""
        yield values, status, record_id, errors


def _bad(value: str) -> str:
    """``value`` made invalid for its kind of field."""
    if "@" in value:
        return value.replace("@", " at ")
    if re.fullmatch(r"[\d.+ -]+", value):
        return value.replace("0", "O") + "?"
    return value + " (n/a)" if value else "n/a"


def _value(column: str, n: int, singular: str, record: str) -> str:
    """A plausible, deterministic cell for row ``n`` under ``column``."""
    key = column.lower().replace(" ", "_")
    if key in _PICKS:
        picks = _PICKS[key]
        return picks[n % len(picks)]
    if key == "id":
        return record
    if "email" in key:
        return f"{singular.lower()}{n:05d}@example.com"
    if "phone" in key or "mobile" in key:
        return f"+1 555 {n % 1000:03d} {n % 10000:04d}"
    if key == "first_name":
        return _FIRST[n % len(_FIRST)]
    if key in ("company", "account_name"):
        return f"Company {n:05d}"
    if "city" in key:
        return _CITIES[n % len(_CITIES)]
    if "date" in key:
        return f"2024-{1 + n % 12:02d}-{1 + n % 28:02d}"
    if key in ("amount", "annual_revenue"):
        return f"{(n * 7919) % 100_000 + 500}.00"
    if key == "website":
        return f"https://www.company{n:05d}.example"
    return f"{singular} {n:05d}"


def result_files(doc: Any) -> list[ResultFile]:
    """The CSVs a finished job document's result ZIP holds (ValueError if it has none)."""
    if not isinstance(doc, dict) or doc.get("status") not in ("COMPLETED", "FAILED"):
        raise ValueError("not a finished job")
    files, names = [], set()
    for resource in doc.get("resource") or []:
        file = resource.get("file") if isinstance(resource, dict) else None
        if not isinstance(file, dict):
            continue
        module = resource.get("module")
        module = str(module.get("api_name") or "") if isinstance(module, dict) else str(module)
        mappings = [
            m
            for m in resource.get("field_mappings") or []
            if isinstance(m, dict) and isinstance(m.get("index"), int)
        ]
        api_names = [str(m.get("api_name")) for m in sorted(mappings, key=lambda m: m["index"])]
        counts = {s: int(file.get(f"{s}_count") or 0) for s in STATUSES[:3]}
        total = int(file.get("total_count") or 0)
        counts["unprocessed"] = max(0, total - sum(counts.values()))
        source = str(file.get("name") or module or "result").rsplit("/", 1)[-1]
        delimiter, headers = SOURCE_FILES.get(source, (",", {}))
        columns = [headers.get(a, a) for a in api_names]
        stem = re.sub(r"[^A-Za-z0-9_.-]", "_", source.removesuffix(".csv")).strip(".") or "result"
        base = f"{module or 'Records'}-{stem}"
        name, i = f"{base}.csv", 1
        while name in names:
            i += 1
            name = f"{base}_{i}.csv"
        names.add(name)
        files.append(
            ResultFile(name, columns, counts, module, source or f"{stem}.csv", delimiter, api_names)
        )
    if not files:
        raise ValueError("no resource has a file")
    return files


class Downloads:
    """What the download route serves: put bytes, built ZIPs (cached), and expiry."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._put: dict[str, Answer] = {}
        self._built: dict[str, tuple[list[ResultFile], bytes]] = {}
        self.expired = False

    def put(self, job_id: str, body: bytes, status: int, content_type: str) -> None:
        if not job_id.isdigit():
            raise ValueError(f"job ids are all digits, not {job_id!r}")
        with self._lock:
            self._put[job_id] = (status, bytes(body), content_type, {})

    def answer(self, catalogue: Catalogue, job_id: str, base_url: str) -> Answer | None:
        """The answer for ``job_id``'s download, or None where the sandbox has no file."""
        if self.expired:
            return EXPIRED_STATUS, compact(EXPIRED_BODY), "application/json;charset=utf-8", {}
        with self._lock:
            put = self._put.get(job_id)
        if put is not None:
            return put
        files = self.files(catalogue, job_id, base_url)
        if files is None:
            return None
        with self._lock:
            cached = self._built.get(job_id)
        if cached is None or cached[0] != files:
            cached = files, build_result_zip(files)
            with self._lock:
                self._built[job_id] = cached
        disposition = {"Content-Disposition": f'attachment; filename="{job_id}.zip"'}
        return 200, cached[1], ZIP, disposition

    @staticmethod
    def files(catalogue: Catalogue, job_id: str, base_url: str) -> list[ResultFile] | None:
        """The files of ``job_id`` as its document says now; None where it has none."""
        found = catalogue.answer(job_id, "v8", base_url)
        if found is None or found[0] != 200:
            return None
        try:
            doc = json.loads(found[1])
            if (doc.get("result") or {}).get("download_url") != base_url + download_path(job_id):
                return None
            return result_files(doc)
        except (ValueError, TypeError, AttributeError):  # not JSON, not finished, odd shapes
            return None


class ResultFilesMixin:
    """What the Sandbox shows of its result files."""

    _catalogue: Catalogue
    _downloads: Downloads

    if TYPE_CHECKING:

        @property
        def url(self) -> str: ...  # the Sandbox's

    def put_download(
        self, job_id: str, body: bytes, status: int = 200, content_type: str = ZIP
    ) -> None:
        """Serve exactly these bytes at ``job_id``'s download path, known job or not."""
        self._downloads.put(job_id, body, status, content_type)

    def expire_downloads(self, expired: bool = True) -> None:
        """Every download answers 403 "Link not valid" from now on (False: serve them again)."""
        self._downloads.expired = expired

    def source_zip(self, job_id: str) -> bytes:
        """The ZIP ``job_id``'s resources were uploaded in (LookupError if it has no
        result file): one CSV per resource, as ``GET /sandbox/source/{id}.zip`` serves."""
        files = Downloads.files(self._catalogue, job_id, self.url)
        if files is None:
            raise LookupError(f"job {job_id} has no result file in this sandbox")
        buffer = io.BytesIO()
        write_source_zip(files, buffer)
        return buffer.getvalue()

    def _get_source(self, request: Request) -> Answer | None:
        """The uploaded file's answer; None when there is none (the server says 404)."""
        job_id = request.match["job_id"]
        try:
            body = self.source_zip(job_id)
        except LookupError:
            return None
        disposition = {"Content-Disposition": f'attachment; filename="{job_id}-source.zip"'}
        return 200, body, SOURCE_TYPE, disposition

    def _get_download(self, request: Request) -> Answer | None:
        """The download's answer; None when there is none (the server says 404)."""
        return self._downloads.answer(self._catalogue, request.match["job_id"], self.url)

    def download_url(self, job_id: str) -> str:
        """The URL the sandbox serves ``job_id``'s result file at (as in its documents)."""
        return self.url + download_path(job_id)
