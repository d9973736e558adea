"""`zbulk job show` (JSON and human) beside a minimal requests script, against the sandbox.

    python bench/show.py [--runs N] [--pretty-mb MB]
    .ci/secret-service python bench/show.py --keyring [--runs N]

Every command runs as a fresh process, as a user would run it; rounds rotate the order.
Goals (issue 2): --json within 1.3x of the script, the human view within 1.5x.

Then (issue 26) the same for a large job document served pretty-printed (``--pretty-mb``, 5
MB by default; 0 skips it): `job show --json` must take out the whitespace between tokens
while keeping every string as sent. Goal: within 1.3x of the script.

``--keyring`` (issue 12) compares, side by side in one run, `job show --json` with a stored
login (a Self Client login kept in the OS keyring, e.g. gnome-keyring under
.ci/secret-service), with ZBULK_TOKEN, and the minimal script. Goal: the stored login within
1.3x of the script. The stored-login command runs through ``env -u ZBULK_TOKEN`` (one more
exec, counted against it).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile

from _common import ROOT, clean_env, compare_show, paired, zbulk_cmd

sys.path.insert(0, str(ROOT / "tests"))
from docs import huge_job

from zbulk.sandbox import DEMO_JOBS, Sandbox


def compare_keyring(server: Sandbox, job_id: str, runs: int) -> None:
    config = tempfile.mkdtemp(prefix="zbulk-bench-")
    env = clean_env(ZBULK_CONFIG_DIR=config, ZBULK_STATE_DIR=config, COLUMNS="120")
    env.pop("PYTHON_KEYRING_BACKEND", None)
    login = subprocess.run(
        zbulk_cmd(
            "auth",
            "login",
            "--self-client",
            "--dc",
            server.url,
            "--code",
            server.issue_grant_code(),
        ),
        env=env
        | {"ZBULK_CLIENT_ID": server.client_id, "ZBULK_CLIENT_SECRET": server.client_secret},
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
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


def pretty_document(megabytes: float) -> tuple[str, bytes]:
    """A job of many resources and mappings, pretty-printed (indent 2) to about
    ``megabytes`` MB; its id and body."""
    mappings = 500
    per_resource = len(json.dumps(huge_job(1, mappings), indent=2))
    doc = huge_job(max(int(megabytes * 1e6 / per_resource), 1), mappings)
    return doc["id"], json.dumps(doc, indent=2, ensure_ascii=False).encode()


def compare_pretty(server: Sandbox, megabytes: float, runs: int) -> None:
    job_id, body = pretty_document(megabytes)
    server.put_document(job_id, body)
    print(f"\n{len(body) / 1e6:.1f} MB pretty-printed job document ({job_id}):")
    env = clean_env(ZBULK_API_DOMAIN=server.url, ZBULK_TOKEN=server.token, COLUMNS="120")
    url = f"{server.url}/crm/bulk/v8/write/{job_id}"
    paired(
        {
            "minimal requests script": [
                sys.executable,
                str(ROOT / "bench/minimal_fetch.py"),
                url,
                server.token,
            ],
            "zbulk job show --json": zbulk_cmd("job", "show", "--json", job_id),
        },
        baseline="minimal requests script",
        runs=runs,
        env=env,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--keyring", action="store_true", help="the stored-login comparison")
    parser.add_argument(
        "--pretty-mb",
        type=float,
        default=5.0,
        help="size of the pretty-printed document case (0: skip it)",
    )
    args = parser.parse_args()
    job = DEMO_JOBS["upsert"]
    with Sandbox() as server:
        if args.keyring:
            compare_keyring(server, job, args.runs)
        else:
            compare_show(server, job, args.runs)
            if args.pretty_mb > 0:
                compare_pretty(server, args.pretty_mb, args.runs)


if __name__ == "__main__":
    main()
