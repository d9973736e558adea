"""zbulk job watch through the CLI, in real (short) time against a fast sandbox."""

from __future__ import annotations

import json
import re

import pytest

from zbulk.errors import ExitCode
from zbulk.sandbox import DEMO_JOBS, Fault


def test_watch_until_completed_on_a_pipe(fast) -> None:
    r = fast("job", "watch", "--interval", "0.1", "--max-interval", "0.3", DEMO_JOBS["large"])
    assert r.code == ExitCode.OK, r.err
    assert re.search(rf"✓ {DEMO_JOBS['large']}  COMPLETED  25,000/25,000 \(100%\)", r.out)
    lines = [x for x in r.err.splitlines() if DEMO_JOBS["large"] in x and "  " in x]
    # The first line is the first state seen: ADDED lasts 0.12 s, so on a loaded machine
    # the first poll may already find the job running.
    assert re.search(r"  (ADDED|IN PROGRESS)  ", lines[0]) and "COMPLETED" in lines[-1]
    assert len(lines) >= 2
    assert "\x1b" not in r.out + r.err and "\r" not in r.out + r.err
    assert "126 records were skipped" in r.err


def test_ndjson_one_line_per_change_last_is_final(fast) -> None:
    r = fast(
        "job", "watch", "--json", "--interval", "0.1", "--max-interval", "0.2", DEMO_JOBS["large"]
    )
    assert r.code == 0
    docs = [json.loads(line) for line in r.out.splitlines()]
    assert len(docs) >= 3 and docs[-1]["status"] == "COMPLETED"
    states = [(d["status"], json.dumps(d["resource"][0].get("file"))) for d in docs]
    assert len(set(states)) == len(states)  # a line only when something changed
    assert "ADDED" not in r.err  # no plain progress lines with --json


def test_failed_job_exits_1_and_worst_code_wins(fast) -> None:
    r = fast(
        "job",
        "watch",
        "--interval",
        "0.1",
        "--max-interval",
        "0.3",
        DEMO_JOBS["large"],
        DEMO_JOBS["failing"],
    )
    assert r.code == ExitCode.ERROR
    assert f"✗ {DEMO_JOBS['failing']}  FAILED" in r.out
    assert f"✓ {DEMO_JOBS['large']}  COMPLETED" in r.out


def test_already_finished_costs_one_request(fast) -> None:
    r = fast("job", "watch", DEMO_JOBS["completed"])
    assert r.code == 0 and fast.server.request_count("/crm/") == 1


def test_fail_on_skipped(fast) -> None:
    r = fast("job", "watch", "--fail-on-skipped", DEMO_JOBS["completed"])
    assert r.code == ExitCode.SKIPPED and "12 records were skipped" in r.err


def test_timeout_exits_124_and_says_the_job_goes_on(fast) -> None:
    r = fast("job", "watch", "--timeout", "0.3", "--interval", "0.1", DEMO_JOBS["large"])
    assert r.code == ExitCode.TIMEOUT
    assert "did not finish within 0.3s" in r.err
    assert f"zbulk job watch {DEMO_JOBS['large']}" in r.err


def test_unknown_status_warns_once(fast) -> None:
    job_id = "4150868000000000555"
    fast.server.put_document(job_id, {"id": job_id, "status": "QUEUED_ELSEWHERE", "resource": []})
    r = fast(
        "job", "watch", "--timeout", "0.5", "--interval", "0.1", "--max-interval", "0.1", job_id
    )
    assert r.code == ExitCode.TIMEOUT
    assert r.err.count("QUEUED_ELSEWHERE', which zbulk does not know") == 1


def test_server_trouble_is_retried_with_a_warning(fast) -> None:
    fast.server.add_fault(Fault("status", status=503, times=4, path_prefix="/crm/"))
    r = fast("job", "watch", "--interval", "0.1", DEMO_JOBS["completed"])
    assert r.code == 0, r.err
    assert "trying again" in r.err


def test_rejected_token_is_fatal(fast) -> None:
    r = fast("job", "watch", DEMO_JOBS["large"], ZBULK_TOKEN="wrong")
    assert r.code == ExitCode.CREDENTIALS and fast.server.request_count() == 1


def test_not_found(fast) -> None:
    r = fast("job", "watch", "4150868000000000001")
    assert r.code == ExitCode.NOT_FOUND


@pytest.mark.parametrize(
    "args",
    [["--interval", "0"], ["--interval", "5", "--max-interval", "1"], ["--timeout", "-1"], ["abc"]],
)
def test_bad_arguments(fast, args) -> None:
    r = fast("job", "watch", *args, *([] if "abc" in args else [DEMO_JOBS["large"]]))
    assert r.code == ExitCode.USAGE and fast.server.request_count() == 0


def test_live_panel_renders_progress_timer_and_rate() -> None:
    import io

    from docs import RECORDED_V2, RECORDED_V21
    from rich.console import Console

    from zbulk.models import Job
    from zbulk.views.watch import WatchPanel, duration
    from zbulk.watch import Progress, Schedule, Watched

    running = Watched(
        "4150868000005392002", Schedule(), job=Job.read(RECORDED_V2), next_poll=12.0, started=0.0
    )
    running.progress = Progress.of(running.job)
    running.created = 1000.0
    done = Watched("4150868000005350003", Schedule(), job=Job.read(RECORDED_V21), started=0.0)
    done.schedule.next_delay(1.0, Progress("IN PROGRESS", 5, 11, 0))
    done.progress = Progress.of(done.job)
    done.created, done.finished_at, done.percent = 1000.0, 1057.0, 100.0
    waiting = Watched("4150868000000000009", Schedule())
    buf = io.StringIO()
    panel = WatchPanel([running, done, waiting], clock=lambda: 5.0, wall=lambda: 1076.0)
    Console(file=buf, width=100).print(panel)
    text = buf.getvalue()
    assert "4150868000005392002  INPROGRESS  not counted yet  age 1m16s  next poll in 7s" in text
    assert "  Leads  INPROGRESS\n" in text  # v2 in progress: not counted yet, no bar
    assert "11/11 (100%)  took 57s" in text  # the time it took, not the watch's
    assert "11/11" in text and "waiting for first answer" in text
    assert duration(3725) == "1h02m" and duration(65) == "1m05s" and duration(-3) == "0s"


def test_an_api_error_ends_that_job_only(fast) -> None:
    fast.server.add_fault(
        Fault(
            "status",
            status=403,
            times=None,
            path_prefix=f"/crm/bulk/v8/write/{DEMO_JOBS['failing']}",
        )
    )
    r = fast(
        "job",
        "watch",
        "--interval",
        "0.1",
        "--max-interval",
        "0.3",
        DEMO_JOBS["large"],
        DEMO_JOBS["failing"],
    )
    assert r.code == ExitCode.ERROR
    assert "403" in r.err and f"✓ {DEMO_JOBS['large']}  COMPLETED" in r.out


def test_a_document_without_status_warns_once(fast) -> None:
    job_id = "4150868000000000556"
    fast.server.put_document(job_id, {"id": job_id, "resource": []})
    r = fast("job", "watch", "--timeout", "0.4", "--interval", "0.1", job_id)
    assert r.code == ExitCode.TIMEOUT and r.err.count("does not know") == 1
