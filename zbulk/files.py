"""The one door for every file zbulk writes: outputs (``--output-dir``, downloads), its
config (``config.toml``, ``logins.json``, secret files), its state (history, the org cache,
import records, metadata caches), locks and temporary files. ``tests/test_files.py`` walks
the code and fails when anything under ``zbulk/`` writes a file some other way.

The rules, the same for every file:

- A file is created new (``O_CREAT | O_EXCL | O_NOFOLLOW``), mode 0600: never through a
  symlink, never into a file that was already there. Files that replace others are written
  to such a new temporary file beside the target, then renamed over it.
- What zbulk did not create is never replaced: an output over an existing path only with
  ``force`` (``replace="any"``); zbulk's own state and config (``replace="own"``) only over
  a regular file of this user's (a symlink, a directory or another user's file there is
  refused, naming the path).
- Directories zbulk creates are 0700, every level of them. A config or state directory
  owned by another user or writable by group or others is refused, with the path and the
  fix (``private_dir``): anyone who can write there could plant a link or a config.
- Config and login state are written ``durable``: the file is fsync'd before the rename and
  the directory after it.
- Locks are files opened without following symlinks and without truncating (``lock``).

Every failure is a ``LocalFileError`` (exit 1) that names the path. Imports nothing heavy:
the history reader (Tab completion) and ``config`` import this module at start-up.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import sys
import time
from _thread import get_ident
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any, Literal

from zbulk.errors import LocalFileError

FILE_MODE = 0o600
DIR_MODE = 0o700
LOCK_POLL = 0.05  # seconds between two tries of a lock another process holds
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_BINARY = getattr(os, "O_BINARY", 0)
_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC | _BINARY
_POSIX = os.name == "posix"

Replace = Literal["never", "any", "own"]


class LockTimeout(LocalFileError):
    """Another process held a lock for longer than the caller would wait."""


def local_error(path: Path | str, exc: OSError, action: str = "write") -> LocalFileError:
    """``exc`` as the error a user sees: what could not be done to which path, and why."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    hint = None
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        hint = "free some space (or raise the file size limit) and run the command again"
    elif exc.errno == errno.ELOOP:
        reason = "it is a symlink, and zbulk never writes through one"
        hint = f"remove the link ({path}) and run the command again"
    return LocalFileError(f"cannot {action} {path}: {reason}", hint=hint)


# --- where: the config and state directories, and directories zbulk may use ----------


def config_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where ``config.toml``, ``logins.json`` and secret files live: ``ZBULK_CONFIG_DIR``,
    else the platform's user config dir. Not created here."""
    env = os.environ if env is None else env
    override = env.get("ZBULK_CONFIG_DIR")
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir("zbulk", appauthor=False))


def state_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where zbulk keeps its state (history, the org cache, import records, caches):
    ``ZBULK_STATE_DIR``, else the platform's user state dir. Not created here."""
    env = os.environ if env is None else env
    if env.get("ZBULK_STATE_DIR"):
        return Path(env["ZBULK_STATE_DIR"]).expanduser()
    import platformdirs

    return Path(platformdirs.user_state_dir("zbulk", appauthor=False))


def _make_dirs(path: Path) -> None:
    """Create ``path`` and its missing parents, each 0700; a clear error when a file of
    that name is in the way or the parent refuses."""
    missing: list[Path] = []
    here = Path(os.path.abspath(path))
    while not os.path.lexists(here) and here != here.parent:
        missing.append(here)
        here = here.parent
    for directory in reversed(missing):
        try:
            os.mkdir(directory, DIR_MODE)
        except FileExistsError:
            pass  # made meanwhile by another zbulk; checked below
        except OSError as exc:
            raise local_error(directory, exc, "create the directory") from None
    if not os.path.isdir(path):
        raise LocalFileError(
            f"cannot use {path}: it is not a directory", hint=f"move the file {path} away"
        )


def unsafe_dir(path: Path, *, reading: bool = False) -> str | None:
    """Why ``path`` (a directory) is not private enough for zbulk's config or state, or
    None. Writing: it must be this user's and writable by nobody else. Reading: owned by
    this user or root, and writable by nobody else. (No such rule off POSIX.)"""
    if not _POSIX:
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None  # nothing there yet: whoever creates it decides
    me = os.geteuid()
    if st.st_uid != me and not (reading and st.st_uid == 0):
        return f"it belongs to another user (uid {st.st_uid})"
    if st.st_mode & 0o022:
        who = (
            "group and others"
            if st.st_mode & 0o022 == 0o022
            else ("its group" if st.st_mode & 0o020 else "others")
        )
        return f"{who} can write in it (mode {stat.S_IMODE(st.st_mode):04o})"
    return None


def check_private(path: Path, *, reading: bool = False) -> None:
    """Refuse a config or state directory that someone else could write in (see
    ``unsafe_dir``): a ``LocalFileError`` with the path and the fix."""
    problem = unsafe_dir(path, reading=reading)
    if problem is None:
        return
    if "another user" in problem:
        fix = (
            f"use a directory of your own (ZBULK_CONFIG_DIR / ZBULK_STATE_DIR), or "
            f"`chown -R $(id -un) {path}` if it is yours"
        )
    else:
        fix = f"run `chmod go-w {path}` (and check that nothing in it was put there by others)"
    raise LocalFileError(f"refusing to use {path}: {problem}", hint=fix)


def private_dir(path: Path, env: Mapping[str, str] | None = None) -> Path:
    """``path`` as a directory for zbulk's own files: created (0700, with any missing
    parents) when missing, refused when another user owns it or others can write in it;
    so is each directory between it and the config or state directory it is in."""
    here = Path(os.path.abspath(path))
    chain = [here]
    for root in _roots(env):
        if root in here.parents:
            chain += here.parents[: here.parents.index(root) + 1]
    for directory in reversed(chain):  # what is there already, before anything is made
        check_private(directory)
    _make_dirs(path)
    check_private(here)
    return path


def _roots(env: Mapping[str, str] | None) -> tuple[Path, ...]:
    """The config and state directories, absolute."""
    return tuple(Path(os.path.abspath(d)) for d in (config_dir(env), state_dir(env)))


def output_dir(path: Path) -> Path:
    """``path`` as a directory for outputs the user asked for (``--output-dir``): created
    (0700) when missing. The user's own directory: its mode is the user's business."""
    _make_dirs(path)
    return path


# --- writing --------------------------------------------------------------------------


def _open_new(path: Path) -> int:
    """A new file at ``path``, 0600: fails if anything (a symlink too) is there."""
    return os.open(path, _NEW, FILE_MODE)


def _temp_beside(target: Path) -> tuple[int, Path]:
    for _ in range(100):
        temp = target.with_name(f".{target.name}.{os.urandom(5).hex()}.tmp")
        try:
            return _open_new(temp), temp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(target))


def _is_own_file(path: Path) -> str | None:
    """Why zbulk may not replace what is at ``path``, or None (nothing, or this user's
    regular file)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(st.st_mode):
        return "it is a symlink"
    if not stat.S_ISREG(st.st_mode):
        return "it is not a regular file"
    if _POSIX and st.st_uid != os.geteuid():
        return f"it belongs to another user (uid {st.st_uid})"
    return None


def _fsync_dir(directory: Path) -> None:
    if not _POSIX:
        return
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY | _CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class NewFile:
    """A file written to a new temporary file beside ``target`` and moved into place by
    ``publish()``. ``replace``: ``never`` (fails if anything is at the target), ``any`` (an
    output with ``--force``: what is there, a symlink too, is replaced, never followed) or
    ``own`` (zbulk's own file: only this user's regular file is replaced). ``durable``:
    fsync'd before the rename, the directory after it. ``close()`` lets go of the handle
    and keeps the temporary file, so a caller with many files keeps few open."""

    def __init__(
        self,
        target: Path,
        *,
        replace: Replace = "never",
        durable: bool = False,
        binary: bool = True,
        encoding: str = "utf-8",
        errors: str = "strict",
    ) -> None:
        self.target = Path(target)
        self.replace = replace
        self.durable = durable
        try:
            fd, self.temp = _temp_beside(self.target)
        except OSError as exc:
            raise local_error(self.target, exc) from None
        self.handle: IO[Any]
        if binary:
            self.handle = os.fdopen(fd, "wb")
        else:
            self.handle = os.fdopen(fd, "w", encoding=encoding, errors=errors, newline="")
        self._done = False

    def __enter__(self) -> IO[Any]:
        return self.handle

    def __exit__(self, kind: object, exc: object, tb: object) -> None:
        if kind is None:
            self.publish()
        else:
            self.discard()

    def write(self, data: Any) -> None:
        try:
            self.handle.write(data)
        except OSError as exc:
            raise local_error(self.target, exc) from None

    def close(self) -> None:
        """Flush and close the handle (fsync'd when durable); the file stays unpublished."""
        if self.handle.closed:
            return
        try:
            self.handle.flush()
            if self.durable:
                os.fsync(self.handle.fileno())
            self.handle.close()
        except OSError as exc:
            raise local_error(self.target, exc) from None

    def publish(self) -> None:
        """Move the file into place under the ``replace`` rule; remove it on any failure."""
        try:
            self.close()
            if self.replace == "never":
                self._link()
            else:
                if self.replace == "own":
                    problem = _is_own_file(self.target)
                    if problem:
                        raise LocalFileError(
                            f"cannot write {self.target}: {problem}, not a file zbulk made; "
                            "it was left as it is",
                            hint=f"move {self.target} away and run the command again",
                        )
                os.replace(self.temp, self.target)  # a symlink there is replaced, not followed
            self._done = True
            if self.durable:
                _fsync_dir(self.target.parent)
        except OSError as exc:
            raise local_error(self.target, exc) from None
        finally:
            self.discard()

    def _link(self) -> None:
        """Publish without replacing anything: a hard link fails if anything is there."""
        exists = LocalFileError(
            f"{self.target} already exists; it was not replaced", hint="add --force to replace it"
        )
        try:
            os.link(self.temp, self.target)
        except FileExistsError:
            raise exists from None
        except OSError:  # a file system without hard links
            if os.path.lexists(self.target):
                raise exists from None
            os.rename(self.temp, self.target)
            return
        os.unlink(self.temp)

    def discard(self) -> None:
        """Close and remove the temporary file (nothing once published)."""
        with contextlib.suppress(OSError):
            self.handle.close()
        if not self._done:
            with contextlib.suppress(OSError):
                os.unlink(self.temp)


def create_output(
    target: Path,
    *,
    force: bool,
    binary: bool = False,
    encoding: str = "utf-8",
    errors: str = "strict",
) -> NewFile:
    """An output the user asked for (``--output-dir``): published by the caller, never over
    an existing file without ``force``."""
    return NewFile(
        target, replace="any" if force else "never", binary=binary, encoding=encoding, errors=errors
    )


def copy_to_output(source: Path, target: Path, *, force: bool) -> None:
    """``source`` copied to the output ``target`` (see ``create_output``)."""
    dest = create_output(target, force=force, binary=True)
    try:
        with source.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                dest.write(chunk)
        dest.publish()
    except OSError as exc:
        raise local_error(target, exc) from None
    finally:
        dest.discard()


def open_private_for_write(
    path: Path, *, durable: bool = False, binary: bool = False, encoding: str = "utf-8"
) -> NewFile:
    """zbulk's own file (config or state) at ``path``, to use as a context manager: the
    handle it gives is published atomically on a clean exit, thrown away on an error.
    The directory is made private (``private_dir``) first."""
    private_dir(Path(path).parent)
    return NewFile(path, replace="own", durable=durable, binary=binary, encoding=encoding)


def write_private(path: Path, data: bytes | str, *, durable: bool = False) -> None:
    """Replace zbulk's own file at ``path`` with ``data`` at once (see
    ``open_private_for_write``): readers see the old file or the new one."""
    with open_private_for_write(path, durable=durable, binary=isinstance(data, bytes)) as fh:
        try:
            fh.write(data)
        except OSError as exc:
            raise local_error(path, exc) from None


@contextlib.contextmanager
def create_new(path: Path, *, binary: bool = True, encoding: str = "utf-8") -> Iterator[IO[Any]]:
    """A new file written in place (a download into a ``temp_dir``, a file a demo makes):
    fails if anything is at ``path``."""
    try:
        fd = _open_new(path)
    except OSError as exc:
        raise local_error(path, exc) from None
    handle: IO[Any] = (
        os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding=encoding, newline="")
    )
    with handle:
        yield handle


@contextlib.contextmanager
def new_zip(path: Path, compresslevel: int | None = None) -> Iterator[Any]:
    """A new deflated ZIP archive at ``path`` (see ``create_new``)."""
    import zipfile

    with (
        create_new(path) as fh,
        zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED, compresslevel=compresslevel) as archive,
    ):
        yield archive


def touch(path: Path) -> None:
    """Create ``path`` (0600) if missing and set its modification time to now; never
    through a symlink."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | _NOFOLLOW | _CLOEXEC, FILE_MODE)
    try:
        os.utime(fd if os.utime in os.supports_fd else path)
    finally:
        os.close(fd)


@contextlib.contextmanager
def temp_dir(prefix: str = "zbulk-") -> Iterator[Path]:
    """A new private (0700) temporary directory, removed with everything in it at the end."""
    import tempfile

    try:
        holder = tempfile.TemporaryDirectory(prefix=prefix)
    except OSError as exc:
        raise local_error(tempfile.gettempdir(), exc, "create a directory in") from None
    with holder as name:
        yield Path(name)


# --- locks ----------------------------------------------------------------------------

_HELD: dict[tuple[str, int], list[int]] = {}  # (path, thread) -> [fd, depth]


@contextlib.contextmanager
def lock(path: Path, timeout: float) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` across processes (``flock`` on POSIX, ``msvcrt``
    on Windows) for the ``with`` block. The lock file is created 0600 without following a
    symlink and never truncated. Re-entered by the thread that holds it, it counts up
    instead of waiting on itself. ``LockTimeout`` after ``timeout`` seconds.

    Not filelock: the pinned 3.14 opens the lock file with ``O_TRUNC`` and follows a
    symlink there (CVE-2025-68146, fixed in 3.20.1; a contender still truncated the
    holder's file until tox-dev/filelock#594)."""
    key = (os.path.abspath(path), get_ident())
    held = _HELD.get(key)
    if held is not None:
        held[1] += 1
        try:
            yield
        finally:
            held[1] -= 1
        return
    try_lock, release = _try_lock, _release
    if try_lock is None or release is None:  # no fcntl (an unusual platform): a lock file's
        # existence is the lock
        with _soft_lock(path, timeout):
            _HELD[key] = [-1, 1]
            try:
                yield
            finally:
                del _HELD[key]
        return
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | _NOFOLLOW | _CLOEXEC | _BINARY, FILE_MODE)
    except OSError as exc:
        raise local_error(path, exc, "lock") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise LocalFileError(
                f"cannot lock {path}: it is not a regular file",
                hint=f"move {path} away and run the command again",
            )
        _acquire(lambda: try_lock(fd), path, timeout)
    except BaseException:
        os.close(fd)
        raise
    _HELD[key] = [fd, 1]
    try:
        yield
    finally:
        del _HELD[key]
        with contextlib.suppress(OSError):
            release(fd)
        os.close(fd)


@contextlib.contextmanager
def _soft_lock(path: Path, timeout: float) -> Iterator[None]:
    soft = path.with_name(path.name + ".held")

    def take() -> None:
        try:
            os.close(_open_new(soft))
        except FileExistsError:
            raise BlockingIOError(errno.EAGAIN, "held") from None

    _acquire(take, soft, timeout)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.unlink(soft)


def _acquire(take: Callable[[], None], path: Path, timeout: float) -> None:
    ends = time.monotonic() + timeout
    while True:
        try:
            take()
            return
        except (BlockingIOError, PermissionError):
            if time.monotonic() >= ends:
                raise LockTimeout(f"another zbulk held the lock {path} for {timeout:g}s") from None
            time.sleep(LOCK_POLL)
        except OSError as exc:
            raise local_error(path, exc, "lock") from None


_try_lock: Callable[[int], None] | None = None
_release: Callable[[int], None] | None = None
if sys.platform == "win32":  # pragma: no cover (CI is Linux)
    import msvcrt

    def _lock_byte(fd: int, mode: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        try:
            msvcrt.locking(fd, mode, 1)
        except OSError as exc:
            if mode == msvcrt.LK_NBLCK:
                raise BlockingIOError(*exc.args) from None
            raise

    def _try_lock(fd: int) -> None:
        _lock_byte(fd, msvcrt.LK_NBLCK)

    def _release(fd: int) -> None:
        _lock_byte(fd, msvcrt.LK_UNLCK)
else:
    try:
        import fcntl
    except ImportError:  # pragma: no cover (an unusual platform): _soft_lock
        pass
    else:

        def _try_lock(fd: int) -> None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

        def _release(fd: int) -> None:
            fcntl.flock(fd, fcntl.LOCK_UN)
