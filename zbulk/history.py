"""The jobs looked at from this machine, per profile and API domain, newest first.

A small JSON file in the platform's state dir (``ZBULK_STATE_DIR`` overrides): one object per
job and *scope* (the profile and the API domain it was fetched from), holding the id, the last
known status (one of Zoho's documented statuses as zbulk spells them, ``UNKNOWN`` for any
other text: ``zbulk.models.normalise_status``), the modules, the
operation and when it was seen. At most ``LIMIT`` entries per scope and ``FILE_LIMIT`` in all.
Writes happen under a cross-platform lock and replace the file atomically (``zbulk.files``),
so several zbulk processes can record at once.

``zbulk job recent`` shows the current scope's entries only, so jobs seen against the sandbox
(a loopback API domain) never mix with a real org's, and ``zbulk demo`` records nothing.

History is a convenience: whatever the file holds (damaged JSON, ``Infinity``, wrong types,
a huge file, a directory in its place), reading it never fails and writing it never fails a
command. Reading is cheap (it feeds Tab completion): no heavy imports.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zbulk import files
from zbulk.files import state_dir as state_dir  # where it was before zbulk.files
from zbulk.models import UNKNOWN, normalise_status

LIMIT = 200  # entries per scope
FILE_LIMIT = 1000  # entries in the file
MAX_BYTES = 4 << 20  # a history file larger than this is ignored (and replaced on the next write)
LOCK_TIMEOUT = 2.0  # seconds to wait for another zbulk's write; then this one is skipped
_MAX_TEXT = 200
_MAX_MODULES = 20
_LATEST = 1e11  # seconds since the epoch (year 5138): later "seen" times are junk


@dataclass(frozen=True)
class Scope:
    """Whose jobs: the profile, and the API domain they were fetched from."""

    profile: str
    api_domain: str

    @classmethod
    def of(cls, profile: str, api_domain: str) -> Scope:
        return cls(profile, api_domain.rstrip("/").lower())

    def holds(self, entry: Mapping[str, Any]) -> bool:
        return entry.get("profile") == self.profile and entry.get("api_domain") == self.api_domain


def _path(env: Mapping[str, str] | None = None) -> Path:
    return state_dir(env) / "history.json"


def _text(value: object) -> str | None:
    if isinstance(value, str) and value and len(value) <= _MAX_TEXT and value.isprintable():
        return value
    return None


def _clean(entry: object) -> dict[str, Any] | None:
    """A well-formed entry from whatever the file holds, or None for junk."""
    if not isinstance(entry, dict):
        return None
    job_id, seen = entry.get("id"), entry.get("seen")
    if not (
        isinstance(job_id, str) and job_id.isascii() and job_id.isdigit() and len(job_id) <= 30
    ):
        return None
    if isinstance(seen, bool) or not isinstance(seen, int | float):
        return None
    if not (math.isfinite(seen) and 0 <= seen <= _LATEST):
        return None
    profile, api_domain = _text(entry.get("profile")), _text(entry.get("api_domain"))
    if profile is None or api_domain is None:
        return None  # from before history had scopes: whose it was is unknown
    modules = entry.get("modules")
    names = [m for m in modules if _text(m)] if isinstance(modules, list) else []
    return {
        "id": job_id,
        "status": normalise_status(entry.get("status")),
        "modules": names[:_MAX_MODULES],
        "operation": _text(entry.get("operation")),
        "seen": float(seen),
        "profile": profile,
        "api_domain": api_domain,
    }


def _read(path: Path) -> list[dict[str, Any]]:
    """Every well-formed entry of the file, newest first; [] if there is no usable file."""
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
        if len(raw) > MAX_BYTES:
            return []
        data = json.loads(raw.decode("utf-8"))
    except (OSError, ValueError, UnicodeDecodeError, RecursionError):
        return []
    if not isinstance(data, list):
        return []
    good = [e for e in map(_clean, data) if e is not None]
    return sorted(good, key=lambda e: -e["seen"])


def entries(
    scope: Scope | None = None, env: Mapping[str, str] | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    """Newest first: the scope's entries (every scope's with None), at most ``limit``."""
    found = [e for e in _read(_path(env)) if scope is None or scope.holds(e)]
    return found if limit is None else found[: max(0, limit)]


def record(
    job_id: str,
    doc: Mapping[str, Any] | None,
    scope: Scope,
    env: Mapping[str, str] | None = None,
    now: float | None = None,
) -> None:
    """Remember that ``job_id`` was seen in ``scope`` as ``doc`` (its status, modules and
    operation); keep the newest LIMIT per scope. Never raises for the file's sake."""
    entry = _clean(
        {
            "id": job_id,
            "seen": time.time() if now is None else now,
            "profile": scope.profile,
            "api_domain": scope.api_domain,
            **summary(doc),
        }
    )
    if entry is None:
        return
    path = _path(env)
    try:
        files.private_dir(path.parent)
        with files.lock(path.with_name("history.lock"), LOCK_TIMEOUT):
            kept = [entry]
            per_scope = 1
            for e in _read(path):
                if e["id"] == job_id and scope.holds(e):
                    continue
                if scope.holds(e):
                    if per_scope >= LIMIT:
                        continue
                    per_scope += 1
                kept.append(e)
            files.write_private(path, json.dumps(kept[:FILE_LIMIT]))
    except (OSError, ValueError, files.LocalFileError):
        return  # a convenience: another zbulk's long write, a full disk, a refused dir


def summary(doc: Mapping[str, Any] | None) -> dict[str, Any]:
    """What history keeps of a job document: status, modules, operation."""
    if not isinstance(doc, Mapping):
        return {}
    modules = []
    resources = doc.get("resource")
    for res in resources if isinstance(resources, list) else []:
        module = res.get("module") if isinstance(res, dict) else None
        name = module.get("api_name") if isinstance(module, dict) else module
        if _text(name) and name not in modules:
            modules.append(name)
    return {"status": doc.get("status"), "modules": modules, "operation": doc.get("operation")}


def complete_job_ids(incomplete: str) -> list[tuple[str, str]]:
    """Tab completion for JOB_ID: ids seen from this machine (any profile), newest first,
    each described by its last status and the day it was seen (``COMPLETED 2026-12-05``).

    The shell evaluates what it is given (zsh's ``_arguments`` specs), so nothing here is
    the server's text: ids are ASCII digits (``_clean``), statuses one of zbulk's words."""
    seen: dict[str, str] = {}
    for e in entries():
        if e["id"].startswith(incomplete) and e["id"] not in seen:
            seen[e["id"]] = f"{e['status'] or UNKNOWN} {_day(e['seen'])}".rstrip()
    return list(seen.items())


def _day(seen: float) -> str:
    try:
        return time.strftime("%Y-%m-%d", time.localtime(seen))
    except (OverflowError, OSError, ValueError):
        return ""
