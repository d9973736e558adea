"""The parts every command's help shares: the Examples section and the exit codes."""

from __future__ import annotations

EXIT_CODES = """\b
Exit codes:
  0    success
  1    a job FAILED, Zoho refused, a local file could not be written, other API errors
  2    usage error: bad arguments, job id or API domain; nothing was sent
  3    credentials: none found, rejected, refresh failed, no usable keyring
  4    job not found
  5    network or server trouble (unreachable, timed out, 5xx/429, not JSON)
  6    --fail-on-skipped: the job completed but skipped records
  70   internal error: a bug in zbulk (run with -v for the traceback)
  124  job watch --timeout ran out
  130  interrupted (Ctrl-C); jobs at Zoho keep running
  141  stdout closed early (e.g. | head)"""


def epilog(examples: str) -> str:
    """``examples`` (a ``\\b`` block) followed by the exit-code table."""
    return f"{examples.rstrip()}\n\n{EXIT_CODES}" if examples else EXIT_CODES


ID = "4150868000005392002"
# Examples per command path; each help page shows its own, then the exit codes.
EXAMPLES: dict[str, tuple[str, ...]] = {
    "job": (f"zbulk job show {ID}", f"zbulk job watch {ID}", f"zbulk job results {ID} --failed"),
    "job show": (
        f"zbulk job show {ID}",
        f"zbulk job show --brief {ID} 4150868000005350003",
        f"zbulk job show {ID} --json | jq .status",
    ),
    "job watch": (
        f"zbulk job watch {ID}",
        f"zbulk job watch {ID} --timeout 1h --fail-on-skipped",
        f"zbulk job watch {ID} --json",
    ),
    "job results": (
        f"zbulk job results {ID}",
        f"zbulk job results {ID} --failed",
        f"zbulk job results {ID} --source leads.csv --output-dir fix/",
        f"zbulk job results --file {ID}.zip --source leads.csv",
    ),
    "job recent": ("zbulk job recent", "zbulk job recent --json"),
    "auth": ("zbulk auth login", "zbulk auth status"),
    "auth login": (
        "zbulk auth login",
        "zbulk auth login --self-client --dc eu",
        'echo "$TOKEN" | zbulk auth login --with-token --profile ci',
    ),
    "auth status": ("zbulk auth status", "zbulk auth status --json"),
    "auth token": ('curl -H "Authorization: Zoho-oauthtoken $(zbulk auth token)" …',),
    "auth logout": ("zbulk auth logout", "zbulk auth logout --all"),
    "config": ("zbulk config list", "zbulk config set request_timeout 60", "zbulk config path"),
    "config list": ("zbulk config list",),
    "config get": ("zbulk config get api_domain", "zbulk config get eu.api_domain"),
    "config set": (
        "zbulk config set request_timeout 60",
        "zbulk config set eu.api_domain https://www.zohoapis.eu",
    ),
    "config unset": ("zbulk config unset request_timeout",),
    "config path": ("zbulk config path",),
    "sandbox": ("zbulk sandbox", "zbulk sandbox --port 8791"),
    "demo": ("zbulk demo",),
    "completion": ("zbulk completion bash > ~/.local/share/bash-completion/completions/zbulk",),
}


def examples(path: str) -> str:
    lines = EXAMPLES.get(path, ())
    if not lines:
        return ""
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)
