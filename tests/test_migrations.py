"""Imports of any size (issue 25): a file split into parts, each its own job; the import
record; --resume after a crash without creating any part twice; one result for the whole."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from zbulk.errors import ExitCode
from zbulk.jobs import import_record as rec
from zbulk.jobs import split as splitting
from zbulk.sandbox import Fault

CREATE = "/crm/bulk/v8/write"
UPLOAD = "/crm/v8/upload"
HEADER = "Last_Name,Email,Company,Description\n"


def rows_csv(n: int, bad: frozenset[int] = frozenset(), newline: str = "\n") -> str:
    """``n`` leads; rows numbered in ``bad`` have an invalid email (skipped by Zoho)."""
    lines = [HEADER.rstrip("\n")]
    for i in range(1, n + 1):
        email = f"lead{i}-at-example" if i in bad else f"lead{i}@example.com"
        lines.append(f'Name{i},{email},"Co {i}, Ltd","row {i}\nsecond line"')
    return newline.join(lines) + newline


@pytest.fixture
def small_parts(monkeypatch: pytest.MonkeyPatch) -> int:
    """Parts of at most 4 records (in-process zbulk), so a 10-row file is 3 parts."""
    monkeypatch.setattr(splitting, "MAX_RECORDS", 4)
    return 4


@pytest.fixture
def fast(sandbox):
    sandbox.import_duration = 0
    return sandbox


def uploaded_csvs(sandbox) -> list[bytes]:
    return [members[0][1] for members in sandbox.uploaded_files]


def import_args(path: Path, *extra: str) -> list[str]:
    """``job import`` of ``path``; the rows planted bad are Zoho's to skip, so the check
    against the org's fields (issue 24, which would hold them back) is off."""
    return [
        "job",
        "import",
        str(path),
        "--no-metadata",
        "--module",
        "Leads",
        "--operation",
        "insert",
        *extra,
    ]


def only_record() -> rec.ImportRecord:
    records = rec.all_records()
    assert len(records) == 1
    return records[0]


# -- splitting -----------------------------------------------------------------------------


def test_split_keeps_records_whole_and_the_bytes_as_they_were() -> None:
    data = ("\ufeff" + rows_csv(10, newline="\r\n")).encode("utf-8")
    found = splitting.split(io.BytesIO(data), max_records=4)
    assert [p.records for p in found.parts] == [4, 4, 2]
    assert found.header.startswith(b"\xef\xbb\xbf") and found.header.endswith(b"\r\n")
    stream = io.BytesIO(data)
    joined = b""
    for part in found.parts:
        blob = b"".join(splitting.part_bytes(stream, found.header, part))
        assert blob.startswith(found.header)  # BOM and header in every part
        assert hashlib.sha256(blob).hexdigest() == part.sha256 and len(blob) == part.size
        rows = list(csv.reader(io.StringIO(blob.decode("utf-8-sig"), newline="")))
        assert len(rows) == part.records + 1 and rows[1][3].endswith("\nsecond line")
        joined += blob[len(found.header) :]
    assert found.header + joined == data  # nothing lost, nothing added, CRLF kept


def test_split_by_size_counts_the_header_and_bom() -> None:
    data = rows_csv(10).encode()
    header = len(HEADER)
    record = len(data.splitlines(keepends=True)[1]) + len(data.splitlines(keepends=True)[2])
    found = splitting.split(io.BytesIO(data), max_bytes=header + 3 * record)
    assert all(p.size <= header + 3 * record for p in found.parts)
    assert sum(p.records for p in found.parts) == 10 and len(found.parts) == 4


def test_trailing_blank_lines_are_left_out_and_a_huge_record_is_refused() -> None:
    found = splitting.split(io.BytesIO((rows_csv(3) + "\n\r\n\n").encode()))
    assert found.records == 3 and found.parts[0].end == len(rows_csv(3).encode())
    with pytest.raises(splitting.SplitError, match="at most"):
        splitting.split(io.BytesIO(b"a,b\n1," + b"x" * 200 + b"\n"), max_bytes=100)


# -- importing ------------------------------------------------------------------------------


def test_a_big_file_becomes_parts_each_its_own_job(zbulk, fast, small_parts, tmp_path) -> None:
    src = tmp_path / "leads.csv"
    src.write_text(rows_csv(10))
    r = zbulk(*import_args(src, "--yes"))
    assert r.code == 0, r.err
    ids = r.out.split()
    assert len(ids) == 3 and all(i.isdigit() for i in ids)
    record = only_record()
    assert record.id.startswith("imp-") and f"import {record.id}" in r.err
    assert "3 parts, 1,500 API credits" in r.err
    assert [p.job_id for p in record.parts] == ids
    assert [(p.first_row, p.last_row) for p in record.parts] == [(1, 4), (5, 8), (9, 10)]
    assert record.source["sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()
    sent = uploaded_csvs(fast)
    assert [s.startswith(HEADER.encode()) for s in sent] == [True] * 3
    assert b"".join(s[len(HEADER) :] for s in sent) == src.read_bytes()[len(HEADER) :]
    assert all(len(v) == 1 for v in fast.created_from.values())
    assert len(fast.records["Leads"]) == 10
    assert oct(rec.path_of(record.id).stat().st_mode & 0o777) == "0o600"


def test_json_prints_one_document_per_part(zbulk, fast, small_parts, tmp_path) -> None:
    src = tmp_path / "leads.csv"
    src.write_text(rows_csv(6))
    r = zbulk(*import_args(src, "--yes", "--json"))
    docs = [json.loads(line) for line in r.out.splitlines()]
    assert [d["code"] for d in docs] == ["SUCCESS", "SUCCESS"]


def test_parallel_bounds_unfinished_parts(
    zbulk, sandbox, small_parts, tmp_path, monkeypatch
) -> None:
    from zbulk.jobs import importing

    monkeypatch.setattr(importing, "POLL_FIRST", 0.05)
    sandbox.import_duration = 0.3
    src = tmp_path / "leads.csv"
    src.write_text(rows_csv(12))
    r = zbulk(*import_args(src, "--yes", "--parallel", "1"))
    assert r.code == 0, r.err
    paths = [q.path for q in sandbox.requests if q.path in (CREATE,) or "/write/" in q.path]
    # with --parallel 1 each create after the first comes after a poll of the one before
    creates = [i for i, p in enumerate(paths) if p == CREATE]
    assert len(creates) == 3 and creates[1] > creates[0] + 1 and creates[2] > creates[1] + 1


def test_a_rate_limited_create_waits_for_a_part_then_goes_on(
    zbulk, sandbox, small_parts, tmp_path, monkeypatch
) -> None:
    from zbulk.jobs import importing

    monkeypatch.setattr(importing, "POLL_FIRST", 0.05)
    sandbox.import_duration = 0.2
    sandbox.add_fault(
        Fault(
            "status",
            status=429,
            times=1,
            path_prefix=CREATE,
            body='{"code":"TOO_MANY_REQUESTS","status":"error"}',
        )
    )
    src = tmp_path / "leads.csv"
    src.write_text(rows_csv(10))
    r = zbulk(*import_args(src, "--yes"))
    assert r.code == 0, r.err
    assert "limit of jobs at once" in r.err
    assert len(r.out.split()) == 3
    assert sorted(len(v) for v in sandbox.created_from.values()) == [1, 1, 1]


def test_rate_limit_until_timeout_stops_resumable(
    zbulk, fast, small_parts, tmp_path, monkeypatch
) -> None:
    from zbulk.jobs import importing

    monkeypatch.setattr(importing, "POLL_FIRST", 0.05)
    fast.add_fault(Fault("status", status=429, times=None, path_prefix=CREATE))
    src = tmp_path / "leads.csv"
    src.write_text(rows_csv(6))
    r = zbulk(*import_args(src, "--yes", "--timeout", "0.3"))
    assert r.code == ExitCode.NETWORK, r.err
    record = only_record()
    assert f"zbulk job import --resume {record.id}" in r.err
    fast.clear_faults()
    r = zbulk("job", "import", "--resume", record.id, "--yes")
    assert r.code == 0, r.err
    assert len(fast.created_from) == 2 and len(fast.records["Leads"]) == 6


def test_a_lost_create_answer_makes_the_part_unknown(zbulk, fast, small_parts, tmp_path) -> None:
    src = tmp_path / "leads.csv"
    src.write_text(rows_csv(10))
    # the first create is answered by a dropped connection: zbulk cannot know
    fast.add_fault(Fault("drop", times=1, path_prefix=CREATE))
    r = zbulk(*import_args(src, "--yes"))
    assert r.code == ExitCode.NETWORK, r.err
    assert "may have been created" in r.err and "Import History" in r.err
    record = only_record()
    assert record.parts[0].unknown and "--recreate-unknown" in r.err
    # no terminal, no consent: nothing is sent
    before = len(fast.requests)
    r = zbulk("job", "import", "--resume", "--yes")
    assert r.code == ExitCode.USAGE and "unknown" in r.err and len(fast.requests) == before
    assert "--part-job 1=JOB_ID" in r.err
    r = zbulk("job", "import", "--resume", record.id, "--recreate-unknown", "--yes")
    assert r.code == 0, r.err
    assert len(r.out.split()) == 3 and len(fast.records["Leads"]) == 10


def test_resume_takes_the_job_found_for_an_unknown_part(zbulk, fast, small_parts, tmp_path) -> None:
    src = tmp_path / "leads.csv"
    src.write_text(rows_csv(10))
    record_id = _killed_after_create(zbulk, fast, src)
    record = rec.load(record_id)
    unknown = record.unknown[0]
    found = fast.created_from[unknown.sha256]  # what the CRM's import history shows
    assert len(found) == 1
    r = zbulk(
        "job",
        "import",
        "--resume",
        record_id,
        "--yes",
        "--part-job",
        f"{unknown.number}={found[0]}",
    )
    assert r.code == 0, r.err
    assert all(len(v) == 1 for v in fast.created_from.values())  # no part twice
    assert len(fast.records["Leads"]) == 10


def _killed_after_create(zbulk, sandbox, src: Path) -> str:
    """The import of ``src`` as if zbulk died right after sending the second create: the
    job exists at Zoho, the record says "creating"."""
    from zbulk.jobs import importing

    real = importing.Importer._create
    calls = []

    def dying(self, part, deadline):
        calls.append(part.number)
        if len(calls) == 2:
            body = importing.create_body(self.record, self._upload(part))
            part.state = rec.CREATING
            self.save()
            self.client.create_job(body)  # reaches Zoho; the answer is never recorded
            raise KeyboardInterrupt
        return real(self, part, deadline)

    importing.Importer._create = dying  # type: ignore[method-assign]
    try:
        r = zbulk(*import_args(src, "--yes"))
    finally:
        importing.Importer._create = real  # type: ignore[method-assign]
    assert r.code == ExitCode.INTERRUPTED
    record_id = only_record().id
    assert f"Go on with: zbulk job import --resume {record_id}" in r.err
    return record_id


def test_resume_refuses_a_changed_source_and_file_options(
    zbulk, fast, small_parts, tmp_path
) -> None:
    src = tmp_path / "leads.csv"
    src.write_text(rows_csv(10))
    refusal = '{"code":"INVALID_DATA","status":"error","message":"no"}'
    fast.add_fault(Fault("status", status=400, times=1, path_prefix=CREATE, body=refusal))
    r = zbulk(*import_args(src, "--yes"))
    assert r.code == ExitCode.ERROR and "--resume" in r.err
    record = only_record()
    assert record.parts[0].state == rec.REFUSED
    r = zbulk("job", "import", "--resume", record.id, "--module", "Leads")
    assert r.code == ExitCode.USAGE and "--module" in r.err
    r = zbulk("job", "import", "--resume", "4150868000001")
    assert r.code == ExitCode.USAGE and "not an import id" in r.err
    src.write_text(rows_csv(10).replace("Name3", "Nom3"))
    before = len(fast.requests)
    r = zbulk("job", "import", "--resume", record.id, "--yes")
    assert r.code == ExitCode.USAGE and "changed" in r.err and len(fast.requests) == before


def test_resume_without_an_id_lists_several(zbulk, fast, small_parts, tmp_path) -> None:
    fast.add_fault(
        Fault(
            "status",
            status=400,
            times=2,
            path_prefix=CREATE,
            body='{"code":"INVALID_DATA","status":"error"}',
        )
    )
    for name in ("a.csv", "b.csv"):
        (tmp_path / name).write_text(rows_csv(5))
        assert zbulk(*import_args(tmp_path / name, "--yes")).code == ExitCode.ERROR
    r = zbulk("job", "import", "--resume", "--yes")
    assert r.code == ExitCode.USAGE and "2 unfinished imports" in r.err
    assert r.err.count("imp-") >= 2


# -- one result --------------------------------------------------------------------------


def test_results_of_an_import_are_one_set_of_files(zbulk, fast, small_parts, tmp_path) -> None:
    src = tmp_path / "leads.csv"
    src.write_bytes(rows_csv(10, bad=frozenset({2, 7, 10}), newline="\r\n").encode())
    r = zbulk(*import_args(src, "--yes", "--watch"))
    assert r.code == ExitCode.SKIPPED, r.err
    record = only_record()
    assert f"zbulk job retry --import {record.id} --edit" in r.err
    out = tmp_path / "out"
    r = zbulk("job", "results", "--import", record.id, "--output-dir", str(out))
    assert r.code == 0, r.err
    failed = (out / f"{record.id}-Leads-failed.csv").read_bytes()
    lines = src.read_bytes().split(b"\r\n")
    whole = [lines[i] + b"\r\n" for i in (2, 7, 10)]  # (the quoted newline is a bare LF)
    assert failed == lines[0] + b"\r\n" + b"".join(whole)  # whole rows, source order
    created = list(csv.reader(io.StringIO((out / f"{record.id}-Leads-created.csv").read_text())))
    assert created[0][-1] == "RECORD_ID" and len(created) == 8
    assert all(row[-1] in fast.records["Leads"] for row in created[1:])
    errors = list(csv.reader(io.StringIO((out / f"{record.id}-Leads-errors.csv").read_text())))
    assert [row[0] for row in errors[1:]] == ["2", "7", "10"]
    assert "7 created or updated, 3 failed" in r.out
    r = zbulk("job", "results", "--import", record.id, "--output-dir", str(out))
    assert r.code == ExitCode.ERROR and "already exists" in r.err


def test_watch_import_exit_codes(zbulk, fast, small_parts, tmp_path) -> None:
    src = tmp_path / "leads.csv"
    src.write_text(rows_csv(6, bad=frozenset({5})))
    assert zbulk(*import_args(src, "--yes")).code == 0
    record = only_record()
    r = zbulk("job", "watch", "--import", record.id)
    assert r.code == ExitCode.SKIPPED and f"zbulk job retry --import {record.id} --edit" in r.err
    assert zbulk("job", "watch", "--import", record.id, "--allow-skipped").code == 0
    good = tmp_path / "good.csv"
    good.write_text(rows_csv(6).replace("lead", "good"))
    assert zbulk(*import_args(good, "--yes", "--watch")).code == 0


# -- the pre-flight ------------------------------------------------------------------------


def test_a_header_only_file_is_a_preflight_error(zbulk, fast, tmp_path) -> None:
    src = tmp_path / "leads.csv"
    src.write_text(HEADER + "\n\n")
    r = zbulk(*import_args(src, "--yes"))
    assert r.code == ExitCode.USAGE and "no records" in r.err
    assert fast.requests == []


def test_trailing_blank_lines_are_ignored(zbulk, fast, tmp_path) -> None:
    src = tmp_path / "leads.csv"
    src.write_text(rows_csv(3) + "\n\n")
    r = zbulk(*import_args(src, "--yes"))
    assert r.code == 0, r.err
    assert uploaded_csvs(fast) == [rows_csv(3).encode()]


def test_a_zoho_result_file_is_refused(zbulk, fast, tmp_path) -> None:
    src = tmp_path / "4150868000007000002-Leads-result-rows.csv"
    src.write_text("Last_Name,Email,Company,STATUS,RECORD_ID,ERRORS\nA,a@b.co,C,skipped,,X\n")
    r = zbulk(*import_args(src, "--yes"))
    assert r.code == ExitCode.USAGE and "result file of Zoho's" in r.err and fast.requests == []


# -- a real crash: SIGKILL, then --resume ----------------------------------------------------


def test_sigkill_after_a_create_then_resume_loses_and_doubles_nothing(
    make_sandbox, tmp_path
) -> None:
    """One kill and resume (bench/migrate.py does 20): zbulk killed just after the second
    part's create is sent; --resume names the unknown part; the part's job, found in the
    sandbox's import history, is given; every row ends created exactly once."""
    server = make_sandbox(job_duration=60.0)
    server.import_duration = 0
    n = 25_003
    src = tmp_path / "big.csv"
    src.write_text(rows_csv(n, bad=frozenset({7, 25_002})))
    env = {**os.environ, "ZBULK_API_DOMAIN": server.url, "ZBULK_TOKEN": server.token}
    server.add_fault(Fault("stall", delay=1.0, times=None, path_prefix=CREATE))
    proc = subprocess.Popen(
        [sys.executable, "-m", "zbulk", *import_args(src, "--yes")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while sum(r.path == CREATE for r in server.requests) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    server.clear_faults()
    time.sleep(1.2)  # the stalled create is answered (the job exists at Zoho)
    run = [sys.executable, "-m", "zbulk", "job", "import", "--resume", "--yes"]
    done = subprocess.run(run, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert done.returncode == ExitCode.USAGE and "unknown" in done.stderr, done.stderr
    record = rec.all_records()[0]
    (unknown,) = record.unknown
    (job_id,) = server.created_from[unknown.sha256]
    done = subprocess.run(
        [*run, "--part-job", f"{unknown.number}={job_id}", "--watch", "--allow-skipped"],
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr
    assert all(len(v) == 1 for v in server.created_from.values())
    made = [v["Description"].split("\n")[0] for v in server.records["Leads"].values()]
    assert len(made) == len(set(made)) == n - 2
    out = tmp_path / "out"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "zbulk",
            "job",
            "results",
            "--import",
            record.id,
            "--output-dir",
            str(out),
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    failed = list(csv.reader((out / f"{record.id}-Leads-failed.csv").open(newline="")))
    assert [row[0] for row in failed[1:]] == ["Name7", "Name25002"]


# -- the single-file loop's broken promises (issue 25, "Why") -------------------------------

PLANTED = (
    "First_Name,Last_Name,Email,Company,Annual_Revenue\n"
    "Ada,Lovelace,ada@example.com,Analytical Engines,1000\n"
    "Bob,,bob@example.com,Nowhere Ltd,20\n"
    "Cy,Young,cy-at-example.com,Baseball Inc,abc\n"
    "Grace,Hopper,grace@example.com,Navy,5\n"
)


def editor(tmp_path: Path, body: str) -> str:
    script = tmp_path / "editor.py"
    script.write_text(
        "import sys\np = sys.argv[1]\nt = open(p, encoding='utf-8-sig').read()\n"
        + body
        + "\nopen(p, 'w', encoding='utf-8').write(t)\n"
    )
    return f"{sys.executable} {script}"


def test_why_2_edit_keeps_the_rows_and_a_second_round_works(
    zbulk, fast, tmp_path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    src = tmp_path / "leads.csv"
    src.write_text(PLANTED)
    job_id = zbulk(*import_args(src, "--yes")).out.strip()
    fix_one = editor(tmp_path, "t = t.replace('Bob,,', 'Bob,Builder,')")
    r = zbulk("job", "retry", job_id, "--edit", "--yes", EDITOR=fix_one, VISUAL=None)
    assert r.code == 0, r.err  # no --source: zbulk created the job from leads.csv
    kept = tmp_path / f"{job_id}-Leads-edited.csv"
    assert f"the rows to fix are in {kept}" in r.err and kept.exists()
    assert "Bob,Builder," in kept.read_text()
    second = r.out.strip()
    fix_rest = editor(tmp_path, "t = t.replace('cy-at-', 'cy@').replace(',abc', ',3')")
    r = zbulk("job", "retry", second, "--edit", "--yes", EDITOR=fix_rest, VISUAL=None)
    assert r.code == 0, r.err  # the second round takes its rows from the kept file
    assert (tmp_path / f"{second}-Leads-edited.csv").exists()
    assert len(fast.records["Leads"]) == 4


def test_why_3_results_without_source_use_the_remembered_file(zbulk, fast, tmp_path) -> None:
    src = tmp_path / "leads.csv"
    src.write_text(PLANTED)
    job_id = zbulk(*import_args(src, "--yes")).out.strip()
    out = tmp_path / "out"
    r = zbulk("job", "results", job_id, "--output-dir", str(out))
    assert r.code == 0, r.err
    failed = (out / f"{job_id}-Leads-failed.csv").read_text()
    assert failed == "".join(PLANTED.splitlines(keepends=True)[i] for i in (0, 2, 3))
    src.write_text(PLANTED.replace("Navy", "Army"))  # changed: Zoho's rows alone, named so
    r = zbulk("job", "results", job_id, "--output-dir", str(tmp_path / "o2"))
    assert r.code == 0 and "add --source FILE" in r.err
    names = sorted(p.name for p in (tmp_path / "o2").iterdir())
    assert f"{job_id}-Leads-result-rows.csv" in names
    assert not any(n.endswith("-failed.csv") for n in names)
    again = zbulk(*import_args(tmp_path / "o2" / f"{job_id}-Leads-result-rows.csv", "--yes"))
    assert again.code == ExitCode.USAGE and "result file of Zoho's" in again.err


def test_why_4_retry_keeps_the_callback(zbulk, fast, tmp_path) -> None:
    src = tmp_path / "leads.csv"
    src.write_text(PLANTED)
    hook = "https://hooks.example.com/zbulk"
    job_id = zbulk(*import_args(src, "--yes", "--callback", hook, "--ignore-empty")).out.strip()
    r = zbulk("job", "retry", job_id, "--yes")
    assert r.code == 0, r.err
    doc = json.loads(zbulk("job", "show", "--json", r.out.strip()).out)
    assert doc["callback"] == {"url": hook, "method": "post"} and doc["ignore_empty"] is True


def test_why_5_several_resources_say_which_source_is_missing(zbulk, sandbox) -> None:
    # a job of several resources is retried as one import of one part per resource
    # (tests/test_retry_resources.py); each resource needs its source, named when missing
    r = zbulk("job", "retry", "4150868000006801001", "--source", __file__, "--yes")
    assert r.code == ExitCode.USAGE and "3 resources (Leads, Contacts, Accounts)" in r.err
    assert "resource 2 (Contacts) needs its source" in r.err  # not finished: no file name yet
    assert (
        "zbulk job retry 4150868000006801001 --source LEADS_FILE --source CONTACTS_FILE "
        "--source ACCOUNTS_FILE"
    ) in r.err
    assert not sandbox.uploaded_files


def test_retry_import_sends_every_failed_row(zbulk, fast, small_parts, tmp_path) -> None:
    src = tmp_path / "leads.csv"
    src.write_text(rows_csv(10, bad=frozenset({3, 9})))
    assert zbulk(*import_args(src, "--yes")).code == 0
    first = only_record()
    r = zbulk("job", "retry", "--import", first.id, "--yes")
    assert r.code == 0, r.err
    assert "2 failed rows of import" in r.err and len(r.out.split()) == 1
    second = next(x for x in rec.all_records() if x.id != first.id)
    assert second.retry_of == first.id and second.records == 2
    assert (
        second.settings["body"]["resource"][0]["field_mappings"]
        == (first.settings["body"]["resource"][0]["field_mappings"])
    )


def test_recent_groups_an_imports_jobs_under_its_id(zbulk, fast, small_parts, tmp_path) -> None:
    src = tmp_path / "leads.csv"
    src.write_text(rows_csv(10))
    ids = zbulk(*import_args(src, "--yes")).out.split()
    other = tmp_path / "other.csv"
    other.write_text(rows_csv(2).replace("lead", "other"))
    alone = zbulk(*import_args(other, "--yes")).out.strip()
    zbulk("job", "show", ids[0])  # seen again: newest, yet its import stays together
    record = next(r for r in rec.all_records() if r.job_ids() == ids)
    lines = [json.loads(line) for line in zbulk("job", "recent", "--json").out.splitlines()]
    assert [e["id"] for e in lines] == [*ids, alone]
    assert [(e.get("import"), e.get("part")) for e in lines[:3]] == [
        (record.id, 1),
        (record.id, 2),
        (record.id, 3),
    ]
    text = zbulk("job", "recent").out
    assert f"{record.id} 2/3" in text


def test_dry_run_of_parts_sends_nothing(zbulk, sandbox, small_parts, tmp_path) -> None:
    src = tmp_path / "leads.csv"
    src.write_text(rows_csv(10))
    r = zbulk(*import_args(src, "--dry-run"))
    assert r.code == 0, r.err
    assert "3 parts, 1,500 API credits" in r.out and "part 3: rows 9–10 (2 records" in r.out
    assert sandbox.requests == [] and rec.all_records() == []


def test_ctrl_c_says_how_to_go_on(zbulk, fast, small_parts, tmp_path) -> None:
    src = tmp_path / "leads.csv"
    src.write_text(rows_csv(10))
    record_id = _killed_after_create(zbulk, fast, src)  # says how to go on
    r = zbulk("job", "import", "--resume", record_id, "--recreate-unknown", "--yes")
    assert r.code == 0  # (a second job for part 2: the user said so)
    assert sorted(len(v) for v in fast.created_from.values()) == [1, 1, 2]


def test_skip_invalid_keeps_the_rows_sent_for_the_record(
    zbulk, fast, small_parts, tmp_path, monkeypatch
) -> None:
    """--skip-invalid (issue 24) sends a file of the rows that pass: the record keeps a copy,
    so the import's results and --resume find the rows after the command ended."""
    monkeypatch.chdir(tmp_path)
    src = tmp_path / "leads.csv"
    src.write_text(rows_csv(10, bad=frozenset({4})))
    r = zbulk(
        "job",
        "import",
        str(src),
        "--module",
        "Leads",
        "--operation",
        "insert",
        "--skip-invalid",
        "--yes",
    )
    assert r.code == 0, r.err
    record = only_record()
    kept = Path(record.source["path"])
    assert kept.parent == rec.directory() and kept.exists() and record.records == 9
    assert oct(kept.stat().st_mode & 0o777) == "0o600"
    assert "row 4\n" not in kept.read_text()
    r = zbulk("job", "results", "--import", record.id, "--output-dir", str(tmp_path / "out"))
    assert r.code == 0 and "9 created or updated, 0 failed" in r.out


def test_a_5xx_at_create_says_the_job_may_exist(zbulk, fast, tmp_path) -> None:
    src = tmp_path / "leads.csv"
    src.write_text(rows_csv(3))
    fast.add_fault(Fault("status", status=502, times=1, path_prefix=CREATE))
    r = zbulk(*import_args(src, "--yes"))
    assert r.code == ExitCode.NETWORK and "the job may have been created" in r.err
    assert only_record().parts[0].unknown and "--recreate-unknown" in r.err
    assert sum(q.path == CREATE for q in fast.requests) == 1  # sent once, never again


@pytest.mark.e2e
def test_an_unknown_part_is_created_again_on_a_yes_at_a_terminal(
    zbulk, fast, tmp_path, monkeypatch
) -> None:
    from ptys import run_pty

    state = tmp_path / "state"
    monkeypatch.setenv("ZBULK_STATE_DIR", str(state))
    src = tmp_path / "leads.csv"
    src.write_text(rows_csv(3))
    fast.add_fault(Fault("drop", times=1, path_prefix=CREATE))
    assert zbulk(*import_args(src, "--yes")).code == ExitCode.NETWORK
    record = only_record()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZBULK_")}
    env.update(
        ZBULK_API_DOMAIN=fast.url,
        ZBULK_TOKEN=fast.token,
        TERM="xterm",
        ZBULK_STATE_DIR=str(state),
        ZBULK_CONFIG_DIR=str(tmp_path / "config"),
    )
    args = ["job", "import", "--resume", record.id, "--yes"]
    code, text = run_pty(args, env, answers=[("Create it again", "n")])
    assert code == ExitCode.USAGE and "Import History" in text, text
    code, text = run_pty(args, env, answers=[("Create it again", "y")])
    assert code == 0, text
    assert len(fast.records["Leads"]) == 3


def test_a_retry_remembers_its_rows_for_the_next_round(zbulk, fast, small_parts, tmp_path) -> None:
    """The failed rows a retry sends are written to a temporary folder: the retry's record
    keeps a copy, so its own results and retry need no --source either."""
    src = tmp_path / "leads.csv"
    src.write_text(rows_csv(5, bad=frozenset({2})))
    job_id = zbulk(*import_args(src, "--yes")).out.split()[0]
    r = zbulk("job", "retry", job_id, "--yes")
    assert r.code == 0, r.err
    again = r.out.strip()
    r = zbulk("job", "results", again, "--output-dir", str(tmp_path / "out"))
    assert r.code == 0 and "add --source" not in r.err, r.err
    assert "Name2," in (tmp_path / "out" / f"{again}-Leads-failed.csv").read_text()
    r = zbulk("job", "retry", again, "--dry-run")
    assert r.code == 0, r.err
