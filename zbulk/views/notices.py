"""The text of a watch's notifications (``zbulk job watch --notify``): one job's end, or
the whole watch's."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from zbulk.views.format import by_status_order
from zbulk.views.watch import clock_text, progress_text

if TYPE_CHECKING:
    from zbulk.watch import Watched


def job_message(w: Watched) -> str:
    if w.job is None:
        return f"job {w.job_id}: {w.error.message if w.error else 'not fetched'}"
    skipped = w.progress.skipped if w.progress else 0
    said = f"job {w.job_id} {w.job.status}: {progress_text(w)}"
    if skipped:
        said += f", {skipped:,} skipped"
    timing = clock_text(w, 0.0, 0.0)
    return f"{said}, {timing}" if timing else said


def end_message(jobs: list[Watched]) -> str:
    if len(jobs) == 1:
        return job_message(jobs[0])
    ends = Counter(
        (w.job.status or "?")
        if w.job is not None and w.error is None and w.job.finished
        else "not finished"
        for w in jobs
    )
    return f"watch of {len(jobs)} jobs ended: " + ", ".join(
        f"{ends[s]} {s}" for s in by_status_order(ends)
    )
