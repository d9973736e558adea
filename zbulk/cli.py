"""The switchboard: the root command, its global options, and ``main()``.

``main()`` is the one place where errors become messages and exit codes; no
traceback reaches the user: an unexpected exception becomes one ``internal error``
line and exit 70 (the traceback only with ``-v``). Global options are accepted
before or after the subcommand (``zbulk job show ID -v``): every command is made with
them as options of its own (``global_options``), which set the same values as the root's.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Annotated, Any

import typer
import typer.main

from zbulk import __version__
from zbulk.commands import LazyGroup
from zbulk.commands.completion import COMPLETE_VAR
from zbulk.commands.help import EXIT_CODE_PAGES, epilog, examples
from zbulk.commands.options import complete_profiles, duration
from zbulk.context import AppContext

GLOBAL_FLAGS = ("-v", "--verbose")
# The root's options that every command also takes (AppContext's attributes).
GLOBAL_NAMES = ("profile", "api_domain", "api_version", "request_timeout", "verbose")

ROOT_EXAMPLES = """\b
Examples:
  zbulk demo                            a tour that needs no account
  zbulk auth login                      log in once (secrets go to the OS keyring)
  zbulk job watch ID --timeout 1h30m    follow a job until it finishes
"""


class _Root(LazyGroup):
    """The root command. Ctrl-C and a closed stdout become zbulk errors here, before the
    command framework turns them into bare exit codes, so ``main()`` handles them too."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:  # type: ignore[override]
        # --help and --version print while parsing: a closed pipe there is ours to
        # handle too (the framework would exit 1).
        from zbulk.errors import OutputClosed

        try:
            return super().parse_args(ctx, args)
        except BrokenPipeError:
            raise OutputClosed() from None

    def invoke(self, ctx: typer.Context) -> object:  # type: ignore[override]
        from zbulk.errors import Interrupted, OutputClosed

        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            raise Interrupted() from None
        except BrokenPipeError:
            raise OutputClosed() from None


def _group(module_name: str, *more: str) -> Any:
    """The command group defined by ``zbulk.commands.<module_name>`` (and commands of it
    in the ``more`` modules)."""
    import importlib

    from zbulk.commands import group

    module = importlib.import_module(f"zbulk.commands.{module_name}")
    for name in more:
        importlib.import_module(f"zbulk.commands.{name}")
    return group(module_name, module.HELP, module.commands)


def _command(module_name: str, function: str) -> Any:
    """A top-level command: ``function`` of ``zbulk.commands.<module_name>``."""
    import importlib

    from zbulk.commands import Commands

    module = importlib.import_module(f"zbulk.commands.{module_name}")
    one = Commands()
    one.command(function)(getattr(module, function))
    return one.build(function)


# The commands people use most come first in ``zbulk --help``.
_Root.SOURCES = {
    "job": lambda: _group("job"),
    "auth": lambda: _group("auth"),
    "config": lambda: _group("config"),
    "sandbox": lambda: _command("sandbox", "sandbox"),
    "demo": lambda: _command("sandbox", "demo"),
    "completion": lambda: _command("completion", "completion"),
}


app = typer.Typer(
    name="zbulk",
    cls=_Root,
    no_args_is_help=True,
    add_completion=False,
    epilog=epilog(ROOT_EXAMPLES, codes=True),
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
if os.environ.get(COMPLETE_VAR):  # a Tab press: add_completion=False skipped this
    from zbulk.commands.completion import enable_requests

    enable_requests()


def _api_version(value: str) -> str:
    """--api-version is checked as the api_version setting is (``zbulk config set``)."""
    from zbulk.config import api_version_problem

    problem = api_version_problem(value)
    if problem:
        raise typer.BadParameter(problem)
    return value


def _version(value: bool) -> None:
    if value:
        from zbulk.output import write_plain

        write_plain(f"zbulk {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile",
            metavar="NAME",
            autocompletion=complete_profiles,
            help="Profile to use. [env: ZBULK_PROFILE; default: default]",
            show_default=False,
        ),
    ] = None,
    api_domain: Annotated[
        str | None,
        typer.Option(
            "--api-domain",
            metavar="URL",
            help="API domain, e.g. https://www.zohoapis.eu. [env: ZBULK_API_DOMAIN; "
            "default: the profile's, else https://www.zohoapis.com]",
            show_default=False,
        ),
    ] = None,
    api_version: Annotated[
        str | None,
        typer.Option(
            "--api-version",
            metavar="V",
            parser=_api_version,
            help="Bulk API version (v2, v2.1, v3 … v8). [env: ZBULK_API_VERSION; default: v8]",
            show_default=False,
        ),
    ] = None,
    request_timeout: Annotated[
        float | None,
        typer.Option(
            "--request-timeout",
            metavar="SECONDS",
            parser=duration(),
            help="How long to wait for each answer (30, 30s, 2m). "
            "[env: ZBULK_REQUEST_TIMEOUT; default: 30]",
            show_default=False,
        ),
    ] = None,
    verbose: Annotated[
        bool,
        typer.Option("--verbose", "-v", help="Log each request, answer and retry to stderr."),
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Inspect, follow and diagnose Zoho CRM bulk write jobs.

    Log in once with `zbulk auth login` (secrets go to the OS keyring), or set
    ZBULK_TOKEN to an access token. Try `zbulk demo` for a tour that needs no account.
    Global options may also follow the subcommand.
    """
    ctx.obj = AppContext(profile, api_domain, api_version, request_timeout, verbose)
    _RUNNING[:] = [ctx.obj]  # main() reports this run's errors through its output


def global_options() -> list[Any]:
    """The root's options, for a command to accept after its name (``zbulk job show ID
    -v``): copies of the root's own parameters (as typer made them), each setting what the
    root's would on the run's ``AppContext``. Hidden in the command's help: ``zbulk --help``
    documents them once."""
    import copy

    def keep(attribute: str) -> Any:
        def callback(ctx: typer.Context, param: Any, value: Any) -> Any:
            obj = ctx.find_root().obj
            if value not in (None, False) and isinstance(obj, AppContext):
                if attribute == "request_timeout" and not isinstance(value, float):
                    value = duration()(value)
                setattr(obj, attribute, value)
            return value

        return callback

    made = []
    for param in command_tree().params:
        if param.name in GLOBAL_NAMES:
            option = copy.copy(param)
            option.hidden, option.expose_value = True, False
            option.callback = keep(param.name)
            made.append(option)
    return made


_RUNNING: list[AppContext] = []  # the context of the run main() is in, once the root ran


def _finish(command: Any, path: str) -> None:
    """What every command gets once made: plain placeholders in its help, its examples and
    the exit codes as its epilog, a full one-line summary in listings (click would cut it
    at 45 characters), and the global options, so they may follow the subcommand."""
    if not command.short_help and command.help:
        command.short_help = command.help.strip().split("\n\n")[0].replace("\n", " ")
    if not command.epilog:
        command.epilog = epilog(examples(path), codes=path in EXIT_CODE_PAGES)
    _plain_metavars(command)
    own = {name for param in command.params for name in getattr(param, "opts", ())}
    command.params.extend(g for g in global_options() if not own.intersection(g.opts))


_Root.FINISH = staticmethod(_finish)

_ROOT: list[Any] = []


def command_tree() -> Any:
    """The click command behind ``app``: the root, its subcommands made as they are asked
    for. A process makes it once (the tests call ``main()`` in-process a thousand times)."""
    if not _ROOT:
        root = typer.main.get_command(app)
        _plain_metavars(root)
        _ROOT.append(root)
    return _ROOT[0]


def walk(command: Any = None, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every command under ``command`` (the root by default) with its path, each made:
    for help pages, docs and tests, never on a command's own run."""
    command = command_tree() if command is None else command
    yield path, command
    ctx = typer.Context(command, info_name=path or "zbulk")
    for name in getattr(command, "list_commands", lambda _ctx: [])(ctx):
        yield from walk(command.get_command(ctx, name), f"{path} {name}".strip())


def _plain_metavars(command: Any) -> None:
    """Real placeholders in help: ``--port PORT``, not ``<int range>``; ``JOB_ID...``,
    not ``{JOB_ID...}``."""
    for param in getattr(command, "params", ()):
        if param.param_type_name == "argument":
            name = param.metavar or (param.name or "ARG").upper()
            shown = name if param.required else f"[{name}]"
            param.make_metavar = lambda ctx=None, *, usage=False, shown=shown: shown
        elif param.metavar is None and not (param.is_flag or param.count):
            choices = getattr(getattr(param, "type", None), "choices", None)
            param.metavar = "|".join(map(str, choices)) if choices else param.name.upper()


def _verbose(args: list[str]) -> bool:
    words = args[: args.index("--")] if "--" in args else args
    return any(a in GLOBAL_FLAGS for a in words)


def main(argv: list[str] | None = None) -> int:
    """Run zbulk; return the exit status (see the contract's table)."""
    from zbulk.output import guarded, standard_streams_tolerant

    standard_streams_tolerant()
    _RUNNING.clear()
    args = list(sys.argv[1:] if argv is None else argv)
    verbose = _verbose(args)
    # --version, help and Tab presses print zbulk's own text: no need to load logging.
    quick = (
        not args
        or bool({"--version", "--help", "-h"} & set(args))
        or bool(os.environ.get(COMPLETE_VAR))
    )
    with guarded(verbose, with_logging=not quick):
        return _main(args, verbose)


def _main(args: list[str], verbose: bool) -> int:
    from zbulk.errors import ExitCode, Interrupted, OutputClosed, ZbulkError
    from zbulk.output import Output

    try:
        try:
            command = command_tree()
            result = command.main(args=args or ["--help"], prog_name="zbulk", standalone_mode=False)
            code = int(result) if isinstance(result, int) else ExitCode.OK
            Output().flush()
            return code
        except BrokenPipeError:
            raise OutputClosed() from None
    except OutputClosed:
        return _closed()
    except Interrupted as exc:
        return _report(lambda out, e=exc: out.note(f"\n{e.message}"), ExitCode.INTERRUPTED)
    except ZbulkError as exc:
        return _report(lambda out, e=exc: out.error(e), exc.exit_code)
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:  # end of input at a prompt
        return ExitCode.INTERRUPTED
    except KeyboardInterrupt:  # before or after a command ran
        return _report(lambda out: out.note(f"\n{Interrupted().message}"), ExitCode.INTERRUPTED)
    except typer.TyperException as exc:  # a usage error found by the parser
        return _usage(exc)
    except Exception as exc:  # the last resort: a bug in zbulk
        return _report(lambda out, e=exc: out.internal_error(e, verbose=verbose), ExitCode.INTERNAL)


def _closed() -> int:
    """stdout's reader went away: quietly, and point stdout at /dev/null so the
    interpreter's final flush cannot fail."""
    from zbulk.errors import ExitCode
    from zbulk.output import discard_stdout

    discard_stdout()
    return ExitCode.BROKEN_PIPE


def _report(say: Any, code: int) -> int:
    """Write a message to stderr; whatever happens to stdout meanwhile, return ``code``."""
    from zbulk.errors import OutputFailed
    from zbulk.output import Output

    with contextlib.suppress(OSError, OutputFailed):
        # The run's own output, whose hints name where each setting came from.
        say(_RUNNING[0].output if _RUNNING else Output())
    if code == 1:  # stdout may hold what it could not write: never again
        _closed()
    return int(code)


def _one_line(message: str) -> str:
    """click's message with its choice list on one line: ``Choose from: insert, update,
    upsert.``, not a tab-indented line per choice (which the sanitiser shows as ``\\t``)."""
    message = message.replace(",\n\t", ", ").replace(":\n\t", ": ")
    return message.replace("\t", " ")


def _usage(exc: typer.TyperException) -> int:
    ctx = getattr(exc, "ctx", None)
    if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:
        # A bare group (`zbulk job`): its help is the answer, on stdout.
        from zbulk.errors import OutputClosed
        from zbulk.output import write_plain

        try:
            write_plain(ctx.get_help())
        except (BrokenPipeError, OutputClosed):
            return _closed()
        return 0
    from zbulk.output import safe_lines, write_plain

    # The same shape as every other error: usage, then `error:` and a `hint:` that runs.
    lines = []
    if ctx is not None:
        lines += [ctx.get_usage(), ""]
    lines.append(f"error: {safe_lines(_one_line(exc.format_message()))}")
    if ctx is not None:
        lines.append(f"hint: see `{ctx.command_path} --help`")
    with contextlib.suppress(OSError, ValueError, AttributeError):  # stderr closed: nothing to say
        write_plain("\n".join(lines), err=True)
    return int(getattr(exc, "exit_code", 2))
