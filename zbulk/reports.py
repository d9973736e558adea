"""Typed results of the commands. Each is shown by ``Output.emit``: as JSON lines
(``json_lines``) or through its human view in ``zbulk.views`` (``views``).

Commands compute one of these and hand it over; they never pick a format themselves.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import RenderableType

    from zbulk.client import Fetched
    from zbulk.errors import ZbulkError
    from zbulk.jobs.merged import Merged
    from zbulk.output import Notice
    from zbulk.preflight import Report
    from zbulk.result_file import Summary
    from zbulk.watch import Watched


@dataclass
class JobReport:
    """``job show``: one fetched job document."""

    fetched: Fetched
    brief: bool = False

    def json_lines(self) -> Iterator[str]:
        from zbulk.output import json_line

        yield json_line(self.fetched)

    def views(self) -> Iterator[RenderableType]:
        from rich.text import Text

        from zbulk.models import Job
        from zbulk.views.job import brief_line, job_view

        job = Job.read(self.fetched.doc)
        if self.brief:
            yield brief_line(job)
            return
        yield from job_view(job)
        yield Text()


@dataclass
class ResultFileReport:
    """``job results``: the summary of a result file."""

    summary: Summary
    url: str | None
    with_rows: bool

    def json_lines(self) -> Iterator[str | Iterator[str]]:
        from zbulk.output import json_text

        # One document, in pieces: the failed rows are streamed, never held.
        yield self.summary.json_chunks(self.url, self.with_rows, json_text)

    def views(self) -> Iterator[RenderableType]:
        from zbulk.views.result_report import results_view

        yield from results_view(self.summary, self.with_rows)


@dataclass
class RecentReport:
    """``job recent``: the jobs this profile has looked at."""

    entries: list[dict[str, object]]

    def json_lines(self) -> Iterator[str]:
        from zbulk.output import json_text

        for entry in self.entries:
            yield json_text(entry)

    def views(self) -> Iterator[RenderableType]:
        from zbulk.views.recent import recent_view

        yield recent_view(self.entries)


@dataclass
class AuthStatusReport:
    """``auth status``: one entry per credential, never a secret."""

    entries: list[dict[str, object]]
    active: str

    def json_lines(self) -> Iterator[str]:
        from zbulk.output import json_text

        for entry in self.entries:
            yield json_text(entry)

    def views(self) -> Iterator[RenderableType]:
        from zbulk.views.auth import status_view

        yield status_view(self.entries, self.active)


@dataclass
class WatchReport:
    """``job watch``: how each job ended. With ``--json`` the change lines printed while
    watching are the result (the last line of each job is its final state): nothing more."""

    jobs: list[Watched]
    fail_on_skipped: bool
    now: float

    def json_lines(self) -> Iterator[str]:
        return iter(())

    def views(self) -> Iterator[RenderableType]:
        from zbulk.views.watch import summary_lines

        yield from summary_lines(self.jobs, self.fail_on_skipped, self.now)


class WatchEvents:
    """``job watch`` while it runs: what each event of ``zbulk.watch.watch`` says, in each
    form ``Output.stream_events`` may show it (``zbulk.output.EventStream``), and what is
    said once the watch is over. It writes nothing itself."""

    def __init__(
        self,
        fetched: dict[str, Fetched],
        *,
        fail_on_skipped: bool = False,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.fetched = fetched
        self.fail_on_skipped = fail_on_skipped
        self.clock = clock
        self.wall = wall
        self.jobs: list[Watched] = []
        self.on_finish: Callable[[Watched], None] | None = None  # --notify=each
        self._hinted: set[str] = set()  # jobs whose `job results` hint is in the scrollback
        self.reported: set[str] = set()  # jobs whose error is already on stderr

    def follow(self, jobs: list[Watched]) -> None:
        """The jobs the watch follows (its ``on_start``), shown in the panel."""
        self.jobs[:] = jobs

    def panel(self) -> RenderableType:
        from zbulk.views.watch import WatchPanel

        return WatchPanel(self.jobs, self.clock, self.wall)

    def json_line(self, kind: str, w: Watched) -> str | None:
        from zbulk.output import json_line

        return json_line(self.fetched[w.job_id]) if kind == "change" else None

    def line(self, kind: str, w: Watched) -> RenderableType | None:
        if kind != "change":
            return None
        from datetime import datetime

        from zbulk.views.watch import progress_line

        stamp = datetime.now().astimezone().strftime("%H:%M:%S")
        return progress_line(w, stamp, self.clock(), self.wall())

    def above(self, kind: str, w: Watched) -> Iterator[RenderableType | Notice]:
        """A job that finished while others go on: its line and hint into the scrollback."""
        from zbulk.output import Notice
        from zbulk.views.watch import finish_line, skipped_hint

        if kind != "done" or not _finished(w) or all(x.done for x in self.jobs):
            return
        yield finish_line(w, self.fail_on_skipped, self.wall())
        hint = skipped_hint(w)
        if hint:
            self._hinted.add(w.job_id)
            yield Notice(f"  {hint}")

    def said(self, kind: str, w: Watched) -> list[ZbulkError | Notice]:
        from zbulk.output import Notice
        from zbulk.views.watch import gone, retry_text, unknown_status_text

        if kind == "done":
            if gone(w) and w.error is not None and w.job_id not in self.reported:
                # At once, above the live view: the other jobs are still followed.
                self.reported.add(w.job_id)
                return [w.error]
            if _finished(w) and self.on_finish is not None:
                self.on_finish(w)
        elif kind == "unknown-status" and w.job is not None:
            return [Notice(unknown_status_text(w), warning=True)]
        elif kind == "retry" and w.last_failure is not None:
            wait = max(w.next_poll - self.clock(), 0)
            return [Notice(retry_text(w, wait), warning=True)]
        return []

    def hints(self, jobs: list[Watched]) -> Iterator[Notice]:
        """What to run next about the jobs that skipped rows or failed (once each)."""
        from zbulk.output import Notice
        from zbulk.views.watch import skipped_hint

        for w in jobs:
            hint = skipped_hint(w)
            if hint and w.job_id not in self._hinted:  # not said twice
                yield Notice(f"job {w.job_id}: {hint}")

    def errors(
        self, jobs: list[Watched], timeout: float | None, command: str
    ) -> Iterator[ZbulkError]:
        """The errors not said yet; for the jobs --timeout left unfinished, one error and
        one hint with a command that follows them all again."""
        from zbulk.errors import WatchTimeout
        from zbulk.views.watch import gone, timed_out, timeout_text

        for w in jobs:
            if gone(w) and w.error is not None and w.job_id not in self.reported:
                self.reported.add(w.job_id)
                yield w.error
        late = [w.job_id for w in jobs if timed_out(w)]
        if late:
            message, hint = timeout_text(late, timeout, command)
            yield WatchTimeout(message, hint=hint)

    def resume(self, jobs: list[Watched], command: str) -> Iterator[Notice]:
        """After an interrupt: how to follow the unfinished jobs again."""
        from zbulk.output import Notice
        from zbulk.views.watch import resume_text

        left = [w.job_id for w in jobs if not w.done]
        if left:
            yield Notice(resume_text(left, command))


def _finished(w: Watched) -> bool:
    """The job finished and the watch saw it without an error."""
    return w.job is not None and w.error is None and w.job.finished


@dataclass
class MergedImportReport:
    """``job results --import``: the merged result files of every part of an import."""

    merged: Merged
    parts: int  # how many parts the import has

    def json_lines(self) -> Iterator[str]:
        from zbulk.output import json_text

        yield json_text(self.merged.as_json())

    def views(self) -> Iterator[RenderableType]:
        from zbulk.output import Line

        m = self.merged
        yield Line(
            f"Import {m.import_id}: {m.rows:,} rows of {self.parts} parts into {m.module}: "
            f"{m.created:,} created or updated, {m.failed:,} failed"
        )
        for path in m.files:
            yield Line(f"  {path}")
        if m.failed:
            yield Line(
                f"fix the failed rows and send them again: zbulk job retry --import "
                f"{m.import_id} --edit"
            )


@dataclass
class CreatedJobReport:
    """A bulk write job just created by ``job import``/``job retry``: its id (``--json``:
    Zoho's answer as it came)."""

    job_id: str
    answer: Fetched

    def json_lines(self) -> Iterator[str]:
        from zbulk.output import json_line

        yield json_line(self.answer)

    def views(self) -> Iterator[RenderableType]:
        from zbulk.output import Line

        yield Line(self.job_id)


@dataclass
class DryRunPartsReport:
    """``--dry-run`` of an import split in parts: the parts, before the first one's
    requests (``DryRunReport``); nothing with ``--json``."""

    what: str
    parts: list[str]  # "part 1: rows 1–50,000 (50,000 records, 9,912,442 bytes)"

    def json_lines(self) -> Iterator[str]:
        return iter(())

    def views(self) -> Iterator[RenderableType]:
        from zbulk.output import Line

        yield Line(f"# dry run: {self.what}; nothing is sent. The parts:")
        for part in self.parts:
            yield Line(f"#   {part}")


@dataclass
class PreflightReport:
    """The pre-flight's findings about an upload file. With ``--json`` they are the result
    (a ``{"preflight": …}`` line on stdout) only when the command stops on them
    (``final``); otherwise, and in the human form, they are a note on stderr."""

    report: Report
    said: str | None  # the note: a head line and one line per finding; None: nothing found
    final: bool = True

    def json_lines(self) -> Iterator[str | Notice]:
        from zbulk.output import json_text

        if self.final:
            yield json_text({"preflight": self.report.as_json()})
        else:
            yield from self.views()

    def views(self) -> Iterator[Notice]:
        from zbulk.output import Notice

        if self.said:
            yield Notice(self.said)


@dataclass
class DryRunReport:
    """``job import --dry-run`` and ``job retry --dry-run``: the requests that would be
    sent, in order, token redacted (``--json``: one request per line)."""

    what: str  # "Import 3 records into Leads (insert)"
    requests: list[dict[str, object]]
    which: str = ""  # " (of part 1)": the requests of the first of several parts

    def json_lines(self) -> Iterator[str]:
        from zbulk.output import json_text

        for request in self.requests:
            yield json_text(request)

    def views(self) -> Iterator[RenderableType]:
        from zbulk.views.plan import dry_run_view

        yield from dry_run_view(self.what, self.requests, self.which)
