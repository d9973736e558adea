"""History of jobs seen: bounded, newest first, safe with several writers, never fatal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from zbulk import history
from zbulk.sandbox import DEMO_JOBS


def test_record_newest_first_and_deduplicated(env) -> None:
    history.record("111", "ADDED", now=1.0)
    history.record("222", "COMPLETED", now=2.0)
    history.record("111", "IN PROGRESS", now=3.0)
    assert [(e["id"], e["status"]) for e in history.entries()] == [
        ("111", "IN PROGRESS"),
        ("222", "COMPLETED"),
    ]
    assert history.complete_job_ids("1") == [("111", "IN PROGRESS")]
    assert history.complete_job_ids("") == [("111", "IN PROGRESS"), ("222", "COMPLETED")]


def test_bounded(env) -> None:
    for n in range(history.LIMIT + 30):
        history.record(str(1000 + n), None, now=float(n))
    seen = history.entries()
    assert len(seen) == history.LIMIT and seen[0]["id"] == str(1000 + history.LIMIT + 29)


def test_damaged_or_unwritable_history_is_not_fatal(env, tmp_path) -> None:
    path = Path(env["ZBULK_STATE_DIR"]) / "history.json"
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    assert history.entries() == []
    path.write_text(json.dumps([{"id": "../x", "seen": 1}, {"id": "5", "seen": "x"}, 7]))
    assert history.entries() == []
    history.record("9", "ADDED")
    assert [e["id"] for e in history.entries()] == ["9"]
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("")
    history.record("9", "ADDED", env={"ZBULK_STATE_DIR": str(blocked / "x")})  # no exception


def test_several_processes_record_at_once(env) -> None:
    code = (
        "import sys; from zbulk import history\n"
        "for n in range(40): history.record(f'{sys.argv[1]}{n:03d}', 'ADDED')"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(p)], env=dict(os.environ))
        for p in range(1, 5)
    ]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0, 0]
    assert len(history.entries()) == 160


def test_show_records_and_recent_lists(zbulk) -> None:
    assert zbulk("job", "show", DEMO_JOBS["completed"]).code == 0
    assert zbulk("job", "show", "--json", DEMO_JOBS["upsert"]).code == 0
    r = zbulk("job", "recent")
    assert r.code == 0
    assert r.out.index(DEMO_JOBS["upsert"]) < r.out.index(DEMO_JOBS["completed"])
    assert "COMPLETED" in r.out and "just now" in r.out
    r = zbulk("job", "recent", "--json")
    assert [json.loads(x)["id"] for x in r.out.splitlines()] == [
        DEMO_JOBS["upsert"],
        DEMO_JOBS["completed"],
    ]


def test_recent_when_empty(run) -> None:
    r = run("job", "recent")
    assert r.code == 0 and "No jobs seen yet" in r.out
