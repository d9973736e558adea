"""``python -m zbulk`` and the ``zbulk`` script both start here."""

from __future__ import annotations

import _signal  # the builtin half of `signal`: importing it costs nothing
import gc
import os
from typing import NoReturn

INTERRUPTED = 130  # ExitCode.INTERRUPTED, without importing zbulk.errors first
_early: list[int] = []  # Ctrl-C seen before zbulk.interrupts took over


def _keep(signum: int, frame: object) -> None:
    _early.append(signum)


def run() -> NoReturn:
    """Run zbulk as a process: Ctrl-C handled from the first line, no cyclic GC during
    imports, and no interpreter teardown.

    Ctrl-C: ``zbulk.interrupts`` takes SIGINT before anything else is imported, so an
    interrupt during start-up, or while a finalizer runs, or in the last flush, ends zbulk
    with status 130 and one line saying so, never a traceback or "Exception ignored".

    Start-up is mostly imports, which allocate many long-lived objects and set off
    collections that find nothing to free. So the collector is off while zbulk's modules
    load; then ``gc.freeze()`` moves everything allocated so far into a permanent
    generation that later collections never scan, and the collector is switched back on:
    a long ``zbulk sandbox`` or ``job watch`` has a working collector that does not walk
    the import-time objects again. Tearing the interpreter down afterwards (clearing every
    module, a final full collection) costs more than most commands, so the process ends
    with ``os._exit``: zbulk keeps nothing open that needs closing at exit (files are
    written inside ``with`` blocks), and stdout and stderr are flushed here first.
    """
    _signal.signal(_signal.SIGINT, _keep)  # until zbulk.interrupts is loaded (~1 ms)
    from zbulk import interrupts

    interrupts.install(early=_early)
    code = INTERRUPTED
    try:
        try:
            gc.disable()
            try:
                from zbulk.cli import main
            finally:
                gc.freeze()
                gc.enable()
            code = main()
        except SystemExit as exc:  # a Tab completion request ends with sys.exit()
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except KeyboardInterrupt:  # in start-up, before main() could take it
            code = INTERRUPTED
            with interrupts.held(deliver=False):
                _say_interrupted()
    except KeyboardInterrupt:  # again, while saying so
        code = INTERRUPTED
    with interrupts.held(deliver=False):
        if interrupts.pending() and code != INTERRUPTED:  # came as the command ended
            code = INTERRUPTED
            _say_interrupted()
        from zbulk.output import flush_standard_streams

        code = flush_standard_streams(code)
    os._exit(code)


def _say_interrupted() -> None:
    import contextlib

    with contextlib.suppress(Exception):  # nowhere to say it: the exit status does
        from zbulk.errors import Interrupted
        from zbulk.output import Output

        Output().note(f"\n{Interrupted().message}")


if __name__ == "__main__":
    run()
