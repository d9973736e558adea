"""The jobs this machine has looked at: id, last known status and when, newest first.

A small JSON file in the platform's state dir (``ZBULK_STATE_DIR`` overrides), at most
``LIMIT`` entries, written atomically under an flock so that several zbulk processes
can record at once. Reading it is cheap (it feeds Tab completion): no heavy imports.
History is a convenience: failing to read or write it never fails a command.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from contextlib import suppress
from pathlib import Path
from typing import Any

LIMIT = 200


def state_dir(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if env.get("ZBULK_STATE_DIR"):
        return Path(env["ZBULK_STATE_DIR"]).expanduser()
    import platformdirs

    return Path(platformdirs.user_state_dir("zbulk", appauthor=False))


def _path(env: Mapping[str, str] | None = None) -> Path:
    return state_dir(env) / "history.json"


def entries(env: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """Newest first: {"id", "status", "seen"} (seen: seconds since the epoch)."""
    try:
        data = json.loads(_path(env).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(data, list):
        return []
    good = [e for e in data if isinstance(e, dict) and isinstance(e.get("id"), str)
            and e["id"].isdigit() and isinstance(e.get("seen"), int | float)]  # fmt: skip
    return sorted(good, key=lambda e: -e["seen"])


def record(job_id: str, status: str | None, env: Mapping[str, str] | None = None,
           now: float | None = None) -> None:  # fmt: skip
    """Remember that ``job_id`` was seen with ``status``; keep the newest LIMIT."""
    path = _path(env)
    with suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        import fcntl

        with open(path.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            kept = [e for e in entries(env) if e["id"] != job_id]
            entry = {"id": job_id, "status": status, "seen": time.time() if now is None else now}
            tmp = path.with_name(f".history.{os.getpid()}.tmp")
            tmp.write_text(json.dumps([entry, *kept][:LIMIT]), encoding="utf-8")
            os.replace(tmp, path)


def complete_job_ids(incomplete: str) -> list[tuple[str, str]]:
    """Tab completion for JOB_ID: ids seen here, newest first, the last status as help."""
    return [(e["id"], str(e.get("status") or "")) for e in entries()
            if e["id"].startswith(incomplete)]  # fmt: skip
