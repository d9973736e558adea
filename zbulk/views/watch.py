"""What ``zbulk job watch`` shows, built and never written: the live panel for a terminal,
a plain line per change for elsewhere, the finish and summary lines, and the text of its
warnings and hints. ``zbulk.reports.WatchEvents`` says which goes with each event and
``zbulk.output.Output.stream_events`` chooses the form (live, plain lines or NDJSON).

Every time shown is the job's own (``zbulk.watch.Watched``): its age since Zoho's
``created_time``, how long it has been processing, and once finished the time it took,
frozen at the poll that saw it finish. Progress never goes backwards: the job's total is
shown only once every resource is counted (``1,201/?`` before), and its ETA comes from
the rate the scheduler measures.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text

from zbulk.models import Job, status_key
from zbulk.views.format import SEPARATOR, ago, counts, span
from zbulk.views.widgets import cell, status_text
from zbulk.watch import Watched, outcome

BAR = 30  # cells of a resource's bar at most


def duration(seconds: float) -> str:
    """The one spelling of a duration (``zbulk.views.format.span``)."""
    return span(seconds)


def _sums(job: Job) -> tuple[int, int, int]:
    files = [r.file for r in job.resources if r.file is not None]
    return (
        sum(max(f.added or 0, 0) for f in files),
        sum(max(f.updated or 0, 0) for f in files),
        sum(max(f.skipped or 0, 0) for f in files),
    )


def progress_text(w: Watched) -> str:
    """``12,000/25,000 (48%)``; ``1,201/?`` while some resource is not counted yet."""
    if w.job is None or w.progress is None:
        return "not counted yet"
    if not any(r.file is not None for r in w.job.resources):
        return "not counted yet"
    done = w.progress.processed
    total = w.progress.job_total
    if total is None:
        return f"{done:,}/?"
    # Floored: 99.97% is not done yet, and says 99%.
    percent = f" ({math.floor(w.percent)}%)" if w.percent is not None else ""
    return f"{done:,}/{total:,}{percent}"


def counts_line(w: Watched) -> str:
    if w.job is None:
        return "not counted yet"
    text = progress_text(w)
    if text == "not counted yet":
        return text
    added, updated, skipped = _sums(w.job)
    return f"{text}  {counts({'added': added, 'updated': updated, 'skipped': skipped})}"


def clock_text(w: Watched, now: float, wall_now: float) -> str:
    """The job's clock: ``ETA 42s · age 1m10s · running 58s``, ``took 57s``, or
    ``finished before this watch`` (with its age)."""
    parts: list[str] = []
    finished = w.job is not None and w.job.finished
    took = w.took()
    if finished:
        if took is not None:
            parts.append(f"took {duration(took)}")
        else:
            parts.append("finished before this watch")
            age = w.age(w.seen_at if w.seen_at is not None else wall_now)
            if age is not None:
                parts.append(f"created {ago(age)}")
        return SEPARATOR.join(parts)
    eta = w.eta(now)
    if eta is not None:
        parts.append(f"ETA {duration(eta + 0.5)}")
    age = w.age(wall_now)
    if age is not None:
        parts.append(f"age {duration(age)}")
    running = w.running(wall_now)
    if running is not None:
        parts.append(f"running {'~' if w.running_estimated else ''}{duration(running)}")
    return SEPARATOR.join(parts)


def gone(w: Watched) -> bool:
    """The watch of this job ended on an error that no later poll can change (Zoho does
    not know the job, the token was refused): said at once, and out of the live view."""
    from zbulk.errors import WatchTimeout

    return w.error is not None and not isinstance(w.error, WatchTimeout)


def timed_out(w: Watched) -> bool:
    from zbulk.errors import WatchTimeout

    return isinstance(w.error, WatchTimeout)


def skipped_hint(w: Watched) -> str | None:
    """What to run next about a finished job that skipped rows or failed."""
    if w.job is None or w.error is not None or not w.job.finished:
        return None
    skipped = w.progress.skipped if w.progress else 0
    failed = status_key(w.job.status) == "FAILED"
    if not (skipped or failed):
        return None
    what = f"{skipped:,} records were skipped" if skipped else "the job failed"
    return f"{what}; see which rows and why with `zbulk job results {w.job_id} --failed`"


def finish_line(w: Watched, fail_on_skipped: bool, wall_now: float) -> Text:
    """``✓ ID  COMPLETED  25,000/25,000 (100%)  added … · skipped 126  took 57s``."""
    assert w.job is not None
    ok = outcome(w, fail_on_skipped) == 0
    mark = Text("✓ " if ok else "✗ ", style="green" if ok else "red")
    line = mark + Text(f"{w.job_id}  ", style="bold") + status_text(w.job.status)
    line.append(f"  {counts_line(w)}")
    timing = clock_text(w, 0.0, wall_now)
    if timing:
        line.append(f"  {timing}")
    return line


class WatchPanel:
    """The live view: per job its status, progress, ETA and clock, and a bar per
    resource; every job's bars start at the same column."""

    def __init__(
        self, jobs: list[Watched], clock: Callable[[], float], wall: Callable[[], float] = time.time
    ) -> None:
        self.jobs = jobs
        self.clock = clock
        self.wall = wall

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        now, wall_now = self.clock(), self.wall()
        resources = [r for w in self.jobs if w.job is not None for r in w.job.resources]
        module_w = max((cell_len(r.module or "?") for r in resources), default=0)
        status_w = max((cell_len(r.status or "?") for r in resources), default=0)
        for w in self.jobs:
            if gone(w):  # reported at once on stderr: no longer followed
                continue
            yield self._head(w, now, wall_now, options.max_width)
            if w.job is not None:
                yield from self._bars(w.job, module_w, status_w, options.max_width)

    def _head(self, w: Watched, now: float, wall_now: float, max_width: int) -> Text:
        """``ID  STATUS  done/total (n%)  ETA · age · running  next poll in 3s  420/s``;
        on a narrow terminal the rate, then the next poll, then the running time and the
        age are left out rather than wrapped."""
        head = Text(w.job_id, style="bold") + Text("  ")
        if w.job is None:
            head.append_text(status_text("waiting for first answer"))
            return head
        head.append_text(status_text(w.job.status))
        head.append(f"  {progress_text(w)}")
        timing = clock_text(w, now, wall_now).split(SEPARATOR)
        extras: list[str] = []
        if not w.done:
            extras.append(f"next poll in {max(w.next_poll - now, 0):.0f}s")
            rate = w.schedule.rate(w.polled_at, w.progress) if w.progress and w.polled_at else None
            if rate:
                extras.append(f"{rate:,.0f} records/s")
        while True:
            tail = "  ".join(p for p in (SEPARATOR.join(t for t in timing if t), *extras) if p)
            if not tail or cell_len(head.plain) + 2 + cell_len(tail) <= max_width:
                break
            if extras:
                extras.pop()
            elif len(timing) > 1:
                timing.pop()
            else:
                tail = ""
                break
        if tail:
            head.append(f"  {tail}", style="dim")
        return head

    def _bars(self, job: Job, module_w: int, status_w: int, max_width: int) -> Iterator[Text]:
        for r in job.resources:
            name = cell(r.module or "?")
            name.pad_right(module_w - cell_len(name.plain))
            status = status_text(r.status or "?")
            status.pad_right(status_w - cell_len(status.plain))
            line = Text("  ") + name + Text("  ") + status
            f = r.file
            total = f.total if f is not None and f.total and f.total > 0 else None
            if total is None or f is None:
                if status_key(r.status) in ("ADDED", ""):
                    line.append("  waiting", style="dim")
                yield line
                continue
            done = min(f.processed, total)
            label = f" {done:,}/{total:,}"
            width = min(BAR, max_width - cell_len(line.plain) - 2 - cell_len(label))
            if width < 10:  # too narrow for a bar: the numbers alone
                yield line + Text(label)
                continue
            filled = min(round(width * done / total), width)
            yield (
                line
                + Text("  ")
                + Text("█" * filled, style="green")
                + Text("░" * (width - filled), style="dim")
                + Text(label)
            )


def progress_line(w: Watched, stamp: str, now: float, wall_now: float) -> Text | None:
    """``12:00:03  ID  IN PROGRESS  1,201/?  added … · skipped 0  age 1m10s``: a job's
    change as one line, where no live view shows it; None before its first answer."""
    if w.job is None:
        return None
    line = Text(f"{stamp}  {w.job_id}  ") + status_text(w.job.status)
    line.append(f"  {counts_line(w)}")
    timing = clock_text(w, now, wall_now)
    if timing:
        line.append(f"  {timing}")
    return line


def unknown_status_text(w: Watched) -> str:
    """The warning for a status zbulk does not know."""
    said = "no status" if w.job is None or w.job.status is None else f"status {w.job.status!r}"
    return f"job {w.job_id} reports {said}, which zbulk does not know; treating it as still running"


def retry_text(w: Watched, wait: float) -> str:
    """The warning for a poll that failed and is tried again in ``wait`` seconds."""
    message = w.last_failure.message if w.last_failure is not None else "the poll failed"
    return f"job {w.job_id}: {message}; trying again in {wait:.0f}s"


def timeout_text(late: list[str], timeout: float | None, command: str) -> tuple[str, str]:
    """The error and its hint for the jobs --timeout left unfinished: one for them all,
    with a command that follows them all again."""
    within = span(timeout or 0) if (timeout or 0) >= 1 else f"{timeout or 0:g}s"
    what = f"job {late[0]} did not" if len(late) == 1 else f"{len(late)} jobs did not"
    message = f"{what} finish within {within}; the last known state of each is above"
    if len(late) > 1:
        return message, (
            f"the jobs go on at Zoho; follow them again with `{command} {' '.join(late)}`"
        )
    return message, f"the job goes on at Zoho; follow it again with `{command} {late[0]}`"


def resume_text(left: list[str], command: str) -> str:
    """After an interrupt: how to follow the unfinished jobs again."""
    return f"resume with: {command} {' '.join(left)}"


def summary_lines(jobs: list[Watched], fail_on_skipped: bool, now: float) -> Iterator[Text]:
    """``job watch``'s result: the final state of each job, one line each, with the time
    each took on its own clock (``now``: wall-clock seconds, for jobs still running)."""
    for w in jobs:
        if timed_out(w):  # its last known state, for the record
            yield last_known_line(w, now)
            continue
        if w.job is None or w.error is not None:
            continue
        yield finish_line(w, fail_on_skipped, now)


def last_known_line(w: Watched, wall_now: float) -> Text:
    """``… ID  IN PROGRESS  1,201/25,000 (4%)  added … · skipped 0  age 1m10s`` for a job
    --timeout left unfinished; ``not fetched yet`` when no answer came."""
    line = Text("… ") + Text(f"{w.job_id}  ", style="bold")
    if w.job is None:
        return line + Text("not fetched yet", style="dim")
    line.append_text(status_text(w.job.status))
    line.append(f"  {counts_line(w)}")
    age = w.age(wall_now)
    if age is not None:
        line.append(f"  age {span(age)}")
    return line
