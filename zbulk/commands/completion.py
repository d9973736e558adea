"""``zbulk completion SHELL``: print the Tab-completion script for a shell.

The scripts are typer's own, for prog name ``zbulk`` and the request variable
``_ZBULK_COMPLETE``: on each Tab press the shell runs ``zbulk`` with that variable set
(``complete_bash``, ``complete_zsh`` or ``complete_fish``) and typer prints the
candidates instead of running a command. The root app is built with
``add_completion=False`` (no ``--install-completion`` options), and typer registers its
shell classes only when it adds those options, so ``zbulk.cli`` calls
:func:`enable_requests` when the variable is set. Nothing here is imported for other
commands beyond this module: typer.main has already loaded the typer modules used.
"""

from __future__ import annotations

from typing import Annotated, Literal

import typer

PROG_NAME = "zbulk"
COMPLETE_VAR = "_ZBULK_COMPLETE"


Shell = Literal["bash", "zsh", "fish"]


def script(shell: str) -> str:
    """The completion script for ``shell``, as ``zbulk completion SHELL`` prints it."""
    from typer._completion_shared import get_completion_script

    return get_completion_script(prog_name=PROG_NAME, complete_var=COMPLETE_VAR, shell=shell)


def enable_requests() -> None:
    """Register typer's bash, zsh and fish completion classes, so a ``_ZBULK_COMPLETE``
    request is answered (without them typer says "Shell bash not supported.")."""
    from typer import _completion_classes as classes

    classes.completion_init()
    # typer renders each zsh/fish description through rich at the console's width: a
    # summary longer than that arrives as two candidates, and every Tab press imports
    # rich. zbulk's help has no markup (rich_markup_mode=None): one plain line is right.
    classes._sanitize_help_text = _one_line


def _one_line(text: str) -> str:
    return " ".join(text.split())


def completion(
    shell: Annotated[
        Shell,
        typer.Argument(metavar="SHELL", help="bash, zsh or fish.", show_default=False),
    ],
) -> None:
    """Print the Tab-completion script for SHELL; install it once.

    \b
    bash: zbulk completion bash > ~/.local/share/bash-completion/completions/zbulk
          (needs the bash-completion package; or source the file from ~/.bashrc)
    zsh:  zbulk completion zsh > ~/.zfunc/_zbulk, then in ~/.zshrc, after compinit:
          source ~/.zfunc/_zbulk
    fish: zbulk completion fish > ~/.config/fish/completions/zbulk.fish

    Create the directory first if need be, then open a new shell. Job ids complete from
    the jobs zbulk has shown on this machine.
    """
    from zbulk.output import write_plain

    write_plain(script(shell))
