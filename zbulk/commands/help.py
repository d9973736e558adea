"""The parts of the commands' help: the Examples section (one to three per command) and
the exit codes (on ``zbulk --help`` and ``zbulk job --help`` only: the commands whose exit
codes scripts test)."""

from __future__ import annotations

EXIT_CODES = """\b
Exit codes:
  0    success
  1    a job FAILED, Zoho refused, a local file could not be written, other API errors
  2    usage error: bad arguments, job id or API domain; nothing was sent
  3    credentials: none found, rejected, refresh failed, no usable keyring
  4    job not found
  5    network or server trouble (unreachable, timed out, 5xx/429, not JSON)
  6    rows were skipped: import/retry --watch, watch --import (unless
       --allow-skipped); watch and results with --fail-on-skipped
  70   internal error: a bug in zbulk (run with -v for the traceback)
  124  job watch --timeout ran out
  130  interrupted (Ctrl-C); jobs at Zoho keep running
  141  stdout closed early (e.g. | head)"""


#: the help pages that show the exit-code table
EXIT_CODE_PAGES = ("", "job")


def epilog(examples: str, *, codes: bool = False) -> str:
    """``examples`` (a ``\\b`` block), followed by the exit-code table with ``codes``."""
    if not codes:
        return examples.rstrip()
    return f"{examples.rstrip()}\n\n{EXIT_CODES}" if examples else EXIT_CODES


ID = "4150868000005392002"
# Examples per command path; each help page shows its own, then the exit codes.
EXAMPLES: dict[str, tuple[str, ...]] = {
    "job": (
        "zbulk job import leads.csv --module Leads --operation insert --watch",
        f"zbulk job results {ID} --failed",
        f"zbulk job retry {ID} --source leads.csv --edit",
    ),
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
    ),
    "job recent": ("zbulk job recent", "zbulk job recent --json"),
    "auth": ("zbulk auth login", "zbulk auth status"),
    "auth login": (
        "zbulk auth login",
        "zbulk auth login --self-client --dc eu",
        'echo "$TOKEN" | zbulk auth login --with-token --profile ci',
    ),
    "auth status": ("zbulk auth status", "zbulk auth status --json"),
    "auth token": (
        "zbulk auth token --profile ci",
        'curl -H "Authorization: Zoho-oauthtoken $(zbulk auth token)" …',
    ),
    "auth logout": ("zbulk auth logout", "zbulk auth logout --all"),
    "config": ("zbulk config list", "zbulk config set request_timeout 1m", "zbulk config path"),
    "config list": ("zbulk config list",),
    "config get": ("zbulk config get api_domain", "zbulk config get eu.api_domain"),
    "config set": (
        "zbulk config set request_timeout 60",
        "zbulk config set eu.api_domain https://www.zohoapis.eu",
    ),
    "config unset": ("zbulk config unset request_timeout",),
    "config path": ("zbulk config path",),
    "sandbox": ("zbulk sandbox", "zbulk sandbox --port 8791 --job-duration 10m"),
    "demo": ("zbulk demo",),
    "completion": (
        "zbulk completion bash > ~/.local/share/bash-completion/completions/zbulk",
        "zbulk completion zsh > ~/.zfunc/_zbulk",
        "zbulk completion fish > ~/.config/fish/completions/zbulk.fish",
    ),
}


def examples(path: str) -> str:
    lines = EXAMPLES.get(path, ())
    if not lines:
        return ""
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)
