"""``python -m zbulk`` and the ``zbulk`` script both start here."""

from __future__ import annotations

import gc
import sys


def run() -> int:
    """Run zbulk with the cyclic garbage collector paused.

    Start-up is mostly imports, which allocate many objects and set off collections
    that find nothing to free; pausing the collector saves about 5% of every run
    (bench/show.py). A short command frees its objects by reference counting anyway;
    long-running commands turn the collector back on when their loop starts.
    """
    gc.disable()
    try:
        from zbulk.cli import main

        return main()
    finally:
        gc.enable()


if __name__ == "__main__":
    sys.exit(run())
