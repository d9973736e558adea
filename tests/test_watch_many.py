"""Many jobs at once: requests in flight bounded by --concurrency (counted by the sandbox),
one 429 back-off shared by every job, no more requests than watching each alone, jobs
started on demand in the sandbox, and ``job watch --recent``."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable

import pytest
from sandbox_support import START, Clock

from zbulk.auth.tokens import StaticToken
from zbulk.client import ZohoClient
from zbulk.config import Settings
from zbulk.errors import ExitCode
from zbulk.models import Job
from zbulk.sandbox import DEMO_JOBS, Fault, Sandbox
from zbulk.watch import Throttle, WatchOptions, watch

DURATION = 60.0
pytestmark = [pytest.mark.sandbox(job_duration=DURATION), pytest.mark.usefixtures("env")]
RUNNING_ID = "4150868000000000777"


def running(job_id: str = RUNNING_ID, processed: int = 10) -> dict[str, object]:
    counts = {"added_count": processed, "updated_count": 0, "skipped_count": 0}
    file = {"status": "IN PROGRESS", "name": "a.csv", **counts, "total_count": 1000}
    resource = {"status": "IN PROGRESS", "type": "data", "module": "Leads", "file": file}
    return {"id": job_id, "status": "IN PROGRESS", "operation": "insert", "resource": [resource]}


@pytest.fixture
def follow(sb: Sandbox, clock: Clock) -> Callable[..., tuple]:
    """Watch ids in fake time; returns (code, jobs, fetches as (job id, fake time), throttle)."""

    def _follow(*job_ids: str, on_fetch: Callable[[str], None] | None = None, **options: object):
        settings = Settings(api_domain=sb.url, request_timeout=5.0)
        fetches: list[tuple[str, float]] = []
        throttle = Throttle(clock)
        with ZohoClient(settings, StaticToken(sb.token, "the test")) as client:
            client.on_rate_limit = throttle.hold
            client.allow_parallel(int(options.get("concurrency", 4)))  # type: ignore[call-overload]

            def fetch(job_id: str) -> Job:
                fetches.append((job_id, clock()))
                if on_fetch is not None:
                    on_fetch(job_id)
                return Job.read(client.get_job(job_id).doc)

            code, jobs = watch(
                fetch,
                list(job_ids),
                WatchOptions(**options),  # type: ignore[arg-type]
                lambda kind, w: None,
                clock=clock,
                sleep=clock.sleep,
                throttle=throttle,
            )
        return code, jobs, fetches, throttle

    return _follow


def test_never_more_requests_in_flight_than_concurrency(follow, sb) -> None:
    ids = sb.start_jobs(12)
    sb.latency = 0.05  # each answer takes a while: polls overlap if they can
    code, jobs, _, _ = follow(*ids, concurrency=3)
    assert code == ExitCode.OK
    assert all(w.job is not None and w.job.status == "COMPLETED" for w in jobs)
    assert sb.max_in_flight == 3  # reached, never passed


def test_one_at_a_time_with_concurrency_1(follow, sb) -> None:
    ids = sb.start_jobs(4)
    sb.latency = 0.02
    code, _, _, _ = follow(*ids, concurrency=1)
    assert code == ExitCode.OK and sb.max_in_flight == 1


def test_many_jobs_cost_no_more_requests_than_each_watched_alone(follow, sb, clock) -> None:
    alone = sb.start_jobs(1)
    follow(*alone)
    single = sb.request_count("/crm/bulk/")
    sb.restart_jobs()  # every job, the started ones too, from ADDED again
    many = sb.start_jobs(20)
    before = sb.request_count("/crm/bulk/")
    code, _, _, _ = follow(*many, concurrency=4)
    assert code == ExitCode.OK
    assert sb.request_count("/crm/bulk/") - before <= 20 * single


def test_a_429_on_one_job_holds_every_job_back(follow, sb) -> None:
    for n in range(3):
        sb.put_document(f"{RUNNING_ID}{n}", running(f"{RUNNING_ID}{n}"))
    ids = [f"{RUNNING_ID}{n}" for n in range(3)]
    sb.add_fault(Fault("status", status=429, times=1, path_prefix=f"/crm/bulk/v8/write/{ids[0]}"))
    code, _, fetches, throttle = follow(*ids, interval=0.5, max_interval=0.5, timeout=6.0)
    assert code == ExitCode.TIMEOUT  # the documents never finish; the watch ends at 6 s
    assert throttle.holds == 1 and throttle.until == START + 2.0  # no Retry-After: 2 s
    # Every job was asked at 0; after the 429, no job was asked again before 2 s.
    assert sorted(j for j, at in fetches if at == START) == ids
    assert not [(j, at) for j, at in fetches if START < at < START + 2.0]
    assert {j for j, at in fetches if at == START + 2.0} == set(ids)


def test_retry_after_sets_the_shared_hold(follow, sb) -> None:
    sb.put_document(RUNNING_ID, running())
    sb.add_fault(Fault("status", status=429, times=1, headers={"Retry-After": "1"}))
    _, _, fetches, throttle = follow(RUNNING_ID, interval=0.2, max_interval=0.2, timeout=3.0)
    assert throttle.until == START + 1.0
    assert not [at for _, at in fetches if START < at < START + 1.0]


def test_sandbox_starts_jobs_on_demand_over_http(sb, clock) -> None:
    def post(query: str) -> tuple[int, dict]:
        auth = {"Authorization": f"Zoho-oauthtoken {sb.token}"}
        url = f"{sb.url}/sandbox/jobs?{query}"
        request = urllib.request.Request(url, method="POST", headers=auth)
        try:
            with urllib.request.urlopen(request) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    status, body = post("count=3&like=upsert&span=0.5")
    assert status == 201 and len(body["details"]["ids"]) == 3
    job_id = body["details"]["ids"][0]
    assert job_id in sb.jobs and len(set(body["details"]["ids"])) == 3
    settings = Settings(api_domain=sb.url, request_timeout=5.0)
    with ZohoClient(settings, StaticToken(sb.token, "the test")) as client:
        assert client.get_job(job_id).doc["status"] == "ADDED"
        clock.now += DURATION * 0.5  # span 0.5: done in half a job_duration
        doc = client.get_job(job_id).doc
    assert doc["status"] == "COMPLETED" and doc["id"] == job_id
    assert [r["module"]["api_name"] for r in doc["resource"]] == ["Leads", "Contacts", "Accounts"]
    assert post("count=1&like=completed")[0] == 400  # finished from the start: nothing to run
    assert post("count=1&like=nonsense")[0] == 400
    assert post("count=1&span=nan")[0] == 400


# --- through the CLI -------------------------------------------------------------------


@pytest.fixture
def fast(run):
    with Sandbox(job_duration=1.2) as sb:

        def zbulk(*args: str, **environ: str | None):
            environ.setdefault("ZBULK_API_DOMAIN", sb.url)
            environ.setdefault("ZBULK_TOKEN", sb.token)
            return run(*args, **environ)

        zbulk.sb = sb  # type: ignore[attr-defined]
        yield zbulk


def test_recent_follows_every_unfinished_job_in_the_history(fast) -> None:
    done, large, failing = DEMO_JOBS["completed"], DEMO_JOBS["large"], DEMO_JOBS["failing"]
    assert fast("job", "show", "--brief", done, large, failing).code == 0
    fast.sb.restart_jobs()
    r = fast("job", "watch", "--recent", "--interval", "0.1", "--max-interval", "0.3")
    assert r.code == ExitCode.ERROR, r.err  # the failing one is among them
    assert large in r.out and failing in r.out and done not in r.out
    asked = {q.path.rsplit("/", 1)[-1] for q in fast.sb.requests if "/write/" in q.path}
    assert done in asked  # by `job show` only: once, before the watch
    r = fast("job", "watch", "--recent")
    assert r.code == 0 and "nothing to watch" in r.err  # every job now last seen finished


@pytest.mark.parametrize(
    "args",
    [
        ["--recent", DEMO_JOBS["large"]],
        [],
        ["--concurrency", "0", DEMO_JOBS["large"]],
        ["--concurrency", "33", DEMO_JOBS["large"]],
        ["--concurrency", "two", DEMO_JOBS["large"]],
        ["--notify=sometimes", DEMO_JOBS["large"]],
    ],
)
def test_bad_watch_arguments_are_usage_errors(fast, args) -> None:
    r = fast("job", "watch", *args)
    assert r.code == ExitCode.USAGE, r.err
    assert "Traceback" not in r.err and fast.sb.request_count() == 0
