"""The switchboard: the root command, its global options, and ``main()``.

``main()`` is the one place where errors become messages and exit codes; no
traceback reaches the user: an unexpected exception becomes one ``internal error``
line and exit 70 (the traceback only with ``-v``). Global options are accepted
before or after the subcommand (``zbulk job show ID -v``): ``main()`` moves them
in front of it before parsing.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Annotated, Any

import typer
import typer.main
from typer.core import TyperGroup

from zbulk import __version__
from zbulk.commands import auth, completion, imports, job, sandbox
from zbulk.commands import config as config_command
from zbulk.commands.help import epilog, examples
from zbulk.commands.options import duration
from zbulk.context import AppContext

# The commands people use most come first in ``zbulk --help``.
ORDER = ("job", "auth", "config", "sandbox", "demo", "completion")
# Root options that may also follow the subcommand: those taking a value, and flags.
GLOBAL_VALUE_OPTIONS = ("--profile", "--api-domain", "--api-version", "--request-timeout")
GLOBAL_FLAGS = ("-v", "--verbose")

ROOT_EXAMPLES = """\b
Examples:
  zbulk auth login                      log in once (secrets go to the OS keyring)
  zbulk job show 4150868000005392002    a job's status, counts and field mappings
  zbulk job show --brief ID ID          one line per job
  zbulk job watch ID --timeout 1h       follow a job until it finishes
  zbulk job results ID --failed         which rows failed, and why
  zbulk job show ID --profile eu -v     global options go before or after
  zbulk demo                            a tour that needs no account
"""


class _Root(TyperGroup):
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

    def list_commands(self, ctx: typer.Context) -> list[str]:  # type: ignore[override]
        names = list(self.commands)
        return sorted(names, key=lambda n: ORDER.index(n) if n in ORDER else len(ORDER))

    def invoke(self, ctx: typer.Context) -> object:  # type: ignore[override]
        from zbulk.errors import Interrupted, OutputClosed

        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            raise Interrupted() from None
        except BrokenPipeError:
            raise OutputClosed() from None


app = typer.Typer(
    name="zbulk",
    cls=_Root,
    no_args_is_help=True,
    add_completion=False,
    epilog=epilog(ROOT_EXAMPLES),
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(job.app, name="job")
job.app.command("import", epilog=epilog(imports.IMPORT_EPILOG))(imports.import_command)
job.app.command("retry", epilog=epilog(imports.RETRY_EPILOG))(imports.retry_command)
app.add_typer(auth.app, name="auth")
app.add_typer(config_command.app, name="config")
app.command("sandbox")(sandbox.sandbox)
app.command("demo")(sandbox.demo)
app.command("completion")(completion.completion)
if os.environ.get(completion.COMPLETE_VAR):  # a Tab press: add_completion=False skipped this
    completion.enable_requests()


def _version(value: bool) -> None:
    if value:
        print(f"zbulk {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile",
            metavar="NAME",
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
            help="Bulk API version (v2 … v8). [env: ZBULK_API_VERSION; default: v8]",
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


# ``zbulk --version`` alone: the root's options are all it needs (building every command
# costs a fresh process ~25 ms here, a quarter of its run).
_ROOT_ONLY = ("", "")


def _selection(args: list[str]) -> tuple[str, str] | None:
    """The group and command ``args`` name (``job show``), if both exist; ``_ROOT_ONLY``
    for ``--version`` alone; else None."""
    if args == ["--version"]:
        return _ROOT_ONLY
    words: list[str] = []
    i = 0
    while i < len(args) and len(words) < 2:
        word = args[i]
        if word == "--":
            break
        if word in GLOBAL_VALUE_OPTIONS:
            i += 1  # its value
        elif not word.startswith("-"):
            words.append(word)
        i += 1
    group = next((g for g in app.registered_groups if words and g.name == words[0]), None)
    if group is None or len(words) < 2 or group.typer_instance is None:
        return None
    if not any(c.name == words[1] for c in group.typer_instance.registered_commands):
        return None
    return words[0], words[1]


def _only(selection: tuple[str, str] | None) -> Any:
    """``app`` reduced to the one group command ``selection`` names (to none for
    ``_ROOT_ONLY``), or ``app``.

    Building the command tree costs time for every command it holds (typer reads each
    signature), and every invocation pays it: a run of ``zbulk job show`` needs only
    that command. Help listings, Tab completion and anything else get the whole app.
    """
    import copy

    if selection is None:
        return app
    groups = []
    if selection != _ROOT_ONLY:
        group = next(g for g in app.registered_groups if g.name == selection[0])
        assert group.typer_instance is not None
        commands = [c for c in group.typer_instance.registered_commands
                    if c.name == selection[1]]  # fmt: skip
        sub = copy.copy(group.typer_instance)
        sub.registered_commands = commands
        sub.registered_groups = []
        only_group = copy.copy(group)
        only_group.typer_instance = sub
        groups.append(only_group)
    root = copy.copy(app)
    root.registered_groups = groups
    root.registered_commands = []
    return root


_TREES: dict[tuple[str, str] | None, Any] = {}


def _command_tree(args: list[str] | None = None) -> Any:
    """The click command behind ``app`` (only the part ``args`` needs), with full
    one-line summaries in listings (click would cut them at 45 characters).

    A process builds each tree once: a second ``main()`` in the same process (the tests
    call it in-process a thousand times) reuses it, as click allows."""
    selection = _selection(args) if args else None
    if selection not in _TREES:
        _TREES[selection] = _build_tree(selection)
    return _TREES[selection]


def _build_tree(selection: tuple[str, str] | None) -> Any:
    command = typer.main.get_command(_only(selection))
    stack = [("", command)]
    while stack:
        path, group = stack.pop()
        _plain_metavars(group)
        for name, sub in getattr(group, "commands", {}).items():
            if not sub.short_help and sub.help:
                sub.short_help = sub.help.strip().split("\n\n")[0].replace("\n", " ")
            sub_path = f"{path} {name}".strip()
            if not sub.epilog:
                sub.epilog = epilog(examples(sub_path))
            stack.append((sub_path, sub))
    return command


def _plain_metavars(command: Any) -> None:
    """Real placeholders in help: ``--port PORT``, not ``<int range>``; ``JOB_ID...``,
    not ``{JOB_ID...}``."""
    for param in getattr(command, "params", ()):
        if param.param_type_name == "argument":
            name = param.metavar or (param.name or "ARG").upper()
            shown = name if param.required else f"[{name}]"
            param.make_metavar = lambda ctx=None, *, usage=False, shown=shown: shown
        elif param.metavar is None and not (param.is_flag or param.count):
            choices = getattr(param.type, "choices", None)
            param.metavar = "|".join(map(str, choices)) if choices else param.name.upper()


def _takes_value(command: Any, name: str) -> bool | None:
    """Whether ``command``'s option ``name`` takes a value; None if it has no such option."""
    for param in getattr(command, "params", ()):
        if name in getattr(param, "opts", ()) or name in getattr(param, "secondary_opts", ()):
            return param.param_type_name == "option" and not (param.is_flag or param.count)
    return None


def hoist_globals(root: Any, args: list[str]) -> list[str]:
    """``args`` with the global options that follow the subcommand moved before it
    (unless that subcommand has an option of the same name)."""
    moved: list[str] = []
    kept: list[str] = []
    command = root
    i = 0
    while i < len(args):
        word = args[i]
        if word == "--":
            kept.extend(args[i:])
            break
        name, has_value, _ = word.partition("=")
        if command is not root and _takes_value(command, name) is None:
            if name in GLOBAL_FLAGS and not has_value:
                moved.append(word)
                i += 1
                continue
            if name in GLOBAL_VALUE_OPTIONS and (has_value or i + 1 < len(args)):
                take = 1 if has_value else 2
                moved.extend(args[i : i + take])
                i += take
                continue
        kept.append(word)
        i += 1
        if word.startswith("-"):
            if not has_value and _takes_value(command, name):
                kept.extend(args[i : i + 1])  # the option's value, whatever it looks like
                i += 1
        else:
            command = getattr(command, "commands", {}).get(word, command)
    return moved + kept


def _verbose(args: list[str]) -> bool:
    words = args[: args.index("--")] if "--" in args else args
    return any(a in GLOBAL_FLAGS for a in words)


def main(argv: list[str] | None = None) -> int:
    """Run zbulk; return the exit status (see the contract's table)."""
    from zbulk.errors import ExitCode, Interrupted, OutputClosed, ZbulkError
    from zbulk.output import Output, tolerant

    tolerant(sys.stdout)
    tolerant(sys.stderr)
    args = list(sys.argv[1:] if argv is None else argv)
    verbose = _verbose(args)
    try:
        try:
            command = _command_tree(args)
            args = hoist_globals(command, args) if args else ["--help"]
            result = command.main(args=args, prog_name="zbulk", standalone_mode=False)
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

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
    return ExitCode.BROKEN_PIPE


def _report(say: Any, code: int) -> int:
    """Write a message to stderr; whatever happens to stdout meanwhile, return ``code``."""
    from zbulk.errors import OutputFailed
    from zbulk.output import Output

    with contextlib.suppress(OSError, OutputFailed):
        say(Output())
    if code == 1:  # stdout may hold what it could not write: never again
        _closed()
    return int(code)


def _usage(exc: typer.TyperException) -> int:
    ctx = getattr(exc, "ctx", None)
    if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:
        # A bare group (`zbulk job`): its help is the answer, on stdout.
        try:
            print(ctx.get_help())
            sys.stdout.flush()
        except BrokenPipeError:
            return _closed()
        return 0
    from zbulk.output import safe_lines

    # The same shape as every other error: usage, then `error:` and a `hint:` that runs.
    lines = []
    if ctx is not None:
        lines += [ctx.get_usage(), ""]
    lines.append(f"error: {safe_lines(exc.format_message())}")
    if ctx is not None:
        lines.append(f"hint: see `{ctx.command_path} --help`")
    with contextlib.suppress(OSError, ValueError, AttributeError):  # stderr closed: nothing to say
        print("\n".join(lines), file=sys.stderr)
    return int(getattr(exc, "exit_code", 2))
