"""Option and argument definitions shared by the commands, so each reads and is
documented the same way everywhere (one ``--json``, one duration syntax)."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from typing import Annotated, Any

import typer
import typer.core

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


# --- Tab completion of option values ---------------------------------------------------
# Each reads only local files (config.toml, logins.json, the metadata cache), never the
# network, and offers nothing rather than fail: a Tab press must not print an error.

#: modules every Zoho CRM org has (offered when no metadata is cached)
STANDARD_MODULES = (
    "Leads",
    "Contacts",
    "Accounts",
    "Deals",
    "Tasks",
    "Events",
    "Calls",
    "Products",
    "Quotes",
    "Sales_Orders",
    "Purchase_Orders",
    "Invoices",
    "Campaigns",
    "Vendors",
    "Price_Books",
    "Cases",
    "Solutions",
    "Notes",
)
_MAX_CACHE_FILES = 200
_MAX_CACHE_BYTES = 4 << 20


def _matching(names: Any, incomplete: str) -> list[str]:
    return [n for n in dict.fromkeys(names) if isinstance(n, str) and n.startswith(incomplete)]


def complete_profiles(incomplete: str) -> list[str]:
    """``--profile``: the profiles in config.toml and those logged in, and ``default``."""
    from zbulk import config
    from zbulk.errors import ZbulkError

    try:
        names = ["default", *config.profiles(), *config.read_logins()]
    except (ZbulkError, OSError):
        names = ["default"]
    return _matching(sorted(set(names)), incomplete)


def complete_data_centres(incomplete: str) -> list[tuple[str, str]]:
    """``--dc``: Zoho's data centres and those of config.toml, each with its API domain."""
    from zbulk.datacentres import DATA_CENTRES, overrides
    from zbulk.errors import ZbulkError

    every = dict(DATA_CENTRES)
    with contextlib.suppress(ZbulkError, OSError):
        every.update(overrides())
    return [(name, dc.api_domain) for name, dc in every.items() if name.startswith(incomplete)]


def complete_config_keys(incomplete: str) -> list[str]:
    """``config get|set|unset KEY``: every setting, for the profile in use and per profile,
    and the keys of each data centre table."""
    from zbulk import config
    from zbulk.errors import ZbulkError

    keys = list(config.PROFILE_SETTINGS)
    try:
        profiles, centres = sorted(config.profiles()), sorted(config.data_centre_tables())
    except (ZbulkError, OSError):
        profiles, centres = [], []
    if "." in incomplete:  # PROFILE.SETTING once a profile is being typed
        keys += [
            f"{p}.{s}"
            for p in dict.fromkeys(["default", *profiles])
            for s in config.PROFILE_SETTINGS
        ]
    keys += [f"data_centres.{c}.{s}" for c in centres for s in config.DATA_CENTRE_SETTINGS]
    return _matching(keys, incomplete)


def cached_modules() -> list[str]:
    """Module API names from the metadata cache (``<state dir>/metadata/*.json``, each
    ``{"key": "ORG DOMAIN modules", "data": [{"api_name": …}, …]}``), creatable ones only;
    empty when nothing is cached."""
    import json

    from zbulk.history import state_dir

    found: list[str] = []
    try:
        files = sorted((state_dir() / "metadata").glob("*.json"))[:_MAX_CACHE_FILES]
    except OSError:
        return found
    for path in files:
        try:
            with path.open("rb") as fh:
                doc = json.loads(fh.read(_MAX_CACHE_BYTES))
        except (OSError, ValueError):
            continue
        key = doc.get("key") if isinstance(doc, dict) else None
        data = doc.get("data") if isinstance(doc, dict) else None
        if not (isinstance(key, str) and key.endswith(" modules") and isinstance(data, list)):
            continue
        for module in data:
            if isinstance(module, dict) and module.get("creatable") is not False:
                name = module.get("api_name")
                if isinstance(name, str) and name.isprintable() and len(name) <= 100:
                    found.append(name)
    return found


def complete_modules(incomplete: str) -> list[str]:
    """``--module``: the org's modules from the metadata cache, else the standard ones."""
    return _matching(cached_modules() or STANDARD_MODULES, incomplete)


ImportIdOption = Annotated[
    str | None,
    typer.Option(
        "--import",
        metavar="ID",
        help="Every part of an import (imp-…) instead of job ids.",
        show_default=False,
    ),
]

# -- job import and job retry ---------------------------------------------------------

DryRun = Annotated[
    bool, typer.Option("--dry-run", help="Check, print the exact requests, send nothing.")
]
Yes = Annotated[
    bool,
    typer.Option("--yes", "-y", help="Do not ask for confirmation (needed without a terminal)."),
]
WatchFlag = Annotated[
    bool, typer.Option("--watch", help="Follow the new job to its end, then summarise its results.")
]
AllowSkipped = Annotated[
    bool,
    typer.Option("--allow-skipped", help="With --watch: exit 0 even when rows were skipped."),
]
OrgOption = Annotated[
    str | None,
    typer.Option(
        "--org",
        metavar="ORG_ID",
        help="The org id (zgid) for the upload. [env: ZBULK_ORG_ID; default: the profile's, "
        "else asked of the API once and kept]",
        show_default=False,
    ),
]


# -- job watch ----------------------------------------------------------------------------


class NotifyWhenCommand(typer.core.TyperCommand):
    """``job watch``, whose ``--notify`` takes an optional value: ``--notify`` (when the
    watch ends) or ``--notify=each`` (as each job ends). The option parser knows no
    optional values, so ``--notify=WHEN`` is read here: it becomes ``--notify``, and WHEN
    goes in ``ctx.meta``."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:  # type: ignore[override]
        from zbulk.errors import UsageError

        rewritten: list[str] = []
        for arg in args:
            if arg == "--":
                rewritten.extend(args[len(rewritten) :])
                break
            if arg.startswith("--notify="):
                when = arg.partition("=")[2]
                if when not in NOTIFY_WHEN:
                    raise UsageError(
                        f"--notify={when}: use --notify (when the watch ends) "
                        "or --notify=each (as each job ends)"
                    )
                ctx.meta[NOTIFY_META] = when
                arg = "--notify"
            rewritten.append(arg)
        return super().parse_args(ctx, rewritten)


NOTIFY_WHEN = ("end", "each")
NOTIFY_META = "zbulk.notify"


def parse_concurrency(value: object) -> int:
    """``--concurrency``: a whole number from 1 to ``zbulk.watch.MAX_CONCURRENCY``."""
    from zbulk.watch import MAX_CONCURRENCY

    try:
        number = int(str(value), 10)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a whole number") from None
    if not 1 <= number <= MAX_CONCURRENCY:
        raise typer.BadParameter(f"{value!r} is out of range: 1 to {MAX_CONCURRENCY}")
    return number
