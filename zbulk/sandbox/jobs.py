"""The sandbox's jobs: documents put by tests, two recorded Zoho answers, and demo jobs that
move with time. Every job of the sandbox's own is built once in its fullest (v8) form and then
shaped by the version asked: ``v8`` has ``file_id``, ``file_names``, ``find_by`` and
``ignore_empty`` in each resource; ``v2.1`` … ``v7`` leave those out; ``v2`` also gives the
module as a string, says ``INPROGRESS`` and has no ``character_encoding``. The recorded v2 job
asked as v2 is the recorded answer byte for byte (compact), and so is the recorded v2.1 job
asked as v2.1. Only the documented versions (``VERSIONS``) exist; the server answers any other
with 404 INVALID_URL_PATTERN, as Zoho does.

A demo job is ADDED (no counts) for its first ``ADDED_SHARE``, then processes its resources one
after another, counts growing linearly, and ends COMPLETED; the failing one stops part way,
FAILED, and skips the resources after it. ``restart`` starts every demo job over from ADDED
(``restart(job_id)`` just one), so a sandbox always has jobs to watch.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

Doc = dict[str, Any]
Answer = tuple[int, bytes, str, dict[str, str]]

ADDED_SHARE = 0.1
ORG_TZ = timezone(timedelta(hours=5, minutes=30))  # Zoho answers in the org's offset
_VERSION_RE = re.compile(r"v(\d+)(?:\.(\d+))?")
VERSIONS = ("v2", "v2.1", "v3", "v4", "v5", "v6", "v7", "v8")
VERSION_PATTERN = "|".join(v.replace(".", r"\.") for v in VERSIONS)
ORG_ID = "60020981731"  # the sandbox org's id, in its result files' URLs
_CREATED_BY = {"id": "4150868000000225013", "name": "Patricia Boyle"}
_CALLBACK = {"url": "https://hooks.example.com/zoho/bulk-write", "method": "post"}


@dataclasses.dataclass(frozen=True)
class Mapping:
    api_name: str
    index: int
    format: str | None = None
    find_by: str | None = None
    module: str | None = None
    default_value: Doc | None = None

    def render(self) -> Doc:
        """Keys in Zoho's order; ``parent_column_index`` only for a subform's column, which the
        demo jobs do not have (the OpenAPI file types it as an integer, not nullable)."""
        return dataclasses.asdict(self)  # a deep copy


@dataclasses.dataclass(frozen=True)
class Resource:
    module: str
    module_id: str
    file_id: str
    file_name: str
    added: int
    updated: int
    skipped: int
    mappings: tuple[Mapping, ...]  # in the (shuffled) order Zoho answers with
    find_by: str | None = None

    @property
    def total(self) -> int:
        return self.added + self.updated + self.skipped


@dataclasses.dataclass(frozen=True)
class DemoJob:
    id: str
    operation: str
    resources: tuple[Resource, ...]
    created_ago: float  # seconds before the sandbox's start
    span: float = 1.0  # share of job_duration the job takes to finish
    fail_at: float | None = None  # share of its records processed when it fails
    done_at_start: bool = False
    callback: bool = True

    @property
    def total(self) -> int:
        return sum(r.total for r in self.resources)


def _m(api_name: str, index: int, **extra: Any) -> Mapping:
    return Mapping(api_name, index, **extra)


_LEADS, _CONTACTS, _ACCOUNTS = "4150868000000002175", "4150868000000002179", "4150868000000002177"
_DEALS, _TASKS = "4150868000000002181", "4150868000000002193"

# Default values are objects of the OpenAPI file's default_value shape: ``name`` (a string),
# ``module``, or ``value``, which the file types as an object (so not a plain string).
# fmt: off
DEMO: tuple[DemoJob, ...] = (
    DemoJob("4150868000006801001", "upsert", created_ago=4, resources=(
        Resource("Leads", _LEADS, "4150868000006800101", "leads.csv", 780, 400, 20, (
            _m("Phone", 3), _m("Last_Name", 0), _m("Lead_Source", 4), _m("Email", 2),
            _m("Company", 1)), find_by="Email"),
        Resource("Contacts", _CONTACTS, "4150868000006800102", "contacts.csv", 500, 288, 12, (
            _m("Account_Name", 3, find_by="Account_Name", module="Accounts",
               default_value={"name": "Zylker Inc."}),
            _m("First_Name", 1), _m("Mailing_City", 4), _m("Last_Name", 0), _m("Email", 2)),
            find_by="Email"),
        Resource("Accounts", _ACCOUNTS, "4150868000006800103", "accounts.csv", 90, 57, 3, (
            _m("Industry", 1), _m("Phone", 3), _m("Account_Name", 0), _m("Website", 2)),
            find_by="Account_Name"),
    )),
    DemoJob("4150868000006801002", "insert", created_ago=3, callback=False, resources=(
        Resource("Leads", _LEADS, "4150868000006800104", "leads_2024_q3.csv", 24874, 0, 126, (
            _m("Owner", 6, find_by="email", module="users"), _m("Email", 3), _m("Last_Name", 0),
            _m("Lead_Status", 5), _m("Company", 2), _m("First_Name", 1), _m("Phone", 4))),
    )),
    DemoJob("4150868000006801003", "update", created_ago=2, fail_at=0.5, resources=(
        Resource("Deals", _DEALS, "4150868000006800105", "deals_update.csv", 0, 2700, 300, (
            _m("Amount", 1), _m("id", 0), _m("Stage", 2)), find_by="id"),
        Resource("Tasks", _TASKS, "4150868000006800106", "tasks_update.csv", 0, 1150, 50, (
            _m("Status", 1), _m("Due_Date", 2, format="MM/dd/yyyy"), _m("id", 0)),
            find_by="id"),
    )),
    DemoJob("4150868000006801004", "insert", created_ago=26 * 3600, done_at_start=True,
            resources=(
        Resource("Accounts", _ACCOUNTS, "4150868000006800107", "accounts_import.csv", 528, 0,
                 12, (_m("Billing_City", 2), _m("Account_Name", 0), _m("Annual_Revenue", 3),
                      _m("Account_Type", 1))),
    )),
    DemoJob("4150868000006801005", "insert", created_ago=5, span=0.5, resources=(
        Resource("Deals", _DEALS, "4150868000006800108", "deals.csv", 2460, 0, 40, (
            _m("Stage", 3, default_value={"name": "Qualification"}), _m("Deal_Name", 0),
            _m("Account_Name", 5, find_by="Account_Name", module="Accounts"),
            _m("Closing_Date", 1, format="yyyy-MM-dd"),
            _m("Pipeline", 4, default_value={"name": "Standard"}), _m("Amount", 2))),
    )),
)
# fmt: on


def _mapping_doc(api_name: str, index: int, fmt: str | None = None) -> Doc:
    return Mapping(api_name, index, fmt).render()


# fmt: off
RECORDED: dict[str, Doc] = {
    # Recorded v2 answer: still running, module as a string, mappings out of index order.
    "4150868000005392002": {
        "status": "INPROGRESS",
        "resource": [{
            "status": "INPROGRESS",
            "type": "data",
            "module": "Leads",
            "field_mappings": [
                _mapping_doc("Owner", 1), _mapping_doc("Date_3", 2, "yyyy/MM/dd"),
                _mapping_doc("Last_Name", 0), _mapping_doc("Layout", 4),
                _mapping_doc("Mobile", 3),
            ],
            "code": "INPROGRESS",
        }],
        "id": "4150868000005392002",
        "callback": {"url": "https://www.zoho.com/in/crm/", "method": "post"},
        "created_by": dict(_CREATED_BY),
        "ignore_empty": True,
        "operation": "insert",
        "created_time": "2021-05-13T11:00:58+05:30",
    },
    # Recorded v2.1 answer (Zoho's v2.1 Postman collection, "Job Details"): finished, module
    # as an object, a result file at Zoho; values and key order as recorded.
    "4150868000005350003": {
        "status": "COMPLETED",
        "character_encoding": "UTF-8",
        "resource": [{
            "status": "COMPLETED",
            "type": "data",
            "module": {"id": "4150868000000002175", "api_name": "Leads"},
            "field_mappings": [
                _mapping_doc("Owner", 2), _mapping_doc("Last_Name", 0),
                _mapping_doc("Mobile", 1),
            ],
            "file": {"status": "COMPLETED", "name": "Fil2.csv", "added_count": 9,
                     "skipped_count": 2, "updated_count": 0, "total_count": 11},
            "code": "COMPLETED",
        }],
        "id": "4150868000005350003",
        "callback": {"url": "https://www.zoho.com/", "method": "post"},
        "result": {"download_url": "https://download-accl.zoho.com/v2/crm/694902309/"
                                   "bulk-write/4150868000005350003/4150868000005350003.zip"},
        "created_by": dict(_CREATED_BY),
        "ignore_empty": True,
        "operation": "insert",
        "created_time": "2021-05-11T12:38:29+05:30",
    },
}
# fmt: on

# What the v8 shape adds to each recorded job's resource (v2 and v2.1 do not show it).
_RECORDED_V8 = {
    "4150868000005392002": {
        "file_id": "4150868000005392101",
        "file_names": ["Leads.csv"],
        "find_by": None,
        "ignore_empty": True,
    },
    "4150868000005350003": {
        "file_id": "4150868000005350101",
        "file_names": ["Fil2.csv"],
        "find_by": None,
        "ignore_empty": True,
    },
}
_MODULE_IDS = {
    "Leads": _LEADS,
    "Contacts": _CONTACTS,
    "Accounts": _ACCOUNTS,
    "Deals": _DEALS,
    "Tasks": _TASKS,
}
_V8_RESOURCE_KEYS = ("file_id", "file_names", "find_by", "ignore_empty")

_BY_ID = {job.id: job for job in DEMO}
DEMO_JOBS: dict[str, str] = {
    "upsert": DEMO[0].id,
    "large": DEMO[1].id,
    "failing": DEMO[2].id,
    "completed": DEMO[3].id,
    "defaults": DEMO[4].id,
    "recorded_v2": "4150868000005392002",
    "recorded_v21": "4150868000005350003",
}
DEMO_JOB_IDS: tuple[str, ...] = tuple(DEMO_JOBS.values())
# Jobs started on demand (Catalogue.start) are numbered from here.
STARTED_ID_BASE = 4150868000007900001
MAX_STARTED = 10_000


def compact(doc: Any) -> bytes:
    """JSON as Zoho sends it: no spaces, keys in the order given, UTF-8."""
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()


class Catalogue:
    """The jobs one sandbox serves, and when each demo job (re)started."""

    def __init__(self, clock: Callable[[], float], duration: float) -> None:
        if duration <= 0:
            raise ValueError("job_duration must be positive")
        self._clock, self._duration = clock, duration
        self._lock = threading.Lock()
        self._documents: dict[str, Answer] = {}
        self._t0: dict[str, float] = {}
        self._walls: dict[str, datetime] = {}  # a restarted job's start on the wall clock
        self._started = datetime.now(UTC)
        self._started_here: dict[str, DemoJob] = {}  # copies of demo jobs, started by start()
        self.restart()

    def restart(self, job_id: str | None = None) -> None:
        """Every demo job (or just ``job_id``) starts over from ADDED now."""
        if job_id is not None and job_id not in _BY_ID and job_id not in self._started_here:
            raise KeyError(job_id)
        now = self._clock()
        with self._lock:
            if job_id is None:
                self._t0 = dict.fromkeys([*_BY_ID, *self._started_here], now)
                self._started = datetime.now(UTC)
                self._walls.clear()
            else:
                self._t0[job_id] = now
                self._walls[job_id] = datetime.now(UTC)

    def start(self, count: int, like: str = "large", span: float = 1.0) -> list[str]:
        """Start ``count`` new jobs now, each a copy of the demo job ``like`` (a key of
        DEMO_JOBS) created this moment and taking ``span`` job_durations; their ids."""
        template = _BY_ID.get(DEMO_JOBS.get(like, ""))
        if template is None or template.done_at_start:
            raise KeyError(like)
        if not 0 < span <= 1000 or not 0 <= count <= MAX_STARTED:
            raise ValueError(f"start 0 to {MAX_STARTED} jobs, each 0 to 1000 job_durations")
        now, wall = self._clock(), datetime.now(UTC)
        with self._lock:
            first = len(self._started_here)
            if first + count > MAX_STARTED:
                raise ValueError(f"at most {MAX_STARTED} jobs can be started in one sandbox")
            ids = [f"{STARTED_ID_BASE + first + i}" for i in range(count)]
            for job_id in ids:
                self._started_here[job_id] = dataclasses.replace(
                    template, id=job_id, created_ago=0.0, span=span
                )
                self._t0[job_id], self._walls[job_id] = now, wall
        return ids

    def put(self, job_id: str, body: Doc | str | bytes, status: int, content_type: str) -> None:
        if not job_id.isdigit():
            raise ValueError(f"job ids are all digits, not {job_id!r}")
        raw = json.dumps(body, separators=(",", ":")) if isinstance(body, dict) else body
        raw = raw.encode() if isinstance(raw, str) else bytes(raw)
        with self._lock:
            self._documents[job_id] = (status, raw, content_type, {})

    @property
    def ids(self) -> list[str]:
        with self._lock:
            put = [j for j in self._documents if j not in DEMO_JOB_IDS]
            return [*DEMO_JOB_IDS, *self._started_here, *put]

    @property
    def token_reset(self) -> str:
        """X-ACCESSTOKEN-RESET: when the sandbox's token would reset (an hour after start)."""
        reset = self._started + timedelta(hours=1)
        return reset.astimezone(ORG_TZ).isoformat(timespec="seconds")

    def answer(self, job_id: str, version: str, base_url: str) -> Answer | None:
        """(status, body, content type, headers) for a GET of ``job_id``, or None if unknown."""
        with self._lock:
            stored, t0 = self._documents.get(job_id), self._t0.get(job_id)
            started = self._walls.get(job_id, self._started)
            copied = self._started_here.get(job_id)
        if stored is not None:
            return stored
        run = 0.0 if t0 is None else (self._clock() - t0) / self._duration
        doc: Doc | None
        if copied is not None:
            doc = shape(_render_demo(copied, run, base_url, started), version)
        else:
            doc = render(job_id, version, run, base_url, started)
        if doc is None:
            return None
        return 200, compact(doc), "application/json", {"X-ACCESSTOKEN-RESET": self.token_reset}


def parse_version(version: str) -> tuple[int, int]:
    """``"v2.1"`` -> ``(2, 1)``; ``"v8"`` -> ``(8, 0)``."""
    match = _VERSION_RE.fullmatch(version)
    if match is None:
        raise ValueError(f"not an API version: {version!r}")
    return int(match[1]), int(match[2] or 0)


def download_path(job_id: str, org_id: str = ORG_ID) -> str:
    """Where a job's result ZIP lives, in the path shape of Zoho's download host
    (``https://download-accl.zoho.com/v2/crm/{org}/bulk-write/{job}/{job}.zip``)."""
    return f"/v2/crm/{org_id}/bulk-write/{job_id}/{job_id}.zip"


def render(job_id: str, version: str, run: float, base_url: str, started: datetime) -> Doc | None:
    """``job_id`` as API ``version`` answers ``run`` job_durations after its start (``started``
    on the wall clock), or None for an unknown id."""
    if job_id in RECORDED:
        return shape(_fullest_recorded(job_id), version)
    job = _BY_ID.get(job_id)
    if job is None:
        return None
    return shape(_render_demo(job, run, base_url, started), version)


def shape(doc: Doc, version: str) -> Doc:
    """A job in its fullest (v8) form, as ``version`` answers it (a new document)."""
    v = parse_version(version)
    v2 = v < (2, 1)

    def spell(status: Any) -> Any:
        return "INPROGRESS" if v2 and status == "IN PROGRESS" else status

    out: Doc = {}
    for key, value in doc.items():
        if key == "character_encoding" and v2:
            continue
        if key == "status":
            value = spell(value)
        elif key == "resource":
            value = [_shape_resource(r, v, spell) for r in value]
        out[key] = copy.deepcopy(value)
    return out


def _shape_resource(res: Doc, version: tuple[int, int], spell: Callable[[Any], Any]) -> Doc:
    out: Doc = {}
    for key, value in res.items():
        if key in _V8_RESOURCE_KEYS and version < (8, 0):
            continue
        if key in ("status", "code"):
            value = spell(value)
        elif key == "module" and version < (2, 1) and isinstance(value, dict):
            value = value["api_name"]
        elif key == "file":
            value = {k: spell(x) if k == "status" else x for k, x in value.items()}
        out[key] = value
    return out


def _fullest_recorded(job_id: str) -> Doc:
    """A recorded answer in its v8 form: module as an object (keys in the order the recorded
    v2.1 answer has them), ``IN PROGRESS``, ``character_encoding``, the v8 resource keys."""
    recorded = RECORDED[job_id]
    doc: Doc = {}
    for key, value in recorded.items():
        if key == "status":
            doc[key] = "IN PROGRESS" if value == "INPROGRESS" else value
            doc.setdefault("character_encoding", recorded.get("character_encoding", "UTF-8"))
        elif key == "resource":
            doc[key] = [_fullest_resource(r, _RECORDED_V8[job_id]) for r in value]
        else:
            doc[key] = copy.deepcopy(value)
    return doc


def _fullest_resource(res: Doc, v8: Doc) -> Doc:
    out: Doc = {}
    for key, value in res.items():
        if key in ("status", "code"):
            value = "IN PROGRESS" if value == "INPROGRESS" else value
        elif key == "module" and isinstance(value, str):
            value = {"id": _MODULE_IDS[value], "api_name": value}
        out[key] = copy.deepcopy(value)
        if key == "code":
            out.update(copy.deepcopy(v8))
    return out


def _progress(job: DemoJob, run: float) -> tuple[str, int]:
    """The job's status and how many of its records are processed, ``run`` job_durations in."""
    if job.done_at_start:
        return "COMPLETED", job.total
    share = run / job.span
    if share < ADDED_SHARE:
        return "ADDED", 0
    done = min(1.0, (share - ADDED_SHARE) / (1.0 - ADDED_SHARE))
    if job.fail_at is not None and done >= job.fail_at:
        return "FAILED", int(job.fail_at * job.total)
    if done >= 1.0:
        return "COMPLETED", job.total
    return "IN PROGRESS", int(done * job.total)


def _render_demo(job: DemoJob, run: float, base_url: str, started: datetime) -> Doc:
    """The demo job ``run`` job_durations after its start, in its fullest (v8) form."""
    status, processed = _progress(job, run)
    resources = []
    reached = False  # passed the resource being processed (or the one that failed)
    for res in job.resources:
        done = min(processed, res.total)
        processed -= done
        if status == "ADDED":
            res_status = "ADDED"
        elif done == res.total and not reached:
            res_status = "COMPLETED"
        elif not reached:
            reached = True
            res_status = "FAILED" if status == "FAILED" else "IN PROGRESS"
        else:
            res_status = "SKIPPED" if status == "FAILED" else "ADDED"
        doc: Doc = {
            "status": res_status,
            "type": "data",
            "module": {"id": res.module_id, "api_name": res.module},
            "code": res_status,
            "file_id": res.file_id,
            "file_names": [res.file_name],
            "find_by": res.find_by,
            "ignore_empty": True,
            "field_mappings": [m.render() for m in res.mappings],
        }
        if res_status in ("IN PROGRESS", "COMPLETED", "FAILED"):
            doc["file"] = {
                "status": res_status,
                "name": res.file_name,
                "added_count": done * res.added // res.total,
                "skipped_count": done * res.skipped // res.total,
                "updated_count": done * res.updated // res.total,
                "total_count": res.total,
            }
        resources.append(doc)

    top: Doc = {"status": status, "character_encoding": "UTF-8", "resource": resources}
    top["id"] = job.id
    if status in ("COMPLETED", "FAILED"):
        top["result"] = {"download_url": base_url + download_path(job.id)}
    if job.callback:
        top["callback"] = dict(_CALLBACK)
    top["created_by"] = dict(_CREATED_BY)
    top["ignore_empty"] = True
    top["operation"] = job.operation
    created = started.astimezone(ORG_TZ) - timedelta(seconds=job.created_ago)
    top["created_time"] = created.isoformat(timespec="seconds")
    return top
