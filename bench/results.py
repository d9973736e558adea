"""`zbulk.result_file.summarise_zip` on a 25,000-row result file, beside plain zipfile + csv,
and the ``--source`` join: the result lined up with the uploaded file and all three files
written.

    python bench/results.py [--runs N] [--rows N] [--flat-rows N] [--no-cli] [--check]

The result ZIP is built as the sandbox builds its own (write_result_zip, which
build_result_zip wraps): one resource, 8 mapped columns, 5% of rows skipped with errors.
Each case runs in a FRESH Python process, so its peak RSS is its own: the process imports
what it needs, runs the case --runs times and reports the median time of one run and its
peak RSS (VmHWM, not ru_maxrss: see peak_kib). Cases: the plain summary, the summary and
then every failed row read again as a stream (--failed), output_dir (--output-dir:
success/failed CSVs written to a temp dir), and a baseline that only imports zipfile and
csv and iterates the rows with csv.reader. Unless --no-cli, the whole `zbulk job results`
command (fetching the document, downloading the ZIP from the sandbox, summarising,
printing) is timed too, for information.

The join cases (issue 14) build their own inputs: an uploaded CSV of --rows rows and
JOIN_WIDTH (30) columns, and its result ZIP in Zoho's shape (the first three columns, then
STATUS, RECORD_ID, ERRORS; 5% skipped), then time summarise_zip(source=..., output_dir=...)
writing -failed.csv, -errors.csv and -created.csv. The same again with --flat-rows rows
(default ten times --rows) shows that memory does not grow with the number of rows.

Many members (issue 22): a ZIP of 500 small CSVs, all three files of each written with
--output-dir at `ulimit -n 64`; and a ZIP whose central directory lists 600,000 entries
(its end record saying 65,535), refused before zipfile reads it.

Goals: a 25,000-row result summarised in at most 1.0 s with peak memory at most 80 MiB (time
judged on the plain summary, memory on all summarise_zip cases); the 25,000-row join with all
three files written in at most 1.0 s and 80 MiB; the --flat-rows join's peak within
FLAT_MIB of the --rows join's; the 500 members written at `ulimit -n 64`; the 600,000 entries
refused (exit 2) within 1.0 s (plus 0.5 s for start-up) and 80 MiB. Exits 0 whatever the
figures, unless --check is given and a goal is missed (then 1).
"""

from __future__ import annotations

import sys

from _peak import peak_kib

# Workers import what they measure and no more: the driver's imports stay in its functions.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

GOAL_SECONDS = 1.0
GOAL_MIB = 80.0
COLUMNS = [
    "Last_Name",
    "First_Name",
    "Company",
    "Email",
    "Phone",
    "Lead_Source",
    "Lead_Status",
    "Owner",
]
CASES = {  # worker mode: what it runs
    "baseline": "zipfile + csv.reader only",
    "summary": "summarise_zip",
    "failed": "summarise_zip + failed_rows",
    "output-dir": "summarise_zip(output_dir=tmp)",
}
JOIN_WIDTH = 30
FLAT_MIB = 8.0  # the most the peak may grow from --rows to --flat-rows rows
MEMBERS = 500  # result CSVs in one ZIP, written with at most 64 files open
ENTRIES = 600_000  # central directory entries of a ZIP that must be refused unread


def worker(report: str, mode: str, rest: list[str]) -> None:
    """In a fresh process: run ``mode``; write its figures as JSON to ``report``."""
    import time

    if mode in ("cli", "cli-64"):  # the zbulk command as its script runs it (zbulk.__main__)
        import gc
        import os

        if mode == "cli-64":  # at most 64 open files, as `ulimit -n 64`
            import resource

            resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))

        gc.disable()
        from zbulk.cli import main

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        code = main(rest)
        sys.stdout.flush()
        peak, source = peak_kib()
        write_report(report, {"code": code, "peak_kib": peak, "source": source})
        os._exit(code)

    zip_path, runs, rows, out_dir = rest[0], int(rest[1]), int(rest[2]), rest[3]
    if mode == "join":
        from pathlib import Path

        from zbulk.result_file import summarise_zip
        from zbulk.user_file import open_source

        def once() -> int:
            summary = summarise_zip(
                Path(zip_path),
                output_dir=Path(out_dir),
                job_id="42",
                force=True,
                source=open_source(Path(rest[4])),
            )
            assert len(summary.files[0].written) == 3
            return sum(f.rows for f in summary.files)
    elif mode == "baseline":
        import csv
        import io
        import zipfile

        def once() -> int:
            count = 0
            with zipfile.ZipFile(zip_path) as archive:
                for info in archive.infolist():
                    with archive.open(info) as member:
                        text = io.TextIOWrapper(member, encoding="utf-8-sig", newline="")
                        for _ in csv.reader(text):
                            count += 1
            return count - 1  # the header
    else:
        from pathlib import Path

        from zbulk.result_file import summarise_zip

        def once() -> int:
            summary = summarise_zip(
                Path(zip_path),
                output_dir=Path(out_dir) if mode == "output-dir" else None,
                job_id="4150868000006801002",
                force=True,
            )
            if mode == "failed":
                failed = sum(1 for f in summary.files for _ in summary.failed_rows(f))
                assert failed == summary.failed
            return sum(f.rows for f in summary.files)

    imported, source = peak_kib()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        seen = once()
        times.append(time.perf_counter() - started)
        if seen != rows:
            sys.exit(f"{mode}: read {seen} rows, expected {rows}")
    peak, source = peak_kib()
    write_report(
        report, {"times": times, "peak_kib": peak, "imported_kib": imported, "source": source}
    )


def write_report(path: str, figures: dict[str, object]) -> None:
    import json

    with open(path, "w", encoding="utf-8") as fh:
        json.dump(figures, fh)


def run_worker(report: Path, mode: str, *rest: str, env: dict[str, str]) -> dict[str, Any]:
    """Run a worker as a fresh process; its figures, with ``wall`` (seconds, start to exit)."""
    import json
    import subprocess
    import time

    started = time.perf_counter()
    cmd = [sys.executable, __file__, "--worker", str(report), mode, *rest]
    done = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - started
    if (done.returncode != 0 and not mode.startswith("cli")) or not report.exists():
        sys.exit(f"the {mode} worker failed ({done.returncode}): {done.stderr.decode()[-800:]}")
    figures: dict[str, Any] = json.loads(report.read_text(encoding="utf-8"))
    report.unlink()
    return {**figures, "wall": wall}


def main() -> None:
    import argparse
    import statistics
    import tempfile
    from pathlib import Path

    from _common import clean_env, compile_sources

    from zbulk.sandbox import ResultFile, write_result_zip

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5, help="runs per case (default 5)")
    parser.add_argument("--rows", type=int, default=25_000, help="rows in the result file")
    parser.add_argument(
        "--flat-rows",
        type=int,
        default=0,
        help="rows of the second join, to show memory is flat (default: 10 x --rows)",
    )
    parser.add_argument("--no-cli", action="store_true", help="skip the whole-command timing")
    parser.add_argument("--check", action="store_true", help="exit 1 if a goal is missed")
    args = parser.parse_args()
    if args.runs < 1 or args.rows < 20:
        parser.error("need --runs >= 1 and --rows >= 20")

    compile_sources()
    skipped = args.rows // 20
    updated = args.rows // 5
    counts = {"added": args.rows - skipped - updated, "updated": updated, "skipped": skipped}
    env = clean_env()
    with tempfile.TemporaryDirectory(prefix="zbulk-bench-") as name:
        tmp = Path(name)
        zip_path = tmp / "4150868000006801002.zip"
        with zip_path.open("wb") as fh:
            write_result_zip([ResultFile("leads_2024_q3.csv", COLUMNS, counts, "Leads")], fh)
        size = zip_path.stat().st_size
        figures = {}
        for mode in CASES:
            rest = (str(zip_path), str(args.runs), str(args.rows), str(tmp / "out"))
            figures[mode] = run_worker(tmp / "report.json", mode, *rest, env=env)
        cli = None if args.no_cli else whole_command(args.runs, tmp)
        joins = {}
        for rows, runs in ((args.rows, args.runs), (args.flat_rows or 10 * args.rows, 1)):
            result, source = join_inputs(tmp, rows)
            rest = (str(result), str(runs), str(rows), str(tmp / "join-out"), str(source))
            joins[rows] = run_worker(tmp / "report.json", "join", *rest, env=env)
            result.unlink()
            source.unlink()

        many = many_members(tmp, env)

    base = figures["baseline"]
    print(
        f"{args.rows:,}-row result ZIP ({len(COLUMNS)} mapped columns, {skipped:,} skipped, "
        f"{size / 1024:.0f} KiB); each case a fresh process, median of {args.runs} runs; "
        f"peak RSS from {base['source']}"
    )
    print(
        f"{'case':<34}{'median s':>9}{'best s':>8}{'x base':>8}{'peak MiB':>10}{'x base':>8}"
        f"{'after import':>14}"
    )
    for mode, label in CASES.items():
        f = figures[mode]
        median, peak = statistics.median(f["times"]), f["peak_kib"] / 1024
        ratio, peak_ratio = (
            median / statistics.median(base["times"]),
            peak * 1024 / base["peak_kib"],
        )
        print(
            f"{label:<34}{median:>9.3f}{min(f['times']):>8.3f}{ratio:>8.2f}{peak:>10.1f}"
            f"{peak_ratio:>8.2f}{f['imported_kib'] / 1024:>14.1f}"
        )
    if cli is not None:
        print(
            f"\nthe whole command against the sandbox (the large demo job), fresh processes, "
            f"median of {args.runs}; wall time includes start-up; for information:"
        )
        print(f"{'command':<34}{'median s':>9}{'peak MiB':>10}")
        for label, (median, peak) in cli.items():
            print(f"{label:<34}{median:>9.3f}{peak:>10.1f}")

    print(
        f"\n--source join: result ZIP + uploaded CSV of {JOIN_WIDTH} columns, 5% skipped, "
        "-failed/-errors/-created.csv written; fresh process each"
    )
    print(
        f"{'rows':>10}{'runs':>6}{'median s':>10}{'best s':>8}{'peak MiB':>10}{'after import':>14}"
    )
    for rows, f in joins.items():
        print(
            f"{rows:>10,}{len(f['times']):>6}{statistics.median(f['times']):>10.3f}"
            f"{min(f['times']):>8.3f}{f['peak_kib'] / 1024:>10.1f}"
            f"{f['imported_kib'] / 1024:>14.1f}"
        )

    print("\nmany members (issue 22): fresh process each")
    print(f"{'case':<52}{'exit':>5}{'wall s':>8}{'peak MiB':>10}")
    for label, (code, wall, peak) in many.items():
        print(f"{label:<52}{code:>5}{wall:>8.2f}{peak:>10.1f}")

    seconds = statistics.median(figures["summary"]["times"])
    goals = [(f"summary <= {GOAL_SECONDS:g} s", seconds <= GOAL_SECONDS, f"{seconds:.3f} s")]
    for mode in ("summary", "failed", "output-dir"):
        peak = figures[mode]["peak_kib"] / 1024
        goals.append((f"{CASES[mode]} <= {GOAL_MIB:g} MiB", peak <= GOAL_MIB, f"{peak:.1f} MiB"))
    (small, first), (big, second) = joins.items()
    seconds = statistics.median(first["times"])
    peak, peak_big = first["peak_kib"] / 1024, second["peak_kib"] / 1024
    goals += [
        (f"join {small:,} <= {GOAL_SECONDS:g} s", seconds <= GOAL_SECONDS, f"{seconds:.3f} s"),
        (f"join {small:,} <= {GOAL_MIB:g} MiB", peak <= GOAL_MIB, f"{peak:.1f} MiB"),
        (
            f"join {big:,} peak within {FLAT_MIB:g} MiB of {small:,}",
            peak_big - peak <= FLAT_MIB,
            f"{peak:.1f} -> {peak_big:.1f} MiB",
        ),
    ]
    (code, _, _), (refused, wall, peak) = many.values()
    goals += [
        (f"{MEMBERS} members at ulimit -n 64", code == 0, f"exit {code}"),
        (
            f"{ENTRIES:,} entries refused in <= {GOAL_SECONDS:g} s and {GOAL_MIB:g} MiB",
            refused == 2 and wall <= GOAL_SECONDS + 0.5 and peak <= GOAL_MIB,
            f"exit {refused}, {wall:.2f} s with start-up, {peak:.1f} MiB",
        ),
    ]
    missed = not all(ok for _, ok, _ in goals)
    verdicts = [f"{name}: {'met' if ok else 'MISSED'} ({got})" for name, ok, got in goals]
    print(f"\ngoals {'MISSED' if missed else 'met'}: " + "; ".join(verdicts))
    if args.check and missed:
        sys.exit(1)


def many_members(tmp: Path, env: dict[str, str]) -> dict[str, tuple[int, float, float]]:
    """`zbulk job results --file` of a ZIP of MEMBERS small CSVs with --output-dir at
    `ulimit -n 64`, and of a ZIP whose central directory lists ENTRIES entries (refused
    before zipfile reads it): label -> (exit code, wall s with start-up, peak MiB)."""
    import struct
    import zipfile

    members = tmp / "members.zip"
    with zipfile.ZipFile(members, "w") as archive:
        for n in range(MEMBERS):
            rows = f"A{n},added,{n},\r\nB{n},skipped,,INVALID_DATA-Last_Name\r\n"
            archive.writestr(f"Leads-part{n}.csv", "Last_Name,STATUS,RECORD_ID,ERRORS\r\n" + rows)
    entry = struct.Struct("<4s4B4HL2L5H2L")
    central = b"".join(
        entry.pack(b"PK\x01\x02", 20, 3, 20, 0, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0, 0)
        + f"{n:06d}.csv".encode()
        for n in range(ENTRIES)
    )
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, len(central), 0, 0)
    entries = tmp / "entries.zip"
    entries.write_bytes(central + end)  # a count that lies: the entries are counted
    del central
    out: dict[str, tuple[int, float, float]] = {}
    cases = {
        f"{MEMBERS} members --output-dir at ulimit -n 64": (
            "cli-64",
            [
                "job",
                "results",
                "--file",
                str(members),
                "--output-dir",
                str(tmp / "members-out"),
                "--json",
            ],
        ),
        f"{ENTRIES:,}-entry central directory (refused)": (
            "cli",
            ["job", "results", "--file", str(entries)],
        ),
    }
    for label, (mode, argv) in cases.items():
        f = run_worker(tmp / "report.json", mode, *argv, env=env)
        out[label] = (f["code"], f["wall"], f["peak_kib"] / 1024)
    return out


def join_inputs(tmp: Path, rows: int) -> tuple[Path, Path]:
    """An uploaded CSV of ``rows`` rows and JOIN_WIDTH columns, and its result ZIP in Zoho's
    shape (the first three columns, STATUS, RECORD_ID, ERRORS), written in one pass."""
    import csv
    import io
    import zipfile

    header = [f"Field_{c:02d}" for c in range(JOIN_WIDTH)]
    header[:3] = ["Last_Name", "Email", "Company"]
    source, result = tmp / "leads.csv", tmp / "4150868000006801002.zip"
    with (
        source.open("w", encoding="utf-8", newline="") as src,
        zipfile.ZipFile(result, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("Leads-leads.csv", "w") as member,
    ):
        text = io.TextIOWrapper(member, encoding="utf-8-sig", newline="")
        up, down = csv.writer(src), csv.writer(text)
        up.writerow(header)
        down.writerow([*header[:3], "STATUS", "RECORD_ID", "ERRORS"])
        for n in range(1, rows + 1):
            cells = [f"Lead {n:06d}", f"lead{n:06d}@example.com", f"Company {n % 997}"]
            cells += [f"value {c}.{n % (c + 7)} of row {n}" for c in range(3, JOIN_WIDTH)]
            up.writerow(cells)
            if n % 20 == 0:
                status, rid, errors = (
                    "skipped",
                    "",
                    "MANDATORY_NOT_FOUND-Company:INVALID_DATA-Email",
                )
            else:
                status, rid, errors = (
                    ("updated" if n % 5 == 1 else "added"),
                    str(4150868000 + n),
                    "",
                )
            down.writerow([*cells[:3], status, rid, errors])
        text.flush()
        text.detach()
    return result, source


def whole_command(runs: int, tmp: Path) -> dict[str, tuple[float, float]]:
    """`zbulk job results` of the 25,000-row demo job: label -> (median s, peak RSS MiB)."""
    import statistics

    from _common import clean_env

    from zbulk.sandbox import DEMO_JOBS, Sandbox

    class Clock:
        now = 0.0

        def __call__(self) -> float:
            return self.now

    clock = Clock()
    job = DEMO_JOBS["large"]
    out: dict[str, tuple[float, float]] = {}
    with Sandbox(clock=clock, job_duration=60.0) as server:
        clock.now += 120.0  # every demo job has finished
        env = clean_env(
            ZBULK_API_DOMAIN=server.url,
            ZBULK_TOKEN=server.token,
            COLUMNS="120",
            ZBULK_CONFIG_DIR=str(tmp / "config"),
        )
        commands = {
            "zbulk job results": ["job", "results", job],
            "zbulk job results --failed": ["job", "results", "--failed", job],
            "zbulk job results --output-dir": [
                "job",
                "results",
                "--force",
                "--output-dir",
                str(tmp / "cli-out"),
                job,
            ],
        }
        for label, argv in commands.items():
            runs_of = [
                run_worker(tmp / "report.json", "cli", *argv, env=env) for _ in range(runs + 1)
            ]
            runs_of = runs_of[1:]  # the first warmed the sandbox's ZIP and the disk cache
            if any(r["code"] != 0 for r in runs_of):
                code = next(r["code"] for r in runs_of if r["code"] != 0)
                sys.exit(f"zbulk {' '.join(argv)} exited {code}")
            out[label] = (
                statistics.median(r["wall"] for r in runs_of),
                max(r["peak_kib"] for r in runs_of) / 1024,
            )
    return out


if __name__ == "__main__":
    if len(sys.argv) > 3 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3], sys.argv[4:])
    else:
        main()
