"""Imports of any size (issue 25): nothing lost, nothing doubled, at scale.

    python bench/migrate.py [--kills N] [--rows N] [--seed S] [--scale-rows N] [--check]
                            [--only kill|scale]

**Kill and resume.** A ROWS-row CSV (120,000: 5 parts) is imported into the sandbox (which
runs in this process) by `zbulk` as a fresh process, killed with SIGKILL at KILLS random
moments, each of one of four kinds, then resumed with `zbulk job import --resume` until
done:

- ``upload``: while a part's upload is being answered (the sandbox stalls it);
- ``between``: as soon as an upload has been answered (before or as the create goes out);
- ``create``: just after a create was sent (the sandbox stalls the answer, then creates the
  job: zbulk's record says the part is *unknown*);
- ``watch``: while `--resume --watch` follows the parts.

After each kill the bench acts as the user told by zbulk: for an unknown part it looks in
the sandbox's import history (the jobs created from each uploaded CSV, by sha256) and
passes ``--part-job N=ID`` when a job exists, ``--recreate-unknown`` when none does. At the
end `zbulk job results --import` writes the merged failed rows; every source row must be in
exactly one created record or in failed.csv: 0 duplicates, 0 lost, and no part created
twice (the sandbox counts creates per part).

**Scale.** A SCALE_ROWS-row (1,000,000), ~250 MB CSV: the file pre-flight and the split
(``prepare`` and ``plan_import``) in a fresh process, and the merge of 40 parts' result
files (``job results --import``'s ``merge``) in another; time and peak RSS (VmHWM) of each.
Goals: pre-flight + split ≤ 15 s and ≤ 100 MiB; merge ≤ 10 s and ≤ 100 MiB (checked with
a margin of 1.5x for time: machines are noisy; memory as is).

Exits 0 whatever the figures, unless --check is given and a goal is missed (then 1).
"""

from __future__ import annotations

import sys

from _peak import peak_kib

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

CREATE = "/crm/bulk/v8/write"
UPLOAD = "/crm/v8/upload"
KINDS = ("upload", "between", "create", "watch")
SPLIT_SECONDS, MERGE_SECONDS, GOAL_MIB, SLACK = 15.0, 10.0, 100.0, 1.5


def write_rows(path: Path, rows: int, width: int = 0, bad_every: int = 0) -> None:
    """Leads: Last_Name, Email, Company, Description ("row N", padded to ``width`` bytes
    per row, a quoted newline in every 10th); every ``bad_every``-th email is invalid."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write("Last_Name,Email,Company,Description\r\n")
        chunk = []
        for i in range(1, rows + 1):
            email = f"lead{i}-at-example" if bad_every and i % bad_every == 0 else f"l{i}@ex.com"
            text = f"row {i}" if i % 10 else f"row {i}\nnote"
            line = f'Name{i},{email},"Co {i % 977}, Ltd","{text}'
            pad = width - len(line) - 3
            chunk.append(line + ("x" * pad if pad > 0 else "") + '"\r\n')
            if len(chunk) == 5000:
                fh.write("".join(chunk))
                chunk = []
        fh.write("".join(chunk))


# -- kill and resume ---------------------------------------------------------------------


def kill_bench(rows: int, kills: int, seed: int, work: Path) -> tuple[list[list[Any]], bool]:
    import csv
    import os
    import random
    import signal
    import subprocess
    import time

    from _common import clean_env, zbulk_cmd

    from zbulk.jobs import import_record as rec
    from zbulk.sandbox import Fault, Sandbox

    rng = random.Random(seed)
    src = work / "migration.csv"
    write_rows(src, rows, bad_every=997)
    server = Sandbox(job_duration=60.0).start()
    server.import_duration = 15.0  # long enough for the watch kills to find jobs running
    state = work / "state"
    env = clean_env(
        ZBULK_API_DOMAIN=server.url,
        ZBULK_TOKEN=server.token,
        ZBULK_STATE_DIR=str(state),
        ZBULK_CONFIG_DIR=str(work / "config"),
    )
    # --no-metadata: the planted bad emails are for Zoho (the sandbox) to skip, so they end
    # in failed.csv; the check against the org's fields would hold them back before sending
    first = zbulk_cmd(
        "job",
        "import",
        str(src),
        "--no-metadata",
        "--module",
        "Leads",
        "--operation",
        "insert",
        "--yes",
    )
    table: list[list[Any]] = []

    def record() -> rec.ImportRecord | None:
        found = rec.all_records(env)
        return found[0] if found else None

    def count(path: str, answered: bool = False) -> int:
        return sum(r.path == path and (r.status != 0 or not answered) for r in server.requests)

    def settle(args: list[str]) -> list[str]:
        """The user's check of unknown parts, as zbulk's hint says."""
        r = record()
        extra: list[str] = []
        for part in r.unknown if r else []:
            found = server.created_from.get(part.sha256, [])
            if found:
                extra += ["--part-job", f"{part.number}={found[0]}"]
            elif "--recreate-unknown" not in extra:
                extra.append("--recreate-unknown")
        return args + extra

    def records_made() -> list[dict[str, str]]:
        while True:  # once the sandbox has answered every request
            while server.in_flight:
                time.sleep(0.01)
            try:
                return list(server.records["Leads"].values())
            except RuntimeError:  # a create being processed
                continue

    def created_rows() -> tuple[int, int]:
        seen: dict[str, int] = {}
        for values in records_made():
            key = values.get("Description", "").split("\n")[0]
            seen[key] = seen.get(key, 0) + 1
        return len(seen), sum(n - 1 for n in seen.values())

    try:
        for n in range(1, kills + 1):
            r = record()
            all_created = r is not None and all(p.has_job or p.unknown for p in r.parts)
            kind = "watch" if all_created else rng.choice(KINDS[:3])
            base = first if r is None else zbulk_cmd("job", "import", "--resume", r.id, "--yes")
            if kind == "watch":
                base = [*base, "--watch", "--allow-skipped"]
            cmd = settle(base) if r is not None else base
            uploads, creates = count(UPLOAD), count(CREATE)
            if kind == "upload":
                server.add_fault(Fault("stall", delay=0.6, times=None, path_prefix=UPLOAD))
            if kind == "create":
                server.add_fault(Fault("stall", delay=0.5, times=None, path_prefix=CREATE))
            proc = subprocess.Popen(
                cmd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            deadline = time.monotonic() + 120
            wait_more = rng.random() * 1.0
            watch_started = None
            while proc.poll() is None and time.monotonic() < deadline:
                if kind == "upload" and count(UPLOAD) > uploads:
                    time.sleep(rng.random() * 0.4)
                    break
                if kind == "between" and count(UPLOAD, answered=True) > uploads:
                    break
                if kind == "create" and count(CREATE) > creates:
                    break
                if kind == "watch":
                    r2 = record()
                    if r2 is not None and all(p.has_job for p in r2.parts):
                        watch_started = watch_started or time.monotonic()
                        if time.monotonic() - watch_started > wait_more:
                            break
                time.sleep(0.002)
            killed = proc.poll() is None
            if killed:
                os.kill(proc.pid, signal.SIGKILL)
            _, err = proc.communicate()
            server.clear_faults()
            time.sleep(0.7)  # a stalled request is answered now (a stalled create: the job)
            r = record()
            rows_made, doubled = created_rows()
            with_job = sum(p.has_job for p in r.parts) if r else 0
            unknown = len(r.unknown) if r else 0
            moment = kind if killed else f"{kind} (ended first: {proc.returncode})"
            parts = f"{with_job}/{len(r.parts) if r else '?'}"
            table.append([n, moment, parts, unknown, rows_made, doubled])
            if not killed and proc.returncode not in (0, 2, 6):
                print(err.decode()[-800:], file=sys.stderr)
        for _ in range(10):  # then --resume until done
            r = record()
            assert r is not None
            cmd = settle(
                zbulk_cmd("job", "import", "--resume", r.id, "--yes", "--watch", "--allow-skipped")
            )
            done = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True)
            if done.returncode == 0:
                break
            print(done.stderr.decode()[-800:], file=sys.stderr)
        r = record()
        assert r is not None
        out = work / "out"
        results = zbulk_cmd("job", "results", "--import", r.id, "--output-dir", str(out), "--force")
        done = subprocess.run(results, env=env, capture_output=True)
        if done.returncode != 0:
            print(done.stderr.decode()[-800:], file=sys.stderr)
        failed: set[str] = set()
        with (out / f"{r.id}-Leads-failed.csv").open(newline="") as fh:
            for row in list(csv.reader(fh))[1:]:
                failed.add(row[3].split("\n")[0])
        counts: dict[str, int] = {}
        for values in records_made():
            key = values.get("Description", "").split("\n")[0]
            counts[key] = counts.get(key, 0) + 1
        duplicates = sum(v - 1 for v in counts.values())
        lost = sum(
            1 for i in range(1, rows + 1) if f"row {i}" not in counts and f"row {i}" not in failed
        )
        both = sum(1 for key in failed if key in counts)
        twice = sum(len(v) - 1 for v in server.created_from.values())
        table.append(
            [
                "end",
                "resumed until done",
                f"{len(r.parts)}/{len(r.parts)}",
                0,
                len(counts),
                duplicates,
            ]
        )
        print(
            f"{'kill':>5}  {'moment':<28}{'parts with a job':>17}{'unknown':>9}"
            f"{'rows created':>14}{'duplicates':>12}"
        )
        for row in table:
            print(f"{row[0]!s:>5}  {row[1]:<28}{row[2]:>17}{row[3]:>9}{row[4]:>14,}{row[5]:>12}")
        print(
            f"rows: {rows:,}; created once: {len(counts) - duplicates:,}; in failed.csv: "
            f"{len(failed):,}; duplicates: {duplicates}; lost: {lost}; both created and "
            f"failed: {both}; parts created twice: {twice}; exit of the last resume: "
            f"{done.returncode}"
        )
        ok = duplicates == 0 and lost == 0 and both == 0 and twice == 0
        return table, ok
    finally:
        server.stop()


# -- scale ---------------------------------------------------------------------------------


def worker(kind: str, path: str, extra: str) -> None:
    """In a fresh process: one measured step; prints JSON figures."""
    import json
    import time
    from pathlib import Path

    if kind == "split":
        from zbulk.import_plan import prepare
        from zbulk.jobs.importing import plan_import

        started = time.perf_counter()
        plan = prepare(Path(path), module="Leads", operation="insert", one_file=False)
        record = plan_import(plan, "bench", "http://127.0.0.1:1")
        took = time.perf_counter() - started
        from zbulk.jobs import import_record as rec

        Path(extra).write_text(json.dumps(record.as_json()))
        figures = {"seconds": took, "parts": len(record.parts), "records": record.records}
        del rec
    else:
        from zbulk.jobs import import_record as rec
        from zbulk.jobs.merged import merge

        record = rec.parse(Path(extra).read_bytes())
        assert record is not None
        zips = Path(path)
        started = time.perf_counter()
        merged = merge(record, lambda p: zips / f"{p.number}.zip", zips / "out", True)
        took = time.perf_counter() - started
        figures = {"seconds": took, "rows": merged.rows, "failed": merged.failed}
    peak, source = peak_kib()
    figures.update(peak_kib=peak, peak_source=source)
    print(json.dumps(figures))


def scale_bench(rows: int, work: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    import csv
    import io
    import json
    import subprocess
    import time
    import zipfile

    from zbulk.jobs import import_record as rec

    src = work / "huge.csv"
    started = time.perf_counter()
    write_rows(src, rows, width=250)
    print(
        f"wrote {src.stat().st_size / 1e6:,.0f} MB, {rows:,} rows in "
        f"{time.perf_counter() - started:.1f}s"
    )
    record_path = work / "record.json"

    def run(*args: str) -> dict[str, Any]:
        done = subprocess.run(
            [sys.executable, __file__, "--worker", *args], capture_output=True, text=True
        )
        if done.returncode != 0:
            sys.exit(f"worker failed: {done.stderr[-1500:]}")
        return dict(json.loads(done.stdout.splitlines()[-1]))

    split_figures = run("split", str(src), str(record_path))
    record = rec.parse(record_path.read_bytes())
    assert record is not None
    zips = work / "zips"
    zips.mkdir()
    for part in record.parts:  # each part's result file, as Zoho writes it
        part.state, part.job_id = rec.COMPLETED, str(4150868000007000000 + part.number)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(["Last_Name", "Email", "Company", "STATUS", "RECORD_ID", "ERRORS"])
        for i in range(part.first_row, part.last_row + 1):
            if i % 100 == 0:
                writer.writerow([f"Name{i}", "x", "y", "skipped", "", "INVALID_DATA-Email"])
            else:
                writer.writerow([f"Name{i}", "x", "y", "added", str(4150868000020000000 + i), ""])
        with zipfile.ZipFile(zips / f"{part.number}.zip", "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr(f"Leads-part{part.number}.csv", buffer.getvalue().encode("utf-8-sig"))
    record_path.write_text(json.dumps(record.as_json()))
    merge_figures = run("merge", str(zips), str(record_path))
    return split_figures, merge_figures


def main() -> None:
    import argparse
    import tempfile
    from pathlib import Path

    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(*sys.argv[2:5])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--rows", type=int, default=120_000)
    parser.add_argument("--seed", type=int, default=25)
    parser.add_argument("--scale-rows", type=int, default=1_000_000)
    parser.add_argument("--only", choices=("kill", "scale"))
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    good = True
    with tempfile.TemporaryDirectory(prefix="zbulk-bench-") as tmp:
        work = Path(tmp)
        if args.only != "scale":
            (work / "kill").mkdir()
            _, ok = kill_bench(args.rows, args.kills, args.seed, work / "kill")
            print("kill and resume:", "nothing lost, nothing doubled" if ok else "FAILED")
            good &= ok
        if args.only != "kill":
            (work / "scale").mkdir()
            split_f, merge_f = scale_bench(args.scale_rows, work / "scale")
            for name, f, goal in (
                ("pre-flight + split", split_f, SPLIT_SECONDS),
                ("merged results", merge_f, MERGE_SECONDS),
            ):
                mib = f["peak_kib"] / 1024
                print(
                    f"{name:<20} {f['seconds']:6.2f} s (goal {goal:g} s, ratio "
                    f"{f['seconds'] / goal:.2f})  peak {mib:6.1f} MiB (goal {GOAL_MIB:g}, "
                    f"ratio {mib / GOAL_MIB:.2f}, {f['peak_source']})  {f}"
                )
                good &= f["seconds"] <= goal * SLACK and mib <= GOAL_MIB
    if args.check and not good:
        sys.exit(1)


if __name__ == "__main__":
    main()
