"""``zbulk config …``: read and edit ``config.toml`` in place, like ``gh config``.

Keys are ``[PROFILE.]SETTING`` (``default.api_version`` is ``api_version`` in
``[profiles.default]``; a bare ``api_version`` is the profile in use) or
``data_centres.NAME.accounts|api_domain|upload``. Edits keep the file's comments, order and value
types (tomlkit); values are checked as they are at use before anything is written.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer

from zbulk.commands import Commands
from zbulk.commands.options import JsonFlag, complete_config_keys

if TYPE_CHECKING:
    from rich.console import RenderableType

    from zbulk.context import AppContext

# Every key `config set` takes, with what it accepts (a test holds this to config.py).
KEYS_HELP = (
    "api_domain (https://…, http:// for loopback only), "
    "api_version (v2, v2.1, v3 … v8), "
    "request_timeout (a duration: 30, 2m, 1m30s), "
    "org_id (digits: the zgid of GET /crm/v8/org), "
    "insecure_storage_warning (true or false)"
)
HELP = (
    "Read and edit config.toml, keeping its comments and layout.\n\n"
    f"KEY is [PROFILE.]SETTING, SETTING one of {KEYS_HELP}; without PROFILE, the "
    "profile in use. Or data_centres.NAME.accounts / data_centres.NAME.api_domain / "
    "data_centres.NAME.upload (where job import uploads for that API domain)."
)
commands = Commands()

KeyArg = Annotated[
    str,
    typer.Argument(metavar="KEY", help="[PROFILE.]SETTING", autocompletion=complete_config_keys),
]


def _ctx(ctx: typer.Context) -> AppContext:
    return ctx.find_root().obj


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass
class ConfigListReport:
    """``config list``: each setting's effective value and its source (flag, environment,
    profile, login, default), then what config.toml holds, in file order."""

    effective: list[tuple[str, str, str]]
    values: list[tuple[str, Any]]
    path: str

    def json_lines(self) -> Iterator[str]:
        from zbulk.output import json_text

        yield json_text(
            {
                "settings": {k: {"value": v, "source": s} for k, v, s in self.effective},
                "config": dict(self.values),
                "config_path": self.path,
            }
        )

    def views(self) -> Iterator[RenderableType]:
        from rich.text import Text

        from zbulk.output import safe

        pairs = [f"{key}={safe(value)}" for key, value, _ in self.effective]
        width = max(len(p) for p in pairs) + 2
        for pair, (_, _, source) in zip(pairs, self.effective, strict=True):
            yield Text(pair.ljust(width)) + Text(f"# {source}", style="dim")
        yield Text(
            f"\nIn {safe(self.path)}:" if self.values else f"\nNothing set in {safe(self.path)}.",
            style="dim",
        )
        for key, value in self.values:
            yield Text(f"{key}={safe(_text(value))}")


@commands.command("list")
def list_(ctx: typer.Context, as_json: JsonFlag = False) -> int:
    """Every setting's effective value and where it comes from (flag, environment,
    profile, default), then what config.toml holds (--json: one object)."""
    from zbulk import config

    app_ctx = _ctx(ctx)
    report = ConfigListReport(
        config.effective(app_ctx.settings), config.list_values(), str(config.config_path())
    )
    app_ctx.output.emit(report, as_json=as_json)
    return 0


@commands.command("get")
def get(ctx: typer.Context, key: KeyArg) -> int:
    """Print a setting's value from config.toml (exit 1 and nothing printed when unset)."""
    from zbulk import config
    from zbulk.errors import ExitCode

    app_ctx = _ctx(ctx)
    parsed = config.parse_key(key, app_ctx.profile_name)
    value = config.get_value(parsed)
    if value is None:
        app_ctx.output.note(f"{parsed} is not set in {config.config_path()}")
        return ExitCode.ERROR
    app_ctx.output.write_line(_text(value))
    return 0


@commands.command("set")
def set_(
    ctx: typer.Context,
    key: KeyArg,
    value: Annotated[str, typer.Argument(metavar="VALUE")],
) -> int:
    """Set a setting in config.toml; the rest of the file is kept as it is."""
    from zbulk import config

    app_ctx = _ctx(ctx)
    parsed = config.parse_key(key, app_ctx.profile_name)
    config.edit(set_values={parsed: config.parse_value(parsed, value)})
    return 0


@commands.command("unset")
def unset(ctx: typer.Context, key: KeyArg) -> int:
    """Remove a setting from config.toml (nothing else changes)."""
    from zbulk import config

    app_ctx = _ctx(ctx)
    parsed = config.parse_key(key, app_ctx.profile_name)
    if not config.edit(unset=(parsed,)):
        app_ctx.output.note(f"{parsed} was not set")
    return 0


@commands.command("path")
def path(ctx: typer.Context) -> int:
    """Print where config.toml is (it may not exist yet)."""
    from zbulk import config

    _ctx(ctx).output.write_line(str(config.config_path()))
    return 0
