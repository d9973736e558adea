"""The file door (``zbulk.files``): every file zbulk writes is created without following a
symlink, without replacing what zbulk did not create, 0600 in 0700 directories; config and
state directories others could write in are refused; and no code under ``zbulk/`` writes a
file any other way (the AST walk at the end)."""

from __future__ import annotations

import ast
import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from zbulk import files, history, orgid
from zbulk.errors import ExitCode
from zbulk.sandbox import DEMO_JOBS

ZBULK = Path(__file__).resolve().parent.parent / "zbulk"
DONE = DEMO_JOBS["completed"]


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def umask022():
    """The usual umask, so that what zbulk leaves to the umask shows (0755, 0644)."""
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A file of the user's that a planted symlink points at."""
    path = tmp_path / "victim.txt"
    path.write_text("precious\n")
    return path


# --- the findings of issue 22 (Why 8), each fails on the zbulk before zbulk.files ---------


def test_history_never_writes_through_a_planted_temporary(zbulk, env, victim) -> None:
    state = Path(env["ZBULK_STATE_DIR"])
    state.mkdir(mode=0o700)
    (state / f".history.{os.getpid()}.tmp").symlink_to(victim)
    r = zbulk("job", "show", "--brief", DONE)
    assert r.code == 0, r.err
    assert victim.read_text() == "precious\n"
    assert [e["id"] for e in history.entries()] == [DONE]


def test_history_lock_never_truncates_a_planted_link(zbulk, env, victim) -> None:
    state = Path(env["ZBULK_STATE_DIR"])
    state.mkdir(mode=0o700)
    (state / "history.lock").symlink_to(victim)
    r = zbulk("job", "show", "--brief", DONE)
    assert r.code == 0, r.err  # history is a convenience: the command goes on
    assert victim.read_text() == "precious\n"


def test_org_cache_never_writes_through_a_planted_temporary(env, victim) -> None:
    for name in ("ZBULK_CONFIG_DIR", "ZBULK_STATE_DIR"):  # the old place and the new one
        directory = Path(env[name])
        directory.mkdir(mode=0o700)
        (directory / f".orgs.{os.getpid()}.tmp").symlink_to(victim)
    orgid.keep("default", "https://www.zohoapis.com", orgid.Org("123", "Acme", "the API"))
    assert victim.read_text() == "precious\n"
    assert orgid.known(None, "default", "https://www.zohoapis.com") == orgid.Org(
        "123", "Acme", "the profile"
    )


def test_config_lock_never_truncates_a_planted_link(run, env, victim) -> None:
    config = Path(env["ZBULK_CONFIG_DIR"])
    config.mkdir(mode=0o700)
    (config / ".zbulk.lock").symlink_to(victim)
    r = run("config", "set", "default.api_version", "v7")
    assert r.code == ExitCode.ERROR and "symlink" in r.err and ".zbulk.lock" in r.err
    assert victim.read_text() == "precious\n"
    assert not (config / "config.toml").exists()


def test_refresh_lock_never_truncates_a_planted_link(env, victim) -> None:
    from zbulk.auth.tokens import refresh_lock

    locks = Path(env["ZBULK_CONFIG_DIR"]) / "locks"
    locks.mkdir(parents=True, mode=0o700)
    (locks / "default.lock").symlink_to(victim)
    with (
        pytest.raises(files.LocalFileError, match="symlink"),
        refresh_lock(locks.parent, "default"),
    ):
        pass
    assert victim.read_text() == "precious\n"


def test_state_files_and_dirs_are_private(zbulk, env, umask022) -> None:
    r = zbulk("job", "show", "--brief", DONE)
    assert r.code == 0, r.err
    orgid.keep("default", "https://www.zohoapis.com", orgid.Org("123", None, "the API"))
    state = Path(env["ZBULK_STATE_DIR"])
    assert mode(state) == 0o700
    assert mode(state / "history.json") == 0o600
    assert mode(state / "orgs.json") == 0o600
    assert not Path(env["ZBULK_CONFIG_DIR"]).exists()  # the org cache is state, not config


def test_config_dir_and_every_level_zbulk_creates_are_private(run, env, tmp_path, umask022) -> None:
    config = tmp_path / "a" / "b" / "config"
    r = run("config", "set", "default.api_version", "v7", ZBULK_CONFIG_DIR=str(config))
    assert r.code == 0, r.err
    for directory in (tmp_path / "a", tmp_path / "a" / "b", config):
        assert mode(directory) == 0o700, directory
    assert mode(config / "config.toml") == 0o600


def test_old_org_cache_is_read_then_moved(env) -> None:
    old = Path(env["ZBULK_CONFIG_DIR"]) / "orgs.json"
    old.parent.mkdir(mode=0o700)
    old.write_text(json.dumps({"default https://www.zohoapis.com": {"id": "77", "name": "Old"}}))
    found = orgid.known(None, "default", "https://www.zohoapis.com")
    assert found is not None and found.id == "77"
    orgid.keep("other", "https://www.zohoapis.eu", orgid.Org("88", None, "the API"))
    new = json.loads((Path(env["ZBULK_STATE_DIR"]) / "orgs.json").read_text())
    assert set(new) == {"default https://www.zohoapis.com", "other https://www.zohoapis.eu"}
    assert not old.exists()


# --- directories others could write in, and what zbulk did not create ------------------


@pytest.mark.parametrize("bits", [0o770, 0o707, 0o777])
def test_config_dir_others_can_write_is_refused(run, env, bits) -> None:
    config = Path(env["ZBULK_CONFIG_DIR"])
    config.mkdir()
    config.chmod(bits)
    r = run("config", "set", "default.api_version", "v7")
    assert r.code == ExitCode.ERROR, r.err
    assert str(config) in r.err and f"chmod go-w {config}" in r.err and "Traceback" not in r.err
    assert not (config / "config.toml").exists()


def test_config_in_a_dir_others_can_write_is_not_read(run, env) -> None:
    """A config.toml others could have planted would steer where the token goes."""
    config = Path(env["ZBULK_CONFIG_DIR"])
    config.mkdir(mode=0o700)
    (config / "config.toml").write_text('[profiles.default]\napi_domain = "https://evil.example"\n')
    config.chmod(0o777)
    r = run("job", "show", "1", ZBULK_TOKEN="tok")
    assert r.code == ExitCode.ERROR and f"chmod go-w {config}" in r.err


def test_state_dir_others_can_write_is_refused(env) -> None:
    state = Path(env["ZBULK_STATE_DIR"])
    state.mkdir()
    state.chmod(0o775)
    with pytest.raises(files.LocalFileError, match="its group can write in it") as caught:
        files.write_private(state / "imports" / "imp-1.json", "{}")
    assert caught.value.exit_code == ExitCode.ERROR
    assert f"chmod go-w {state}" in (caught.value.hint or "")
    assert not (state / "imports").exists()


def test_dir_of_another_user_is_refused() -> None:
    if os.geteuid() == 0:
        assert files.unsafe_dir(Path("/")) is None  # root's own
    assert files.unsafe_dir(Path("/proc"), reading=True) is None  # root's, for reading
    if os.geteuid() != 0:
        assert "another user" in (files.unsafe_dir(Path("/proc")) or "")


def test_config_toml_symlink_is_not_replaced(run, env, victim) -> None:
    config = Path(env["ZBULK_CONFIG_DIR"])
    config.mkdir(mode=0o700)
    victim.write_text("[profiles.default]\n")
    (config / "config.toml").symlink_to(victim)
    r = run("config", "set", "default.api_version", "v7")
    assert r.code == ExitCode.ERROR and "symlink" in r.err and "config.toml" in r.err
    assert (config / "config.toml").is_symlink() and victim.read_text() == "[profiles.default]\n"
    assert [p.name for p in config.iterdir() if p.name.endswith(".tmp")] == []


def test_another_users_file_is_not_replaced(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    os.mkfifo(target)  # not a regular file: not one zbulk made
    with pytest.raises(files.LocalFileError, match="not a regular file"):
        files.write_private(target, "{}")
    assert stat.S_ISFIFO(os.lstat(target).st_mode)


def test_config_and_login_state_are_fsynced(run, env, monkeypatch) -> None:
    synced: list[int] = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real(fd))[1])
    assert run("config", "set", "default.api_version", "v7").code == 0
    assert len(synced) >= 2  # the file before the rename, the directory after it


def test_output_dir_zbulk_creates_is_private(zbulk, tmp_path, umask022) -> None:
    out = tmp_path / "new" / "out"
    r = zbulk("job", "results", "--output-dir", str(out), DONE)
    assert r.code == 0, r.err
    assert mode(tmp_path / "new") == 0o700 and mode(out) == 0o700
    assert {mode(p) for p in out.iterdir()} == {0o600}


def test_new_file_never_replaces_without_force(tmp_path: Path, victim: Path) -> None:
    link = tmp_path / "out.csv"
    link.symlink_to(victim)
    new = files.create_output(link, force=False)
    new.write("x")
    with pytest.raises(files.LocalFileError, match="already exists"):
        new.publish()
    assert link.is_symlink() and victim.read_text() == "precious\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv", "victim.txt"]
    forced = files.create_output(link, force=True)
    forced.write("new")
    forced.publish()  # the link is replaced, never followed
    assert not link.is_symlink() and link.read_text() == "new"
    assert victim.read_text() == "precious\n"


# --- locks -------------------------------------------------------------------------------


def test_lock_excludes_other_processes_and_reenters(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import sys, time
            from pathlib import Path
            from zbulk import files
            with files.lock(Path({str(path)!r}), 5):
                print("held", flush=True)
                sys.stdin.read()
        """),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        with pytest.raises(files.LockTimeout, match=str(path)), files.lock(path, 0.2):
            pass
    finally:
        holder.communicate("", timeout=10)
    with files.lock(path, 1), files.lock(path, 1):  # the same thread: counts up
        pass
    assert mode(path) == 0o600


# --- the door: nothing under zbulk/ writes a file around zbulk.files ---------------------

#: module (or package, ending in "/") → (the writes it may make, None for all; why)
ALLOWED: dict[str, tuple[set[str] | None, str]] = {
    "files.py": (None, "the file door itself"),
    "sandbox/": (
        None,
        "serves from memory: its ZipFile writes go to io.BytesIO or a handle "
        "the caller opened; it writes no file (test_the_sandbox_writes_no_file)",
    ),
    "output.py": (
        {"os.open with write flags"},
        "os.open(os.devnull, O_WRONLY) stands in for a "
        "closed stdout (exit 141); it creates no file",
    ),
}
WRITE_MODES = set("wax+")
PATH_WRITERS = {
    "write_text",
    "write_bytes",
    "touch",
    "mkdir",
    "symlink_to",
    "hardlink_to",
    "link_to",
    "rename",
    "replace",
}
OS_WRITERS = {
    "replace",
    "rename",
    "renames",
    "link",
    "symlink",
    "mkdir",
    "makedirs",
    "mkfifo",
    "mknod",
    "truncate",
    "chmod",
    "fdopen",
}
MODULE_OPENERS = {"io", "codecs", "gzip", "bz2", "lzma", "tarfile"}  # their open(file, mode)
WRITE_FLAGS = {"O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC", "O_APPEND", "O_EXCL"}


def _mode_of(call: ast.Call, position: int) -> str | None:
    """The mode argument of an open-like call, when it is a literal."""
    node = call.args[position] if len(call.args) > position else None
    for kw in call.keywords:
        if kw.arg == "mode":
            node = kw.value
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None if node is None else "?"  # not a literal: counted as writing


def writes(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, what) of every way to write a file outside zbulk.files."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names]
            module = node.module if isinstance(node, ast.ImportFrom) else None
            for name in names if module is None else [module]:
                if name.split(".")[0] in ("tempfile", "filelock"):
                    found.append((node.lineno, f"import {name}"))
            if module == "shutil" and any(
                n.startswith(("copy", "move")) and n != "copyfileobj" for n in names
            ):
                found.append((node.lineno, "from shutil import copy/move"))
            continue
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        owner = (
            func.value.id
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
            else None
        )
        if name == "open" and owner == "os":
            flags = (
                {n.attr for n in ast.walk(node.args[1]) if isinstance(n, ast.Attribute)}
                if (len(node.args) > 1)
                else set()
            )
            if flags & WRITE_FLAGS:
                found.append((node.lineno, "os.open with write flags"))
        elif name in ("open", "FileIO"):
            if isinstance(func, ast.Name) or owner in MODULE_OPENERS:  # open(file, mode)
                mode = _mode_of(node, 1)
            else:  # path.open(mode); archive.open(member, mode) writes into an open archive
                mode = _mode_of(node, 0)
                mode = None if mode == "?" else mode
            if mode is not None and (mode == "?" or WRITE_MODES & set(mode)):
                found.append((node.lineno, f"open(..., {mode!r})"))
        elif name == "ZipFile":
            mode = _mode_of(node, 1)
            if mode is not None and (mode == "?" or WRITE_MODES & set(mode)):
                found.append((node.lineno, f"ZipFile(..., {mode!r})"))
        elif owner == "os" and name in OS_WRITERS:
            found.append((node.lineno, f"os.{name}"))
        elif owner == "shutil" and name != "copyfileobj" and name.startswith(("copy", "move")):
            found.append((node.lineno, f"shutil.{name}"))
        elif owner == "tempfile" or owner == "filelock":
            found.append((node.lineno, f"{owner}.{name}"))
        elif (
            isinstance(func, ast.Attribute)
            and name in PATH_WRITERS
            and owner not in ("os", "str")
            and not _is_str_replace(node)
        ):
            found.append((node.lineno, f".{name}()"))
    return found


def _is_str_replace(call: ast.Call) -> bool:
    """``text.replace(a, b)`` is a string's and ``dataclasses.replace(obj, x=1)`` makes an
    object; ``path.replace(target)`` and ``path.rename(target)`` (one argument) move a file."""
    func = call.func
    return (
        isinstance(func, ast.Attribute)
        and func.attr in ("replace", "rename")
        and (len(call.args) != 1 or bool(call.keywords))
    )


def _allowed(relative: str, what: str) -> bool:
    for key, (writes_allowed, _why) in ALLOWED.items():
        if relative == key or (key.endswith("/") and relative.startswith(key)):
            return writes_allowed is None or what in writes_allowed
    return False


def test_nothing_writes_a_file_around_the_door() -> None:
    found = []
    for path in sorted(ZBULK.rglob("*.py")):
        relative = path.relative_to(ZBULK).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        found += [
            f"zbulk/{relative}:{line}: {what}"
            for line, what in writes(tree)
            if not _allowed(relative, what)
        ]
    assert found == [], "write files through zbulk.files:\n" + "\n".join(found)


@pytest.mark.parametrize(
    "code",
    [
        "open(p, 'w')",
        "open(p, mode='ab')",
        "open(p, m)",
        "p.open('x')",
        "io.open(p, 'w+')",
        "io.FileIO(p, 'w')",
        "codecs.open(p, 'w', 'utf-8')",
        "gzip.open(p, 'wt')",
        "p.write_text('x')",
        "p.write_bytes(b'x')",
        "p.touch()",
        "p.mkdir()",
        "p.replace(q)",
        "os.open(p, os.O_WRONLY | os.O_CREAT)",
        "os.replace(a, b)",
        "os.rename(a, b)",
        "os.fdopen(fd, 'w')",
        "shutil.copy(a, b)",
        "shutil.copyfile(a, b)",
        "shutil.move(a, b)",
        "import tempfile",
        "from filelock import FileLock",
        "zipfile.ZipFile(p, 'w')",
        "from shutil import copy2",
    ],
)
def test_the_door_sees_each_way_to_write(code: str) -> None:
    assert writes(ast.parse(code)), code


@pytest.mark.parametrize(
    "code",
    [
        "open(p)",
        "open(p, 'rb')",
        "p.open('r')",
        "archive.open(info)",
        "text.replace('a', 'b')",
        "os.open(p, os.O_RDONLY)",
        "shutil.copyfileobj(a, b)",
        "zipfile.ZipFile(p)",
        "p.read_text()",
        "shutil.which('x')",
        "codecs.open(p, 'r', 'utf-8')",
        "dataclasses.replace(obj, x=1)",
    ],
)
def test_the_door_lets_reads_by(code: str) -> None:
    assert writes(ast.parse(code)) == [], code


def test_the_sandbox_writes_no_file() -> None:
    """The sandbox is allowed as a whole because it writes to memory only: its ZipFile
    writes go to buffers or handles it was given, and nothing else in it writes."""
    for path in sorted((ZBULK / "sandbox").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for line, what in writes(tree):
            assert what.startswith("ZipFile("), f"{path}:{line}: {what}"
            source = ast.get_source_segment(path.read_text(encoding="utf-8"), _call_at(tree, line))
            assert source is not None and ("buffer" in source or "dest" in source), source


def _call_at(tree: ast.AST, line: int) -> ast.AST:
    return next(n for n in ast.walk(tree) if isinstance(n, ast.Call) and n.lineno == line)


def test_recent_says_history_is_not_kept_in_a_refused_dir(zbulk, env) -> None:
    state = Path(env["ZBULK_STATE_DIR"])
    state.mkdir()
    state.chmod(0o775)  # as an older zbulk left it under umask 002
    assert zbulk("job", "show", "--brief", DONE).code == 0  # history skips it, quietly
    r = zbulk("job", "recent")
    assert r.code == 0 and "job history is not being kept" in r.err
    assert f"chmod go-w {state}" in r.err
    assert not (state / "history.json").exists()


def test_secrets_in_a_dir_others_can_write_are_not_read(env) -> None:
    from zbulk.auth.stores import FileStore

    store = FileStore(Path(env["ZBULK_CONFIG_DIR"]) / "secrets")
    store.save("default", {"refresh_token": "x"})
    assert store.load("default") == {"refresh_token": "x"}
    store.directory.chmod(0o777)
    with pytest.raises(files.LocalFileError, match="others can write"):
        store.load("default")
