"""Hostile result files and hostile local conditions for `zbulk job results`."""

from __future__ import annotations

import json
import os
import resource
from pathlib import Path

import pytest

from hostile.conftest import JOB, job_path
from hostile.files import (
    compression_method,
    csv_bytes,
    encrypted,
    failed_rows,
    many_rows_zip,
    zip_bytes,
)
from hostile.server import HostileServer, answer, job_doc

LEADS = csv_bytes([*failed_rows(3), ["Ok", "ok@example.com", "Acme", "added", "41", ""]])


def serve(hostile: HostileServer, data: bytes) -> None:
    hostile.route(job_path(), answer(job_doc(JOB, f"{hostile.url}/download/{JOB}.zip")))
    hostile.route("/download/", answer(data, content_type="application/octet-stream"))


def tree(root: Path) -> dict[str, bytes | str]:
    """Every file under ``root`` (symlinks by target), for before/after comparisons."""
    found: dict[str, bytes | str] = {}
    for path in sorted(root.rglob("*")):
        if path.is_symlink():
            found[str(path)] = f"-> {os.readlink(path)}"
        elif path.is_file():
            found[str(path)] = path.read_bytes()
    return found


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (encrypted(zip_bytes([("Leads.csv", LEADS)])), "is encrypted"),
        (compression_method(zip_bytes([("Leads.csv", LEADS)]), 9), "compression method"),
        (compression_method(zip_bytes([("Leads.csv", LEADS)]), 99), "compression method"),
        (zip_bytes([("../../evil.csv", LEADS)]), "unsafe name"),
        (zip_bytes([("/tmp/evil.csv", LEADS)]), "unsafe name"),
        (zip_bytes([("..\\..\\evil.csv", LEADS)]), "unsafe name"),
    ],
    ids=["encrypted", "deflate64", "aes", "dotdot", "absolute", "backslash"],
)
def test_hostile_zips_are_refused_and_nothing_is_written(
    hostile, zb, inproc, tmp_path: Path, data: bytes, message: str
) -> None:
    """Item 5: encrypted and unsupported-compression members were tracebacks."""
    serve(hostile, data)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    before = tree(tmp_path)
    r = zb("job", "results", "--output-dir", str(tmp_path / "out"), JOB, cwd=cwd).clean(5)
    assert message in r.err
    for args in ([], ["--failed"], ["--failed", "--json"]):
        assert message in inproc("job", "results", *args, JOB).clean(5).err
    after = {k: v for k, v in tree(tmp_path).items() if not k.startswith(str(tmp_path / "state"))}
    assert after == {k: v for k, v in before.items() if not k.startswith(str(tmp_path / "state"))}


def test_escape_sequences_in_member_names_and_statuses(hostile, zb, inproc, tmp_path) -> None:
    rows = [["A", "a@x", "", "\x1b[31mskipped\u202e", "", "X-\x1b]0;PWNED\x07"]]
    serve(hostile, zip_bytes([("\x1b]0;PWNED\x07Leads\u202e.csv", csv_bytes(rows))]))
    for args in ([], ["--failed"], ["--json", "--failed"]):
        r = (zb if args == ["--failed"] else inproc)("job", "results", *args, JOB).clean(0)
        assert "\x07" not in r.out and "\u202e" not in r.out and "\x9b" not in r.out
    r = inproc("job", "results", "--output-dir", str(tmp_path / "out"), JOB).clean(0)
    assert all(p.parent == tmp_path / "out" for p in (tmp_path / "out").iterdir())
    assert not any("\x1b" in p.name for p in (tmp_path / "out").iterdir())


@pytest.mark.parametrize(
    "members",
    [
        [("Leads.csv", LEADS), ("Leads.csv", csv_bytes(failed_rows(2, start=100)))],
        [("Leads.csv", LEADS), ("sub/Leads.csv", csv_bytes(failed_rows(2, start=100)))],
        [("Leads.csv", LEADS), ("LEADS.csv", csv_bytes(failed_rows(2, start=100)))],
    ],
    ids=["twice", "same-basename", "case-only"],
)
def test_members_with_the_same_name_never_overwrite(
    hostile, zb, tmp_path: Path, members: list
) -> None:
    """Item 11: the second member's rows replaced the first's in --output-dir, exit 0."""
    data = zip_bytes(members)
    serve(hostile, data)
    out = tmp_path / "out"
    r = zb("job", "results", "--json", "--output-dir", str(out), JOB).clean(0)
    written = [p for f in json.loads(r.out)["files"] for p in f["written"]]
    assert len(written) == len(set(written)) and len(written) % 2 == 0
    failed = sorted(out.glob("*-result-rows.csv"))  # no source: Zoho's rows, never "failed"
    assert len(failed) == 2
    text = "".join(p.read_text(encoding="utf-8") for p in failed)
    assert "Name1," in text and "Name100," in text
    assert (out / f"{JOB}.zip").read_bytes() == data


def test_output_dir_never_follows_a_planted_symlink(hostile, zb, tmp_path: Path) -> None:
    """Item 16: a symlink in --output-dir made zbulk overwrite the file it pointed at."""
    serve(hostile, zip_bytes([("Leads.csv", LEADS)]))
    out, victim = tmp_path / "out", tmp_path / "victim.txt"
    out.mkdir()
    victim.write_text("precious")
    (out / f"{JOB}-Leads-result-rows.csv").symlink_to(victim)
    r = zb("job", "results", "--output-dir", str(out), JOB).clean(1)
    assert "already exists" in r.err and "--force" in r.err
    assert sorted(p.name for p in out.iterdir()) == [f"{JOB}-Leads-result-rows.csv"]  # nothing else
    zb("job", "results", "--force", "--output-dir", str(out), JOB).clean(0)
    assert victim.read_text() == "precious"
    assert not (out / f"{JOB}-Leads-result-rows.csv").is_symlink()
    assert "Name1" in (out / f"{JOB}-Leads-result-rows.csv").read_text(encoding="utf-8")
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary files left


def test_output_dir_never_overwrites_without_force(hostile, zb, tmp_path: Path) -> None:
    serve(hostile, zip_bytes([("Leads.csv", LEADS)]))
    out = tmp_path / "out"
    zb("job", "results", "--output-dir", str(out), JOB).clean(0)
    (out / f"{JOB}-Leads-result-rows.csv").write_text("mine")
    r = zb("job", "results", "--output-dir", str(out), JOB).clean(1)
    assert str(out / f"{JOB}-Leads-result-rows.csv") in r.err
    assert (out / f"{JOB}-Leads-result-rows.csv").read_text() == "mine"
    zb("job", "results", "--output-dir", str(out), "--force", JOB).clean(0)
    assert (out / f"{JOB}-Leads-result-rows.csv").read_text() != "mine"


def test_zip_name_taken_by_a_directory(hostile, zb, tmp_path: Path) -> None:
    """Item 6: `<id>.zip` being a directory in --output-dir was a traceback."""
    serve(hostile, zip_bytes([("Leads.csv", LEADS)]))
    out = tmp_path / "out"
    (out / f"{JOB}.zip").mkdir(parents=True)
    r = zb("job", "results", "--output-dir", str(out), JOB).clean(1)
    assert f"{JOB}.zip" in r.err
    r = zb("job", "results", "--output-dir", str(out), "--force", JOB).clean(1)
    assert "is a directory" in r.err and "damaged" not in r.err


def test_output_dir_under_a_file(hostile, zb, tmp_path: Path) -> None:
    serve(hostile, zip_bytes([("Leads.csv", LEADS)]))
    (tmp_path / "file").write_text("x")
    r = zb("job", "results", "--output-dir", str(tmp_path / "file" / "out"), JOB).clean(1)
    assert "Not a directory" in r.err and "damaged" not in r.err


def _fsize(limit: int):  # type: ignore[no-untyped-def]
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_file_size_limit_while_downloading(hostile, zb) -> None:
    """Item 6: `ulimit -f` (or a full disk) while downloading was a traceback."""
    serve(hostile, os.urandom(300_000))
    r = zb("job", "results", JOB, preexec_fn=_fsize(100_000)).clean(1)
    assert "cannot write" in r.err and ".zip" in r.err and "File too large" in r.err


def test_file_size_limit_while_writing_output(hostile, zb, tmp_path: Path) -> None:
    """Item 16: a local write error was reported as "the result file is damaged" (exit 5)."""
    serve(hostile, zip_bytes([("Leads.csv", csv_bytes(failed_rows(20_000)))]))
    out = tmp_path / "out"
    r = zb("job", "results", "--output-dir", str(out), JOB, preexec_fn=_fsize(200_000)).clean(1)
    assert "cannot write" in r.err and str(out) in r.err and "damaged" not in r.err
    assert not [p for p in out.iterdir() if p.suffix == ".part" or p.name.startswith(".")]


def test_cells_over_128_kib(hostile, zb) -> None:
    """Item 17: a cell over 128 KiB (the csv module's default limit) was "damaged"."""
    big = os.urandom(150_000).hex()  # 300,000 characters that do not compress away
    serve(hostile, zip_bytes([("Leads.csv", csv_bytes([[big, "a@x", "", "skipped", "", "E-A"]]))]))
    r = zb("job", "results", "--json", "--failed", JOB).clean(0)
    assert json.loads(r.out)["files"][0]["failed_rows"][0]["cells"][0] == big


def test_failed_rows_with_a_row_column_and_duplicate_columns(hostile, zb) -> None:
    """Item 19: a column named `row` replaced the row number; duplicates kept the last."""
    header = ["row", "Email", "Email", "STATUS", "RECORD_ID", "ERRORS"]
    rows = [
        ["r-a", "first@x", "second@x", "skipped", "", "E-Email"],
        ["r-b", "b@x", "b2@x", "added", "1", ""],
        ["r-c", "third@x", "fourth@x", "skipped", "", "E-Email"],
    ]
    serve(hostile, zip_bytes([("Leads.csv", csv_bytes(rows, header))]))
    r = zb("job", "results", "--json", "--failed", JOB).clean(0)
    f = json.loads(r.out)["files"][0]
    assert f["columns"] == header
    assert f["failed_rows"] == [{"row": 1, "cells": rows[0]}, {"row": 3, "cells": rows[2]}]
    r = zb("job", "results", "--failed", JOB).clean(0)
    assert "first@x" in r.out and "second@x" in r.out and "r-c" in r.out


def test_many_distinct_error_codes_are_bounded(hostile, zb) -> None:
    rows = [[f"N{i}", "", "", "skipped", "", f"odd error number {i}"] for i in range(3000)]
    serve(hostile, zip_bytes([("Leads.csv", csv_bytes(rows))]))
    r = zb("job", "results", "--json", JOB).clean(0)
    errors = json.loads(r.out)["files"][0]["errors"]
    assert len(errors) <= 1001 and sum(e["count"] for e in errors) == 3000


@pytest.mark.parametrize("args", [["--failed"], ["--failed", "--json"]], ids=["human", "json"])
def test_memory_is_flat_as_rows_grow(hostile, zb, tmp_path: Path, args: list[str]) -> None:
    """Item 10: --failed and --json held every row (3.8 GB for 1.5 M rows). Ten times the
    rows must not cost noticeably more memory (bench/hostile_rss.py: the 1.5 M-row file)."""
    peaks = []
    for rows in (5_000, 50_000):
        path = many_rows_zip(tmp_path / f"{rows}.zip", rows)
        serve(hostile, path.read_bytes())
        r = zb("job", "results", *args, JOB).clean(0)
        assert f"n{rows}@example.com" in r.out
        peaks.append(r.peak_mib)
    print("peak MiB by rows (5k, 50k):", peaks)
    assert peaks[1] - peaks[0] < 12, peaks
    assert peaks[1] < 80, peaks


def test_result_zip_with_many_members(hostile, zb) -> None:
    members = [(f"m{i}.csv", csv_bytes(failed_rows(2, start=i * 10))) for i in range(200)]
    serve(hostile, zip_bytes(members))
    r = zb("job", "results", "--json", JOB).clean(0)
    assert len(json.loads(r.out)["files"]) == 200
