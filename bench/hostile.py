"""The hostile suite's figures, on whole `zbulk` commands in fresh processes:

    python bench/hostile.py [--rows N] [--preflight-only] [--check]

1. Peak memory of `zbulk job results --failed` and `--failed --json` on a result ZIP of
   N skipped rows (default 1,500,000: ~120 MB of CSV, a few MB compressed, within the ZIP
   bomb caps), generated on the fly into a temporary directory. Each command runs in a fresh
   Python process that runs zbulk's entry point as the script does and reads its own
   VmHWM before exiting (ru_maxrss would include the parent's peak). Goal: <= 80 MiB.
2. Deadlines: `zbulk job show --request-timeout 2` against a server trickling one byte
   every 0.2 s (goal <= 3 s, exit 5), and `zbulk job watch --timeout 3` against
   `503 Retry-After: 1000000000` (goal <= 5 s, exit 124). Both the wall clock from exec to
   exit and the time from the first request to exit are shown; the goals are judged on
   the second, which is what the deadlines bound (start-up alone takes over a second on a
   machine shared by several test runs).

3. The import pre-flight on hostile files at Zoho's 25 MB limit (25 x 1024 x 1024 bytes),
   `zbulk job import FILE --module Leads --operation insert --dry-run` in a fresh process
   as in 1: a file of a header and blank lines, and a single line without a line end.
   Both are refused (exit 2: a header with no records; a header row past its 1 MiB cap),
   the first after reading the whole file (runs of blank lines are skipped in C), the
   second after reading 1 MiB. Goals: <= 80 MiB peak RSS and <= 2 s, judged on the time
   from the command's start (zbulk's entry point) to its exit; the wall clock from exec is
   shown too. For information (no goal): a header and one record just under 25 MB.

The server is the hostile suite's (tests/hostile/server.py). Exits 0 whatever the
figures, unless --check is given and a goal is missed (then 1).
"""

from __future__ import annotations

import sys
from typing import Any

GOAL_MIB = 80.0
GOAL_PREFLIGHT_S = 2.0
LIMIT = 25 * 1024 * 1024
GOAL_SHOW = 3.0
GOAL_WATCH = 5.0
JOB = "4150868000000000901"


def worker(report: str, argv: list[str]) -> None:
    """In a fresh process: zbulk as its script runs it (zbulk.__main__.run), stdout to
    /dev/null; then this process's own peak RSS."""
    import gc
    import json
    import os

    gc.disable()
    import time

    from zbulk.cli import main

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.dup2(devnull, sys.stderr.fileno())
    began = time.perf_counter()
    code = main(argv)
    took = time.perf_counter() - began
    sys.stdout.flush()
    peak = 0
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                peak = int(line.split()[1])
    with open(report, "w", encoding="utf-8") as out:
        json.dump({"code": int(code), "peak_kib": peak, "seconds": took}, out)
    os._exit(int(code))


def main() -> None:
    import argparse
    import json
    import subprocess
    import tempfile
    import time
    from pathlib import Path

    from _common import ROOT, clean_env, compile_sources, zbulk_cmd

    sys.path.insert(0, str(ROOT / "tests"))
    from hostile.files import many_rows_zip
    from hostile.server import HostileServer, answer, job_doc, trickle

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_500_000, help="skipped rows in the ZIP")
    parser.add_argument("--check", action="store_true", help="exit 1 if a goal is missed")
    parser.add_argument("--preflight-only", action="store_true", help="only the pre-flight cases")
    args = parser.parse_args()
    compile_sources()
    path = f"/crm/bulk/v8/write/{JOB}"
    missed = preflight()
    if args.preflight_only:
        print("goals: " + ("all met" if not missed else "MISSED: " + "; ".join(missed)))
        sys.exit(1 if args.check and missed else 0)
    with tempfile.TemporaryDirectory(prefix="zbulk-hostile-") as name, HostileServer() as server:
        tmp = Path(name)
        env = clean_env(
            ZBULK_API_DOMAIN=server.url,
            ZBULK_TOKEN="bench-token",
            ZBULK_CONFIG_DIR=str(tmp / "config"),
            ZBULK_STATE_DIR=str(tmp / "state"),
        )
        started = time.perf_counter()
        zip_path = many_rows_zip(tmp / f"{JOB}.zip", args.rows)
        data = zip_path.read_bytes()
        built = time.perf_counter() - started
        server.route(path, answer(job_doc(JOB, f"{server.url}/download/{JOB}.zip")))
        server.route("/download/", answer(data, content_type="application/octet-stream"))
        csv_mib = zipfile_size(zip_path) / 2**20
        print(
            f"result ZIP: {args.rows:,} skipped rows, {len(data) / 2**20:.1f} MiB compressed, "
            f"{csv_mib:.0f} MiB of CSV (built in {built:.1f} s)"
        )
        print(f"{'command':<52}{'exit':>5}{'wall s':>9}{'peak MiB':>10}")
        for label in ("--failed", "--failed --json"):
            argv = ["job", "results", *label.split(), JOB]
            report = tmp / "report.json"
            began = time.perf_counter()
            done = subprocess.run(
                [sys.executable, __file__, "--worker", str(report), *argv],
                env=env,
                stderr=subprocess.PIPE,
            )
            took = time.perf_counter() - began
            if not report.exists():
                sys.exit(f"zbulk {' '.join(argv)} failed: {done.stderr.decode()[-800:]}")
            figures = json.loads(report.read_text(encoding="utf-8"))
            report.unlink()
            peak = figures["peak_kib"] / 1024
            print(
                f"{'zbulk job results ' + label:<52}{figures['code']:>5}{took:>9.1f}{peak:>10.1f}"
            )
            if figures["code"] != 0 or peak > GOAL_MIB:
                missed.append(f"{label}: exit {figures['code']}, {peak:.1f} MiB")

        server.route(path, trickle(json.dumps(job_doc(JOB)).encode(), 0.2))
        server.seen.clear()
        show = timed(zbulk_cmd("--request-timeout", "2", "job", "show", JOB), env, server)
        server.route(path, answer({"code": "BUSY"}, 503, {"Retry-After": "1000000000"}))
        server.seen.clear()
        watch = timed(zbulk_cmd("job", "watch", "--timeout", "3", JOB), env, server)
        print(f"{'':<52}{'exit':>5}{'wall s':>9}{'from 1st request s':>20}")
        for label, (code, took, since), want, goal in (
            ("zbulk --request-timeout 2 job show (trickle)", show, 5, GOAL_SHOW),
            ("zbulk job watch --timeout 3 (Retry-After: 1e9)", watch, 124, GOAL_WATCH),
        ):
            print(f"{label:<52}{code:>5}{took:>9.2f}{since:>20.2f}")
            if code != want or since > goal:
                missed.append(f"{label}: exit {code} (want {want}), {since:.2f} s (goal {goal} s)")
    print("goals: " + ("all met" if not missed else "MISSED: " + "; ".join(missed)))
    if args.check and missed:
        sys.exit(1)


def preflight() -> list[str]:
    """Section 3: the pre-flight on hostile 25 MB files; the goals missed."""
    import json
    import subprocess
    import tempfile
    import time
    from pathlib import Path

    from _common import clean_env

    missed = []
    with tempfile.TemporaryDirectory(prefix="zbulk-hostile-") as name:
        tmp = Path(name)
        env = clean_env(
            ZBULK_API_DOMAIN="http://127.0.0.1:9",
            ZBULK_TOKEN="bench-token",
            ZBULK_CONFIG_DIR=str(tmp / "config"),
            ZBULK_STATE_DIR=str(tmp / "state"),
            ZBULK_ORG_ID="1",
        )
        header = b"Last_Name,Email\n"
        cases = (
            ("blank.csv", "header + blank lines", header, b"\n", 2, True),
            ("line.csv", "one line, no line end", b"", b"x", 2, True),
            ("record.csv", "header + one record (information)", header, b"y", 0, False),
        )
        print(
            f"\n{'pre-flight of a 25 MB file':<40}{'exit':>5}{'command s':>11}{'wall s':>8}"
            f"{'peak MiB':>10}"
        )
        for file_name, label, head, fill, want, judged in cases:
            path = tmp / file_name
            with path.open("wb") as fh:
                fh.write(head)
                left = LIMIT - len(head) - (1 if file_name == "record.csv" else 0)
                block = fill * (1 << 20)
                while left > 0:
                    fh.write(block[: min(left, len(block))])
                    left -= len(block)
                if file_name == "record.csv":
                    fh.write(b"\n")
            assert path.stat().st_size == LIMIT
            argv = [
                "job",
                "import",
                str(path),
                "--module",
                "Leads",
                "--operation",
                "insert",
                "--dry-run",
            ]
            report = tmp / "report.json"
            began = time.perf_counter()
            subprocess.run([sys.executable, __file__, "--worker", str(report), *argv], env=env)
            took = time.perf_counter() - began
            figures = json.loads(report.read_text(encoding="utf-8"))
            report.unlink()
            peak = figures["peak_kib"] / 1024
            print(
                f"{label:<40}{figures['code']:>5}{figures['seconds']:>11.2f}{took:>8.2f}"
                f"{peak:>10.1f}"
            )
            bad = figures["code"] != want or peak > GOAL_MIB
            if judged and (bad or figures["seconds"] > GOAL_PREFLIGHT_S):
                missed.append(
                    f"pre-flight {label}: exit {figures['code']} (want {want}), "
                    f"{peak:.1f} MiB, {figures['seconds']:.2f} s"
                )
    return missed


def zipfile_size(path: object) -> int:
    import zipfile

    with zipfile.ZipFile(path) as archive:  # type: ignore[arg-type]
        return sum(i.file_size for i in archive.infolist())


def timed(cmd: list[str], env: dict[str, str], server: Any) -> tuple[int, float, float]:
    """Exit code, seconds from exec to exit, and from the first request to exit."""
    import subprocess
    import time

    began = time.monotonic()
    done = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ended = time.monotonic()
    first = server.seen[0].at if server.seen else began
    return done.returncode, ended - began, ended - first


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3:])
    else:
        main()
