"""`zbulk job show` (JSON and human) beside a minimal requests script, against the sandbox.

    python bench/show.py [--runs N]
    .ci/secret-service python bench/show.py --keyring [--runs N]

Every command runs as a fresh process, as a user would run it; rounds rotate the order.
Goals (issue 2): --json within 1.3x of the script, the human view within 1.5x.

``--keyring`` (issue 12) compares, side by side in one run, `job show --json` with a stored
login (a Self Client login kept in the OS keyring, e.g. gnome-keyring under
.ci/secret-service), with ZBULK_TOKEN, and the minimal script. Goal: the stored login within
1.3x of the script. The stored-login command runs through ``env -u ZBULK_TOKEN`` (one more
exec, counted against it).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile

from _common import ROOT, clean_env, compare_show, paired, zbulk_cmd

from zbulk.sandbox import DEMO_JOBS, Sandbox


def compare_keyring(server: Sandbox, job_id: str, runs: int) -> None:
    config = tempfile.mkdtemp(prefix="zbulk-bench-")
    env = clean_env(ZBULK_CONFIG_DIR=config, ZBULK_STATE_DIR=config, COLUMNS="120")
    env.pop("PYTHON_KEYRING_BACKEND", None)
    login = subprocess.run(
        zbulk_cmd("auth", "login", "--self-client", "--dc", server.url,
                  "--code", server.issue_grant_code()),
        env=env | {"ZBULK_CLIENT_ID": server.client_id,
                   "ZBULK_CLIENT_SECRET": server.client_secret},
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    if login.returncode != 0 or "keyring" not in login.stderr:
        sys.exit(f"the keyring login failed: {login.stderr}")
    print(login.stderr.strip().splitlines()[-1])
    try:
        url = f"{server.url}/crm/bulk/v8/write/{job_id}"
        minimal = [sys.executable, str(ROOT / "bench/minimal_fetch.py"), url, server.token]
        stored = ["env", "-u", "ZBULK_TOKEN", *zbulk_cmd("job", "show", "--json", job_id)]
        paired(
            {
                "minimal requests script": minimal,
                "job show --json ZBULK_TOKEN": zbulk_cmd("job", "show", "--json", job_id),
                "job show --json keyring": stored,
            },
            baseline="minimal requests script",
            runs=runs,
            env=env | {"ZBULK_API_DOMAIN": server.url, "ZBULK_TOKEN": server.token},
        )
    finally:
        subprocess.run(zbulk_cmd("auth", "logout"), env=env, capture_output=True, timeout=60)
        shutil.rmtree(config, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--keyring", action="store_true", help="the stored-login comparison")
    args = parser.parse_args()
    job = DEMO_JOBS["upsert"]
    with Sandbox() as server:
        if args.keyring:
            compare_keyring(server, job, args.runs)
        else:
            compare_show(server, job, args.runs)


if __name__ == "__main__":
    main()
