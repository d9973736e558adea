"""A fork server for the tests' zbulk processes: real processes without the start-up bill.

Most subprocess tests are about what a *process* does (exit codes, real pipes and terminals,
signals, locks between processes, memory), not about interpreter start-up. A fresh
``zbulk`` pays ~150 ms of CPU for Python and its imports before it does anything; the suite
starts a few hundred. So each test process starts one zygote: ``python tests/zygote.py``
imports every module of zbulk and the libraries they load (not keyring), then forks a child
per command. The child is a separate process with its own pid, the test's file descriptors as
0/1/2, the test's environment and working directory, fresh ``sys.std*`` and Python's
start-up signal dispositions; it runs ``zbulk.__main__.run()``, the installed script's own
entry point, and ends with its exit code. Its parent is the zygote, which reports the wait
status back over the request's socket.

``Popen`` and ``run`` are drop-in replacements for ``subprocess``'s. They use the zygote only
when that cannot change the outcome: the command is the installed ``zbulk`` script, and
nothing that acts before Python runs differs from the zygote's own start (an interpreter
setting such as ``PYTHONIOENCODING``, a locale variable, ``preexec_fn``, extra fds, a
different user). Anything else runs as a plain exec. The start-up path itself (the script,
lazy imports, stdio set up by the interpreter) stays covered by the tests that use
``subprocess`` directly: tests/test_e2e.py, test_completion.py, test_readme_examples.py and
the console-encoding tests.
"""

from __future__ import annotations

import array
import atexit
import contextlib
import io
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

SCRIPT = Path(sys.executable).parent / "zbulk"
# What acts before (or while) Python starts: a child whose value differs from the zygote's
# is started by exec, so its interpreter sets itself up as a fresh one would.
_STARTUP_PREFIXES = ("PYTHON", "LC_")
_STARTUP_NAMES = ("LANG", "LANGUAGE")
_FDS = 3  # stdin, stdout, stderr
# The socket of a zygote a parent process shares (read at import: tests change os.environ).
SHARED = "TESTS_ZYGOTE_SOCKET"
_SHARED_PATH = os.environ.get(SHARED)
_HEADER_MAX = 1 << 20
READY_TIMEOUT = 30.0  # seconds a zygote may take to listen


def _started(path: str) -> bool:
    """Whether the zygote at ``path`` was started and not yet stopped (its starter writes
    env.json before it starts it, and removes it when it stops it)."""
    return os.path.exists(os.path.join(os.path.dirname(path), "env.json"))


def _startup_env(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k.startswith(_STARTUP_PREFIXES) or k in _STARTUP_NAMES}


# --- the client: the test side ----------------------------------------------------------


class _Zygote:
    """This process's zygote: started on first use and stopped when the process exits, or
    the one a parent process shares (``share()``: pytest's controller shares one with its
    xdist workers, which saves each worker starting its own)."""

    lock = threading.Lock()
    current: _Zygote | None = None

    def __init__(self, shared: str | None = None) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        if shared is not None:  # another process's: use it, never stop it
            self.dir = os.path.dirname(shared)
            self.path = shared
            with open(os.path.join(self.dir, "env.json"), encoding="utf-8") as fh:
                self.env = json.load(fh)
            return
        self.dir = tempfile.mkdtemp(prefix="zbulk-zygote-")
        self.path = os.path.join(self.dir, "sock")
        self.env = dict(os.environ)
        self.env.pop(SHARED, None)
        with open(os.path.join(self.dir, "env.json"), "w", encoding="utf-8") as fh:
            json.dump(_startup_env(self.env), fh)
        self.proc = subprocess.Popen(
            [sys.executable, __file__, self.path],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=None, env=self.env,
        )  # fmt: skip
        atexit.register(self.stop)

    def wait_ready(self) -> None:
        """Until the server listens: its socket appears only then (it listens on another
        name, then renames it). A server that failed to start leaves the reason beside it."""
        import time

        deadline = time.monotonic() + READY_TIMEOUT
        while not os.path.exists(self.path):
            if os.path.exists(self.path + ".failed"):
                with open(self.path + ".failed", encoding="utf-8") as fh:
                    raise RuntimeError(f"the zygote did not start: {fh.read()}")
            if time.monotonic() > deadline or not self.alive():
                raise RuntimeError(f"the zygote did not start within {READY_TIMEOUT}s")
            time.sleep(0.01)

    @classmethod
    def get(cls) -> _Zygote:
        with cls.lock:
            if cls.current is None or not cls.current.alive():
                shared = _SHARED_PATH
                attach = cls.current is None and shared and _started(shared)
                cls.current = cls(shared) if attach else cls()
            return cls.current

    @classmethod
    def share(cls) -> None:
        """Start this process's zygote now, without waiting for it to listen (it loads
        zbulk meanwhile: 0.2 s the workers would start later), and name it in the
        environment for the child processes started from here on (pytest's xdist workers)."""
        os.environ[SHARED] = cls.get().path

    def alive(self) -> bool:
        if self.proc is None:
            return _started(self.path)
        return self.proc.poll() is None

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()  # EOF: the server exits
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        for name in (self.path, self.path + ".new", self.path + ".failed",
                     os.path.join(self.dir, "env.json")):  # fmt: skip
            with contextlib.suppress(OSError):
                os.unlink(name)
        with contextlib.suppress(OSError):
            os.rmdir(self.dir)

    def spawn(self, request: dict[str, Any], fds: list[int]) -> tuple[int, socket.socket]:
        self.wait_ready()
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.connect(self.path)
        header = json.dumps(request).encode()
        payload = len(header).to_bytes(4, "big") + header
        conn.sendmsg([payload], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
        line = _readline(conn)
        if not line.startswith(b"pid "):
            conn.close()
            raise RuntimeError(f"the zygote refused: {line!r}")
        return int(line.split()[1]), conn


def share() -> None:
    """See ``_Zygote.share``."""
    _Zygote.share()


def _readline(conn: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        part = conn.recv(1)
        if not part:
            break
        data += part
    return data


def controlling_terminal() -> None:
    """``preexec_fn``: a new session whose controlling terminal is the tty on stdin, as in a
    terminal emulator (a zygote child does the same)."""
    import fcntl
    import termios

    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def default_sigint() -> None:
    """``preexec_fn``: Ctrl-C's default disposition even if the test run ignores SIGINT (as a
    shell does for a background job), so Python installs its own handler; a zygote child
    always starts with Python's handler."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def terminal_session() -> None:
    """``preexec_fn``: both of the above."""
    controlling_terminal()
    default_sigint()


# preexec_fn values a zygote child reproduces itself (the value: take the tty on stdin)
_EQUIVALENT = {None: False, default_sigint: False, controlling_terminal: True,
               terminal_session: True}  # fmt: skip


def forkable(args: Any, kwargs: dict[str, Any]) -> bool:
    """Whether ``Popen(args, **kwargs)`` can come from the zygote with the same outcome."""
    if isinstance(args, (str, bytes)) or not args or kwargs.get("shell"):
        return False
    first = str(args[0])
    if first not in (str(SCRIPT), "zbulk") or kwargs.get("executable"):
        return False
    if kwargs.get("preexec_fn") not in _EQUIVALENT:
        return False
    unusual = ("pass_fds", "user", "group", "extra_groups", "process_group")
    if any(kwargs.get(name) for name in unusual):
        return False
    if kwargs.get("restore_signals") is False or kwargs.get("close_fds") is False:
        return False
    env = kwargs.get("env")
    env = dict(os.environ) if env is None else env
    if first == "zbulk" and _which(env) != str(SCRIPT):
        return False
    return _startup_env(env) == _startup_env(_Zygote.get().env)


def _which(env: dict[str, str]) -> str | None:
    import shutil

    return shutil.which("zbulk", path=env.get("PATH", os.defpath))


class Popen(subprocess.Popen):  # type: ignore[type-arg]
    """``subprocess.Popen``; a zbulk command comes from the zygote when that is equivalent."""

    def __init__(self, args: Any, **kwargs: Any) -> None:
        self._zygote_conn: socket.socket | None = None
        self._zygote = forkable(args, kwargs)
        self._zygote_env = kwargs.get("env")
        self._zygote_umask = kwargs.get("umask", -1)
        self._zygote_tty = _EQUIVALENT.get(kwargs.get("preexec_fn"), False)
        super().__init__(args, **kwargs)

    def _execute_child(self, args: Any, executable: Any, preexec_fn: Any, close_fds: Any,
                       pass_fds: Any, cwd: Any, env: Any, startupinfo: Any,
                       creationflags: Any, shell: Any, p2cread: int, p2cwrite: int,
                       c2pread: int, c2pwrite: int, errread: int, errwrite: int,
                       *rest: Any) -> None:  # fmt: skip
        if not self._zygote:
            super()._execute_child(args, executable, preexec_fn, close_fds, pass_fds, cwd,  # type: ignore[misc]
                                   env, startupinfo, creationflags, shell, p2cread, p2cwrite,
                                   c2pread, c2pwrite, errread, errwrite, *rest)  # fmt: skip
            return
        start_new_session = rest[5]  # restore_signals, gid, gids, uid, umask, start_new_session
        environ = dict(os.environ) if env is None else {os.fsdecode(k): os.fsdecode(v)
                                                        for k, v in env.items()}  # fmt: skip
        request = {
            "argv": [str(SCRIPT), *[os.fsdecode(a) for a in list(args)[1:]]],
            "env": environ,
            "cwd": os.fsdecode(cwd) if cwd is not None else os.getcwd(),
            "setsid": bool(start_new_session) or self._zygote_tty,
            "tty": self._zygote_tty,
            "umask": self._zygote_umask,
        }
        fds = [p2cread if p2cread != -1 else 0, c2pwrite if c2pwrite != -1 else 1,
               errwrite if errwrite != -1 else 2]  # fmt: skip
        try:
            self.pid, self._zygote_conn = _Zygote.get().spawn(request, fds)
            self._child_created = True
        finally:
            self._close_pipe_fds(p2cread, p2cwrite, c2pread, c2pwrite, errread, errwrite)  # type: ignore[attr-defined]

    def _try_wait(self, wait_flags: int) -> tuple[int, int]:
        conn = self._zygote_conn
        if conn is None:
            return super()._try_wait(wait_flags)  # type: ignore[misc,no-any-return]
        if wait_flags & os.WNOHANG and not select.select([conn], [], [], 0)[0]:
            return 0, 0
        line = _readline(conn)
        conn.close()
        self._zygote_conn = None
        if not line.startswith(b"status "):  # the zygote went away: report a crash
            return self.pid, 255 << 8
        return self.pid, int(line.split()[1])

    def _internal_poll(self, _deadstate: Any = None, *args: Any, **kwargs: Any) -> Any:
        if self._zygote_conn is None and not getattr(self, "_zygote", False):
            return super()._internal_poll(_deadstate, *args, **kwargs)  # type: ignore[misc]
        if self.returncode is None and self._waitpid_lock.acquire(False):  # type: ignore[attr-defined]
            try:
                if self.returncode is None and self._zygote_conn is not None:
                    pid, sts = self._try_wait(os.WNOHANG)
                    if pid == self.pid:
                        self._handle_exitstatus(sts)  # type: ignore[attr-defined]
            finally:
                self._waitpid_lock.release()  # type: ignore[attr-defined]
        return self.returncode


def run(args: Any, *, input: Any = None, capture_output: bool = False,
        timeout: float | None = None, check: bool = False,
        **kwargs: Any) -> subprocess.CompletedProcess[Any]:  # fmt: skip
    """``subprocess.run`` through ``Popen`` above."""
    if input is not None:
        kwargs["stdin"] = subprocess.PIPE
    if capture_output:
        kwargs["stdout"] = kwargs["stderr"] = subprocess.PIPE
    with Popen(args, **kwargs) as process:
        try:
            stdout, stderr = process.communicate(input, timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise
        except BaseException:
            process.kill()
            raise
        code = process.poll()
        assert code is not None
        if check and code:
            raise subprocess.CalledProcessError(code, process.args, output=stdout, stderr=stderr)
    return subprocess.CompletedProcess(process.args, code, stdout, stderr)


# --- the server: the zygote itself -----------------------------------------------------


def _preload() -> None:
    """What zbulk imports at start, on its usual paths and on the others (every module of
    the package: 4-17 ms less CPU per child running ``job show``, ``results`` or ``watch``),
    but not keyring: zbulk looks at whether keyring is loaded, so a child must start
    without it, as a fresh process does."""
    import gc
    import importlib
    import pkgutil

    gc.disable()
    import requests  # noqa: F401
    import rich.console
    import rich.live
    import rich.table  # noqa: F401
    import urllib3  # noqa: F401

    import zbulk

    for module in pkgutil.walk_packages(zbulk.__path__, "zbulk."):
        importlib.import_module(module.name)
    loaded = sorted(name for name in sys.modules if name.split(".")[0] == "keyring")
    if loaded:
        raise ImportError(f"a zbulk module imports keyring when imported: {loaded}")
    gc.freeze()
    gc.enable()


def _stdio(fd: int, mode: str, template: Any, *, stderr: bool = False) -> Any:
    """A standard stream on ``fd`` as the interpreter builds one (None when it is closed)."""
    try:
        os.fstat(fd)
    except OSError:
        return None
    raw = io.FileIO(fd, mode, closefd=False)
    tty = raw.isatty()
    buffered: Any = io.BufferedReader(raw) if mode == "rb" else io.BufferedWriter(raw)
    return io.TextIOWrapper(
        buffered,
        encoding=template.encoding,
        errors=template.errors,
        line_buffering=stderr or (tty and mode == "wb"),
    )


def _child(request: dict[str, Any], fds: list[int], templates: tuple[Any, Any, Any]) -> None:
    """In the forked child: become the requested process, then run zbulk's entry point."""
    code = 70
    try:
        signal.set_wakeup_fd(-1)
        for number in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT,
                       signal.SIGUSR1, signal.SIGUSR2, signal.SIGALRM):  # fmt: skip
            signal.signal(number, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)  # as the interpreter starts
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        if request["setsid"]:
            os.setsid()
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        if request["tty"]:
            import fcntl
            import termios

            fcntl.ioctl(0, termios.TIOCSCTTY, 0)
        os.closerange(3, 1 << 16)
        os.chdir(request["cwd"])
        if request["umask"] >= 0:
            os.umask(request["umask"])
        os.environ.clear()
        os.environ.update(request["env"])
        import time

        time.tzset()
        sys.stdin = sys.__stdin__ = _stdio(0, "rb", templates[0])
        sys.stdout = sys.__stdout__ = _stdio(1, "wb", templates[1])
        sys.stderr = sys.__stderr__ = _stdio(2, "wb", templates[2], stderr=True)
        sys.argv = list(request["argv"])
        from zbulk.__main__ import run as zbulk_run

        zbulk_run()  # ends the process with os._exit
    except BaseException:
        import traceback

        try:
            traceback.print_exc()
            if sys.stderr is not None:
                sys.stderr.flush()
        except BaseException:  # noqa: S110
            pass
    finally:
        os._exit(code)


def _receive(conn: socket.socket) -> tuple[dict[str, Any], list[int]]:
    fds = array.array("i")
    data, ancillary, _flags, _addr = conn.recvmsg(4, socket.CMSG_LEN(_FDS * fds.itemsize))
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[: len(payload) - (len(payload) % fds.itemsize)])
    size = data
    while len(size) < 4:
        more = conn.recv(4 - len(size))
        if not more:
            raise ConnectionError("short request")
        size += more
    length = int.from_bytes(size, "big")
    if length > _HEADER_MAX:
        raise ValueError("request too large")
    body = b""
    while len(body) < length:
        more = conn.recv(length - len(body))
        if not more:
            raise ConnectionError("short request")
        body += more
    return json.loads(body), list(fds)


def serve(path: str) -> None:
    """Listen on ``path``; fork a zbulk child per request; report each one's wait status.
    Stops when stdin reaches EOF (the test process closed it or went away)."""
    try:
        _preload()
    except BaseException as exc:  # said to the processes waiting for the socket
        with open(path + ".failed", "w", encoding="utf-8") as fh:
            fh.write(f"{type(exc).__name__}: {exc}")
        raise
    templates = (sys.stdin, sys.stdout, sys.stderr)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path + ".new")
    listener.listen(64)
    os.rename(path + ".new", path)  # the socket appears once it listens
    wake_r, wake_w = socket.socketpair()
    wake_r.setblocking(False)
    wake_w.setblocking(False)
    signal.set_wakeup_fd(wake_w.fileno())
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C for pytest is not for the zygote
    waiting: dict[int, socket.socket] = {}
    stdin = sys.stdin.fileno()
    while True:
        readable, _, _ = select.select([listener, wake_r, stdin], [], [], 1.0)
        if stdin in readable and not os.read(stdin, 1024):
            break
        if wake_r in readable:
            try:
                while wake_r.recv(512):
                    pass
            except BlockingIOError:
                pass
        while waiting:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            conn = waiting.pop(pid, None)
            if conn is not None:
                with contextlib.suppress(OSError):
                    conn.sendall(f"status {status}\n".encode())
                conn.close()
        if listener in readable:
            conn, _ = listener.accept()
            fds: list[int] = []
            try:
                request, fds = _receive(conn)
                if len(fds) != _FDS:
                    raise ValueError(f"expected {_FDS} descriptors, got {len(fds)}")
                pid = os.fork()
                if pid == 0:
                    listener.close()
                    _child(request, fds, templates)
                waiting[pid] = conn
                conn.sendall(f"pid {pid}\n".encode())
            except (OSError, ValueError) as exc:
                with contextlib.suppress(OSError):
                    conn.sendall(f"error {exc}\n".encode())
                conn.close()
            finally:
                for fd in fds:
                    os.close(fd)
    for conn in waiting.values():
        conn.close()


if __name__ == "__main__":
    serve(sys.argv[1])
