"""The import pre-flight against the org's fields: how much of what Zoho would skip it finds,
and how fast it runs.

    python bench/preflight.py [--records N] [--runs N] [--check]

Accuracy: a generated RECORDS-row Leads CSV of 30 columns with 12 kinds of bad value planted
at known rows (``KINDS``; each row carries its number in ``Street``), and values that only
draw warnings (picklist values outside the list, odd phone numbers) at others. It is imported
into the sandbox twice: once with ``--no-metadata`` (uploaded; the sandbox's verdicts, from
its own code over ``zbulk.sandbox.modules``, say which rows it skips), once with the
pre-flight (nothing is sent; the rows it would reject are in ``leads-rejected.csv``). The
pre-flight shares no validation code with the sandbox (tests/test_preflight.py checks that
neither imports the other). Only refusals count as flags, never warnings. Goals: the
pre-flight flags at least 99% of the rows the sandbox skips, and no row the sandbox accepts.

Speed: in a fresh process (its own time and peak RSS, VmHWM: see bench/_peak.py), with the
metadata already kept in the state directory, --runs times: ``prepare`` (the file's own
pre-flight, which reads the whole file once) and then the checks against the fields (every
one of the 750,000 cells). Goals: at most 2.0 s (median) and 80 MiB. Machines are noisy, so
the ratio to a baseline measured alongside in the same process is printed too: one plain
``csv.reader`` pass over the same file.

Exits 0 whatever the figures, unless --check is given and a goal is missed (then 1).
"""

from __future__ import annotations

import sys

from _peak import peak_kib

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

RECORDS = 25_000
GOAL_SECONDS = 2.0
GOAL_MIB = 80.0
GOAL_FOUND = 0.99
EVERY = 97  # a bad value every EVERY-th row, the kinds taking turns
COLUMNS = (
    "Owner",
    "Company",
    "Salutation",
    "First_Name",
    "Last_Name",
    "Designation",
    "Email",
    "Secondary_Email",
    "Phone",
    "Mobile",
    "Website",
    "Lead_Source",
    "Lead_Status",
    "Industry",
    "No_of_Employees",
    "Annual_Revenue",
    "Rating",
    "Email_Opt_Out",
    "Street",
    "City",
    "State",
    "Zip_Code",
    "Country",
    "Date_3",
    "Follow_Up_At",
    "Visitor_Score",
    "Conversion_Rate",
    "Discount",
    "Budget_Ratio",
    "Referred_Contact",
)
# The 12 kinds of bad value: (name, column, the bad value for row n). The 12th repeats an
# earlier row's email in another case (Email is unique, not case-sensitive).
KINDS = (
    ("mandatory value empty", "Last_Name", lambda n: ""),
    ("text longer than the field", "First_Name", lambda n: "X" * 41),
    ("integer not a number", "No_of_Employees", lambda n: "twelve"),
    ("bigint not a number", "Visitor_Score", lambda n: "n/a"),
    ("double not a number", "Conversion_Rate", lambda n: "0.5 approx"),
    ("currency not a number", "Annual_Revenue", lambda n: "$1000"),
    ("percent not a number", "Discount", lambda n: "15%"),
    ("decimal not a number", "Budget_Ratio", lambda n: "1.2.3"),
    ("invalid email", "Email", lambda n: f"lead{n}.example.com"),
    ("date not in its format", "Date_3", lambda n: f"{1 + n % 28:02d}/12/2024"),
    ("lookup id not digits", "Referred_Contact", lambda n: "Jane Doe"),
    ("duplicate unique value", "Email", lambda n: f"LEAD{n - 1:05d}@EXAMPLE.COM"),
)
WARNED = {"Lead_Source": "Billboard", "Phone": "call reception", "Rating": "Hot"}


def kind_of(n: int) -> int | None:
    """The kind of bad value planted in row ``n`` (1 for the first), or None."""
    return (n // EVERY) % len(KINDS) if n % EVERY == 0 else None


def write_csv(path: Path, records: int) -> None:
    import csv

    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(COLUMNS)
        for n in range(1, records + 1):
            row = {
                "Owner": "4150868000000225013",
                "Company": f"Company {n % 997}",
                "Salutation": "Dr." if n % 5 == 0 else "Ms.",
                "First_Name": f"First{n}",
                "Last_Name": f"Last{n}",
                "Designation": "Buyer",
                "Email": f"lead{n:05d}@example.com",
                "Secondary_Email": f"other{n}@example.org",
                "Phone": f"+1 555 {n % 1000:03d} {n % 10000:04d}",
                "Mobile": f"+44 7700 {n % 1000000:06d}",
                "Website": f"https://www.company{n % 997}.example",
                "Lead_Source": "Web Download",
                "Lead_Status": "Not Contacted",
                "Industry": "Retail",
                "No_of_Employees": str(n % 5000),
                "Annual_Revenue": f"{(n * 7919) % 1_000_000}.50",
                "Rating": "Active",
                "Email_Opt_Out": "false",
                "Street": f"{n} Main Street",
                "City": "Leeds",
                "State": "West Yorkshire",
                "Zip_Code": f"LS{n % 30} 1AA",
                "Country": "United Kingdom",
                "Date_3": f"2024-{1 + n % 12:02d}-{1 + n % 28:02d}",
                "Follow_Up_At": "2024-05-01T09:30:00+01:00",
                "Visitor_Score": str(n * 1_000_003),
                "Conversion_Rate": f"0.{n % 10000:04d}",
                "Discount": f"{n % 100}.5",
                "Budget_Ratio": f"{n % 7}.125",
                "Referred_Contact": str(4150868000020000000 + n),
            }
            kind = kind_of(n)
            if kind is not None:
                _, column, bad = KINDS[kind]
                row[column] = bad(n)
            elif n % EVERY == 50:  # a value that only draws a warning
                column = list(WARNED)[(n // EVERY) % len(WARNED)]
                row[column] = WARNED[column]
            writer.writerow(row[c] for c in COLUMNS)


def worker(report: str, rest: list[str]) -> None:
    """In a fresh process: the baseline pass and the pre-flight, --runs times each."""
    import csv
    import time
    from pathlib import Path

    from zbulk import metadata
    from zbulk.commands.preflight import _check
    from zbulk.import_plan import prepare

    csv_path, runs, org = Path(rest[0]), int(rest[1]), rest[2]
    imported, source = peak_kib()
    base, times, checks = [], [], []
    for _ in range(runs):
        started = time.perf_counter()
        with csv_path.open(encoding="utf-8", newline="") as fh:
            rows = sum(1 for _ in csv.reader(fh))
        base.append(time.perf_counter() - started)
        started = time.perf_counter()
        plan = prepare(csv_path, module="Leads", operation="insert")
        meta = metadata.load(None, org, rest[3], "Leads", warn=sys.exit)  # kept: no client
        assert meta is not None and meta.from_cache
        middle = time.perf_counter()
        found = _check(plan, meta)
        times.append(time.perf_counter() - started)
        checks.append(time.perf_counter() - middle)
        assert found.records == rows - 1
    peak, source = peak_kib()
    import json

    with open(report, "w", encoding="utf-8") as fh:
        json.dump(
            {
                "base": base,
                "times": times,
                "checks": checks,
                "peak_kib": peak,
                "imported_kib": imported,
                "source": source,
                "rejected": len(found.rejected),
            },
            fh,
        )


def skipped_rows(server: Any, job_id: str) -> set[int]:
    """The rows (1 for the first) the sandbox's result file says were skipped."""
    import csv
    import io
    import zipfile

    import requests

    url = server.download_url(job_id)
    answer = requests.get(
        url, headers={"Authorization": f"Zoho-oauthtoken {server.token}"}, timeout=60
    )
    answer.raise_for_status()
    with zipfile.ZipFile(io.BytesIO(answer.content)) as archive:
        text = archive.read(archive.namelist()[0]).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    status = rows[0].index("STATUS")
    return {n for n, row in enumerate(rows[1:], 1) if row[status] == "skipped"}


def flagged_rows(path: Path) -> set[int]:
    """The rows in the pre-flight's rejected file, by the number each carries in Street."""
    import csv

    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        street = next(reader).index("Street")
        return {int(row[street].split()[0]) for row in reader}


def main() -> None:
    import argparse
    import json
    import statistics
    import subprocess
    import tempfile
    from pathlib import Path

    from _common import clean_env, compile_sources, zbulk_cmd

    from zbulk.sandbox import Sandbox
    from zbulk.sandbox.jobs import ORG_ID

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=RECORDS, help="records in the CSV")
    parser.add_argument("--runs", type=int, default=3, help="speed runs (default 3)")
    parser.add_argument("--check", action="store_true", help="exit 1 if a goal is missed")
    args = parser.parse_args()
    if args.runs < 1 or not EVERY * len(KINDS) <= args.records <= RECORDS:
        parser.error(f"need --runs >= 1 and {EVERY * len(KINDS)} <= --records <= {RECORDS}")

    compile_sources()
    with tempfile.TemporaryDirectory(prefix="zbulk-bench-") as name, Sandbox() as server:
        tmp = Path(name)
        csv_path = tmp / "leads.csv"
        write_csv(csv_path, args.records)
        server.import_duration = 0
        env = clean_env(
            ZBULK_API_DOMAIN=server.url,
            ZBULK_TOKEN=server.token,
            ZBULK_CONFIG_DIR=str(tmp / "config"),
            ZBULK_STATE_DIR=str(tmp / "state"),
            NO_COLOR="1",
        )
        common = (
            "job",
            "import",
            str(csv_path),
            "--module",
            "Leads",
            "--operation",
            "insert",
            "--yes",
            "--org",
            ORG_ID,
        )
        done = subprocess.run(
            zbulk_cmd(*common, "--no-metadata"), env=env, capture_output=True, text=True
        )
        if done.returncode != 0:
            sys.exit(f"the import without the pre-flight failed: {done.stderr[-800:]}")
        skipped = skipped_rows(server, done.stdout.split()[0])
        uploads = server.request_count("/crm/v8/upload")
        done = subprocess.run(
            zbulk_cmd(*common, "--output-dir", str(tmp / "out")),
            env=env,
            capture_output=True,
            text=True,
        )
        if done.returncode != 2 or server.request_count("/crm/v8/upload") != uploads:
            sys.exit(
                f"the pre-flight did not stop the import ({done.returncode}): {done.stderr[-800:]}"
            )
        flagged = flagged_rows(tmp / "out" / "leads-rejected.csv")

        report = tmp / "report.json"
        cmd = [
            sys.executable,
            __file__,
            "--worker",
            str(report),
            str(csv_path),
            str(args.runs),
            ORG_ID,
            server.url,
        ]
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if done.returncode != 0 or not report.exists():
            sys.exit(f"the speed worker failed ({done.returncode}): {done.stderr[-800:]}")
        figures = json.loads(report.read_text(encoding="utf-8"))

    planted: dict[int, int] = {}
    for n in range(1, args.records + 1):
        kind = kind_of(n)
        if kind is not None:
            planted[n] = kind
    print(
        f"accuracy: {args.records:,} rows x {len(COLUMNS)} columns, a bad value every "
        f"{EVERY}th row ({len(planted):,} rows), warning-only values at others"
    )
    print(
        f"{'kind of bad value':<30}{'column':<18}{'planted':>8}{'skipped':>9}"
        f"{'flagged':>9}{'both':>6}"
    )
    for k, (label, column, _) in enumerate(KINDS):
        rows = {n for n, kind in planted.items() if kind == k}
        print(
            f"{label:<30}{column:<18}{len(rows):>8}{len(rows & skipped):>9}"
            f"{len(rows & flagged):>9}{len(rows & skipped & flagged):>6}"
        )
    others = set(range(1, args.records + 1)) - set(planted)
    print(
        f"{'(no bad value)':<30}{'':<18}{len(others):>8}{len(others & skipped):>9}"
        f"{len(others & flagged):>9}{len(others & skipped & flagged):>6}"
    )
    found = len(flagged & skipped) / len(skipped) if skipped else 1.0
    false = flagged - skipped
    print(
        f"the sandbox skipped {len(skipped):,} rows; the pre-flight flagged {len(flagged):,}: "
        f"{found:.2%} of the skipped rows, and {len(false)} row(s) the sandbox accepted"
    )

    seconds = statistics.median(figures["times"])
    base = statistics.median(figures["base"])
    ratio = statistics.median(t / b for t, b in zip(figures["times"], figures["base"], strict=True))
    peak = figures["peak_kib"] / 1024
    print(
        f"\nspeed: a fresh process, metadata kept, {args.runs} runs; peak RSS from "
        f"{figures['source']}"
    )
    print(f"{'':<40}{'median s':>9}{'ratio':>7}")
    print(f"{'baseline: one csv.reader pass':<40}{base:>9.3f}{1.0:>7.2f}")
    print(f"{'pre-flight (file + fields)':<40}{seconds:>9.3f}{ratio:>7.2f}")
    print(
        f"{'  of which the checks against fields':<40}{statistics.median(figures['checks']):>9.3f}"
    )
    print(f"peak RSS {peak:.1f} MiB ({figures['imported_kib'] / 1024:.1f} MiB after imports)")
    goals = [
        (f">= {GOAL_FOUND:.0%} of skipped rows flagged", found >= GOAL_FOUND, f"{found:.2%}"),
        ("no accepted row flagged", not false, f"{len(false)}"),
        (f"<= {GOAL_SECONDS:g} s", seconds <= GOAL_SECONDS, f"{seconds:.3f} s"),
        (f"<= {GOAL_MIB:g} MiB", peak <= GOAL_MIB, f"{peak:.1f} MiB"),
    ]
    missed = not all(ok for _, ok, _ in goals)
    verdicts = [f"{goal}: {'met' if ok else 'MISSED'} ({got})" for goal, ok, got in goals]
    print(f"\ngoals {'MISSED' if missed else 'met'}: " + "; ".join(verdicts))
    if args.check and missed:
        sys.exit(1)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3:])
    else:
        main()
