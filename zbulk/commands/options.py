"""Option and argument definitions shared by the commands, so each reads and is
documented the same way everywhere (one ``--json``, one duration syntax)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Annotated, Any

import typer

JSON_HELP = "Print JSON instead of the human view: one compact document per line, on stdout."

JsonFlag = Annotated[bool, typer.Option("--json", help=JSON_HELP)]

# Longer than any wait zbulk needs: bounds what a typo (1e300) could ask for.
MAX_DURATION = 30 * 86400.0


def duration(minimum: float = 0.1) -> Callable[[Any], float]:
    """A parser for a duration option: ``90``, ``90s``, ``10m``, ``1h``, ``1h30m``; at least
    ``minimum`` seconds. Anything else (nan, inf, negative) is a usage error."""

    def parse(value: Any) -> float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            seconds = float(value) if math.isfinite(value) and value >= 0 else None
        else:
            from zbulk.config import parse_duration

            seconds = parse_duration(str(value))
        if seconds is None:
            raise typer.BadParameter(f"{value!r} is not a duration: use 90, 90s, 10m, 1h or 1h30m")
        if seconds < minimum:
            raise typer.BadParameter(f"{value!r} is too short: at least {minimum:g}s")
        if seconds > MAX_DURATION:
            raise typer.BadParameter(
                f"{value!r} is too long: at most {MAX_DURATION / 86400:g} days"
            )
        return seconds

    return parse


def complete_job_ids(incomplete: str) -> list[tuple[str, str]]:
    """Tab completion: job ids this machine has seen, newest first (zbulk job recent)."""
    from zbulk.history import complete_job_ids as complete

    return complete(incomplete)


JobIds = Annotated[
    list[str],
    typer.Argument(
        metavar="JOB_ID...",
        help="One or more bulk write job ids (all digits).",
        show_default=False,
        autocompletion=complete_job_ids,
    ),
]
JobId = Annotated[
    str,
    typer.Argument(
        metavar="JOB_ID",
        help="A finished job's id (all digits).",
        show_default=False,
        autocompletion=complete_job_ids,
    ),
]
