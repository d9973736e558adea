"""What ``zbulk job watch`` shows: a live view on a terminal, a plain line per change
elsewhere, NDJSON with ``--json``, and a final summary on stdout."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text

from zbulk.models import Job, status_key
from zbulk.output import Output
from zbulk.views.widgets import cell, status_text
from zbulk.watch import Watched, outcome

if TYPE_CHECKING:
    from rich.live import Live

    from zbulk.client import Fetched


def duration(seconds: float) -> str:
    seconds = max(int(seconds), 0)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def counts_line(job: Job) -> str:
    files = [r.file for r in job.resources if r.file is not None]
    if not files:
        return "not counted yet"
    total = sum(f.total or 0 for f in files)
    done = sum(f.processed for f in files)
    added = sum(f.added or 0 for f in files)
    updated = sum(f.updated or 0 for f in files)
    skipped = sum(f.skipped or 0 for f in files)
    share = f" ({100 * done / total:.0f}%)" if total else ""
    return (f"{done:,}/{total:,}{share}  added {added:,} · updated {updated:,} · "
            f"skipped {skipped:,}")  # fmt: skip


class WatchPanel:
    """The live view: per job its status, timing and a bar per resource."""

    def __init__(self, jobs: list[Watched], clock: Callable[[], float]) -> None:
        self.jobs = jobs
        self.clock = clock

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        now = self.clock()
        for w in self.jobs:
            head = Text(w.job_id, style="bold") + Text("  ")
            head.append_text(status_text(w.job.status if w.job else "waiting for first answer"))
            head.append(f"  elapsed {duration(now - w.started)}", style="dim")
            if w.job is not None and not w.done:
                head.append(f"  next poll in {max(w.next_poll - now, 0):.0f}s", style="dim")
                rate = w.schedule.rate(now, w.progress) if w.progress else None
                if rate:
                    head.append(f"  {rate:,.0f} records/s", style="dim")
            yield head
            if w.job is None:
                continue
            for r in w.job.resources:
                f = r.file
                total = f.total if f and f.total else None
                done = f.processed if f else 0
                yield Text("  ") + cell(r.module) + Text("  ") + status_text(r.status)
                if not total:
                    yield Text("    waiting", style="dim")
                    continue
                label = f" {done:,}/{total:,}"
                width = min(30, options.max_width - 4 - cell_len(label))
                if width < 10:  # too narrow for a bar: the numbers alone
                    yield Text("   " + label)
                    continue
                filled = min(round(width * done / total), width)
                yield (Text("    ") + Text("█" * filled, style="green")
                       + Text("░" * (width - filled), style="dim") + Text(label))  # fmt: skip


class WatchView:
    """Turns watch events into output for this run: live, plain or NDJSON."""

    def __init__(self, out: Output, as_json: bool, fetched: dict[str, Fetched],
                 clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        self.out = out
        self.as_json = as_json
        self.fetched = fetched
        self.clock = clock
        self.live_on = not as_json and out.err_live
        self._live: Live | None = None

    def start(self, jobs: list[Watched]) -> None:
        if self.live_on:
            from rich.live import Live

            self._live = Live(WatchPanel(jobs, self.clock), console=self.out.err,
                              refresh_per_second=4, transient=True, redirect_stdout=False,
                              redirect_stderr=False)  # fmt: skip
            self._live.start()

    def stop(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def event(self, kind: str, w: Watched) -> None:
        if kind == "change":
            if self.as_json:
                self.out.json(self.fetched[w.job_id])
            elif not self.live_on and w.job is not None:
                stamp = datetime.now().astimezone().strftime("%H:%M:%S")
                line = Text(f"{stamp}  {w.job_id}  ") + status_text(w.job.status)
                line.append(f"  {counts_line(w.job)}")
                self.out.err.print(line, soft_wrap=True)
        # Warnings go through the live view's own console, so they print above it.
        elif kind == "unknown-status" and w.job is not None:
            said = "no status" if w.job.status is None else f"status {w.job.status!r}"
            self.out.warn(f"job {w.job_id} reports {said}, which zbulk does not know; "
                          "treating it as still running")  # fmt: skip
        elif kind == "retry" and w.last_failure is not None:
            wait = max(w.next_poll - self.clock(), 0)
            self.out.warn(f"job {w.job_id}: {w.last_failure.message}; trying again in "
                          f"{wait:.0f}s")  # fmt: skip

    def hints(self, jobs: list[Watched]) -> None:
        for w in jobs:
            if w.job is None or w.error is not None:
                continue
            skipped = w.progress.skipped if w.progress else 0
            failed = status_key(w.job.status) == "FAILED"
            if skipped or failed:
                what = f"{skipped:,} records were skipped" if skipped else "the job failed"
                self.out.note(f"job {w.job_id}: {what}; see which rows and why with "
                              f"`zbulk job results {w.job_id} --failed`")  # fmt: skip


def summary_lines(jobs: list[Watched], fail_on_skipped: bool, now: float) -> Iterator[Text]:
    """``job watch``'s result: the final state of each job, one line each."""
    for w in jobs:
        if w.job is None or w.error is not None:
            continue
        ok = outcome(w, fail_on_skipped) == 0
        mark = Text("✓ " if ok else "✗ ", style="green" if ok else "red")
        line = mark + Text(f"{w.job_id}  ", style="bold") + status_text(w.job.status)
        line.append(f"  {counts_line(w.job)}  in {duration(now - w.started)}")
        yield line
