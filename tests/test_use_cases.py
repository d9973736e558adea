"""The use cases of ``zbulk.jobs``, called directly: a client on the sandbox, a fake clock,
callbacks; no typer, no command line, nothing printed. The commands and ``zbulk demo``
call these same functions."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sandbox_support import Clock

from zbulk.auth.tokens import StaticToken
from zbulk.client import ZohoClient
from zbulk.config import Settings
from zbulk.errors import ApiError, ExitCode
from zbulk.jobs.fetch_result import fetch_and_summarise
from zbulk.jobs.follow import follow
from zbulk.jobs.retrying import failed_rows
from zbulk.sandbox import DEMO_JOBS, Sandbox
from zbulk.user_file import open_source
from zbulk.watch import Watched, WatchOptions

pytestmark = pytest.mark.usefixtures("env")
DONE, LARGE, FAILING = DEMO_JOBS["completed"], DEMO_JOBS["large"], DEMO_JOBS["failing"]


@pytest.fixture
def client(sb: Sandbox) -> Iterator[ZohoClient]:
    settings = Settings(api_domain=sb.url, request_timeout=5.0)
    with ZohoClient(settings, StaticToken(sb.token, "the test")) as made:
        yield made


def test_fetch_and_summarise_is_what_job_results_reports(
    client: ZohoClient, sb: Sandbox, zbulk_at: Any, tmp_path: Path
) -> None:
    docs: list[dict[str, Any]] = []
    got = fetch_and_summarise(client, DONE, tmp_path, on_doc=docs.append)
    assert [d["id"] for d in docs] == [DONE]  # fetched once, handed to on_doc
    assert got.job.finished and got.url.startswith(sb.url) and got.zip_path.is_file()
    assert got.zip_path.parent == tmp_path
    assert sum(f.rows for f in got.summary.files) > 0
    shown = zbulk_at(sb)("job", "results", DONE, "--json")
    assert shown.code == ExitCode.OK, shown.err
    assert json.loads(shown.out) == got.summary.as_json(got.url)


def test_fetch_and_summarise_writes_the_files_asked_for(client: ZohoClient, tmp_path: Path) -> None:
    out = tmp_path / "out"
    doc = client.get_job(DONE).doc
    called: list[object] = []
    got = fetch_and_summarise(
        client, DONE, tmp_path, doc=doc, output_dir=out, keep_zip=True, on_doc=called.append
    )
    assert called == []  # the document given is used, not fetched again
    written = {Path(p).name for f in got.summary.files for p in f.written}
    assert written and all(name.startswith(f"{DONE}-") for name in written)
    assert {p.name for p in out.iterdir()} >= written | {f"{DONE}.zip"}


@pytest.mark.parametrize(
    ("wanted", "said"),
    [
        (None, "it has no result file yet"),
        ("failed rows to send", "it has no failed rows to send yet"),
    ],
)
def test_an_unfinished_job_has_no_result_file_and_nothing_is_downloaded(
    client: ZohoClient, tmp_path: Path, wanted: str | None, said: str
) -> None:
    more = {} if wanted is None else {"wanted": wanted}
    with pytest.raises(ApiError) as caught:
        fetch_and_summarise(client, LARGE, tmp_path, **more)
    assert said in caught.value.message and f"zbulk job watch {LARGE}" in (caught.value.hint or "")
    assert list(tmp_path.iterdir()) == []


def test_failed_rows_come_back_whole_from_the_uploaded_file(
    client: ZohoClient, sb: Sandbox, tmp_path: Path
) -> None:
    upload = tmp_path / "upload.zip"
    with urllib.request.urlopen(f"{sb.url}/sandbox/source/{DONE}.zip", timeout=5) as answer:
        upload.write_bytes(answer.read())
    sources = open_source(upload)
    doc = client.get_job(DONE).doc
    work = tmp_path / "work"
    work.mkdir()
    found = failed_rows(client, DONE, doc, sources, work)
    assert found.summary.failed > 0 and found.path is not None
    assert found.path.name.endswith("-failed.csv") and found.path.is_relative_to(work)
    lines = found.path.read_text(encoding="utf-8-sig").splitlines()
    assert len(lines) == 1 + found.summary.failed  # the header, then each failed row whole


def test_follow_polls_each_job_to_its_end_on_the_clock_given(
    client: ZohoClient, clock: Clock
) -> None:
    events: list[tuple[str, str]] = []
    started: list[list[str]] = []
    remembered: list[tuple[str, str]] = []
    fetched: dict[str, Any] = {}
    code, jobs = follow(
        client,
        [LARGE, FAILING],
        WatchOptions(interval=1.0, max_interval=5.0, timeout=3600.0),
        lambda kind, w: events.append((kind, w.job_id)),
        on_start=lambda watched: started.append([w.job_id for w in watched]),
        remember=lambda job_id, doc: remembered.append((job_id, str(doc["status"]))),
        fetched=fetched,
        clock=clock,
        sleep=clock.sleep,
        signals=False,
    )
    assert started == [[LARGE, FAILING]]
    assert code == ExitCode.ERROR  # the failing job FAILED
    assert {w.job_id: w.job.status for w in jobs if w.job} == {
        LARGE: "COMPLETED",
        FAILING: "FAILED",
    }
    assert ("done", LARGE) in events and ("done", FAILING) in events
    assert set(fetched) == {LARGE, FAILING}
    assert remembered[-1][1] in ("COMPLETED", "FAILED") and len(remembered) > 2
    assert clock.sleeps  # it waited on the clock given, not in real time
    assert client.deadline is not None  # no request outlives the timeout


def test_follow_tells_on_interrupt_the_jobs_so_far_then_goes_on(
    client: ZohoClient, clock: Clock
) -> None:
    told: list[list[Watched]] = []

    def stop(kind: str, w: Watched) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        follow(
            client,
            [LARGE],
            WatchOptions(interval=1.0),
            stop,
            on_interrupt=told.append,
            clock=clock,
            sleep=clock.sleep,
            signals=False,
        )
    assert [[w.job_id for w in jobs] for jobs in told] == [[LARGE]]


class Told:
    """An import's events, kept (the command prints them)."""

    def __init__(self) -> None:
        self.notes: list[str] = []
        self.jobs: list[str] = []

    def note(self, message: str) -> None:
        self.notes.append(message)

    def created(self, part: Any, answer: Any) -> None:
        self.jobs.append(part.job_id)


def test_an_import_run_then_its_failed_rows_merged_without_the_cli(
    client: ZohoClient, sb: Sandbox, tmp_path: Path
) -> None:
    from zbulk.commands.demo_imports import DEMO_CSV
    from zbulk.import_plan import prepare, upload_url
    from zbulk.jobs.fetch_result import merge_import_results
    from zbulk.jobs.importing import Importer, plan_import
    from zbulk.jobs.retrying import import_failed_rows
    from zbulk.sandbox.jobs import ORG_ID

    sb.import_duration = 0  # created jobs finish at once
    leads = tmp_path / "leads.csv"
    leads.write_text(DEMO_CSV, encoding="utf-8")
    plan = prepare(leads, module="Leads", operation="insert")
    record = plan_import(plan, "default", sb.url, client.settings.api_version)
    url = upload_url(sb.url, client.settings.api_version, sb.upload_url)
    work = tmp_path / "work"
    work.mkdir()
    told = Told()
    Importer(record, client, ORG_ID, url, told, work).run()
    assert told.jobs == [record.parts[0].job_id] and told.jobs[0]
    out = tmp_path / "out"
    merged = merge_import_results(client, record, work, out, False)
    assert merged.rows == 4 and merged.failed == 2 and merged.created == 2
    assert all(Path(p).parent == out for p in merged.files)
    again = tmp_path / "again"
    again.mkdir()
    failed = import_failed_rows(client, record, again)
    rows = Path(failed.files[0]).read_text(encoding="utf-8-sig").splitlines()
    assert rows[0] == DEMO_CSV.splitlines()[0] and len(rows) == 3
