"""The polling scheduler and the watch loop in fake time: one fake clock drives the sandbox's
demo jobs and zbulk's clock and sleep, while every poll is a real request to the sandbox."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from sandbox_support import Clock

from zbulk.auth.tokens import StaticToken
from zbulk.client import ZohoClient
from zbulk.config import Settings
from zbulk.errors import ExitCode, WatchTimeout
from zbulk.models import Job
from zbulk.sandbox import DEMO_JOBS, Fault, Sandbox
from zbulk.watch import Progress, Schedule, Watched, WatchOptions, watch

DURATION = 60.0  # the demo jobs' job_duration
pytestmark = [pytest.mark.sandbox(job_duration=DURATION), pytest.mark.usefixtures("env")]
UNKNOWN_ID = "4150868000000000001"
PUT_ID = "4150868000000000555"


@dataclass
class Followed:
    code: ExitCode
    jobs: list[Watched]
    events: list[tuple[str, str, float]] = field(default_factory=list)  # kind, job id, elapsed

    def kinds(self, job_id: str | None = None) -> list[str]:
        return [kind for kind, j, _ in self.events if job_id in (None, j)]


@pytest.fixture
def follow(sb: Sandbox, clock: Clock) -> Callable[..., Followed]:
    """Watch job ids against the sandbox in fake time; keyword arguments are WatchOptions'."""

    def _follow(*job_ids: str, token: str | None = None, **options: object) -> Followed:
        settings = Settings(api_domain=sb.url, request_timeout=5.0)
        tokens = StaticToken(token or sb.token, "the test")
        events: list[tuple[str, str, float]] = []

        def on_event(kind: str, w: Watched) -> None:
            events.append((kind, w.job_id, clock.elapsed))

        with ZohoClient(settings, tokens) as client:

            def fetch(job_id: str) -> Job:
                return Job.read(client.get_job(job_id).doc)

            code, jobs = watch(
                fetch,
                list(job_ids),
                WatchOptions(**options),  # type: ignore[arg-type]
                on_event,
                clock=clock,
                sleep=clock.sleep,
            )
        return Followed(code, jobs, events)

    return _follow


def doc(status: str, processed: int | None = None, total: int = 1000) -> dict[str, object]:
    """A one-resource job document; counts only when ``processed`` is given."""
    resource: dict[str, object] = {"status": status, "type": "data", "module": "Leads"}
    if processed is not None:
        counts = {"added_count": processed, "updated_count": 0, "skipped_count": 0}
        resource["file"] = {"status": status, "name": "leads.csv", **counts, "total_count": total}
    return {"id": PUT_ID, "status": status, "operation": "insert", "resource": [resource]}


def polls(sb: Sandbox) -> int:
    return sb.request_count("/crm/bulk/")


# --- Schedule --------------------------------------------------------------------------


def delays(schedule: Schedule, seen: list[Progress], start: float = 0.0) -> list[float]:
    """The delays asked for when each of ``seen`` is polled right when the last delay ends."""
    now, out = start, []
    for progress in seen:
        out.append(schedule.next_delay(now, progress))
        now += out[-1]
    return out


def test_wait_doubles_from_interval_to_max_while_nothing_changes() -> None:
    added = Progress("ADDED", 0, None, 0)
    assert delays(Schedule(2.0, 30.0), [added] * 7) == [2, 4, 8, 16, 30, 30, 30]


def test_wait_resets_when_counts_move_not_on_a_status_change_alone() -> None:
    s = Schedule(2.0, 30.0)
    assert delays(s, [Progress("ADDED", 0, None, 0)] * 4) == [2, 4, 8, 16]
    # ADDED -> IN PROGRESS, or a total appearing, with nothing processed: keeps growing.
    running = Progress("IN PROGRESS", 0, 1000, 0)
    assert s.next_delay(30.0, running) == 30
    moved = Progress("IN PROGRESS", 10, None, 0)  # counts but no total: no estimate
    assert [s.next_delay(t, moved) for t in (60.0, 62.0, 66.0)] == [2, 4, 8]
    assert s.eta(66.0, moved) is None


def test_once_counts_move_the_delay_follows_the_estimate() -> None:
    s = Schedule(2.0, 30.0)
    assert s.next_delay(0.0, Progress("IN PROGRESS", 0, 1000, 0)) == 2
    assert s.eta(0.0, Progress("IN PROGRESS", 0, 1000, 0)) is None  # nothing moved yet
    assert s.next_delay(2.0, Progress("IN PROGRESS", 100, 1000, 0)) == 2  # one point: no rate
    seen = Progress("IN PROGRESS", 200, 1000, 0)  # 100 records in 10 s since counts moved
    assert s.eta(12.0, seen) == pytest.approx(80.0)
    assert s.rate(12.0, seen) == pytest.approx(10.0)
    assert s.next_delay(12.0, seen) == 30  # clamped to max_interval
    seen = Progress("IN PROGRESS", 850, 1000, 0)
    assert s.eta(77.0, seen) == pytest.approx(15.0)
    assert s.next_delay(77.0, seen) == pytest.approx(15.0)  # the estimate itself
    seen = Progress("IN PROGRESS", 995, 1000, 0)
    assert s.eta(91.5, seen) == pytest.approx(0.5)
    assert s.next_delay(91.5, seen) == 2  # never sooner than interval


def test_fractional_intervals() -> None:
    s = Schedule(0.25, 1.5)
    assert delays(s, [Progress("ADDED", 0, None, 0)] * 5) == [0.25, 0.5, 1.0, 1.5, 1.5]
    s = Schedule(0.25, 1.5)
    s.next_delay(0.0, Progress("IN PROGRESS", 10, 100, 0))
    assert s.next_delay(2.0, Progress("IN PROGRESS", 30, 100, 0)) == 1.5  # eta 7 s
    assert s.next_delay(8.0, Progress("IN PROGRESS", 90, 100, 0)) == pytest.approx(1.0)
    assert s.next_delay(8.95, Progress("IN PROGRESS", 99, 100, 0)) == 0.25  # eta 0.11 s


# --- watch() against the sandbox -------------------------------------------------------


def test_finished_job_costs_one_request_and_returns_at_once(follow, sb, clock) -> None:
    r = follow(DEMO_JOBS["completed"])
    assert r.code == ExitCode.OK
    assert polls(sb) == 1 and clock.elapsed == 0
    assert r.kinds() == ["change", "done"]
    assert r.jobs[0].job is not None and r.jobs[0].job.status == "COMPLETED"


def test_completed_job_exits_ok_soon_after_it_finishes(follow, sb, clock) -> None:
    r = follow(DEMO_JOBS["large"])
    assert r.code == ExitCode.OK and r.jobs[0].error is None
    assert DURATION <= clock.elapsed <= DURATION + 2.0  # found within one interval
    assert polls(sb) == r.jobs[0].polls < 15
    assert r.kinds()[-1] == "done"


def test_failed_job_exits_error(follow) -> None:
    r = follow(DEMO_JOBS["failing"])
    assert r.code == ExitCode.ERROR
    assert r.jobs[0].job is not None and r.jobs[0].job.status == "FAILED"


def test_fail_on_skipped(follow) -> None:
    assert follow(DEMO_JOBS["completed"]).code == ExitCode.OK  # 12 skipped, not asked to fail
    assert follow(DEMO_JOBS["completed"], fail_on_skipped=True).code == ExitCode.SKIPPED == 6


def test_several_jobs_end_with_the_worst_code(follow) -> None:
    r = follow(DEMO_JOBS["large"], DEMO_JOBS["failing"], DEMO_JOBS["completed"])
    assert r.code == ExitCode.ERROR
    assert [w.job.status for w in r.jobs if w.job] == ["COMPLETED", "FAILED", "COMPLETED"]
    r = follow(DEMO_JOBS["failing"], UNKNOWN_ID, DEMO_JOBS["completed"], fail_on_skipped=True)
    assert r.code == ExitCode.NOT_FOUND


def test_duplicate_ids_are_watched_once(follow, sb) -> None:
    r = follow(DEMO_JOBS["completed"], DEMO_JOBS["completed"])
    assert [w.job_id for w in r.jobs] == [DEMO_JOBS["completed"]]
    assert polls(sb) == 1


def test_timeout_shorter_than_the_job(follow, clock) -> None:
    job_id = DEMO_JOBS["large"]
    r = follow(job_id, timeout=30.0)
    assert r.code == ExitCode.TIMEOUT == 124
    assert clock.elapsed == 30.0  # gives up at the deadline, not at the next poll
    error = r.jobs[0].error
    assert isinstance(error, WatchTimeout)
    assert "did not finish within 30s" in error.message
    assert error.hint is not None and f"zbulk job watch {job_id}" in error.hint
    assert r.kinds()[-1] == "timeout"


def test_unknown_status_warns_once_and_polling_goes_on(follow, sb, clock) -> None:
    sb.put_document(PUT_ID, doc("QUEUED_SOMEWHERE"))

    def later(elapsed: float) -> None:
        if elapsed >= 100:
            sb.put_document(PUT_ID, doc("COMPLETED", 1000))

    clock.on_sleep = later
    r = follow(PUT_ID)
    assert r.code == ExitCode.OK
    assert r.kinds().count("unknown-status") == 1
    assert polls(sb) >= 6 and 100 <= clock.elapsed <= 130
    assert r.kinds()[-2:] == ["change", "done"]


def test_change_events_only_when_status_or_counts_change(follow, sb, clock) -> None:
    def at(elapsed: float) -> dict[str, object]:
        if elapsed < 20:
            return doc("ADDED")
        if elapsed < 60:
            return doc("IN PROGRESS", 400)  # stuck: unchanged for a while
        return doc("COMPLETED", 1000)

    sb.put_document(PUT_ID, at(0))
    clock.on_sleep = lambda elapsed: sb.put_document(PUT_ID, at(elapsed))
    r = follow(PUT_ID)
    assert r.code == ExitCode.OK
    assert r.kinds() == ["change", "change", "change", "done"]
    assert r.jobs[0].polls == polls(sb) > 5  # more polls than changes


def test_server_errors_are_retried_then_the_poll_succeeds(follow, sb, clock) -> None:
    # The client itself retries a 503 three times: one failed poll is four requests.
    sb.add_fault(Fault("status", status=503, times=8, path_prefix="/crm/bulk/"))
    r = follow(DEMO_JOBS["completed"])
    assert r.code == ExitCode.OK
    assert r.kinds() == ["retry", "retry", "change", "done"]
    assert polls(sb) == 9
    assert clock.elapsed == 4 + 8  # interval x 2, then x 4
    assert r.jobs[0].failures == 0


def test_server_errors_past_the_budget_end_with_network(follow, sb) -> None:
    sb.add_fault(Fault("status", status=503, times=None, path_prefix="/crm/bulk/"))
    r = follow(DEMO_JOBS["completed"], error_budget=2)
    assert r.code == ExitCode.NETWORK
    assert r.kinds() == ["retry", "retry", "done"]
    assert polls(sb) == 3 * 4
    assert r.jobs[0].error is not None and "503" in r.jobs[0].error.message


def test_a_server_gone_quiet_ends_with_network(follow, sb, clock) -> None:
    clock.on_sleep = lambda elapsed: sb.stop()  # answers the first poll only
    r = follow(DEMO_JOBS["large"], error_budget=1)
    assert r.code == ExitCode.NETWORK
    assert r.kinds() == ["change", "retry", "done"]
    assert polls(sb) == 1


def test_other_jobs_go_on_while_one_is_retried(follow, sb) -> None:
    failing_path = f"/crm/bulk/v8/write/{DEMO_JOBS['failing']}"
    sb.add_fault(Fault("status", status=503, times=None, path_prefix=failing_path))
    r = follow(DEMO_JOBS["failing"], DEMO_JOBS["large"], error_budget=1)
    assert r.code == ExitCode.NETWORK
    assert r.jobs[1].job is not None and r.jobs[1].job.status == "COMPLETED"


def test_rejected_token_ends_at_once(follow, sb, clock) -> None:
    r = follow(DEMO_JOBS["large"], token="wrong")
    assert r.code == ExitCode.CREDENTIALS
    assert polls(sb) == 1 and clock.elapsed == 0
    assert r.kinds() == ["done"]


def test_unknown_job_ends_with_not_found(follow, sb) -> None:
    r = follow(UNKNOWN_ID)
    assert r.code == ExitCode.NOT_FOUND and polls(sb) == 1


# --- found by these tests, and fixed: the deadline poll, and stalls -------------------


def test_a_job_finished_before_the_deadline_is_not_a_timeout(follow, sb, clock) -> None:
    sb.put_document(PUT_ID, doc("ADDED"))

    def finish(elapsed: float) -> None:
        if elapsed >= 31:  # polls at 0, 2, 6, 14, 30; the next is planned for 60, past 50
            sb.put_document(PUT_ID, doc("COMPLETED", 1000))

    clock.on_sleep = finish
    r = follow(PUT_ID, timeout=50.0)
    assert r.code == ExitCode.OK, r.jobs[0].error


def test_a_stalled_job_is_polled_less_and_less(follow, sb, clock) -> None:
    def at(elapsed: float) -> dict[str, object]:
        if elapsed >= 390:  # counts complete at 90 s, then 5 minutes before COMPLETED
            return doc("COMPLETED", 1000)
        return doc("IN PROGRESS", min(1000, 100 + int(10 * elapsed)))

    sb.put_document(PUT_ID, at(0))
    clock.on_sleep = lambda elapsed: sb.put_document(PUT_ID, at(elapsed))
    r = follow(PUT_ID)
    assert r.code == ExitCode.OK
    assert polls(sb) <= 30  # doubling while unchanged: ~15; every 2 s: ~150
