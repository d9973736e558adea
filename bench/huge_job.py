"""The 100 resources x 500 mappings job: read and rendered, and printed as JSON.

    python bench/huge_job.py [--runs N]

In process: the rendering alone (Job.read + every renderable to a file) and the JSON line,
each beside the baseline of json.loads + json.dumps of the same document.
As commands: `zbulk job show` and `zbulk job show --json` of it from the sandbox, beside
the minimal requests script fetching it. Goals (issue 2): rendered in at most 1.5 s,
printed as JSON in at most 0.5 s.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import time

from _common import ROOT, compare_show

sys.path.insert(0, str(ROOT / "tests"))
from docs import huge_job

from zbulk.client import Fetched
from zbulk.models import Job
from zbulk.output import Output, json_line
from zbulk.sandbox import Sandbox
from zbulk.views.job import job_view


def timed(fn, runs: int) -> float:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    doc = huge_job()
    raw = json.dumps(doc).encode()
    rows = sum(len(r["field_mappings"]) for r in doc["resource"])

    def baseline() -> None:
        json.dumps(json.loads(raw))

    def render() -> None:
        out = Output(stdout=io.StringIO(), width=120)
        for part in job_view(Job.read(json.loads(raw))):
            out.print(part)

    def as_json() -> None:
        json_line(Fetched(json.loads(raw), raw))

    base = timed(baseline, args.runs)
    print(
        f"in process, {len(doc['resource'])} resources x {rows // len(doc['resource'])} "
        f"mappings ({len(raw) / 1e6:.1f} MB), median of {args.runs}:"
    )
    print(f"{'step':<36}{'median s':>10}{'ratio':>8}")
    for name, fn in (
        ("baseline json.loads+dumps", baseline),
        ("parse + render (human)", render),
        ("parse + JSON line (--json)", as_json),
    ):
        took = timed(fn, args.runs)
        print(f"{name:<36}{took:>10.3f}{took / base:>8.2f}")
    print()
    with Sandbox() as server:
        server.put_document(doc["id"], doc)
        compare_show(server, doc["id"], args.runs)


if __name__ == "__main__":
    main()
