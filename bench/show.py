"""`zbulk job show` (JSON and human) beside a minimal requests script, against the sandbox.

    python bench/show.py [--runs N]

Every command runs as a fresh process, as a user would run it; rounds rotate the order.
Goals (issue 2): --json within 1.3x of the script, the human view within 1.5x.
"""

from __future__ import annotations

import argparse

from _common import compare_show

from zbulk.sandbox import DEMO_JOBS, Sandbox


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    job = DEMO_JOBS["upsert"]
    with Sandbox() as server:
        compare_show(server, job, args.runs)


if __name__ == "__main__":
    main()
