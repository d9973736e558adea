"""Issue 10's findings, one regression test each (the matrix is test_output_matrix.py),
and the output items of issue 9 (escape sequences from ``job results``, closed pipes,
full disks, nan/inf durations)."""

from __future__ import annotations

import io
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from keyring_backends import MemoryKeyring
from procs import SCRIPT
from ptys import run_pty

from zbulk.cli import command_tree, main, walk
from zbulk.errors import SEVERITY, ExitCode
from zbulk.output import Output, fallback
from zbulk.sandbox import DEMO_JOBS, Sandbox
from zbulk.watch import worst

DONE = DEMO_JOBS["completed"]
ESC = "\x1b"


@pytest.fixture
def proc_env(sandbox, tmp_path) -> dict[str, str]:
    dropped = ("NO_COLOR", "FORCE_COLOR", "COLUMNS")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZBULK_") and k not in dropped}
    env.update(
        ZBULK_API_DOMAIN=sandbox.url,
        ZBULK_TOKEN=sandbox.token,
        TZ="UTC",
        ZBULK_CONFIG_DIR=str(tmp_path / "config"),
        ZBULK_STATE_DIR=str(tmp_path / "state"),
    )
    return env


def sh(
    script: str, env: dict[str, str], encoding: str = "utf-8"
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", script],
        env=env,
        capture_output=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        encoding=encoding,
    )


# --- exit codes ------------------------------------------------------------------------


def test_every_exit_code_is_ranked() -> None:
    assert sorted(SEVERITY) == sorted(ExitCode) and len(set(SEVERITY)) == len(SEVERITY)
    for code in ExitCode:
        assert worst([ExitCode.OK, code]) == code
        assert worst([code, ExitCode.INTERRUPTED]) == ExitCode.INTERRUPTED


def test_watch_with_a_bad_api_domain_is_a_usage_error(run) -> None:
    # Was: ValueError: <ExitCode.USAGE: 2> is not in list, from watch.worst.
    r = run("--api-domain", "https://..com", "job", "watch", "123", ZBULK_TOKEN="x")
    assert r.code == ExitCode.USAGE, r.err
    assert "Traceback" not in r.err and "error:" in r.err


def test_a_bug_is_one_line_and_exit_70(run, monkeypatch) -> None:
    def broken(*args: object, **kwargs: object) -> list:
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr("zbulk.history.entries", broken)
    r = run("job", "recent")
    assert r.code == ExitCode.INTERNAL == 70
    assert r.err.startswith("internal error: RuntimeError: boom")
    assert r.err.rstrip().endswith("(run with -v for details)")
    assert "Traceback" not in r.err and "\\n" not in r.err
    r = run("job", "recent", "-v")
    assert r.code == 70 and "Traceback (most recent call last)" in r.err
    assert "(run with -v" not in r.err


def test_ctrl_c_message_has_no_escaped_newline(run, monkeypatch) -> None:
    def interrupted(*args: object, **kwargs: object) -> list:
        raise KeyboardInterrupt

    monkeypatch.setattr("zbulk.history.entries", interrupted)
    r = run("job", "recent")
    assert r.code == ExitCode.INTERRUPTED
    assert r.err.startswith("\ninterrupted:") and "\\n" not in r.err


def test_login_menu_has_no_escaped_newline(run, monkeypatch) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stdin", Tty("9\n"))  # the answer to "Choice [2]:"
    r = run("auth", "login")
    assert r.code == ExitCode.USAGE and "answer 1, 2 or 3" in r.err
    assert "How do you want to log in?\n  1. paste an access token\n  2." in r.err
    assert "\\n" not in r.err


# --- closed pipes, full disks, closed stdout -------------------------------------------


CLOSED_PIPE_COMMANDS = [
    ["job", "show", DONE],
    ["job", "show", "--json", DONE],
    ["job", "show", "--brief", DONE],
    ["job", "watch", DONE],
    ["job", "watch", "--json", DONE],
    ["job", "results", DEMO_JOBS["failing"]],
    ["job", "results", "--failed", DEMO_JOBS["failing"]],
    ["job", "results", "--json", DEMO_JOBS["failing"]],
    ["job", "recent"],
    ["auth", "status"],
    ["--help"],
    [],
    ["job"],
    ["--version"],
]


@pytest.mark.parametrize("args", CLOSED_PIPE_COMMANDS, ids=lambda a: " ".join(a) or "bare")
def test_closed_pipe_exits_141_quietly_on_every_path(fast, monkeypatch, capsys, args) -> None:
    _wait_finished(fast.server)
    reader, writer = os.pipe()
    os.close(reader)  # the reader went away: every write is EPIPE
    stream = io.TextIOWrapper(io.FileIO(writer, "w"), encoding="utf-8")
    monkeypatch.setattr(sys, "stdout", stream)
    monkeypatch.setenv("ZBULK_API_DOMAIN", fast.server.url)
    monkeypatch.setenv("ZBULK_TOKEN", fast.server.token)
    code = main(list(args))
    monkeypatch.undo()
    err = capsys.readouterr().err
    assert code == ExitCode.BROKEN_PIPE, err
    assert (
        "error" not in err.lower() and "Broken" not in err
    )  # quiet (watch's progress lines aside)


def _wait_finished(server: Sandbox) -> None:
    import json
    import time
    import urllib.request

    deadline = time.monotonic() + 30
    auth = {"Authorization": f"Zoho-oauthtoken {server.token}"}
    while True:
        url = f"{server.url}/crm/bulk/v8/write/{DEMO_JOBS['failing']}"
        with urllib.request.urlopen(urllib.request.Request(url, headers=auth)) as answer:
            if json.loads(answer.read())["status"] == "FAILED":
                return
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_head_gets_141_from_the_installed_script(proc_env) -> None:
    ids = " ".join([DONE] * 60)  # more than a pipe holds: the writer meets the closed pipe
    for command in (f"job show {ids}", f"job show --json {ids}"):
        r = sh(f"{SCRIPT} {command} | head -1; echo ${{PIPESTATUS[0]}}", proc_env)
        assert r.stdout.splitlines()[-1] == "141", r.stderr
        assert r.stderr == ""


@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_full_disk_is_one_line_and_exit_1(proc_env, json_flag) -> None:
    r = sh(f"{SCRIPT} job show {' '.join(json_flag)} {DONE} >/dev/full", proc_env)
    assert r.returncode == 1
    assert r.stderr == "error: cannot write to stdout: No space left on device\n"


def test_closed_stdout_is_no_traceback(proc_env) -> None:
    r = sh(f"{SCRIPT} job show {DONE} >&-", proc_env)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "cannot write to stdout" in r.stderr


# --- encodings and terminals -----------------------------------------------------------


@pytest.mark.parametrize(
    "environ",
    [
        {"PYTHONIOENCODING": "latin-1"},
        {"PYTHONIOENCODING": "cp1252"},
        {"LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"},
    ],
    ids=["latin-1", "cp1252", "C"],
)
def test_consoles_that_cannot_encode_get_ascii(proc_env, environ) -> None:
    env = dict(proc_env, **environ)
    encoding = environ.get("PYTHONIOENCODING", "ascii")
    runs = {}
    for args in (f"job show {DONE}", f"job watch {DONE}", f"job results {DONE}"):
        r = runs[args.split()[1]] = sh(f"{SCRIPT} {args}", env, encoding)
        assert "Traceback" not in r.stderr and "UnicodeEncodeError" not in r.stderr, r.stderr
        assert r.returncode == 0, r.stderr
    dot = "-" if encoding == "ascii" else "·"  # Latin-1 and cp1252 have the middle dot
    shown = runs["show"].stdout
    assert f"Counts    added 528 {dot} updated 0 {dot} skipped 12 {dot} total 540" in shown
    assert "Result        http://" in shown
    assert "+ 4150868000006801004  COMPLETED" in runs["watch"].stdout
    results = runs["results"].stdout  # the result file's summary, with its table's rule
    assert f"540 records  added 528 {dot} skipped 12" in results
    assert "\n" + "-" * 60 + "\n" in results and "MANDATORY_NOT_FOUND  Account Name" in results


def test_fallback_keeps_json_valid() -> None:
    import json

    line = '{"name":"Zoë 名前 🧪 —"}'
    for encoding in ("ascii", "latin-1", "cp1252"):
        text = fallback(line, encoding, as_json=True)
        text.encode(encoding)
        assert json.loads(text) == json.loads(line)
    assert fallback("a — b ✓ é 名", "latin-1") == "a - b + é \\u540d"


def _pipe_output(**environ: str) -> str:
    buf = io.StringIO()
    saved = {k: os.environ.get(k) for k in environ}
    os.environ.update(environ)
    try:
        from rich.text import Text

        Output(stdout=buf).print(Text("x", style="red"))
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return buf.getvalue()


def test_colour_variables_are_honoured(env) -> None:
    assert ESC not in _pipe_output()
    assert "\x1b[31m" in _pipe_output(FORCE_COLOR="1")
    assert "\x1b[31m" in _pipe_output(CLICOLOR_FORCE="1")
    assert ESC not in _pipe_output(CLICOLOR_FORCE="0")
    assert "\x1b[31m" not in _pipe_output(FORCE_COLOR="1", NO_COLOR="1")


def test_dumb_terminal_gets_plain_watch_lines(proc_env, stepping_sandbox) -> None:
    server = stepping_sandbox  # the jobs move one step per request, however slow the machine
    env = dict(proc_env, TERM="dumb", ZBULK_API_DOMAIN=server.url, ZBULK_TOKEN=server.token)
    args = ["job", "watch", "--interval", "0.1", "--max-interval", "0.2", DEMO_JOBS["large"]]
    code, text = run_pty(args, env)
    assert code == 0, text
    changes = re.findall(rf"^\d\d:\d\d:\d\d  {DEMO_JOBS['large']}  (\S+)", text, re.M)
    assert changes and changes[-1] == "COMPLETED", text  # a plain line per change
    assert ESC not in text  # no cursor movement, no colour on a dumb terminal


# --- width -----------------------------------------------------------------------------


def test_narrow_terminal_stacks_tables_and_cuts_nothing(zbulk, monkeypatch) -> None:
    import json

    doc = json.loads(zbulk("job", "show", "--json", DEMO_JOBS["upsert"]).out)
    buf = io.StringIO()
    from zbulk.models import Job
    from zbulk.views.job import job_view

    out = Output(stdout=buf, width=40, force_terminal=False)
    for part in job_view(Job.read(doc)):
        out.print(part)
    text = buf.getvalue()
    assert all(len(line) <= 40 for line in text.splitlines()), text
    for value in ("Zylker Inc.", "Accounts", "Account_Name", "Mailing_City", "Lead_Source"):
        assert re.search(rf"(^|\s){re.escape(value)}($|\s)", text), value  # whole, not "Zylk"


def test_narrow_watch_panel_keeps_totals() -> None:
    from docs import RECORDED_V21
    from rich.console import Console

    from zbulk.models import Job
    from zbulk.views.watch import WatchPanel
    from zbulk.watch import Schedule, Watched

    doc = dict(RECORDED_V21)
    doc["resource"] = [dict(RECORDED_V21["resource"][0])]
    doc["resource"][0]["file"] = dict(
        doc["resource"][0]["file"], total_count=25000, added_count=24874, skipped_count=126
    )
    w = Watched("4150868000005350003", Schedule(), job=Job.read(doc), started=0.0)
    for width in (40, 50, 80):
        buf = io.StringIO()
        Console(file=buf, width=width).print(WatchPanel([w], clock=lambda: 5.0))
        assert "25,000/25,000" in buf.getvalue(), buf.getvalue()
        assert all(len(line) <= width for line in buf.getvalue().splitlines())


def test_pipe_never_folds_long_values(fast) -> None:
    _wait_finished(fast.server)
    r = fast("job", "results", "--failed", DEMO_JOBS["failing"], COLUMNS="40")
    assert r.code == 1, r.err  # the job FAILED
    rows = re.findall(r"^ *(\d+)  (.*)$", r.out, re.M)
    assert "Skipped and failed rows (1,110)" in r.out
    header = next(line for line in r.out.splitlines() if line.lstrip().startswith("Row  "))
    assert len(header) > 40 and len(rows) >= 1110  # one line per row, however wide


# --- global options anywhere, hints that run -------------------------------------------


def test_global_options_after_the_subcommand(zbulk, sandbox) -> None:
    r = zbulk("job", "show", DONE, "-v", "--request-timeout", "10s", "--api-version", "v8")
    assert r.code == 0, r.err
    assert "zbulk: GET" in r.err or "GET " in r.err  # -v logged the request
    r = zbulk("job", "show", DONE, "--api-domain", "https://..com")
    assert r.code == ExitCode.USAGE
    r = zbulk("job", "show", DONE, "--profile", "a/b")
    assert r.code == ExitCode.USAGE


def test_global_options_leave_values_and_own_options_alone(zbulk, sandbox, tmp_path) -> None:
    """A value that looks like a global option stays the value of its option; a global
    option after ``--`` is an argument; one without its value is a usage error."""
    r = zbulk("job", "results", DONE, "--output-dir", str(tmp_path / "-v"))
    assert r.code == 0, r.err
    assert (tmp_path / "-v").is_dir() and "zbulk: GET" not in r.err  # not verbose
    r = zbulk("job", "show", DONE, "--profile=x", "-v")
    assert r.code == ExitCode.CREDENTIALS or r.code == 0, r.err
    r = zbulk("job", "show", "--", "-v")
    assert r.code == ExitCode.USAGE and "-v" in r.err  # a job id, and not digits
    r = zbulk("job", "recent", "--profile")
    assert r.code == ExitCode.USAGE and "--profile" in r.err


def test_login_with_profile_after_the_subcommand(run, sandbox, env, monkeypatch) -> None:
    import keyring

    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    try:
        config = Path(env["ZBULK_CONFIG_DIR"]) / "config.toml"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(
            f'[data_centres.sandbox]\naccounts = "{sandbox.url}"\napi_domain = "{sandbox.url}"\n'
        )
        monkeypatch.setattr("sys.stdin", io.StringIO(sandbox.token + "\n"))
        r = run("auth", "login", "--with-token", "--dc", "sandbox", "--profile", "ci")
        assert r.code == 0, r.err
        assert "profile 'ci'" in r.err
        r = run("job", "show", "--brief", DONE, "--profile", "ci")
        assert r.code == 0, r.err
    finally:
        keyring.set_keyring(previous)


def _hints(text: str) -> list[list[str]]:
    return [shlex.split(c)[1:] for c in re.findall(r"`(zbulk [^`]+)`", text)]


def test_every_hint_runs_as_printed(fast, run, monkeypatch) -> None:
    seen: list[list[str]] = []
    # No credentials for a named profile: `zbulk auth login --profile ops`, `zbulk demo`.
    r = run("job", "show", DONE, "--profile", "ops", ZBULK_API_DOMAIN=fast.server.url)
    assert r.code == ExitCode.CREDENTIALS
    seen += _hints(r.err)
    # A job without a result file yet: `zbulk job watch ID`.
    fast.server.restart_jobs()
    r = fast("job", "results", DEMO_JOBS["large"])
    seen += _hints(r.err)
    # Skipped records after a watch: `zbulk job results ID --failed`.
    r = fast("job", "watch", "--interval", "0.1", "--max-interval", "0.1", DEMO_JOBS["large"])
    seen += _hints(r.err)
    # A timed-out watch: `zbulk job watch ID`.
    fast.server.restart_jobs()
    r = fast("job", "watch", "--timeout", "0.1", "--interval", "0.1", DEMO_JOBS["large"])
    seen += _hints(r.err)
    # A usage error: `zbulk job watch --help`.
    r = fast("job", "watch", DONE, "--interval", "nan")
    assert r.code == ExitCode.USAGE and r.err.count("error: ") == 1
    seen += _hints(r.err)
    commands = {tuple(c) for c in seen}
    assert ("job", "watch", "--help") in commands
    assert ("auth", "login", "--profile", "ops") in commands
    assert ("job", "results", DEMO_JOBS["large"], "--failed") in commands
    assert ("job", "watch", DEMO_JOBS["large"]) in commands
    root = command_tree()
    # The printed `zbulk job watch ID` polls at 2 s and more: let the job finish first (a
    # quick watch, not a hint), so the hint's own run is one poll of a finished job.
    quick = fast("job", "watch", "--interval", "0.1", "--max-interval", "0.1", DEMO_JOBS["large"])
    assert quick.code == ExitCode.OK, quick.err
    for command in sorted(commands, key=lambda c: c[:2] != ("job", "watch")):  # watch first
        if command[:2] == ("auth", "login") or command == ("demo",):
            # Interactive (a terminal, a browser) or a long tour: parsed exactly as printed.
            args = list(command)
            path = [a for a in args if a in ("auth", "login", "demo")]
            ctx = root.make_context("zbulk", args[: args.index(path[0]) + 1])
            leaf = root
            for name in path:
                leaf = leaf.get_command(ctx, name)
            leaf.make_context(path[-1], args[args.index(path[-1]) + 1 :], parent=ctx)
            continue
        r = fast(*command)
        assert r.code in (0, ExitCode.SKIPPED), (command, r.err)
        assert "No such option" not in r.err and "Usage:" not in r.err


# --- help ------------------------------------------------------------------------------


def _all_commands() -> list[tuple[str, object]]:
    return list(walk())


def test_help_teaches(run) -> None:
    for path, _ in _all_commands():
        r = run(*path.split(), "--help")
        assert r.code == 0, path
        text = r.out
        if path in ("", "job"):  # the exit-code table: on zbulk --help and job --help only
            assert "Exit codes:" in text and "141" in text and "70 " in text, path
        else:
            assert "Exit codes:" not in text, path
        assert not re.search(r"(--[\w-]+|^\s+-\w,?) <", text, re.M), (path, text)
        assert "<str>" not in text and "<int" not in text and "<float" not in text
        assert "{" not in text.splitlines()[0], text.splitlines()[0]
        assert "Examples:" in text, path
    show = run("job", "show", "--help").out
    assert show.startswith("Usage: zbulk job show [OPTIONS] JOB_ID...")
    root = run("--help").out
    listed = re.findall(r"^  (\w+) {2,}", root.split("Commands:")[1], re.M)
    assert listed[:2] == ["job", "auth"]
    auth = run("auth", "--help").out
    assert "Print a valid access token (refreshed if needed), e.g. for curl." in auth
    assert "..." not in auth.split("Commands:")[1].split("Examples:")[0]


def test_bare_zbulk_prints_help_on_stdout() -> None:
    r = subprocess.run([str(SCRIPT)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0
    assert r.stdout.startswith("Usage: zbulk") and r.stderr == ""
    r = subprocess.run([str(SCRIPT), "job"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and r.stdout.startswith("Usage: zbulk job") and r.stderr == ""


# --- durations -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("90s", 90), ("10m", 600), ("1h", 3600), ("1.5m", 90), ("0.5", 0.5)],
)
def test_durations(text: str, seconds: float) -> None:
    from zbulk.commands.options import duration

    assert duration()(text) == seconds


@pytest.mark.parametrize("option", ["--interval", "--max-interval", "--timeout"])
@pytest.mark.parametrize("value", ["nan", "inf", "-1", "0", "10x", "1e400", "9" * 400, "-inf"])
def test_bad_durations_are_usage_errors(fast, option, value) -> None:
    r = fast("job", "watch", DONE, option, value)
    assert r.code == ExitCode.USAGE, (option, value, r.err)
    assert "Traceback" not in r.err and fast.server.request_count() == 0


@pytest.mark.parametrize("value", ["nan", "inf", "-5", "0"])
def test_bad_request_timeout_is_a_usage_error(fast, value) -> None:
    r = fast("job", "show", DONE, "--request-timeout", value)
    assert r.code == ExitCode.USAGE and fast.server.request_count() == 0


# --- job show --brief ------------------------------------------------------------------


def test_show_brief_is_one_line_per_job(fast) -> None:
    _wait_finished(fast.server)
    r = fast("job", "show", "--brief", DONE, DEMO_JOBS["failing"], DEMO_JOBS["upsert"])
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert len(lines) == 3
    assert re.fullmatch(
        rf"{DONE}  insert  Accounts  COMPLETED  added 528 · updated 0 "
        r"· skipped 12 · total 540  \d+d\d\dh ago",
        lines[0],
    )
    assert lines[2].startswith(f"{DEMO_JOBS['upsert']}  upsert  Leads,Contacts,Accounts  ")
    assert fast("job", "show", "--brief", "--json", DONE).code == ExitCode.USAGE


# --- one sanitiser (issue 9, item 2) ---------------------------------------------------

HOSTILE = st.sampled_from(
    [
        "\x1b]0;PWNED\x07",
        "\x1b[31m",
        "\u202e",
        "\x9b2J",
        "\r",
        "\x00",
        "[red]x[/red]",
        "\ud800",
        "名",
        "\n",
    ]
)
TEXTS = st.lists(st.one_of(HOSTILE, st.text(max_size=5)), max_size=4).map("".join)


def _assert_inert(text: str) -> None:
    assert not re.search(
        "[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]", text
    ), repr(text)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(module=TEXTS, status=TEXTS, code=TEXTS, column=TEXTS, cell=TEXTS, job_status=TEXTS)
def test_every_rendered_field_is_sanitised(module, status, code, column, cell, job_status) -> None:
    from collections import Counter

    from rich.text import Text

    from zbulk.result_file import ErrorGroup, FileSummary, Summary
    from zbulk.views.auth import status_view
    from zbulk.views.recent import recent_view
    from zbulk.views.result_report import failed_tables, results_view

    f = FileSummary(
        name=module,
        module=module,
        columns=[column, "STATUS"],
        encoding="UTF-8",
        rows=2,
        failed=1,
        statuses=Counter({status: 2}),
        errors={(code, column): ErrorGroup(code, column, 1, [(2, cell)])},
    )
    for terminal in (False, True):
        buf = io.StringIO()
        out = Output(stdout=buf, width=60, force_terminal=terminal)
        out.print(*results_view(Summary(job_status, [f], []), False))
        out.print(*failed_tables([column, "STATUS"], 1, [(2, [cell, status])]))
        out.print(recent_view([{"id": job_status, "status": status, "seen": 0}]))
        out.print(
            status_view([{"profile": None, "kind": module, "detail": cell, "active": True}], status)
        )
        out.print(Text(f"a view that forgot safe(): {cell}{module}"))  # the backstop
        text = re.sub(r"\x1b\[[0-9;]*m", "", buf.getvalue())  # rich's own styles
        _assert_inert(text)
        assert "PWNED\x07" not in buf.getvalue()
