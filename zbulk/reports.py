"""Typed results of the commands. Each is shown by ``Output.emit``: as JSON lines
(``json_lines``) or through its human view in ``zbulk.views`` (``views``).

Commands compute one of these and hand it over; they never pick a format themselves.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import RenderableType

    from zbulk.client import Fetched
    from zbulk.results import Summary
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
class ResultsReport:
    """``job results``: the summary of a result file."""

    summary: Summary
    url: str | None
    with_rows: bool

    def json_lines(self) -> Iterator[str | Iterator[str]]:
        from zbulk.output import json_text

        # One document, in pieces: the failed rows are streamed, never held.
        yield self.summary.json_chunks(self.url, self.with_rows, json_text)

    def views(self) -> Iterator[RenderableType]:
        from zbulk.views.results import results_view

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
