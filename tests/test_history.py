"""History of jobs seen: per profile and API domain, bounded, newest first, safe with several
writers, never fatal whatever the file holds; ``job recent`` and its options."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from zbulk import history
from zbulk.history import Scope
from zbulk.sandbox import DEMO_JOBS

HOME = Scope.of("default", "https://www.zohoapis.com")
LAB = Scope.of("lab", "https://www.zohoapis.com")


def status(value: str | None) -> dict[str, object]:
    return {"status": value}


def test_record_newest_first_and_deduplicated(env) -> None:
    history.record("111", status("ADDED"), HOME, now=1.0)
    history.record("222", status("COMPLETED"), HOME, now=2.0)
    history.record("111", status("INPROGRESS"), HOME, now=3.0)
    assert [(e["id"], e["status"]) for e in history.entries(HOME)] == [
        ("111", "IN PROGRESS"),  # normalised
        ("222", "COMPLETED"),
    ]
    assert history.complete_job_ids("1") == [("111", f"IN PROGRESS {day(3.0)}")]
    assert history.complete_job_ids("") == [
        ("111", f"IN PROGRESS {day(3.0)}"),
        ("222", f"COMPLETED {day(2.0)}"),
    ]


def day(seen: float) -> str:
    return time.strftime("%Y-%m-%d", time.localtime(seen))


# Statuses a server could send to have a shell run a command (issue 22, Why 1).
HOSTILE_STATUSES = [
    "$(touch F)",
    "<(touch F)\\",
    "`touch F`",
    "X\\",
    "a\nb",
    "'",
    '"',
    "Done",
    "COMPLETED; rm -rf ~",
    {"x": 1},
    7,
    "\x1b[31mFAILED",
]
DESCRIPTION = re.compile(r"(ADDED|IN PROGRESS|COMPLETED|FAILED|SKIPPED|UNKNOWN) \d{4}-\d\d-\d\d")


@pytest.mark.parametrize("value", HOSTILE_STATUSES, ids=repr)
def test_a_status_outside_zohos_set_is_kept_as_unknown(env, value: object) -> None:
    """History keeps zbulk's words only: what it keeps is what Tab completion offers."""
    history.record("111", {"status": value}, HOME, now=1e9)
    (entry,) = history.entries(HOME)
    assert entry["status"] == "UNKNOWN"
    ((job_id, description),) = history.complete_job_ids("")
    assert job_id == "111" and DESCRIPTION.fullmatch(description), description
    stored = (Path(env["ZBULK_STATE_DIR"]) / "history.json").read_text()
    assert "touch" not in stored and "\\u001b" not in stored


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("INPROGRESS", "IN PROGRESS"),
        ("in_progress", "IN PROGRESS"),
        ("completed", "COMPLETED"),
        ("Skipped", "SKIPPED"),
        ("ADDED", "ADDED"),
        ("FAILED", "FAILED"),
        ("", None),
        (None, None),
    ],
)
def test_known_statuses_are_kept_in_zbulks_spelling(env, sent: object, kept: str | None) -> None:
    history.record("111", {"status": sent}, HOME, now=1e9)
    assert history.entries(HOME)[0]["status"] == kept


def test_scopes_are_kept_apart(env) -> None:
    sandbox = Scope.of("default", "http://127.0.0.1:8790/")
    history.record("111", status("ADDED"), HOME, now=1.0)
    history.record("222", status("ADDED"), LAB, now=2.0)
    history.record("333", status("ADDED"), sandbox, now=3.0)
    history.record("111", status("FAILED"), LAB, now=4.0)
    assert [e["id"] for e in history.entries(HOME)] == ["111"]
    assert [(e["id"], e["status"]) for e in history.entries(LAB)] == [
        ("111", "FAILED"),
        ("222", "ADDED"),
    ]
    assert [e["id"] for e in history.entries(Scope.of("default", "HTTP://127.0.0.1:8790"))] == [
        "333"
    ]
    assert history.entries(HOME)[0]["status"] == "ADDED"  # another scope's record left it


def test_bounded_per_scope(env) -> None:
    for n in range(history.LIMIT + 30):
        history.record(str(1000 + n), None, HOME, now=float(n))
    history.record("5", None, LAB, now=1.0)
    seen = history.entries(HOME)
    assert len(seen) == history.LIMIT and seen[0]["id"] == str(1000 + history.LIMIT + 29)
    assert [e["id"] for e in history.entries(LAB)] == ["5"]
    assert len(history.entries(HOME, limit=3)) == 3


def test_modules_and_operation(env) -> None:
    doc = {
        "status": "IN PROGRESS",
        "operation": "upsert",
        "resource": [
            {"module": "Leads"},
            {"module": {"api_name": "Contacts", "id": "1"}},
            {"module": "Leads"},
            {"module": 5},
            "junk",
        ],
    }
    history.record("7", doc, HOME)
    (entry,) = history.entries(HOME)
    assert entry["modules"] == ["Leads", "Contacts"] and entry["operation"] == "upsert"


JUNK = [
    "{not json",
    "Infinity",
    "",
    "null",
    '{"id": "1"}',
    json.dumps([7, "x", None, [], {}]),
    '[{"id": "5", "seen": Infinity, "profile": "default", "api_domain": "https://www.zohoapis.com"}]',
    '[{"id": "5", "seen": NaN, "profile": "default", "api_domain": "https://www.zohoapis.com"}]',
    '[{"id": "5", "seen": -Infinity, "profile": "default", "api_domain": "https://www.zohoapis.com"}]',
    '[{"id": "5", "seen": 1e400, "profile": "default", "api_domain": "https://www.zohoapis.com"}]',
    '[{"id": "5", "seen": 1e300, "profile": "default", "api_domain": "https://www.zohoapis.com"}]',
    '[{"id": "5", "seen": -1, "profile": "default", "api_domain": "https://www.zohoapis.com"}]',
    '[{"id": "5", "seen": true, "profile": "default", "api_domain": "https://www.zohoapis.com"}]',
    '[{"id": "5", "seen": "x", "profile": "default", "api_domain": "https://www.zohoapis.com"}]',
    '[{"id": "../x", "seen": 1, "profile": "default", "api_domain": "https://www.zohoapis.com"}]',
    '[{"id": "\u0665", "seen": 1, "profile": "default", "api_domain": "https://www.zohoapis.com"}]',
    '[{"id": 5, "seen": 1, "profile": "default", "api_domain": "https://www.zohoapis.com"}]',
    '[{"id": "5", "seen": 1}]',  # from before scopes: whose is unknown
    '[{"id": "5", "seen": 1, "profile": 3, "api_domain": "https://www.zohoapis.com"}]',
    "[" * 100_000,
    '"\\ud800"',
    "\udcff",
]


@pytest.mark.parametrize("junk", JUNK)
def test_junk_in_the_file_never_fails_a_command(env, run, zbulk, junk: str) -> None:
    path = Path(env["ZBULK_STATE_DIR"]) / "history.json"
    path.parent.mkdir(parents=True)
    path.write_bytes(junk.encode("utf-8", "surrogateescape"))
    assert history.entries(HOME) == [] and history.complete_job_ids("") == []
    for args in (("job", "recent"), ("job", "recent", "--json")):
        r = run(*args)
        assert r.code == 0 and "Traceback" not in r.err, (junk, r.err)
    r = zbulk("job", "show", "--json", DEMO_JOBS["completed"])  # records over the junk
    assert r.code == 0 and r.err == ""
    r = zbulk("job", "recent", "--json")
    assert [json.loads(line)["id"] for line in r.out.splitlines()] == [DEMO_JOBS["completed"]]
    history.record("9", status("ADDED"), HOME)
    assert [e["id"] for e in history.entries(HOME)] == ["9"]


def test_odd_entry_fields_are_dropped_or_cleaned(env) -> None:
    path = Path(env["ZBULK_STATE_DIR"]) / "history.json"
    path.parent.mkdir(parents=True)
    scope = {"profile": "default", "api_domain": "https://www.zohoapis.com"}
    path.write_text(
        json.dumps(
            [
                {
                    "id": "1",
                    "seen": 5,
                    "status": {"x": 1},
                    "modules": "Leads",
                    "operation": 7,
                    **scope,
                },
                {
                    "id": "2",
                    "seen": 4,
                    "status": "\x1b[31mX",
                    "modules": ["\x1b]0;t\x07", "Leads"],
                    "operation": "a" * 500,
                    **scope,
                },
            ]
        )
    )
    first, second = history.entries(HOME)
    assert first == {
        "id": "1",
        "status": "UNKNOWN",
        "modules": [],
        "operation": None,
        "seen": 5.0,
        **scope,
    }
    assert second["modules"] == ["Leads"] and second["operation"] is None
    assert second["status"] == "UNKNOWN"  # what an older zbulk kept is cleaned on reading


def test_huge_file_is_ignored_then_replaced(env) -> None:
    path = Path(env["ZBULK_STATE_DIR"]) / "history.json"
    path.parent.mkdir(parents=True)
    path.write_bytes(b" " * (history.MAX_BYTES + 1))
    assert history.entries() == []
    history.record("9", None, HOME)
    assert [e["id"] for e in history.entries()] == ["9"]


def test_unwritable_history_is_not_fatal(env, tmp_path) -> None:
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("")
    history.record("9", None, HOME, env={"ZBULK_STATE_DIR": str(blocked / "x")})  # no exception
    directory = Path(env["ZBULK_STATE_DIR"]) / "history.json"
    directory.mkdir(parents=True)  # a directory where the file should be
    history.record("9", None, HOME)
    assert history.entries() == []


def test_several_processes_record_at_once(env) -> None:
    code = (
        "import sys; from zbulk import history\n"
        "scope = history.Scope.of('default', 'https://www.zohoapis.com')\n"
        "for n in range(40): history.record(f'{sys.argv[1]}{n:03d}', {'status': 'ADDED'}, scope)"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(p)], env=dict(os.environ))
        for p in range(1, 5)
    ]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0, 0]
    assert len(history.entries(HOME)) == 160


def test_show_records_and_recent_lists(zbulk, sandbox) -> None:
    assert zbulk("job", "show", DEMO_JOBS["completed"]).code == 0
    assert zbulk("job", "show", "--json", DEMO_JOBS["upsert"]).code == 0
    r = zbulk("job", "recent")
    assert r.code == 0
    assert r.out.index(DEMO_JOBS["upsert"]) < r.out.index(DEMO_JOBS["completed"])
    assert "COMPLETED" in r.out and "just now" in r.out
    assert "Leads, Contacts, Accounts" in r.out and "upsert" in r.out
    r = zbulk("job", "recent", "--json")
    lines = [json.loads(x) for x in r.out.splitlines()]
    assert [x["id"] for x in lines] == [DEMO_JOBS["upsert"], DEMO_JOBS["completed"]]
    assert lines[0]["modules"] == ["Leads", "Contacts", "Accounts"]
    assert lines[0]["operation"] == "upsert" and lines[0]["api_domain"] == sandbox.url
    assert lines[1]["status"] == "COMPLETED"
    r = zbulk("job", "recent", "--json", "--limit", "1")
    assert [json.loads(x)["id"] for x in r.out.splitlines()] == [DEMO_JOBS["upsert"]]
    assert zbulk("job", "recent", "--limit", "0").code == 2
    # Another API domain (or profile) has a history of its own.
    r = zbulk("job", "recent", "--json", ZBULK_API_DOMAIN="https://www.zohoapis.eu")
    assert r.code == 0 and r.out == ""
    r = zbulk("job", "recent", "--json", "--profile", "lab")
    assert r.code == 0 and r.out == ""


def test_recent_refresh_fetches_unfinished_jobs_only(zbulk, sandbox) -> None:
    running, done = DEMO_JOBS["large"], DEMO_JOBS["completed"]
    assert zbulk("job", "show", running).code == 0
    assert zbulk("job", "show", done).code == 0
    before = sandbox.request_count()
    r = zbulk("job", "recent")
    assert r.code == 0 and sandbox.request_count() == before  # no request without --refresh
    sandbox.restart_jobs()  # running is ADDED again
    r = zbulk("job", "recent", "--refresh", "--json")
    assert r.code == 0 and sandbox.request_count() == before + 1
    assert sandbox.requests[-1].path.endswith(running)
    assert {json.loads(x)["id"]: json.loads(x)["status"] for x in r.out.splitlines()} == {
        running: "ADDED",
        done: "COMPLETED",
    }


def test_recent_refresh_reports_a_job_gone(zbulk, sandbox) -> None:
    sandbox.put_document("4150868000000000777", {"id": "4150868000000000777", "status": "ADDED"})
    assert zbulk("job", "show", "4150868000000000777").code == 0
    sandbox.put_document("4150868000000000777", b"", status=400)
    sandbox.put_document(
        "4150868000000000777",
        {"status": "error", "code": "RESOURCE_NOT_FOUND", "message": "gone", "details": {}},
        status=400,
    )
    r = zbulk("job", "recent", "--refresh")
    assert r.code == 0 and "4150868000000000777" in r.err and "ADDED" in r.out


def test_recent_when_empty(run) -> None:
    r = run("job", "recent")
    assert r.code == 0 and "No jobs seen yet" in r.out


def test_demo_and_sandbox_leave_history_alone(demo, env) -> None:
    assert demo().code == 0
    assert history.entries() == []
    assert not (Path(env["ZBULK_STATE_DIR"]) / "history.json").exists()
