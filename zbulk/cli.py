"""The switchboard: the root command, its global options, and ``main()``.

``main()`` is the one place where errors become messages and exit codes; no
traceback reaches the user.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer
from typer.core import TyperGroup

from zbulk import __version__
from zbulk.commands import auth, completion, job, sandbox
from zbulk.commands import config as config_command
from zbulk.context import AppContext


class _Root(TyperGroup):
    """The root command. Ctrl-C and a closed stdout become zbulk errors here, before the
    command framework turns them into bare exit codes, so ``main()`` handles them too."""

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
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(job.app, name="job")
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
            metavar="S",
            help="Seconds to wait for each answer. [env: ZBULK_REQUEST_TIMEOUT; default: 30]",
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
    """
    ctx.obj = AppContext(profile, api_domain, api_version, request_timeout, verbose)


def main(argv: list[str] | None = None) -> int:
    """Run zbulk; return the exit status (see the contract's table)."""
    from zbulk.errors import ExitCode, Interrupted, OutputClosed, ZbulkError
    from zbulk.output import Output

    try:
        result = app(args=argv, prog_name="zbulk", standalone_mode=False)
    except OutputClosed:
        # Quietly: point stdout at /dev/null so the interpreter's final flush cannot fail.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return ExitCode.BROKEN_PIPE
    except Interrupted as exc:
        Output().note(f"\n{exc.message}")
        return ExitCode.INTERRUPTED
    except ZbulkError as exc:
        return Output().error(exc)
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:  # end of input at a prompt
        return ExitCode.INTERRUPTED
    except typer.TyperException as exc:  # a usage error found by the parser
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            print(f"error: {exc.format_message()}", file=sys.stderr)
        return exc.exit_code
    return int(result) if isinstance(result, int) else ExitCode.OK
