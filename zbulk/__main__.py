"""``python -m zbulk`` and the ``zbulk`` script both start here."""

from __future__ import annotations

import gc
import os
import sys
from typing import NoReturn


def run() -> NoReturn:
    """Run zbulk as a process: no cyclic GC during imports, and no interpreter teardown.

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
    gc.disable()
    from zbulk.cli import main

    gc.freeze()
    gc.enable()
    try:
        code = main()
    except SystemExit as exc:  # a Tab completion request ends with sys.exit()
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:  # None: the descriptor was closed when zbulk started
                stream.flush()
        except BrokenPipeError:  # the reader went away after the last write
            code = code or 141
        except (OSError, ValueError):
            code = code or 1
    os._exit(code)


if __name__ == "__main__":
    run()
