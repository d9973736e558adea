"""The parts every command's help shares: the Examples section and the exit codes."""

from __future__ import annotations

from typing import Any

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
    return f"{examples.rstrip()}\n\n{EXIT_CODES}"


def command_help(examples: str) -> dict[str, Any]:
    """Keyword arguments for ``app.command``: the epilog with examples and exit codes."""
    return {"epilog": epilog(examples)}
