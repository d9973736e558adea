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
from zbulk.commands.options import JsonFlag

if TYPE_CHECKING:
    from rich.console import RenderableType

    from zbulk.context import AppContext

HELP = (
    "Read and edit config.toml, keeping its comments and layout.\n\n"
    "KEY is [PROFILE.]SETTING, SETTING one of api_domain, api_version, request_timeout, "
    "insecure_storage_warning (without PROFILE: the profile in use), or "
    "data_centres.NAME.accounts / data_centres.NAME.api_domain / data_centres.NAME.upload "
    "(where job import uploads for that API domain)."
)
commands = Commands()

KeyArg = Annotated[str, typer.Argument(metavar="KEY", help="[PROFILE.]SETTING")]


def _ctx(ctx: typer.Context) -> AppContext:
    return ctx.find_root().obj


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass
class ConfigListReport:
    """``config list``: the settings found in config.toml, in file order."""

    values: list[tuple[str, Any]]

    def json_lines(self) -> Iterator[str]:
        from zbulk.output import json_text

        yield json_text(dict(self.values))

    def views(self) -> Iterator[RenderableType]:
        from rich.text import Text

        for key, value in self.values:
            yield Text(f"{key}={_text(value)}")


@commands.command("list")
def list_(ctx: typer.Context, as_json: JsonFlag = False) -> int:
    """Every setting zbulk reads from config.toml, one KEY=VALUE a line (--json: one
    object)."""
    from zbulk import config

    _ctx(ctx).output.emit(ConfigListReport(config.list_values()), as_json=as_json)
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
