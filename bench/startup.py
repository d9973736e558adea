"""Start-up: every invocation and every Tab press pays it.

    python bench/startup.py [--runs N]

Each command runs as a fresh process beside `python -c "import typer"` measured in the same
rounds (rotating order), and `job show --json` (with ZBULK_TOKEN) beside the minimal
requests script. Goals (issue 6): --version within 1.3x and a completion request within
1.5x of importing typer; job show --json within 1.3x of the minimal script.
"""

from __future__ import annotations

import argparse
import sys

from _common import clean_env, compare_show, paired, zbulk_cmd

from zbulk import history
from zbulk.sandbox import DEMO_JOBS, Sandbox


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    import tempfile

    with tempfile.TemporaryDirectory() as state:
        env = clean_env(ZBULK_STATE_DIR=state)
        for n, job in enumerate(DEMO_JOBS.values()):
            scope = history.Scope.of("default", "https://www.zohoapis.com")
            history.record(job, {"status": "COMPLETED"}, scope, env=env, now=float(n))
        complete = [
            "env",
            "_ZBULK_COMPLETE=complete_bash",
            "COMP_WORDS=zbulk job show ",
            "COMP_CWORD=3",
            *zbulk_cmd(),
        ]
        paired(
            {
                'python -c "import typer"': [sys.executable, "-c", "import typer"],
                "zbulk --version": zbulk_cmd("--version"),
                "zbulk --help": zbulk_cmd("--help"),
                "zbulk job show <Tab> (bash)": complete,
            },
            baseline='python -c "import typer"',
            runs=args.runs,
            env=env,
        )
    print()
    with Sandbox() as server:
        compare_show(server, DEMO_JOBS["upsert"], args.runs)


if __name__ == "__main__":
    main()
