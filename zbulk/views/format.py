"""One spelling per concept, for every view: durations and ages, counts, the order of
statuses, and the paths of files zbulk wrote. Views (and the words commands print on
stderr) take them from here and never spell them on their own; a test reads the views'
sources for hand-made spellings.

- A duration is ``42s``, ``1m05s``, ``1h02m``, ``3d04h``, ``65d`` (what ``--timeout``
  takes back, days aside): ``span()``.
- An age is a duration and ``ago`` (``in`` for a time ahead, from a clock that is off):
  ``ago()``; below a second, ``just now``.
- Counts are ``added 1,200 · updated 0 · skipped 49`` (and ``· total N`` where a total is
  known): ``counts()``, always in ``COUNT_ORDER``.
- Statuses of rows are listed in ``ROW_STATUS_ORDER``, statuses of jobs in
  ``JOB_STATUS_ORDER`` (then any other, by name): ``by_status_order()``.
- A path zbulk wrote is shown relative to the current directory when it is inside it,
  else absolute: ``shown_path()``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

SEPARATOR = " · "
COUNT_ORDER = ("added", "updated", "skipped", "total")
ROW_STATUS_ORDER = ("added", "updated", "unprocessed", "skipped", "failed")
JOB_STATUS_ORDER = ("COMPLETED", "SKIPPED", "FAILED", "INPROGRESS", "ADDED")


def span(seconds: float) -> str:
    """``42s``, ``1m05s``, ``1h02m``, ``3d04h``: whole seconds, floored, never negative."""
    if not math.isfinite(seconds):
        return "?"
    total = max(int(seconds), 0)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days >= 10:
        return f"{days}d"
    if days:
        return f"{days}d{hours:02d}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def ago(seconds: float) -> str:
    """The age of something ``seconds`` old: ``26h05m ago``; ahead of now: ``in 5s``."""
    if abs(seconds) < 1:
        return "just now"
    return f"{span(seconds)} ago" if seconds > 0 else f"in {span(-seconds)}"


def ago_from(then: datetime, now: datetime) -> str:
    return ago((now - then).total_seconds())


def count_parts(values: dict[str, int | None]) -> list[tuple[str, str]]:
    """``(label, number)`` pairs in ``COUNT_ORDER`` for the labels given (``—`` for None)."""
    return [
        (label, "—" if values[label] is None else f"{values[label]:,}")
        for label in COUNT_ORDER
        if label in values
    ]


def counts(values: dict[str, int | None]) -> str:
    """``added 1,200 · updated 0 · skipped 49``."""
    return SEPARATOR.join(f"{label} {number}" for label, number in count_parts(values))


def by_status_order(statuses: Iterable[str]) -> list[str]:
    """Statuses in one order everywhere: rows' in ``ROW_STATUS_ORDER``, jobs' (any
    spelling: ``IN PROGRESS``, ``INPROGRESS``) in ``JOB_STATUS_ORDER``, then the rest by
    name."""

    def key(status: str) -> tuple[int, str]:
        low = status.lower()
        word = "".join(status.upper().split())
        if low in ROW_STATUS_ORDER:
            return ROW_STATUS_ORDER.index(low), low
        if word in JOB_STATUS_ORDER:
            return JOB_STATUS_ORDER.index(word), low
        return len(ROW_STATUS_ORDER) + len(JOB_STATUS_ORDER), low

    return sorted(statuses, key=key)


def shown_path(path: str | os.PathLike[str], cwd: str | None = None) -> str:
    """A file zbulk wrote, as the user would type it: relative to the current directory
    when inside it (``fix/x-Leads-failed.csv``), else absolute."""
    target = Path(os.path.abspath(path))
    here = Path(os.path.abspath(cwd if cwd is not None else os.getcwd()))
    try:
        return str(target.relative_to(here))
    except ValueError:
        return str(target)
