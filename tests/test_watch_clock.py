"""The job's own clock, honest progress and the ETA, in fake time against the sandbox: one
fake clock drives the demo jobs and zbulk's schedule; the wall clock zbulk reads moves with
it from the sandbox's start, so created_time, ages and the time each job took line up."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from sandbox_support import START, Clock

from zbulk.auth.tokens import StaticToken
from zbulk.client import ZohoClient
from zbulk.config import Settings
from zbulk.errors import ExitCode
from zbulk.models import Job
from zbulk.sandbox import DEMO_JOBS, Sandbox
from zbulk.sandbox.jobs import ADDED_SHARE, DEMO
from zbulk.views.watch import clock_text, counts_line, progress_text
from zbulk.watch import Watched, WatchOptions, watch

DURATION = 60.0
pytestmark = [pytest.mark.sandbox(job_duration=DURATION), pytest.mark.usefixtures("env")]
CREATED_AGO = {job.id: job.created_ago for job in DEMO}


@dataclass
class Seen:
    """What the view would have shown at each event: (kind, job id, fake time, text)."""

    code: ExitCode
    jobs: dict[str, Watched]
    events: list[tuple[str, str, float, str, float | None, float | None]] = field(
        default_factory=list
    )


@pytest.fixture
def follow(sb: Sandbox, clock: Clock) -> Callable[..., Seen]:
    wall0 = time.time()  # the demo jobs' start, in wall time (they start with the sandbox)

    def wall() -> float:
        return wall0 + (clock() - START)

    def _follow(*job_ids: str, **options: object) -> Seen:
        settings = Settings(api_domain=sb.url, request_timeout=5.0)
        seen = Seen(ExitCode.OK, {})

        def on_event(kind: str, w: Watched) -> None:
            eta = w.eta(clock())
            seen.events.append(
                (
                    kind,
                    w.job_id,
                    clock() - START,
                    counts_line(w) + "  " + clock_text(w, clock(), wall()),
                    w.percent,
                    eta,
                )
            )

        with ZohoClient(settings, StaticToken(sb.token, "the test")) as client:
            code, jobs = watch(
                lambda job_id: Job.read(client.get_job(job_id).doc),
                list(job_ids),
                WatchOptions(**options),  # type: ignore[arg-type]
                on_event,
                clock=clock,
                sleep=clock.sleep,
                wall=wall,
            )
        seen.code, seen.jobs = code, {w.job_id: w for w in jobs}
        return seen

    return _follow


def real_end(job_id: str) -> float:
    """Seconds after the sandbox's start at which a demo job finishes (or fails)."""
    job = next(j for j in DEMO if j.id == job_id)
    done = 1.0 if job.fail_at is None else job.fail_at
    return DURATION * job.span * (ADDED_SHARE + (1 - ADDED_SHARE) * done)


def test_each_job_on_its_own_clock_time_taken_frozen_at_the_finishing_poll(follow) -> None:
    large, failing, done = DEMO_JOBS["large"], DEMO_JOBS["failing"], DEMO_JOBS["completed"]
    r = follow(large, failing, done)
    assert r.code == ExitCode.ERROR
    for job_id in (large, failing):
        w = r.jobs[job_id]
        took = w.took()
        assert took is not None and w.finished_at is not None
        # From created_time (its org's offset) to the poll that saw it end: the job's own
        # time, a poll's lag (at most --max-interval) behind what the sandbox did.
        truth = CREATED_AGO[job_id] + real_end(job_id)
        assert truth - 1.5 <= took <= truth + 30, (job_id, took, truth)
        assert w.age(w.finished_at + 500) == took  # frozen: no longer counting
    assert r.jobs[large].took() != r.jobs[failing].took()  # not the watch's elapsed time
    # Finished before the watch: no time taken is made up; its age is said instead.
    assert r.jobs[done].took() is None
    assert r.jobs[done].finished_at is None
    text = clock_text(r.jobs[done], 0.0, 0.0)
    assert text.startswith("finished before this watch · created 1d02h ago")


def test_running_time_starts_when_a_poll_first_sees_it_processing(follow) -> None:
    large = DEMO_JOBS["large"]
    r = follow(large, interval=1.0, max_interval=5.0)
    w = r.jobs[large]
    assert w.saw_waiting and not w.running_estimated
    assert w.running_since is not None and w.created is not None
    started = w.running_since - w.created - CREATED_AGO[large]  # seconds after the start
    assert DURATION * ADDED_SHARE <= started <= DURATION * ADDED_SHARE + 5
    texts = [t for kind, _, _, t, _, _ in r.events if kind == "change"]
    assert any(re.search(r"running \d\d?s\b", t) for t in texts) and "took 1m0" in texts[-1]


def test_the_total_never_shrinks_and_is_unknown_until_every_resource_is_counted(follow) -> None:
    upsert = DEMO_JOBS["upsert"]  # three resources, counted one after another
    r = follow(upsert, interval=1.0, max_interval=3.0)
    assert r.code == ExitCode.OK
    shown = [(t, p) for kind, _, _, t, p, _ in r.events if kind == "change"]
    percents = [p for _, p in shown if p is not None]
    assert percents == sorted(percents) and percents[-1] == 100.0
    unknown = [t for t, _ in shown if "/?" in t]
    assert unknown, shown  # 1,201/? while later resources have no count yet
    assert all("%" not in t.split("added")[0] for t in unknown)
    assert shown[-1][0].startswith("2,150/2,150 (100%)")
    # The denominator, once shown, is the whole job's and never changes.
    totals = {t.split("/")[1].split(" ")[0] for t, _ in shown if "/" in t and "/?" not in t}
    assert totals == {"2,150"}


def test_eta_after_a_fifth_of_the_job_is_within_15_percent_of_the_real_finish(follow) -> None:
    large = DEMO_JOBS["large"]
    r = follow(large)
    finish = real_end(large)
    after = [
        (at, eta)
        for kind, _, at, _, _, eta in r.events
        if kind == "change" and eta is not None and at >= 0.2 * DURATION
    ]
    assert after, r.events
    at, eta = after[0]
    assert abs(at + eta - finish) <= 0.15 * finish, (at, eta, finish)
    shown = [t for kind, _, at, t, _, eta in r.events if eta is not None]
    assert all("ETA " in t for t in shown)


def test_eta_is_not_shown_while_the_total_is_unknown(follow) -> None:
    r = follow(DEMO_JOBS["upsert"], interval=1.0, max_interval=3.0)
    for _, _, _, text, _, eta in r.events:
        if "/?" in text:
            assert eta is None and "ETA" not in text


def test_progress_text_of_a_job_not_counted_yet() -> None:
    from zbulk.watch import Schedule

    w = Watched("1", Schedule())
    assert progress_text(w) == "not counted yet" == counts_line(w)


def test_counts_only_at_the_end_elapsed_time_and_no_eta(follow, sb: Sandbox) -> None:
    """A job created in the sandbox, like Zoho's recorded IN PROGRESS answer, has no counts
    until it ends: the watch says so, shows how long it has been going, and no ETA."""
    import io
    import zipfile

    import requests

    from zbulk.sandbox.jobs import ORG_ID

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr(
            "leads.csv", "Last_Name,Email\n" + "".join(f"N{i},n{i}@x.example\n" for i in range(40))
        )
    auth = {"Authorization": f"Zoho-oauthtoken {sb.token}"}
    headers = {**auth, "feature": "bulk-write", "X-CRM-ORG": ORG_ID}
    files = {"file": ("l.zip", buffer.getvalue())}
    up = requests.post(f"{sb.url}/crm/v8/upload", files=files, headers=headers, timeout=5)
    body = {
        "operation": "insert",
        "resource": [
            {
                "type": "data",
                "module": {"api_name": "Leads"},
                "file_id": up.json()["details"]["file_id"],
            }
        ],
    }
    created = requests.post(f"{sb.url}/crm/bulk/v8/write", json=body, headers=auth, timeout=5)
    job_id = created.json()["details"]["id"]
    sb.import_duration = 20.0
    r = follow(job_id, interval=1.0, max_interval=2.0)
    assert r.code == ExitCode.OK
    texts = [e[3] for e in r.events]
    before_end = [e for e in r.events if not e[3].startswith("40/40")]
    assert [e[3].split("  ")[0] for e in before_end] == ["not counted yet"] * 2  # ADDED, running
    assert texts[len(before_end) :] and all(t.startswith("40/40") for t in texts[2:])
    for _, _, _, text, percent, eta in before_end:
        assert "ETA" not in text and eta is None and percent is None
        assert re.search(r"age \d\d?s\b", text)
    assert re.search(r"running \d\d?s\b", before_end[-1][3])  # seen waiting, then going
    last = r.events[-1][3]
    assert last.startswith("40/40 (100%)  added 40") and re.search(r"took \d\d?s\b", last)
