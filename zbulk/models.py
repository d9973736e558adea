"""A tolerant model of the bulk write job document.

Every field may be missing, null or of a looser type than documented (counts as
strings, a module as a string or an object, new keys). Reading never fails: what
cannot be read becomes ``None``. The document itself is kept untouched in
``Job.raw`` for ``--json``.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# Zoho's documented job statuses (``IN PROGRESS`` is spelt ``INPROGRESS`` before v2.1),
# keyed by ``status_key``, as zbulk spells them. The one definition: history, completion,
# the watch loop and the views all take the known set and the finished set from here.
STATUSES = {
    "ADDED": "ADDED",
    "INPROGRESS": "IN PROGRESS",
    "COMPLETED": "COMPLETED",
    "FAILED": "FAILED",
    "SKIPPED": "SKIPPED",
}
KNOWN = frozenset(STATUSES)
FINISHED = frozenset({"COMPLETED", "FAILED", "SKIPPED"})
UNKNOWN = "UNKNOWN"  # what history keeps (and job recent and completion show) for any other
# Every number from outside is bounded here: what is beyond these is treated as unreadable.
MAX_COUNT = 10**15  # counts and indexes: far beyond any file Zoho accepts (25,000 rows)
MAX_WAIT = 86_400.0  # seconds: Retry-After and other waits a server asks for
YEARS = (2, 9998)  # created_time: a year a datetime can move a day either way and print
_SURROGATE = "[\ud800-\udfff]"


def status_key(status: object) -> str:
    """A key free of spelling: ``IN PROGRESS``, ``INPROGRESS``, ``in_progress`` → ``INPROGRESS``."""
    if not isinstance(status, str) or not status:
        return ""
    return "".join(ch for ch in status.upper() if ch.isalnum())


def is_known(status: object) -> bool:
    """One of Zoho's documented statuses, in any spelling."""
    return status_key(status) in KNOWN


def is_finished(status: object) -> bool:
    return status_key(status) in FINISHED


def normalise_status(status: object) -> str | None:
    """A status as zbulk keeps it: one of ``STATUSES`` (``INPROGRESS``, ``in progress``,
    ``IN_PROGRESS`` → ``IN PROGRESS``), ``UNKNOWN`` for any other text, None for none.
    Never the server's own text: what is kept may end up in a shell (Tab completion)."""
    if status is None or status == "":
        return None
    return STATUSES.get(status_key(status), UNKNOWN)


def text(value: Any) -> str | None:
    """Any JSON value as display text; objects and arrays as compact JSON."""
    if value is None:
        return None
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    try:
        if isinstance(value, int):  # at most 4,300 digits: json refuses longer ones
            return str(value)
        return clean(json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str))
    except (ValueError, RecursionError):
        return None


def clean(value: str) -> str:
    """``value`` with lone surrogates (``"\\ud800"`` in JSON), which no terminal encoding
    can write, replaced by U+FFFD."""
    if value.isascii() or not re.search(_SURROGATE, value):
        return value
    return re.sub(_SURROGATE, "\ufffd", value)


def integer(value: Any) -> int | None:
    """A count or index: ints, integral floats and digit strings; anything else is None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer() and abs(value) <= MAX_COUNT:
        value = int(value)
    if isinstance(value, str):
        stripped = value.strip()
        digits = stripped[1:] if stripped[:1] == "-" else stripped
        if not (digits.isascii() and digits.isdigit() and len(digits) <= 16):
            return None
        value = int(stripped)
    if isinstance(value, int) and -MAX_COUNT <= value <= MAX_COUNT:
        return value
    return None


def retry_after_seconds(value: Any) -> float | None:
    """A ``Retry-After`` header (seconds or an HTTP date) as seconds from now, within
    0 … ``MAX_WAIT``; None when it cannot be read."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return MAX_WAIT if len(value) > 6 else min(float(value), MAX_WAIT)
    import email.utils
    import time

    try:
        when = email.utils.parsedate_to_datetime(value)
        seconds = when.timestamp() - time.time()
    except (TypeError, ValueError, OverflowError, IndexError):
        return None
    if not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), MAX_WAIT)


def boolean(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
        if parsed.tzinfo is None or not YEARS[0] <= parsed.astimezone(UTC).year <= YEARS[1]:
            return None
    except (ValueError, OverflowError):
        return None
    return parsed


@dataclass
class FieldMapping:
    api_name: str | None
    index: int | None
    format: str | None
    find_by: str | None
    module: str | None
    default_value: str | None
    parent_column_index: int | None

    @classmethod
    def read(cls, raw: Any) -> FieldMapping:
        m = _obj(raw)
        return cls(
            api_name=text(m.get("api_name")),
            index=integer(m.get("index")),
            format=text(m.get("format")),
            find_by=text(m.get("find_by")),
            module=_module_name(m.get("module")),
            default_value=_default_text(m.get("default_value")),
            parent_column_index=integer(m.get("parent_column_index")),
        )


@dataclass
class FileInfo:
    status: str | None
    name: str | None
    added: int | None
    updated: int | None
    skipped: int | None
    total: int | None

    @classmethod
    def read(cls, raw: Any) -> FileInfo | None:
        if not isinstance(raw, dict):
            return None
        return cls(
            status=text(raw.get("status")),
            name=text(raw.get("name")),
            added=integer(raw.get("added_count")),
            updated=integer(raw.get("updated_count")),
            skipped=integer(raw.get("skipped_count")),
            total=integer(raw.get("total_count")),
        )

    @property
    def processed(self) -> int:
        return sum(max(c, 0) for c in (self.added, self.updated, self.skipped) if c is not None)

    @property
    def percent(self) -> float | None:
        """Share of the file processed, 0–100, or None without a usable total."""
        if not self.total or self.total <= 0:
            return None
        return min(100.0, 100.0 * self.processed / self.total)


@dataclass
class Resource:
    status: str | None
    code: str | None
    type: str | None
    module: str | None
    module_id: str | None
    find_by: str | None
    file: FileInfo | None
    file_names: list[str]
    mappings: list[FieldMapping]

    @classmethod
    def read(cls, raw: Any) -> Resource:
        r = _obj(raw)
        module = r.get("module")
        mappings = [FieldMapping.read(m) for m in _list(r.get("field_mappings"))]
        return cls(
            status=text(r.get("status")),
            code=text(r.get("code")),
            type=text(r.get("type")),
            module=_module_name(module),
            module_id=text(module.get("id")) if isinstance(module, dict) else None,
            find_by=text(r.get("find_by")),
            file=FileInfo.read(r.get("file")),
            file_names=[t for t in map(text, _list(r.get("file_names"))) if t is not None],
            mappings=sort_mappings(mappings),
        )


@dataclass
class Job:
    id: str | None
    status: str | None
    operation: str | None
    created_time: datetime | None
    created_time_text: str | None
    created_by_name: str | None
    created_by_id: str | None
    callback_url: str | None
    callback_method: str | None
    ignore_empty: bool | None
    character_encoding: str | None
    result_url: str | None
    resources: list[Resource]
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def read(cls, raw: dict[str, Any]) -> Job:
        created_by = _obj(raw.get("created_by"))
        callback = _obj(raw.get("callback"))
        return cls(
            id=text(raw.get("id")),
            status=text(raw.get("status")),
            operation=text(raw.get("operation")),
            created_time=parse_time(raw.get("created_time")),
            created_time_text=text(raw.get("created_time")),
            created_by_name=text(created_by.get("name")),
            created_by_id=text(created_by.get("id")),
            callback_url=text(callback.get("url")),
            callback_method=text(callback.get("method")),
            ignore_empty=boolean(raw.get("ignore_empty")),
            character_encoding=text(raw.get("character_encoding")),
            result_url=text(_obj(raw.get("result")).get("download_url")),
            resources=[Resource.read(r) for r in _list(raw.get("resource"))],
            raw=raw,
        )

    @property
    def finished(self) -> bool:
        return is_finished(self.status)


def sort_mappings(mappings: list[FieldMapping]) -> list[FieldMapping]:
    """CSV column order (``index``); mappings without an index keep their order, last."""
    return sorted(mappings, key=lambda m: (m.index is None, m.index if m.index is not None else 0))


def _module_name(value: Any) -> str | None:
    """``"Leads"`` (v2) or ``{"api_name": "Leads", "id": …}`` (v2.1 on)."""
    if isinstance(value, dict):
        return text(value.get("api_name")) or text(value.get("name")) or text(value.get("id"))
    return text(value)


def _default_text(value: Any) -> str | None:
    """``{"value": x}`` → ``x``; ``{"name": n}`` → ``n``; other shapes as compact JSON."""
    if isinstance(value, dict) and len(value) == 1:
        key, inner = next(iter(value.items()))
        if key in ("value", "name") and not isinstance(inner, dict | list):
            return text(inner)
    return text(value)
