"""Ctrl-C (and SIGTERM, SIGHUP) as zbulk handles it: ``KeyboardInterrupt`` in the main
thread, but never where it cannot propagate.

Python's own SIGINT handler raises ``KeyboardInterrupt`` at whatever bytecode the main
thread is running. When that is a finalizer (a ``weakref.finalize`` callback such as the
one urllib3 registers to close a connection pool, a ``__del__`` method, a generator closed
by the collector), the exception cannot reach any ``except``: the interpreter prints
``Exception ignored in: <finalize object …>`` with a traceback, and the interrupt is lost.

Here the handler looks at what the main thread is running first. In a finalizer, or inside
``held()`` (a few lines zbulk must finish, such as the last flush before exit), the
interrupt is kept pending and delivered a moment later by a one-shot ``SIGALRM`` timer,
once the thread is somewhere an exception can propagate from. Anything that still swallows
an interrupt (``sys.unraisablehook`` sees it) has it delivered again the same way.

Nothing here imports more than ``signal``: it is installed before anything else loads.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from types import FrameType

RETRY = 0.005  # seconds before a pending interrupt is tried again
# Frames of these files run as finalizers (weakref callbacks) or hold a lock across them.
_FINALIZER_FILES = ("weakref.py", "_weakrefset.py")
_FINALIZER_NAMES = frozenset({"__del__", "_close_pool_connections"})

_pending = False
_held = 0
_installed = False


def install(early: list[int] | None = None) -> None:
    """Handle SIGINT (and, in ``signals_interrupt``, SIGTERM and SIGHUP) as described
    above. Main thread only; a no-op elsewhere and when called again. ``early``: the
    interrupts a first handler kept while this module loaded (delivered now, the same
    way as a deferred one)."""
    global _installed
    if _installed:
        return
    try:
        signal.signal(signal.SIGINT, interrupt)
    except ValueError:  # not the main thread
        return
    _installed = True
    if early:
        _defer()


def interrupt(signum: int, frame: FrameType | None) -> None:
    """The signal handler: ``KeyboardInterrupt`` now, or as soon as it can propagate."""
    if _held or _in_finalizer(frame):
        _defer()
        return
    _raise()


def _raise() -> None:
    global _pending
    _pending = False
    raise KeyboardInterrupt


def _in_finalizer(frame: FrameType | None) -> bool:
    while frame is not None:
        code = frame.f_code
        if code.co_name in _FINALIZER_NAMES or code.co_filename.endswith(_FINALIZER_FILES):
            return True
        frame = frame.f_back
    return False


def _defer() -> None:
    """Keep the interrupt, and look again in ``RETRY`` seconds (a blocking call the main
    thread makes meanwhile is woken by the timer's signal)."""
    global _pending
    _pending = True
    alarm = getattr(signal, "SIGALRM", None)
    if alarm is None:  # Windows: the next safe check (``held()``'s end) delivers it
        return
    with contextlib.suppress(ValueError, OSError):
        signal.signal(alarm, _retry)
        signal.setitimer(signal.ITIMER_REAL, RETRY)


def _retry(signum: int, frame: FrameType | None) -> None:
    if not _pending:
        return
    if _held or _in_finalizer(frame):
        _defer()
        return
    with contextlib.suppress(ValueError, OSError):
        signal.signal(signum, signal.SIG_DFL)
    _raise()


def pending() -> bool:
    """An interrupt arrived and has not been raised yet."""
    return _pending


@contextlib.contextmanager
def held(*, deliver: bool = True) -> Iterator[None]:
    """Run the block without being interrupted; an interrupt that arrived meanwhile is
    raised at its end (``deliver``), or dropped (the process is ending anyway)."""
    global _held, _pending
    _held += 1
    try:
        yield
    finally:
        _held -= 1
        if not _held and _pending:
            if deliver:
                _raise()
            _pending = False


def swallowed(exc_type: type[BaseException] | None) -> bool:
    """For ``sys.unraisablehook``: an interrupt that ended up where it could not propagate
    (some finalizer not recognised above) is delivered again; True if it was one."""
    if exc_type is None or not issubclass(exc_type, KeyboardInterrupt):
        return False
    if _installed:
        _defer()
    return True
