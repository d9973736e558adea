"""``zbulk job retry`` of a job with several resources (issue 25, Build 5): one import, one
part per resource, each its own job with that resource's settings; against the sandbox."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from zbulk.errors import ExitCode
from zbulk.jobs import import_record as rec
from zbulk.sandbox.result_files import build_result_zip, result_files, write_source_zip

DEMO = "4150868000006801001"  # upsert of Leads, Contacts and Accounts
TWO = "4150868000009900001"
HOOK = "https://hooks.example.com/zbulk"


@pytest.fixture
def sandbox(make_sandbox):
    """The ``zbulk`` fixture's sandbox here: demo jobs finish at once, created jobs too."""
    sb = make_sandbox(job_duration=0.01)
    sb.import_duration = 0
    return sb


def two_resource_job(zbulk, sb, tmp_path: Path) -> tuple[Path, Path]:
    """A finished job of two resources (Leads, Contacts), with failed rows in both, put
    in the sandbox as ``TWO``; the two files it was uploaded from, named otherwise."""
    import time

    time.sleep(0.05)
    shown = zbulk("job", "show", "--json", DEMO)
    assert shown.code == 0, shown.err
    doc: dict[str, Any] = json.loads(shown.out)
    assert doc["status"] == "COMPLETED"
    doc["id"] = TWO
    doc["resource"] = doc["resource"][:2]
    doc["ignore_empty"] = True
    doc["callback"] = {"url": HOOK, "method": "post"}
    doc["result"]["download_url"] = sb.download_url(TWO)
    sb.put_document(TWO, doc)
    files = result_files(doc)
    assert all(f.counts["skipped"] for f in files)  # failed rows in both
    sb.put_download(TWO, build_result_zip(files))
    buffer = io.BytesIO()
    write_source_zip(files, buffer)
    paths = []
    with zipfile.ZipFile(buffer) as archive:
        for name, mine in (("leads.csv", "first.csv"), ("contacts.csv", "second.csv")):
            target = tmp_path / mine
            target.write_bytes(archive.read(name))
            paths.append(target)
    return paths[0], paths[1]


def test_retry_of_two_resources_is_one_import_of_two_jobs(zbulk, sandbox, tmp_path) -> None:
    leads, contacts = two_resource_job(zbulk, sandbox, tmp_path)
    r = zbulk("job", "retry", TWO, "--source", str(leads), "--source", str(contacts), "--yes")
    assert r.code == 0, r.err
    jobs = r.out.split()
    assert len(jobs) == 2 and all(j.isdigit() for j in jobs)
    bodies = sandbox.create_bodies
    assert list(bodies) == jobs
    sent = [bodies[j] for j in jobs]
    assert [b["resource"][0]["module"]["api_name"] for b in sent] == ["Leads", "Contacts"]
    for body in sent:
        assert body["operation"] == "upsert" and body["ignore_empty"] is True
        assert body["callback"] == {"url": HOOK, "method": "post"}
        assert body["resource"][0]["find_by"] == "Email"
    contact_maps = {m["api_name"]: m for m in sent[1]["resource"][0]["field_mappings"]}
    assert contact_maps["Account_Name"]["default_value"] == {"name": "Zylker Inc."}
    assert contact_maps["Account_Name"]["find_by"] == "Account_Name"
    assert "Phone" in {m["api_name"] for m in sent[0]["resource"][0]["field_mappings"]}
    # the failed rows sent, whole: each resource's own header
    uploaded = [members[0][1].decode() for members in sandbox.uploaded_files]
    assert uploaded[0].splitlines()[0] == leads.read_text().splitlines()[0]
    assert uploaded[1].splitlines()[0] == contacts.read_text().splitlines()[0]
    (record,) = rec.all_records()
    assert record.resources and len(record.parts) == 2 and record.job_ids() == jobs
    assert f"import {record.id}" in r.err
    out = tmp_path / "out"
    got = zbulk("job", "results", "--import", record.id, "--output-dir", str(out))
    assert got.code == 0, got.err
    names = sorted(p.name for p in out.iterdir())
    for module in ("Leads", "Contacts"):
        assert f"{record.id}-{module}-failed.csv" in names
        assert f"{record.id}-{module}-created.csv" in names
    # each part's job remembers its own resource's rows: results without --source
    one = zbulk("job", "results", jobs[1], "--output-dir", str(tmp_path / "one"))
    assert one.code == 0, one.err
    failed = (tmp_path / "one" / f"{jobs[1]}-Contacts-failed.csv").read_text()
    assert failed.splitlines()[0] == contacts.read_text().splitlines()[0]
    recent = zbulk("job", "recent")
    assert recent.code == 0 and record.id in recent.out + recent.err
    watched = zbulk("job", "watch", "--import", record.id, "--allow-skipped")
    assert watched.code in (0, ExitCode.SKIPPED), watched.err


def test_missing_source_names_the_resource_and_sends_nothing(zbulk, sandbox, tmp_path) -> None:
    leads, _ = two_resource_job(zbulk, sandbox, tmp_path)
    r = zbulk("job", "retry", TWO, "--source", str(leads), "--yes")
    assert r.code == ExitCode.USAGE
    assert "resource 2 (Contacts, uploaded as contacts.csv) needs its source" in r.err
    assert "--source LEADS_FILE --source CONTACTS_FILE" in r.err
    assert sandbox.create_bodies == {} and sandbox.uploaded_files == []
    assert [q.path for q in sandbox.requests if q.method == "POST"] == []
    r = zbulk("job", "retry", TWO, "--yes")
    assert r.code == ExitCode.USAGE and "resource 1 (Leads" in r.err


def test_dry_run_shows_every_part(zbulk, sandbox, tmp_path) -> None:
    leads, contacts = two_resource_job(zbulk, sandbox, tmp_path)
    r = zbulk(
        "job",
        "retry",
        TWO,
        "--source",
        str(leads),
        "--source",
        str(contacts),
        "--dry-run",
        "--json",
    )
    assert r.code == 0, r.err
    assert sandbox.create_bodies == {} and sandbox.uploaded_files == []
    assert "Leads" in r.out and "Contacts" in r.out
    assert r.out.count('"method": "POST"') >= 4 or r.out.count("POST") >= 4


def test_from_is_refused_for_several_resources(zbulk, sandbox, tmp_path) -> None:
    leads, contacts = two_resource_job(zbulk, sandbox, tmp_path)
    r = zbulk(
        "job",
        "retry",
        TWO,
        "--source",
        str(leads),
        "--source",
        str(contacts),
        "--from",
        str(leads),
        "--yes",
    )
    assert r.code == ExitCode.USAGE and "--from holds one module's rows" in r.err
    assert sandbox.uploaded_files == []


def test_edit_opens_each_resource_in_turn_and_keeps_them(
    zbulk, sandbox, tmp_path, monkeypatch
) -> None:
    leads, contacts = two_resource_job(zbulk, sandbox, tmp_path)
    monkeypatch.chdir(tmp_path)
    seen = tmp_path / "seen.txt"
    script = tmp_path / "ed.py"
    script.write_text(f"import sys\nopen({str(seen)!r}, 'a').write(sys.argv[1] + '\\n')\n")
    import sys

    r = zbulk(
        "job",
        "retry",
        TWO,
        "--source",
        str(leads),
        "--source",
        str(contacts),
        "--edit",
        "--yes",
        EDITOR=f"{sys.executable} {script}",
        VISUAL=None,
    )
    assert r.code == 0, r.err
    opened = seen.read_text().split()
    kept = [tmp_path / f"{TWO}-{m}-edited.csv" for m in ("Leads", "Contacts")]
    assert opened == [str(k) for k in kept] and all(k.exists() for k in kept)
    assert len(sandbox.create_bodies) == 2


def test_retry_import_of_several_resources(zbulk, sandbox, tmp_path) -> None:
    leads, contacts = two_resource_job(zbulk, sandbox, tmp_path)
    r = zbulk("job", "retry", TWO, "--source", str(leads), "--source", str(contacts), "--yes")
    assert r.code == 0, r.err
    (record,) = rec.all_records()
    r = zbulk("job", "retry", "--import", record.id, "--dry-run")
    assert r.code == 0, r.err
    # the sandbox's own checks fail rows of both modules: both are sent again, each its own
    assert "failed rows of import" in r.err and "2 parts" in r.err
    assert '"api_name": "Leads"' in r.out and '"api_name": "Contacts"' in r.out
    r = zbulk("job", "retry", "--import", record.id, "--yes")
    assert r.code == 0, r.err
    again = [x for x in rec.all_records() if x.retry_of == record.id]
    assert len(again) == 1 and again[0].resources and len(again[0].job_ids()) == 2
    r = zbulk("job", "retry", "--import", record.id, "--from", str(leads), "--yes")
    assert r.code == ExitCode.USAGE and "--from holds one module's rows" in r.err


def test_a_resource_over_the_part_limit_is_split(zbulk, sandbox, tmp_path, monkeypatch) -> None:
    from zbulk.jobs import split as splitting

    leads, contacts = two_resource_job(zbulk, sandbox, tmp_path)
    monkeypatch.setattr(splitting, "MAX_RECORDS", 8)  # 20 Leads rows: 3 parts; 12 Contacts: 2
    r = zbulk("job", "retry", TWO, "--source", str(leads), "--source", str(contacts), "--yes")
    assert r.code == 0, r.err
    (record,) = rec.all_records()
    assert [(p.number, p.resource, p.records) for p in record.parts] == [
        (1, 0, 8),
        (2, 0, 8),
        (3, 0, 4),
        (4, 1, 8),
        (5, 1, 4),
    ]
    modules = [b["resource"][0]["module"]["api_name"] for b in sandbox.create_bodies.values()]
    assert modules == ["Leads"] * 3 + ["Contacts"] * 2
    assert len(r.out.split()) == 5 and "part 4/5 (Contacts, rows 1–8)" in r.err


def test_resume_creates_each_part_with_its_resources_settings(zbulk, sandbox, tmp_path) -> None:
    from zbulk.sandbox import Fault

    leads, contacts = two_resource_job(zbulk, sandbox, tmp_path)
    # the first create's answer is lost: that part is unknown, nothing more is created
    sandbox.add_fault(Fault("drop", times=1, path_prefix="/crm/bulk/v8/write", method="POST"))
    r = zbulk("job", "retry", TWO, "--source", str(leads), "--source", str(contacts), "--yes")
    assert r.code == ExitCode.NETWORK, r.err
    assert "check Zoho CRM for a Leads import" in r.err and "--recreate-unknown" in r.err
    (record,) = rec.all_records()
    assert record.parts[0].unknown and not record.parts[1].has_job
    r = zbulk("job", "import", "--resume", record.id, "--recreate-unknown", "--yes")
    assert r.code == 0, r.err
    sent = list(sandbox.create_bodies.values())
    assert [b["resource"][0]["module"]["api_name"] for b in sent] == ["Leads", "Contacts"]
    assert sent[1]["resource"][0]["field_mappings"][0]["default_value"] == {"name": "Zylker Inc."}
    assert len(rec.load(record.id).job_ids()) == 2


def test_one_zip_of_every_resources_csv_is_a_source_too(zbulk, sandbox, tmp_path) -> None:
    two_resource_job(zbulk, sandbox, tmp_path)
    archive = tmp_path / "uploaded.zip"
    archive.write_bytes(sandbox.source_zip(DEMO))  # leads.csv, contacts.csv, accounts.csv
    r = zbulk("job", "retry", TWO, "--source", str(archive), "--yes")
    assert r.code == ExitCode.USAGE and "gives 3 CSV files" in r.err  # one too many
    with zipfile.ZipFile(archive) as whole, zipfile.ZipFile(tmp_path / "two.zip", "w") as two:
        for name in ("contacts.csv", "leads.csv"):  # paired by name, in any order
            two.writestr(name, whole.read(name))
    r = zbulk("job", "retry", TWO, "--source", str(tmp_path / "two.zip"), "--yes")
    assert r.code == 0, r.err
    sent = list(sandbox.create_bodies.values())
    assert [b["resource"][0]["module"]["api_name"] for b in sent] == ["Leads", "Contacts"]
