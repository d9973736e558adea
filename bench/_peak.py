"""Peak memory of the benchmark's own worker process; imports nothing heavy, so the worker's
figure is its own work."""

from __future__ import annotations

import sys


def peak_kib() -> tuple[int, str]:
    """This process's peak RSS in KiB, and where it came from.

    VmHWM (Linux) is the high-water mark of the process image exec started, so it is this
    program's own. ru_maxrss is not, on Linux: it keeps the parent's peak across fork and
    exec, so a child of a 200 MiB parent reports 200 MiB however little it uses; it is only
    the fallback where /proc is missing."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]), "VmHWM"
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return (peak // 1024 if sys.platform == "darwin" else peak), "ru_maxrss"
