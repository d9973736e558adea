"""Every word true and consistent (issue 26, items 1–11): errors at once, hints that name
where a value came from, help, config, durations and one spelling per concept."""

from __future__ import annotations

import re

import pytest

from zbulk.errors import ExitCode
from zbulk.sandbox import DEMO_JOBS

TYPO = "4150868000000000001"  # a job the sandbox does not know


# 1. A job Zoho does not know is reported at once; the rest are followed.
def test_unknown_job_among_several_is_reported_at_once(fast) -> None:
    good = DEMO_JOBS["large"]
    r = fast("job", "watch", "--interval", "0.1", "--max-interval", "0.3", good, TYPO)
    assert r.code == ExitCode.NOT_FOUND  # the worst of the two, at the end
    assert f"✓ {good}  COMPLETED" in r.out
    lines = r.err.splitlines()
    said = [n for n, line in enumerate(lines) if line.startswith("error: ")]
    assert len(said) == 1  # once, not again at the end
    finished = next(n for n, line in enumerate(lines) if good in line and "COMPLETED" in line)
    assert said[0] < finished  # while the good job was still followed


def test_a_job_reported_gone_leaves_the_live_view() -> None:
    import io

    from rich.console import Console

    from zbulk.errors import NotFoundError
    from zbulk.views.watch import WatchPanel
    from zbulk.watch import Schedule, Watched

    waiting = Watched("4150868000000000009", Schedule())
    typo = Watched(TYPO, Schedule(), error=NotFoundError("no bulk write job"))
    buf = io.StringIO()
    Console(file=buf, width=100).print(WatchPanel([waiting, typo], clock=lambda: 0.0))
    assert "4150868000000000009" in buf.getvalue() and TYPO not in buf.getvalue()


# 2. A missing choice option lists its choices on one line, without a literal \t.
def test_missing_choice_lists_choices_on_one_line(run, tmp_path) -> None:
    source = tmp_path / "leads.csv"
    source.write_text("Last_Name\nSmith\n")
    r = run("job", "import", str(source), "--module", "Leads")
    assert r.code == ExitCode.USAGE
    assert "Choose from: insert, update, upsert" in r.err
    assert "\\t" not in r.err and "\t" not in r.err


# 8. --timeout leaves each job's last known state on stdout and one hint for them all.
def test_timeout_leaves_last_states_and_one_hint(zbulk) -> None:
    large, upsert = DEMO_JOBS["large"], DEMO_JOBS["upsert"]
    r = zbulk("job", "watch", "--timeout", "0.4", "--interval", "0.1", large, upsert)
    assert r.code == ExitCode.TIMEOUT
    out = r.out.splitlines()
    assert len(out) == 2 and out[0].startswith(f"… {large}  ") and upsert in out[1]
    assert all(re.search(r"(ADDED|IN PROGRESS|INPROGRESS|not fetched yet)", line) for line in out)
    hints = [line for line in r.err.splitlines() if line.startswith("hint: ")]
    assert len(hints) == 1 and f"zbulk job watch {large} {upsert}`" in hints[0]
    assert r.err.count("error: ") == 1 and "2 jobs did not finish within 0.4s" in r.err


# 9. Durations take compound units everywhere.
@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90", 90),
        ("90s", 90),
        ("10m", 600),
        ("1h", 3600),
        ("1h30m", 5400),
        ("1m30s", 90),
        ("2h 5m 3s", 7503),
        ("1.5m", 90),
    ],
)
def test_compound_durations(text: str, seconds: float) -> None:
    from zbulk.config import parse_duration

    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "nan", "inf", "-1", "1m1h", "1h1h", "1h30", "m", "1x"])
def test_not_durations(text: str) -> None:
    from zbulk.config import parse_duration

    assert parse_duration(text) is None


def test_compound_duration_options(fast, run) -> None:
    r = fast("job", "watch", "--timeout", "1h30m", DEMO_JOBS["completed"])
    assert r.code == ExitCode.OK, r.err
    r = fast("job", "show", DEMO_JOBS["completed"], ZBULK_REQUEST_TIMEOUT="1m30s")
    assert r.code == ExitCode.OK, r.err
    r = run("sandbox", "--job-duration", "10m", "--host", "example.com")
    assert "not a valid float" not in r.err  # the duration is taken; the host is refused
    assert r.code == ExitCode.USAGE and "loopback" in r.err


def test_sandbox_default_jobs_end_within_a_minute() -> None:
    from zbulk.commands.sandbox import DEFAULT_JOB_DURATION

    assert DEFAULT_JOB_DURATION < 60


# 7. One spelling per concept.
def test_one_spelling_per_concept(tmp_path, monkeypatch) -> None:
    from zbulk.views.format import ago, by_status_order, counts, shown_path, span

    assert [span(s) for s in (42, 65, 3725, 26 * 3600 + 300, 65 * 86400)] == [
        "42s",
        "1m05s",
        "1h02m",
        "1d02h",
        "65d",
    ]
    assert ago(94000) == "1d02h ago" and ago(-5) == "in 5s" and ago(0.2) == "just now"
    assert counts({"skipped": 49, "added": 0, "updated": 0}) == "added 0 · updated 0 · skipped 49"
    assert by_status_order(["skipped", "added", "updated"]) == ["added", "updated", "skipped"]
    assert by_status_order(["FAILED", "not finished", "COMPLETED"]) == [
        "COMPLETED",
        "FAILED",
        "not finished",
    ]
    monkeypatch.chdir(tmp_path)
    assert shown_path(tmp_path / "fix" / "a.csv") == "fix/a.csv"
    assert shown_path("/elsewhere/a.csv") == "/elsewhere/a.csv"


def test_views_spell_nothing_by_hand() -> None:
    """The views take ages, durations and counts from zbulk.views.format only."""
    from pathlib import Path

    import zbulk.views

    folder = Path(zbulk.views.__file__).parent
    for path in folder.glob("*.py"):
        if path.name == "format.py":
            continue
        text = path.read_text()
        assert '" · "' not in text, path  # the separator is format.SEPARATOR
        assert not re.search(r"\bago\"", text), path  # ages come from format.ago
        assert "{minutes:02d}" not in text, path  # durations come from format.span


def test_show_and_watch_spell_age_and_counts_alike(fast) -> None:
    done = DEMO_JOBS["completed"]
    shown = fast("job", "show", "--brief", done).out
    watched = fast("job", "watch", done).out
    assert "added 528 · updated 0 · skipped 12" in shown
    assert "added 528 · updated 0 · skipped 12" in watched
    age = re.search(r"(\d+d\d\dh) ago", shown)
    assert age is not None and f"created {age[1]} ago" in watched


# 3. config set checks a value as the setting will use it; config list shows every
#    setting's effective value and its source; config --help names every key.
def test_config_set_api_version_refused_as_the_flag_is(run) -> None:
    by_config = run("config", "set", "api_version", "v9")
    by_flag = run("--api-version", "v9", "config", "list")
    assert by_config.code == by_flag.code == ExitCode.USAGE
    allowed = "use one of v2, v2.1, v3, v4, v5, v6, v7, v8"
    assert allowed in by_config.err and allowed in by_flag.err
    assert run("config", "get", "api_version").code == ExitCode.ERROR  # nothing written
    assert run("config", "set", "api_version", "v2.1").code == 0


@pytest.mark.parametrize(
    ("key", "bad", "allowed"),
    [
        ("request_timeout", "soon", "30, 30s, 2m"),
        ("insecure_storage_warning", "maybe", "true, false"),
        ("org_id", "acme", "all digits"),
        ("api_domain", "http://example.com", "loopback"),
    ],
)
def test_config_set_refuses_with_the_allowed_values(run, key, bad, allowed) -> None:
    r = run("config", "set", key, bad)
    assert r.code == ExitCode.USAGE and allowed in r.err


def test_config_set_takes_a_duration(run) -> None:
    assert run("config", "set", "request_timeout", "1m30s").code == 0
    assert run("config", "get", "request_timeout").out == "90\n"


def test_config_help_lists_every_key(run) -> None:
    from zbulk.config import DATA_CENTRE_SETTINGS, PROFILE_SETTINGS

    text = " ".join(run("config", "--help").out.split())
    for key in (*PROFILE_SETTINGS, *DATA_CENTRE_SETTINGS):
        assert key in text, key


def test_config_list_on_an_empty_config(run) -> None:
    r = run("config", "list")
    assert r.code == 0
    rows = dict(re.findall(r"^(\w+)=(\S*)\s+# ", r.out, re.M))
    assert rows == {
        "profile": "default",
        "api_domain": "https://www.zohoapis.com",
        "api_version": "v8",
        "request_timeout": "30",
        "org_id": "",
        "insecure_storage_warning": "true",
    }
    sources = re.findall(r"# (.+)$", r.out, re.M)
    assert len(sources) == 6 and all(s.startswith("default") for s in sources)
    assert "Nothing set in" in r.out


def test_config_list_names_each_source(run) -> None:
    assert run("config", "set", "request_timeout", "12").code == 0
    r = run("--api-version", "v7", "config", "list", ZBULK_API_DOMAIN="https://www.zohoapis.eu")
    lines = {line.split("=")[0]: line for line in r.out.splitlines() if "# " in line}
    assert lines["api_version"].endswith("# flag --api-version")
    assert lines["api_domain"].endswith("# environment ZBULK_API_DOMAIN")
    assert lines["request_timeout"].endswith("# profile default")
    assert lines["profile"].endswith("# default")
    import json

    doc = json.loads(run("config", "list", "--json").out)
    assert doc["settings"]["request_timeout"] == {"value": "12", "source": "profile default"}


# 4. Every hint names where the value came from, and runs as printed.
def _hint(err: str) -> str:
    return next(line for line in err.splitlines() if line.startswith("hint: "))


def test_hints_name_the_source_of_the_api_domain(run, sandbox) -> None:
    common = {"ZBULK_TOKEN": sandbox.token}
    from_env = _hint(run("job", "show", TYPO, ZBULK_API_DOMAIN=sandbox.url, **common).err)
    assert "ZBULK_API_DOMAIN" in from_env and "--api-domain" not in from_env
    from_flag = _hint(
        run("--api-domain", sandbox.url, "job", "show", TYPO, ZBULK_API_DOMAIN=None, **common).err
    )
    assert "--api-domain" in from_flag and "ZBULK_API_DOMAIN" not in from_flag
    assert run("config", "set", "api_domain", sandbox.url).code == 0
    from_config = _hint(run("job", "show", TYPO, ZBULK_API_DOMAIN=None, **common).err)
    assert "`zbulk config get default.api_domain`" in from_config
    assert "--api-domain" not in from_config
    shown = run("config", "get", "default.api_domain")  # the hint's command runs as printed
    assert shown.code == 0 and shown.out.strip() == sandbox.url


def test_refused_loopback_connection_asks_for_the_sandbox(run) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = run("job", "show", "123", ZBULK_TOKEN="t", ZBULK_API_DOMAIN=f"http://127.0.0.1:{port}")
    assert r.code == ExitCode.NETWORK
    hint = _hint(r.err)
    assert f"`zbulk sandbox --port {port}`" in hint and "ZBULK_API_DOMAIN" in hint


def test_expired_sandbox_grant_code_gets_a_hint(run, sandbox, env) -> None:
    from pathlib import Path

    path = Path(env["ZBULK_CONFIG_DIR"]) / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f'[data_centres.sb]\naccounts = "{sandbox.url}"\napi_domain = "{sandbox.url}"\n'
    )
    r = run(
        "auth",
        "login",
        "--self-client",
        "--dc",
        "sb",
        "--code",
        "1000.expired.code",
        "--insecure-storage",
        ZBULK_CLIENT_ID=sandbox.client_id,
        ZBULK_CLIENT_SECRET=sandbox.client_secret,
    )
    assert r.code == ExitCode.CREDENTIALS and "invalid_code" in r.err
    assert "run `zbulk sandbox` again" in _hint(r.err)


def test_insecure_storage_note_is_a_command_that_runs(run, sandbox, env) -> None:
    import os
    import shlex
    import time
    from pathlib import Path

    path = Path(env["ZBULK_CONFIG_DIR"]) / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f'[data_centres.sb]\naccounts = "{sandbox.url}"\napi_domain = "{sandbox.url}"\n'
    )
    client = {"ZBULK_CLIENT_ID": sandbox.client_id, "ZBULK_CLIENT_SECRET": sandbox.client_secret}
    r = run(
        "auth",
        "login",
        "--self-client",
        "--dc",
        "sb",
        "--code",
        sandbox.issue_grant_code(),
        "--insecure-storage",
        "--profile",
        "my-ci",
        **client,
    )
    assert r.code == 0, r.err
    stamp = Path(env["ZBULK_CONFIG_DIR"]) / "secrets" / ".my-ci.warned"
    if stamp.exists():
        os.utime(stamp, (time.time() - 90000, time.time() - 90000))
    note = run("--profile", "my-ci", "job", "show", DEMO_JOBS["completed"]).err
    command = re.search(r"`(zbulk config set [^`]+)`", note)
    assert command is not None, note
    assert run(*shlex.split(command[1])[1:]).code == 0
    stamp.unlink(missing_ok=True)
    assert "plain file" not in run("--profile", "my-ci", "job", "show", DEMO_JOBS["completed"]).err


# 6. The exit-code table on `zbulk --help` and `zbulk job --help` only; one to three
#    examples on every help page.
def _pages() -> list[tuple[str, ...]]:
    from zbulk import cli

    return [tuple(path.split()) for path, _ in cli.walk()]


def test_exit_codes_on_the_root_and_job_help_only(run) -> None:
    pages = _pages()
    assert ("config", "path") in pages and ("job", "import") in pages
    for path in pages:
        text = run(*path, "--help").out
        assert ("Exit codes:" in text) == (path in ((), ("job",))), path
        examples = text.split("Examples:")[1] if "Examples:" in text else ""
        count = len(re.findall(r"^    zbulk ", examples.split("\n\n")[0], re.M))
        assert 1 <= count <= 3, (path, count)


def test_job_and_demo_help_speak_of_import_and_retry(run) -> None:
    job = run("job", "--help").out.split("Examples:")[1]
    assert "zbulk job import " in job and "zbulk job retry " in job
    demo = " ".join(run("demo", "--help").out.split())
    assert "imports" in demo and "retries" in demo


# 11. --json of a large pretty-printed document: C string methods, not a call per token
#     (bench/show.py measures it beside the minimal script: goal 1.3x).
def test_json_line_of_a_pretty_document_makes_few_python_calls() -> None:
    import json
    import sys

    from docs import huge_job

    from zbulk.client import Fetched
    from zbulk.output import json_line

    doc = huge_job(resources=4, mappings=300)
    doc["resource"][0]["field_mappings"][0]["default_value"] = {"value": 'a "quoted" \\ word'}
    raw = json.dumps(doc, indent=2, ensure_ascii=False).encode()
    json_line(Fetched({"a": 1}, b'{ "a": 1 }'))  # the patterns compiled (re caches them)
    calls = 0

    def count(frame, event, arg) -> None:  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += event == "call"

    sys.setprofile(count)
    try:
        line = json_line(Fetched(doc, raw))
    finally:
        sys.setprofile(None)
    assert json.loads(line) == doc and line == json.dumps(
        doc, ensure_ascii=False, separators=(",", ":")
    )
    assert calls < 100, calls  # not one per token (there are ~20,000 here)


def test_edit_without_an_editor_set_is_notepad_on_windows() -> None:
    from zbulk.commands.import_flow import default_editor

    assert default_editor("nt") == "notepad" and default_editor("posix") == "vi"


def test_a_bad_version_in_config_toml_names_it_and_how_to_fix_it(run, env) -> None:
    import shlex
    from pathlib import Path

    path = Path(env["ZBULK_CONFIG_DIR"]) / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('[profiles.default]\napi_version = "v9"\n')
    r = run("job", "show", "123", ZBULK_TOKEN="t")
    assert r.code == ExitCode.USAGE and "config.toml" in r.err and "--api-version" not in r.err
    command = re.search(r"`(zbulk [^`]+)`", _hint(r.err))
    assert command is not None
    assert run(*shlex.split(command[1])[1:]).code == 0  # runs as printed
    assert run("config", "list").code == 0


@pytest.mark.parametrize(
    ("args", "environ", "named"),
    [
        ([], {"ZBULK_API_DOMAIN": "http://example.com"}, "`unset ZBULK_API_DOMAIN`"),
        (["--api-domain", "http://example.com"], {}, "--api-domain https://www.zohoapis.com"),
    ],
)
def test_a_bad_api_domain_names_its_source(run, args, environ, named) -> None:
    r = run(*args, "job", "show", "123", ZBULK_TOKEN="t", **environ)
    assert r.code == ExitCode.USAGE and named in _hint(r.err)
    assert ("environment ZBULK_API_DOMAIN" in r.err) == bool(environ)


@pytest.mark.parametrize("raw", [b'{ "a": "x\x7fy" }', b'{"a":"x\x01y"}', b'{"a": "x\x7f"}'])
def test_json_line_still_escapes_ascii_controls(raw: bytes) -> None:
    import json

    from zbulk.client import Fetched
    from zbulk.output import json_line

    line = json_line(Fetched(json.loads(raw, strict=False), raw))
    assert "\x7f" not in line and "\x01" not in line and " " not in line
    assert json.loads(line) == json.loads(raw, strict=False)
