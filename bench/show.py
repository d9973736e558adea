"""`zbulk job show` (JSON and human) beside a minimal requests script, against the sandbox.

    python bench/show.py [--runs N]

Every command runs as a fresh process, as a user would run it; rounds rotate the order.
Goals (issue 2): --json within 1.3x of the script, the human view within 1.5x.
"""

from __future__ import annotations

import argparse
import sys

from _common import ROOT, clean_env, paired, zbulk_cmd

from zbulk.sandbox import DEMO_JOBS, Sandbox


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    job = DEMO_JOBS["upsert"]
    with Sandbox() as server:
        env = clean_env(ZBULK_API_DOMAIN=server.url, ZBULK_TOKEN=server.token, COLUMNS="120")
        url = f"{server.url}/crm/bulk/v8/write/{job}"
        paired(
            {
                "minimal requests script": [
                    sys.executable,
                    str(ROOT / "bench/minimal_fetch.py"),
                    url,
                    server.token,
                ],
                "zbulk job show --json": zbulk_cmd("job", "show", "--json", job),
                "zbulk job show": zbulk_cmd("job", "show", job),
            },
            baseline="minimal requests script",
            runs=args.runs,
            env=env,
        )


if __name__ == "__main__":
    main()
