"""zbulk job import and job retry through the CLI, against the sandbox: what is sent,
when, and what the user sees; the whole loop import -> watch -> results -> fix -> retry."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from ptys import run_pty

from zbulk.errors import ExitCode
from zbulk.sandbox import Fault
from zbulk.sandbox.jobs import ORG_ID

UPLOAD = "/crm/v8/upload"
CREATE = "/crm/bulk/v8/write"
ORG = "/crm/v8/org"
PLANTED = (
    "First_Name,Last_Name,Email,Company,Annual_Revenue\n"
    "Ada,Lovelace,ada@example.com,Analytical Engines,1000\n"
    "Bob,,bob@example.com,Nowhere Ltd,20\n"
    "Cy,Young,cy-at-example.com,Baseball Inc,abc\n"
    "Grace,Hopper,grace@example.com,Navy,5\n"
    "Dee,Duplicate,ADA@example.com,Copy Co,7\n"
)


@pytest.fixture
def leads(tmp_path: Path) -> Path:
    path = tmp_path / "leads.csv"
    path.write_text(PLANTED)
    return path


@pytest.fixture
def fast(sandbox):
    sandbox.import_duration = 0
    return sandbox


def paths(sandbox) -> list[str]:
    return [r.path for r in sandbox.requests]


def test_import_prints_the_job_id_alone_and_records_it(zbulk, fast, leads) -> None:
    r = zbulk(
        "job",
        "import",
        str(leads),
        "--no-metadata",
        "--module",
        "Leads",
        "--operation",
        "insert",
        "--yes",
    )
    assert r.code == 0, r.err
    job_id = r.out.strip()
    assert r.out == job_id + "\n" and job_id.isdigit()
    assert f"created bulk write job {job_id}: 5 records of leads.csv into Leads (insert)" in r.err
    assert f"zbulk job watch {job_id}" in r.err
    assert paths(fast) == [ORG, UPLOAD, CREATE]
    upload = fast.requests[1]
    assert upload.headers["feature"] == "bulk-write" and upload.headers["X-CRM-ORG"] == ORG_ID
    assert upload.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert "Transfer-Encoding" not in upload.headers and int(upload.headers["Content-Length"]) > 0
    recent = json.loads(zbulk("job", "recent", "--json").out.splitlines()[0])
    assert recent["id"] == job_id
    shown = json.loads(zbulk("job", "show", "--json", job_id).out)
    assert shown["resource"][0]["file"]["added_count"] == 2


def test_json_prints_the_created_response(zbulk, fast, leads) -> None:
    r = zbulk(
        "job",
        "import",
        str(leads),
        "--no-metadata",
        "--module",
        "Leads",
        "--operation",
        "insert",
        "--yes",
        "--json",
    )
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["code"] == "SUCCESS" and doc["details"]["id"].isdigit()


def test_dry_run_sends_nothing_at_all(zbulk, sandbox, leads) -> None:
    r = zbulk(
        "job",
        "import",
        str(leads),
        "--no-metadata",
        "--module",
        "Leads",
        "--operation",
        "insert",
        "--dry-run",
    )
    assert r.code == 0, r.err
    assert sandbox.requests == []
    assert sandbox.token not in r.out and "Authorization: Zoho-oauthtoken ***" in r.out
    assert f"GET {sandbox.url}{ORG}" in r.out
    assert f"POST {sandbox.url}{UPLOAD}" in r.out and f"POST {sandbox.url}{CREATE}" in r.out
    assert '"file_id": "<file_id from the upload\'s answer>"' in r.out
    r = zbulk(
        "job",
        "import",
        str(leads),
        "--no-metadata",
        "--module",
        "Leads",
        "--operation",
        "insert",
        "--dry-run",
        "--json",
        "--org",
        "123",
    )
    sent = [json.loads(line) for line in r.out.splitlines()]
    assert [(s["method"], s["url"]) for s in sent] == [
        ("POST", sandbox.url + UPLOAD),
        ("POST", sandbox.url + CREATE),
    ]
    assert sent[0]["headers"]["X-CRM-ORG"] == "123"
    assert sent[1]["body"]["resource"][0]["field_mappings"][1] == {
        "api_name": "Last_Name",
        "index": 1,
    }
    assert sandbox.requests == []


def test_dry_run_needs_no_credentials(run, sandbox, leads) -> None:
    r = run(
        "job",
        "import",
        str(leads),
        "--no-metadata",
        "--module",
        "Leads",
        "--operation",
        "insert",
        "--dry-run",
        ZBULK_API_DOMAIN=sandbox.url,
    )
    assert r.code == 0, r.err
    assert sandbox.requests == []


def test_no_terminal_and_no_yes_is_a_usage_error(zbulk, sandbox, leads) -> None:
    assert not sys.stdin.isatty()
    r = zbulk(
        "job", "import", str(leads), "--no-metadata", "--module", "Leads", "--operation", "insert"
    )
    assert r.code == ExitCode.USAGE
    assert "confirm on a terminal, or pass --yes; nothing was sent" in r.err
    assert sandbox.requests == []


def test_preflight_problems_exit_2_and_nothing_is_sent(zbulk, sandbox, tmp_path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("Last_Name,Email,Email\nLovelace,a@x.com,b@x.com\n,,\n")
    r = zbulk("job", "import", str(path), "--module", "Leads", "--operation", "upsert", "--yes")
    assert r.code == ExitCode.USAGE
    assert "fails the pre-flight (3 problems); nothing was sent" in r.err
    assert "header, column 3: header 'Email' repeats column 2" in r.err
    assert "record 2 (line 3): empty record" in r.err
    assert "upsert needs --find-by FIELD" in r.err
    assert "Traceback" not in r.err and sandbox.requests == []


def test_bad_options_are_usage_errors(zbulk, sandbox, leads) -> None:
    base = ["job", "import", str(leads), "--no-metadata", "--module", "Leads", "--yes"]
    assert zbulk(*base, "--operation", "merge").code == ExitCode.USAGE
    assert zbulk(*base, "--operation", "insert", "--org", "abc").code == ExitCode.USAGE
    assert zbulk(*base, "--operation", "insert", "--map", "novalue").code == ExitCode.USAGE
    r = zbulk(*base, "--operation", "insert", "--mapping", str(leads.parent / "none.toml"))
    assert r.code == ExitCode.USAGE and "cannot read the mapping file" in r.err
    assert sandbox.requests == []


def test_the_org_is_asked_once_then_kept(zbulk, fast, leads) -> None:
    args = [
        "job",
        "import",
        str(leads),
        "--no-metadata",
        "--module",
        "Leads",
        "--operation",
        "insert",
        "--yes",
    ]
    assert zbulk(*args).code == 0
    assert zbulk(*args).code == 0
    assert paths(fast).count(ORG) == 1
    assert zbulk(*args, "--org", ORG_ID).code == 0
    assert zbulk(*args, ZBULK_ORG_ID=ORG_ID).code == 0
    assert paths(fast).count(ORG) == 1
    r = zbulk(*args, "--org", "12345")
    assert r.code == ExitCode.ERROR and "check if headers [feature, X-CRM-ORG]" in r.err
    assert paths(fast)[-1] == UPLOAD  # refused: no create follows


def test_upload_host_5xx_is_retried_then_reported(zbulk, fast, leads) -> None:
    args = [
        "job",
        "import",
        str(leads),
        "--no-metadata",
        "--module",
        "Leads",
        "--operation",
        "insert",
        "--yes",
        "--org",
        ORG_ID,
    ]
    fast.add_fault(Fault("status", status=503, path_prefix=UPLOAD, times=1))
    assert zbulk(*args).code == 0
    assert paths(fast) == [UPLOAD, UPLOAD, CREATE]
    fast.requests.clear()
    fast.add_fault(Fault("status", status=500, path_prefix=UPLOAD, times=None))
    r = zbulk(*args)
    assert r.code == ExitCode.NETWORK and "HTTP 500" in r.err and "Traceback" not in r.err
    assert CREATE not in paths(fast)


def test_upload_host_401_is_a_credentials_error(zbulk, fast, leads) -> None:
    fast.add_fault(Fault("status", status=401, path_prefix=UPLOAD, times=None))
    r = zbulk(
        "job",
        "import",
        str(leads),
        "--no-metadata",
        "--module",
        "Leads",
        "--operation",
        "insert",
        "--yes",
        "--org",
        ORG_ID,
    )
    assert r.code == ExitCode.CREDENTIALS and "ZohoFiles.files.ALL" in r.err
    assert CREATE not in paths(fast)


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("MANDATORY_FIELDS_NOT_MAPPED", "All mandatory fields are not mapped for the layout"),
        ("INVALID_FIELD", "invalid mapping. invalid api_name ast_Name."),
        ("COLUMN_INDEX_NOT_FOUND", "column index 9 not found"),
        ("MISSING_REQUIRED_KEY", "required key operation is not found in request body."),
        ("INVALID_FILE_ID", "improper file id"),
        ("INVALID_CALLBACK_METHOD", "invalid callback method"),
        ("COEXISTENCE_NOT_ALLOWED", "coexistence not allowed"),
        ("MODULE_NOT_AVAILABLE", "Requested module 'asdf' is not available."),
    ],
)
def test_each_documented_create_refusal_exits_1(zbulk, fast, leads, code, message) -> None:
    body = json.dumps({"code": code, "details": {}, "message": message, "status": "error"})
    fast.add_fault(Fault("status", status=400, body=body, path_prefix=CREATE))
    r = zbulk(
        "job",
        "import",
        str(leads),
        "--no-metadata",
        "--module",
        "Leads",
        "--operation",
        "insert",
        "--yes",
        "--org",
        ORG_ID,
    )
    assert r.code == ExitCode.ERROR
    assert f"Zoho refused the create (HTTP 400): {code}: {message}" in r.err
    assert paths(fast).count(CREATE) == 1 and r.out == ""


def test_the_sandbox_refuses_a_mapping_without_mandatory_fields(zbulk, fast, leads) -> None:
    r = zbulk(
        "job",
        "import",
        str(leads),
        "--no-metadata",
        "--module",
        "Leads",
        "--operation",
        "insert",
        "--yes",
        "--map",
        "Last_Name=",
        "--map",
        "Company=Nope",
    )
    assert r.code == ExitCode.ERROR and "INVALID_FIELD" in r.err
    r = zbulk(
        "job",
        "import",
        str(leads),
        "--no-metadata",
        "--module",
        "Leads",
        "--operation",
        "insert",
        "--yes",
        "--map",
        "Last_Name=",
    )
    assert r.code == ExitCode.ERROR
    assert (
        "MANDATORY_FIELDS_NOT_MAPPED: All mandatory fields are not mapped for the layout "
        '{"api_names": ["Last_Name"]}' in r.err
    )
    assert "hint: map a column to each mandatory field" in r.err


def test_a_timeout_after_the_create_was_sent_is_not_retried(zbulk, fast, leads) -> None:
    fast.add_fault(Fault("stall", delay=3.0, path_prefix=CREATE, times=None))
    r = zbulk(
        "job",
        "import",
        str(leads),
        "--no-metadata",
        "--module",
        "Leads",
        "--operation",
        "insert",
        "--yes",
        "--org",
        ORG_ID,
        "--request-timeout",
        "0.5",
    )
    assert r.code == ExitCode.NETWORK
    assert "was sent to" in r.err and "the job may have been created" in r.err
    assert "does not send it again on its own" in r.err and "Import History" in r.err
    assert paths(fast).count(CREATE) == 1


def test_watch_follows_then_summarises(zbulk, sandbox, leads) -> None:
    sandbox.import_duration = 0.5
    r = zbulk(
        "job",
        "import",
        str(leads),
        "--no-metadata",
        "--module",
        "Leads",
        "--operation",
        "insert",
        "--yes",
        "--watch",
    )
    # 3 of 5 rows skipped: not a success (exit 6), and the hint is the retry with --edit
    assert r.code == ExitCode.SKIPPED, r.err
    lines = r.out.splitlines()
    assert lines[0].isdigit()
    assert "COMPLETED" in r.out and "MANDATORY_NOT_FOUND" in r.out and "DUPLICATE_DATA" in r.out
    assert "zbulk job retry --import imp-" in r.err and "--edit" in r.err


def test_watch_with_allow_skipped_exits_0(zbulk, sandbox, leads) -> None:
    sandbox.import_duration = 0.2
    r = zbulk(
        "job",
        "import",
        str(leads),
        "--no-metadata",
        "--module",
        "Leads",
        "--operation",
        "insert",
        "--yes",
        "--watch",
        "--allow-skipped",
    )
    assert r.code == 0, r.err


def test_the_whole_loop(zbulk, fast, leads, tmp_path) -> None:
    r = zbulk(
        "job",
        "import",
        str(leads),
        "--no-metadata",
        "--module",
        "Leads",
        "--operation",
        "insert",
        "--yes",
    )
    job_id = r.out.strip()
    assert zbulk("job", "watch", job_id).code == 0
    r = zbulk("job", "results", "--failed", "--json", job_id)
    failed = json.loads(r.out)["files"][0]
    assert failed["failed"] == 3
    fixed = tmp_path / "fixed.csv"  # the failed rows, fixed, columns in another order
    fixed.write_text(
        "Email,Last_Name,First_Name,Company,Annual_Revenue\n"
        "bob@example.com,Builder,Bob,Nowhere Ltd,20\n"
        "cy@example.com,Young,Cy,Baseball Inc,300\n"
        "dee@example.com,Duplicate,Dee,Copy Co,7\n"
    )
    r = zbulk("job", "retry", job_id, "--source", str(leads), "--from", str(fixed), "--yes")
    assert r.code == 0, r.err
    retry_id = r.out.strip()
    doc = json.loads(zbulk("job", "show", "--json", retry_id).out)
    assert doc["operation"] == "insert"
    assert [(m["api_name"], m["index"]) for m in doc["resource"][0]["field_mappings"]] == [
        ("First_Name", 2),
        ("Last_Name", 1),
        ("Email", 0),
        ("Company", 3),
        ("Annual_Revenue", 4),
    ]
    assert doc["resource"][0]["file"]["added_count"] == 3
    emails = sorted(v["Email"] for v in fast.records["Leads"].values())
    assert emails == [
        "ada@example.com",
        "bob@example.com",
        "cy@example.com",
        "dee@example.com",
        "grace@example.com",
    ]


def test_retry_keeps_find_by_and_ignore_empty(zbulk, fast, tmp_path) -> None:
    first = tmp_path / "first.csv"
    first.write_text("Last_Name,Email\nLovelace,ada@example.com\n")
    assert (
        zbulk(
            "job", "import", str(first), "--module", "Leads", "--operation", "insert", "--yes"
        ).code
        == 0
    )
    source = tmp_path / "source.csv"
    source.write_text("Email,Company\nada@example.com,A\nnone@example.com,B\n")
    r = zbulk(
        "job",
        "import",
        str(source),
        "--module",
        "Leads",
        "--operation",
        "update",
        "--find-by",
        "Email",
        "--ignore-empty",
        "--yes",
    )
    job_id = r.out.strip()
    fixed = tmp_path / "fixed.csv"
    fixed.write_text("Company,Email\nB,ada@example.com\n")
    r = zbulk(
        "job", "retry", job_id, "--source", str(source), "--from", str(fixed), "--dry-run", "--json"
    )
    assert r.code == 0, r.err
    create = json.loads(r.out.splitlines()[-1])["body"]
    assert create["operation"] == "update" and create["ignore_empty"] is True
    assert create["resource"][0]["find_by"] == "Email"
    assert paths(fast)[-1].startswith(f"{CREATE}/")  # the dry run only read the job


def test_retry_refusals(zbulk, fast, leads, tmp_path) -> None:
    job_id = zbulk(
        "job",
        "import",
        str(leads),
        "--no-metadata",
        "--module",
        "Leads",
        "--operation",
        "insert",
        "--yes",
    ).out.strip()
    missing = tmp_path / "missing.csv"
    missing.write_text("Last_Name\nx\n")
    r = zbulk("job", "retry", job_id, "--source", str(leads), "--from", str(missing), "--yes")
    assert r.code == ExitCode.USAGE and "column First_Name: is mapped to First_Name" in r.err
    r = zbulk(
        "job",
        "retry",
        job_id,
        "--source",
        str(missing),
        "--from",
        str(leads),
        "--yes",
    )
    assert r.code == ExitCode.USAGE and "is it the file the job was created from?" in r.err
    r = zbulk(
        "job",
        "retry",
        job_id,
        "--source",
        str(leads),
        "--from",
        str(leads),
        "--edit",
    )
    assert r.code == ExitCode.USAGE and "choose one of --edit and --from" in r.err
    r = zbulk("job", "retry", "12ab", "--source", str(leads))
    assert r.code == ExitCode.USAGE


def test_retry_of_a_job_still_running(zbulk, sandbox, leads) -> None:
    sandbox.import_duration = 60
    job_id = zbulk(
        "job",
        "import",
        str(leads),
        "--no-metadata",
        "--module",
        "Leads",
        "--operation",
        "insert",
        "--yes",
    ).out.strip()
    r = zbulk("job", "retry", job_id, "--source", str(leads), "--yes")
    assert r.code == ExitCode.ERROR and f"zbulk job watch {job_id}" in r.err


def test_help_names_the_scopes(run) -> None:
    r = run("job", "import", "--help")
    assert r.code == 0 and "ZohoFiles.files.ALL" in r.out and "ZohoCRM.org.READ" in r.out
    assert "--dry-run" in r.out and "--find-by" in r.out
    r = run("job", "retry", "--help")
    assert r.code == 0 and "--source" in r.out and "--from" in r.out


# -- on a real terminal --------------------------------------------------------------------


@pytest.fixture
def term_env(sandbox, tmp_path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZBULK_")}
    env.update(
        ZBULK_API_DOMAIN=sandbox.url,
        ZBULK_TOKEN=sandbox.token,
        TERM="xterm",
        ZBULK_CONFIG_DIR=str(tmp_path / "config"),
        ZBULK_STATE_DIR=str(tmp_path / "state"),
    )
    return env


@pytest.mark.e2e
def test_nothing_is_sent_before_confirmation(term_env, fast, leads) -> None:
    args = [
        "job",
        "import",
        str(leads),
        "--no-metadata",
        "--module",
        "Leads",
        "--operation",
        "insert",
        "--org",
        ORG_ID,
    ]
    code, text = run_pty(args, term_env, answers=[("[y/N]", "n")])
    assert (
        f"Import 5 records into Leads (insert): 1 part, 500 API credits, for org {ORG_ID}? [y/N]"
        in text
    )
    assert code == ExitCode.ERROR and "not confirmed: nothing was sent" in text
    assert fast.requests == []
    code, text = run_pty(args, term_env, answers=[("[y/N]", "y")])
    assert code == 0, text
    assert paths(fast) == [UPLOAD, CREATE]


@pytest.mark.e2e
def test_confirmation_names_the_org_asked_of_the_api(term_env, fast, leads) -> None:
    args = [
        "job",
        "import",
        str(leads),
        "--no-metadata",
        "--module",
        "Leads",
        "--operation",
        "insert",
    ]
    code, text = run_pty(args, term_env, answers=[("[y/N]", "no")])
    assert f"for org Zylker Sandbox ({ORG_ID})? [y/N]" in text and code == ExitCode.ERROR
    assert paths(fast) == [ORG]  # a read, and nothing that changes anything


@pytest.mark.e2e
def test_ctrl_c_at_the_confirmation_sends_nothing(term_env, fast, leads) -> None:
    args = [
        "job",
        "import",
        str(leads),
        "--no-metadata",
        "--module",
        "Leads",
        "--operation",
        "insert",
        "--org",
        ORG_ID,
    ]
    code, text = run_pty(args, term_env, answers=[("[y/N]", "\x03")])
    assert code == ExitCode.INTERRUPTED, text
    assert "Traceback" not in text and "nothing was changed at Zoho" in text
    assert fast.requests == []


def fixer(tmp_path: Path, body: str) -> str:
    """An $EDITOR: a script that rewrites the file it is given with Python ``body``."""
    script = tmp_path / "editor.py"
    script.write_text(
        "import sys\n"
        "p = sys.argv[1]\n"
        "t = open(p, encoding='utf-8-sig').read()\n" + body + "\n"
        "open(p, 'w', encoding='utf-8').write(t)\n"
    )
    return f"{sys.executable} {script}"


def test_retry_sends_the_failed_rows_whole(zbulk, fast, leads) -> None:
    job_id = zbulk(
        "job",
        "import",
        str(leads),
        "--no-metadata",
        "--module",
        "Leads",
        "--operation",
        "insert",
        "--yes",
    ).out.strip()
    before = len(paths(fast))
    r = zbulk("job", "retry", job_id, "--source", str(leads), "--dry-run", "--json")
    assert r.code == 0, r.err
    upload = json.loads(r.out.splitlines()[-2])
    assert upload["form"]["file"]["records"] == 3
    assert f"3 failed rows of job {job_id}, whole, from {leads}" in r.err
    assert not any(p.endswith(("/upload", "/write")) for p in paths(fast)[before:])
    r = zbulk("job", "retry", job_id, "--source", str(leads), "--yes")
    assert r.code == 0, r.err
    doc = json.loads(zbulk("job", "show", "--json", r.out.strip()).out)
    assert doc["resource"][0]["file"]["total_count"] == 3  # the same three fail again
    assert doc["resource"][0]["file"]["skipped_count"] == 3


def test_retry_edit_then_every_row_is_added(zbulk, fast, leads, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # the edited rows are kept here
    job_id = zbulk(
        "job",
        "import",
        str(leads),
        "--no-metadata",
        "--module",
        "Leads",
        "--operation",
        "insert",
        "--yes",
    ).out.strip()
    editor = fixer(
        tmp_path,
        "t = t.replace('Bob,,', 'Bob,Builder,')"
        ".replace('cy-at-example.com', 'cy@example.com')"
        ".replace(',abc', ',300').replace('ADA@', 'dee@')",
    )
    r = zbulk(
        "job",
        "retry",
        job_id,
        "--source",
        str(leads),
        "--edit",
        "--yes",
        EDITOR=editor,
        VISUAL=None,
    )
    assert r.code == 0, r.err
    doc = json.loads(zbulk("job", "show", "--json", r.out.strip()).out)
    assert doc["resource"][0]["file"]["added_count"] == 3
    assert len(fast.records["Leads"]) == 5
    good = tmp_path / "good.csv"
    good.write_text("Last_Name,Email\nTuring,alan@example.com\n")
    job_id = zbulk(
        "job", "import", str(good), "--module", "Leads", "--operation", "insert", "--yes"
    ).out.strip()
    r = zbulk("job", "retry", job_id, "--source", str(good), "--yes")
    assert r.code == 0 and r.out == "" and "has no failed rows: nothing to send" in r.err


def test_retry_edit_with_a_failing_editor_sends_nothing(
    zbulk, fast, leads, tmp_path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    job_id = zbulk(
        "job",
        "import",
        str(leads),
        "--no-metadata",
        "--module",
        "Leads",
        "--operation",
        "insert",
        "--yes",
    ).out.strip()
    before = len(paths(fast))
    r = zbulk(
        "job",
        "retry",
        job_id,
        "--source",
        str(leads),
        "--edit",
        "--yes",
        EDITOR=fixer(tmp_path, "sys.exit(3)"),
        VISUAL=None,
    )
    assert r.code == ExitCode.USAGE and "exited with status 3; nothing was sent" in r.err
    r = zbulk(
        "job",
        "retry",
        job_id,
        "--source",
        str(leads),
        "--edit",
        "--yes",
        EDITOR="/no/such/editor",
        VISUAL=None,
    )
    assert r.code == ExitCode.USAGE and "cannot run the editor" in r.err
    assert not any(p.endswith(("/upload", "/write")) for p in paths(fast)[before:])


def test_the_demo_shows_the_loop_and_records_nothing(demo, run) -> None:
    r = demo()
    assert r.code == 0, r.err
    assert "zbulk job import leads.csv --module Leads --operation insert --yes" in r.out
    assert "MANDATORY_NOT_FOUND-Last_Name" in r.out
    assert "--source leads.csv --from fixed.csv --yes" in r.out
    assert "added 2 · updated 0 · skipped 0 · total 2" in r.out
    assert run("job", "recent", "--json").out == ""


def test_device_login_asks_for_the_import_scopes() -> None:
    from zbulk.auth.oauth import SCOPE

    assert set(SCOPE.split(",")) >= {
        "ZohoCRM.bulk.ALL",
        "ZohoFiles.files.ALL",
        "ZohoCRM.org.READ",
        "ZohoCRM.modules.ALL",
    }


def test_retry_without_a_terminal_or_yes_reads_nothing(zbulk, fast, leads) -> None:
    job_id = zbulk(
        "job",
        "import",
        str(leads),
        "--no-metadata",
        "--module",
        "Leads",
        "--operation",
        "insert",
        "--yes",
    ).out.strip()
    before = len(fast.requests)
    r = zbulk("job", "retry", job_id, "--source", str(leads))
    assert r.code == ExitCode.USAGE and "confirm on a terminal, or pass --yes" in r.err
    assert len(fast.requests) == before


def test_the_org_id_set_in_the_profile_is_used(zbulk, fast, leads) -> None:
    assert zbulk("config", "set", "org_id", ORG_ID).code == 0
    r = zbulk(
        "job",
        "import",
        str(leads),
        "--no-metadata",
        "--module",
        "Leads",
        "--operation",
        "insert",
        "--yes",
    )
    assert r.code == 0, r.err
    assert paths(fast) == [UPLOAD, CREATE]
    r = zbulk("config", "set", "org_id", "not-digits")
    assert r.code == ExitCode.USAGE and "an org id is all digits" in r.err


def test_an_upload_refused_with_http_200_exits_1(zbulk, fast, leads) -> None:
    """Zoho's recorded INVALID_FILE_FORMAT comes with HTTP 200: still a refusal (exit 1),
    and no job is created."""
    body = json.dumps(
        {
            "code": "INVALID_FILE_FORMAT",
            "details": {"created_time": "2021-05-11T12:03:47+05:30"},
            "message": "invalid file format. only zip format is supported",
            "status": "error",
        }
    )
    fast.add_fault(Fault("status", status=200, body=body, path_prefix=UPLOAD))
    r = zbulk(
        "job",
        "import",
        str(leads),
        "--module",
        "Leads",
        "--operation",
        "insert",
        "--no-metadata",
        "--yes",
        "--org",
        ORG_ID,
    )
    assert r.code == ExitCode.ERROR and r.out == ""
    assert "Zoho refused the upload (HTTP 200): INVALID_FILE_FORMAT" in r.err
    assert CREATE not in paths(fast)


@pytest.mark.parametrize("version", ["v2", "v2.1", "v8"])
def test_import_at_each_api_version_sends_its_module_shape(zbulk, fast, leads, version) -> None:
    r = zbulk(
        "--api-version",
        version,
        "job",
        "import",
        str(leads),
        "--module",
        "Leads",
        "--operation",
        "insert",
        "--no-metadata",
        "--yes",
        "--org",
        ORG_ID,
    )
    assert r.code == 0, r.err
    shown = zbulk("--api-version", version, "job", "show", "--json", r.out.strip())
    module = json.loads(shown.out)["resource"][0]["module"]
    assert module == "Leads" if version == "v2" else module["api_name"] == "Leads"


# --- issue 26 item 12: the upload host by data centre, exercised through the sandbox -------


def test_uploads_go_to_the_upload_host_config_names(zbulk, fast, leads, env) -> None:
    """`zbulk sandbox` prints a [data_centres.sandbox] table whose upload is a port of its
    own: with it, the upload goes there and the create to the API port."""
    from pathlib import Path as P

    api, upload = fast.url, fast.upload_url
    assert upload != api
    config = P(env["ZBULK_CONFIG_DIR"]) / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        f'[data_centres.sandbox]\naccounts = "{api}"\napi_domain = "{api}"\nupload = "{upload}"\n'
    )
    args = (
        "job",
        "import",
        str(leads),
        "--module",
        "Leads",
        "--operation",
        "insert",
        "--no-metadata",
        "--yes",
    )
    r = zbulk(*args, "--org", ORG_ID)
    assert r.code == 0, r.err
    hosts = {q.path: q.headers["Host"] for q in fast.requests}
    assert hosts[UPLOAD] == upload.removeprefix("http://")
    assert hosts[CREATE] == api.removeprefix("http://")
    dry = zbulk(*args, "--dry-run", "--json")
    assert f'"url": "{upload}/crm/v8/upload"' in dry.out.replace('":"', '": "')
    config.write_text("")  # none configured: a loopback API domain uploads to its own host
    fast.requests.clear()
    assert zbulk(*args, "--org", ORG_ID).code == 0
    assert {q.path: q.headers["Host"] for q in fast.requests}[UPLOAD] == api.removeprefix("http://")


def test_an_api_domain_without_an_upload_host_exits_2_before_sending(zbulk, fast, leads) -> None:
    r = zbulk(
        "job",
        "import",
        str(leads),
        "--module",
        "Leads",
        "--operation",
        "insert",
        "--no-metadata",
        "--yes",
        "--org",
        ORG_ID,
        ZBULK_API_DOMAIN="https://crm.example.invalid",
    )
    assert r.code == ExitCode.USAGE, r.err
    assert "no upload host is known for the API domain https://crm.example.invalid" in r.err
    assert "zbulk config set data_centres.custom.upload" in r.err
    assert fast.requests == []


def test_the_sandbox_upload_port_takes_only_uploads(fast) -> None:
    import requests

    auth = {"Authorization": f"Zoho-oauthtoken {fast.token}"}
    r = requests.get(f"{fast.upload_url}/crm/bulk/v8/write/{fast.jobs[0]}", headers=auth, timeout=5)
    assert (r.status_code, r.json()["code"]) == (404, "INVALID_URL_PATTERN")
    headers = {**auth, "feature": "bulk-write", "X-CRM-ORG": ORG_ID}
    files = {"file": ("a.zip", b"PK")}
    r = requests.post(f"{fast.upload_url}{UPLOAD}", headers=headers, files=files, timeout=5)
    assert r.json()["code"] == "INVALID_FILE_FORMAT"  # an upload: answered as uploads are


# --- everything to the terminal through the sanitiser (issue 22, Why 2 and Why 4) --------

OSC52 = "\x1b]52;c;ZXZpbA==\x07"  # sets the clipboard of the terminal that shows it
FORMAT = "dd\u202e\x85MM"  # a date format: U+202E and a C1 control (NEL)
FORMAT_TOML = "dd\\u202e\\u0085MM"
HOSTILE_ORG = f"\x1b[2K\rEvil Corp{OSC52} \u202ekrow\x9b31m\x1b]8;;https://x.example\x07"


@pytest.mark.e2e
def test_the_confirmation_shows_the_orgs_name_sanitised(term_env, fast, leads) -> None:
    """The org's company_name went into the y/N question raw: erase-line, carriage return,
    OSC 8 and 52 and U+202E reached the terminal, so the question could say anything."""
    org = {"org": [{"id": "1", "zgid": ORG_ID, "company_name": HOSTILE_ORG}]}
    fast.add_fault(Fault("malformed", body=json.dumps(org), path_prefix=ORG))
    args = [
        "job",
        "import",
        str(leads),
        "--no-metadata",
        "--module",
        "Leads",
        "--operation",
        "insert",
    ]
    code, text = run_pty(args, term_env, answers=[("[y/N]", "n")])
    assert code == ExitCode.ERROR, text
    question = next(line for line in text.splitlines() if "[y/N]" in line)
    for raw in ("\x1b[2K", "\r", "\x1b]52", "\x1b]8", "\u202e", "\x9b"):
        assert raw not in question, (raw, question)
    assert "\\x1b[2K\\rEvil Corp\\x1b]52;c;ZXZpbA==\\x07 \\u202ekrow\\x9b31m" in question
    assert paths(fast) == [ORG]


def test_dry_run_plan_is_sanitised(zbulk, sandbox, tmp_path) -> None:
    """--dry-run's human form was written without the sanitiser: a ZIP member's name with
    OSC 52 reached the terminal, and C1 controls and U+202E in the create body too (here
    in a mapping's format; in `retry --dry-run`, from the job document)."""
    import zipfile

    mapping = tmp_path / "mapping.toml"
    mapping.write_text(f'[columns."Last_Name"]\nformat = "{FORMAT_TOML}"\n', encoding="utf-8")
    archive = tmp_path / "leads.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(f"le{OSC52}ads.csv", PLANTED)
    r = zbulk(
        "job",
        "import",
        str(archive),
        "--module",
        "Leads",
        "--operation",
        "insert",
        "--mapping",
        str(mapping),
        "--no-metadata",
        "--dry-run",
    )
    assert r.code == 0, r.err
    for raw in ("\x1b", "\x07", "\u202e", "\x85"):
        assert raw not in r.out, raw
    assert "le\\x1b]52;c;ZXZpbA==\\x07ads.csv" in r.out
    assert '"format": "dd\\u202e\\x85MM"' in r.out, r.out
    assert fast_requests(sandbox) == []
    r = zbulk(
        "job",
        "import",
        str(archive),
        "--module",
        "Leads",
        "--operation",
        "insert",
        "--mapping",
        str(mapping),
        "--no-metadata",
        "--dry-run",
        "--json",
    )
    form, create = (json.loads(line) for line in r.out.splitlines()[-2:])
    assert form["form"]["file"]["csv"] == f"le{OSC52}ads.csv"  # --json: the data, as JSON
    assert FORMAT in json.dumps(create["body"], ensure_ascii=False)


def fast_requests(sandbox) -> list[str]:
    return [p for p in paths(sandbox) if p.endswith(("/upload", "/write"))]
