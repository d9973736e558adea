"""The record of an import, in the state directory: ``imports/<import id>.json``.

It says what was asked (the source file: path, size and sha256; the job settings) and where
each part stands (its rows and bytes in the source, its sha256, the uploaded file's id, the
job's id, its state). It is written atomically (a new file moved into place, 0600, in a 0700
directory) before and after each step that changes data at Zoho, so that after a crash
``zbulk job import --resume`` knows which parts exist, which do not, and which are
*unknown*: a create was sent and its answer never came back.

Whatever the file holds is checked when read (types, sizes, the id's form): a damaged record
is reported as such, never a traceback.
"""

from __future__ import annotations

import json
import re
import secrets
import string
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from zbulk.errors import UsageError

ID_RE = re.compile(r"imp-[a-z0-9]{6,40}")
MAX_BYTES = 16 << 20
FORMAT = 1

# Part states. "creating" is written just before the create is sent: found on resume, the
# create's answer was lost, so the part is "unknown".
PENDING, UPLOADED, CREATING, CREATED = "pending", "uploaded", "creating", "created"
COMPLETED, FAILED, REFUSED = "completed", "failed", "refused"
FINISHED = frozenset({COMPLETED, FAILED})
STATES = frozenset({PENDING, UPLOADED, CREATING, CREATED, COMPLETED, FAILED, REFUSED})


def new_id() -> str:
    """``imp-`` and ten lower-case letters and digits, the first a letter."""
    alphabet = string.ascii_lowercase + string.digits
    return (
        "imp-"
        + secrets.choice(string.ascii_lowercase)
        + "".join(secrets.choice(alphabet) for _ in range(9))
    )


def check_id(value: str) -> str:
    if not ID_RE.fullmatch(value):
        raise UsageError(
            f"{value!r} is not an import id: they look like imp-k3x9q2m7ab",
            hint="zbulk job recent lists imports with their ids",
        )
    return value


@dataclass
class PartState:
    number: int
    first_row: int
    last_row: int
    start: int
    end: int
    size: int
    sha256: str
    state: str = PENDING
    file_id: str | None = None
    job_id: str | None = None
    status: str | None = None  # the job's last known status
    skipped: int = 0
    error: str | None = None
    sent_at: float | None = None  # when the create was sent
    resource: int = 0  # which of the record's ``resources`` (an import of several)

    @property
    def records(self) -> int:
        return self.last_row - self.first_row + 1

    @property
    def unknown(self) -> bool:
        return self.state == CREATING

    @property
    def has_job(self) -> bool:
        return self.job_id is not None


@dataclass
class ImportRecord:
    id: str
    profile: str
    api_domain: str
    source: dict[str, Any]  # path, size, sha256, member (in a ZIP) or None, encoding, name
    settings: dict[str, Any]  # module, operation, find_by, ignore_empty, callback, ...
    header_size: int
    records: int
    parts: list[PartState] = field(default_factory=list)
    created: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)
    retry_of: str | None = None
    # An import of several resources (``job retry`` of a job with several modules): per
    # resource its source, settings, header_size and records; each part says its own. The
    # record's own source, settings and header_size are then the first resource's.
    resources: list[dict[str, Any]] | None = None

    @property
    def module(self) -> str:
        if self.resources:
            return ", ".join(str(r["settings"]["module"]) for r in self.resources)
        return str(self.settings["module"])

    def of(self, part: PartState) -> ImportRecord:
        """The record as ``part``'s resource sees it: its source, settings and header, and
        the parts of that resource (the record itself for an import of one)."""
        if not self.resources:
            return self
        return self.segment(part.resource)

    def segment(self, n: int) -> ImportRecord:
        if not self.resources:
            return self
        r = self.resources[n]
        return ImportRecord(
            self.id,
            self.profile,
            self.api_domain,
            r["source"],
            r["settings"],
            int(r["header_size"]),
            int(r["records"]),
            [p for p in self.parts if p.resource == n],
            self.created,
            self.updated,
            self.retry_of,
        )

    def segments(self) -> list[ImportRecord]:
        """One record per resource (the record itself for an import of one)."""
        return [self.segment(n) for n in range(len(self.resources))] if self.resources else [self]

    @property
    def finished(self) -> bool:
        return all(p.state in FINISHED for p in self.parts)

    @property
    def unknown(self) -> list[PartState]:
        return [p for p in self.parts if p.unknown]

    def job_ids(self) -> list[str]:
        return [p.job_id for p in self.parts if p.job_id]

    def as_json(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["format"] = FORMAT
        return doc


def directory(env: Mapping[str, str] | None = None) -> Path:
    from zbulk.files import state_dir

    return state_dir(env) / "imports"


def path_of(import_id: str, env: Mapping[str, str] | None = None) -> Path:
    return directory(env) / f"{check_id(import_id)}.json"


def save(record: ImportRecord, env: Mapping[str, str] | None = None) -> None:
    """Write ``record`` atomically (fsynced, then moved into place; 0600 in a private
    directory); a failure is a local file error (exit 1): an import must not go on without
    its record."""
    from zbulk import files

    record.updated = time.time()
    target = path_of(record.id, env)
    files.private_dir(target.parent, env)
    files.write_private(target, json.dumps(record.as_json(), indent=1).encode(), durable=True)


def load(import_id: str, env: Mapping[str, str] | None = None) -> ImportRecord:
    path = path_of(import_id, env)
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise UsageError(
            f"no import {import_id} on this machine",
            hint="zbulk job recent lists the imports made here",
        ) from None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    record = parse(raw)
    if record is None or record.id != import_id:
        raise UsageError(f"the record of import {import_id} ({path}) is damaged")
    return record


def parse(raw: bytes) -> ImportRecord | None:
    """The record in ``raw``, or None if it is not a well-formed one."""
    if len(raw) > MAX_BYTES:
        return None
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    try:
        return _from_json(doc)
    except (KeyError, TypeError, ValueError):
        return None


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError("not a count")
    return value


def _str(value: Any, optional: bool = False) -> Any:
    if value is None and optional:
        return None
    if not isinstance(value, str) or len(value) > 4096:
        raise ValueError("not a string")
    return value


def _from_json(doc: Any) -> ImportRecord:
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ValueError("not a record")
    parts = []
    for p in doc["parts"]:
        if not isinstance(p, dict) or p.get("state") not in STATES:
            raise ValueError("bad part")
        job_id = _str(p.get("job_id"), True)
        if job_id is not None and not (job_id.isascii() and job_id.isdigit()):
            raise ValueError("bad job id")
        sent = p.get("sent_at")
        parts.append(
            PartState(
                _int(p["number"]),
                _int(p["first_row"]),
                _int(p["last_row"]),
                _int(p["start"]),
                _int(p["end"]),
                _int(p["size"]),
                _str(p["sha256"]),
                p["state"],
                _str(p.get("file_id"), True),
                job_id,
                _str(p.get("status"), True),
                _int(p.get("skipped") or 0),
                _str(p.get("error"), True),
                float(sent)
                if isinstance(sent, int | float) and not isinstance(sent, bool)
                else None,
                _int(p.get("resource") or 0),
            )
        )
    source, settings = doc["source"], doc["settings"]
    if not isinstance(source, dict) or not isinstance(settings, dict):
        raise ValueError("bad record")
    _str(source["path"]), _str(source["sha256"]), _int(source["size"]), _str(settings["module"])
    resources = doc.get("resources")
    if resources is not None:
        if not isinstance(resources, list) or not 1 < len(resources) <= 1000:
            raise ValueError("bad resources")
        for r in resources:
            if (
                not isinstance(r, dict)
                or not isinstance(r.get("source"), dict)
                or not (isinstance(r.get("settings"), dict))
            ):
                raise ValueError("bad resource")
            _str(r["source"]["path"]), _str(r["source"]["sha256"]), _int(r["source"]["size"])
            _str(r["settings"]["module"]), _int(r["header_size"]), _int(r["records"])
        if any(p.resource >= len(resources) for p in parts):
            raise ValueError("bad part resource")
    elif any(p.resource for p in parts):
        raise ValueError("bad part resource")
    return ImportRecord(
        check_id(_str(doc["id"])),
        _str(doc["profile"]),
        _str(doc["api_domain"]),
        source,
        settings,
        _int(doc["header_size"]),
        _int(doc["records"]),
        parts,
        float(doc.get("created") or 0),
        float(doc.get("updated") or 0),
        _str(doc.get("retry_of"), True),
        resources,
    )


def all_records(env: Mapping[str, str] | None = None) -> list[ImportRecord]:
    """Every readable record here, newest first (damaged ones are left out)."""
    found = []
    try:
        names = sorted(directory(env).glob("imp-*.json"))
    except OSError:
        return []
    for path in names[:10_000]:
        try:
            with path.open("rb") as fh:
                record = parse(fh.read(MAX_BYTES + 1))
        except OSError:
            continue
        if record is not None and path.name == f"{record.id}.json":
            found.append(record)
    return sorted(found, key=lambda r: -r.created)


def of_scope(
    profile: str, api_domain: str, env: Mapping[str, str] | None = None
) -> list[ImportRecord]:
    domain = api_domain.rstrip("/").lower()
    return [r for r in all_records(env) if r.profile == profile and r.api_domain == domain]


def with_job(
    job_id: str, env: Mapping[str, str] | None = None
) -> tuple[ImportRecord, PartState] | None:
    """The import and part that created job ``job_id``, if zbulk did here."""
    for record in all_records(env):
        for part in record.parts:
            if part.job_id == job_id:
                return record, part
    return None
