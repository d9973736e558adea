"""The command modules: parse arguments, call one use case, hand its result to the output.

Every invocation (and every Tab press) pays for the commands it builds: typer reads each
command's signature to make its parser. So a group's commands are registered here and built
only when one is run, listed in help, or completed (click's documented pattern for lazy
loading: a group's ``list_commands`` and ``get_command``). ``zbulk job show`` builds the
``job`` group and its ``show`` command, nothing else; ``zbulk --version`` builds none.
Each command is made with typer's public API: a one-command ``typer.Typer`` and
``typer.main.get_command``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from typer.core import TyperGroup

if TYPE_CHECKING:
    from typer import Context

F = TypeVar("F", bound=Callable[..., Any])


class Commands:
    """One group's commands, each registered by decorator (``@commands.command("show")``,
    with ``typer.Typer.command``'s settings) and built on first use."""

    def __init__(self) -> None:
        # name -> (function, settings), or the module whose own ``commands`` has it
        self._specs: dict[str, tuple[Callable[..., Any], dict[str, Any]] | str] = {}

    def command(self, name: str, **settings: Any) -> Callable[[F], F]:
        def register(function: F) -> F:
            self._specs[name] = (function, settings)
            return function

        return register

    def include(self, name: str, module: str) -> None:
        """Command ``name`` of the module ``module`` (its own ``commands``), listed here in
        this order; the module is imported only when the command is built."""
        self._specs[name] = module

    def names(self) -> list[str]:
        return list(self._specs)

    def build(self, name: str) -> Any:
        import typer
        import typer.main

        spec = self._specs[name]
        if isinstance(spec, str):
            import importlib

            return importlib.import_module(spec).commands.build(name)
        function, settings = spec
        one = typer.Typer(add_completion=False, rich_markup_mode=None)
        one.command(name, **settings)(function)
        return typer.main.get_command(one)


class LazyGroup(TyperGroup):
    """A group whose subcommands are made by ``sources`` (name → factory) when first asked
    for, in the order ``sources`` lists them; ``finish`` completes each one made (its help
    and the options every command shares)."""

    SOURCES: ClassVar[dict[str, Callable[[], Any]]] = {}  # a subclass's own
    FINISH: ClassVar[Callable[[Any, str], None] | None] = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sources = dict(self.SOURCES)
        self.finish = type(self).FINISH
        self.path = ""  # the words that name this group on the command line ("" for the root)

    def list_commands(self, ctx: Context) -> list[str]:  # type: ignore[override]
        return list(self.sources)

    def get_command(self, ctx: Context, cmd_name: str) -> Any | None:  # type: ignore[override]
        command = self.commands.get(cmd_name)
        if command is None and cmd_name in self.sources:
            command = self.sources[cmd_name]()
            command.name = cmd_name
            path = f"{self.path} {cmd_name}".strip()
            if isinstance(command, LazyGroup):
                command.path, command.finish = path, self.finish
            if self.finish is not None:
                self.finish(command, path)
            self.commands[cmd_name] = command
        return command


def group(name: str, help: str, commands: Commands, *, epilog: str | None = None) -> LazyGroup:
    """A ``LazyGroup`` of ``commands`` (a bare group prints its help)."""
    made = LazyGroup(
        name=name, help=help, no_args_is_help=True, epilog=epilog, rich_markup_mode=None
    )
    made.sources = {n: _builder(commands, n) for n in commands.names()}
    return made


def _builder(commands: Commands, name: str) -> Callable[[], Any]:
    return lambda: commands.build(name)
