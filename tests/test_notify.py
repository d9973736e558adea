"""--notify's parts: which escape a terminal gets, what reaches it, and the desktop tool
each platform uses (run for real: fake tools on PATH record what they were given)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from zbulk.notify import Notifier, desktop_command, escape, osc_kind
from zbulk.output import safe


@pytest.mark.parametrize(
    ("env", "kind"),
    [
        ({"TERM_PROGRAM": "iTerm.app"}, "9"),
        ({"TERM_PROGRAM": "WezTerm"}, "9"),
        ({"WT_SESSION": "1"}, "9"),
        ({"KITTY_WINDOW_ID": "3", "TERM": "xterm-kitty"}, "9"),
        ({"TERM": "foot"}, "777"),
        ({"TERM": "foot-extra"}, "777"),
        ({"TERM": "rxvt-unicode-256color"}, "777"),
        ({"TERM": "xterm-256color", "VTE_VERSION": "7600"}, "777"),
        ({"TERM": "xterm-256color"}, None),
        ({"TERM_PROGRAM": "iTerm.app", "TMUX": "/tmp/t,1,0"}, None),
        ({"TERM": "screen-256color", "VTE_VERSION": "7600"}, None),
    ],
)
def test_the_escape_each_terminal_gets(env, kind) -> None:
    assert osc_kind(env) == kind


def test_text_from_the_api_cannot_end_or_extend_the_escape() -> None:
    sequence = escape("9", "zbulk", "job \x1b]0;owned\x07 done; ok")
    assert sequence.count("\x1b") == 1 and sequence.count("\x07") == 1
    assert escape("777", "zbulk", "a;b").startswith("\x1b]777;notify;zbulk;a b")


def test_on_a_terminal_the_bell_and_escape_go_to_it_and_no_tool_runs(tmp_path) -> None:
    stream = io.StringIO()
    notifier = Notifier(stream.write, env={"TERM_PROGRAM": "iTerm.app", "PATH": str(tmp_path)})
    notifier("job 1 COMPLETED")
    assert stream.getvalue() == "\a\x1b]9;zbulk: job 1 COMPLETED\x07"
    assert notifier.sent == ["bell and OSC 9"]


def _recording_tool(bin_dir: Path, name: str, log: Path) -> None:
    tool = bin_dir / name
    said = '"$ZBULK_NOTIFY_TITLE" "$ZBULK_NOTIFY_BODY"'
    tool.write_text(
        f'#!/bin/sh\nprintf "%s\\n" "$@" > "{log}"\nprintf "%s|%s\\n" {said} >> "{log}"\n'
    )
    tool.chmod(0o755)


@pytest.mark.parametrize(
    ("platform", "tool"),
    [("linux", "notify-send"), ("darwin", "osascript"), ("win32", "powershell")],
)
def test_each_platform_runs_its_desktop_tool(tmp_path, monkeypatch, platform, tool) -> None:
    log = tmp_path / "log"
    _recording_tool(tmp_path, tool, log)
    monkeypatch.setenv("PATH", str(tmp_path))
    notifier = Notifier(None, env={"PATH": str(tmp_path)}, platform=platform)
    notifier('job 1 "COMPLETED"\nnext')
    assert notifier.sent == [tool]
    said = log.read_text()
    if platform == "linux":
        assert said.splitlines()[:3] == ["--app-name=zbulk", "zbulk", 'job 1 "COMPLETED" next']
    elif platform == "darwin":
        assert 'display notification "job 1 \\"COMPLETED\\" next" with title "zbulk"' in said
    else:  # the text travels in the environment, never inside the script
        assert "ToastNotificationManager" in said and "COMPLETED" not in said.splitlines()[0]
        assert said.splitlines()[-1] == 'zbulk|job 1 "COMPLETED" next'


def test_no_tool_no_terminal_nothing_happens(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    for platform in ("linux", "darwin", "win32"):
        assert desktop_command("zbulk", "x", platform) is None
        notifier = Notifier(None, env={"PATH": str(tmp_path)}, platform=platform)
        notifier("x")
        assert notifier.sent == []


def test_a_broken_terminal_stream_is_not_an_error() -> None:
    stream = io.StringIO()
    stream.close()
    Notifier(stream.write, env={})("x")  # no exception


def test_notify_send_gets_no_markup_and_no_controls(tmp_path, monkeypatch) -> None:
    """notify-send's daemons render a subset of HTML in the body: a job message holding
    `<a href=…>` or `<b>` was shown as a link or bold; C1 and bidi controls went as is."""
    log = tmp_path / "log"
    _recording_tool(tmp_path, "notify-send", log)
    monkeypatch.setenv("PATH", str(tmp_path))
    notifier = Notifier(None, env={"PATH": str(tmp_path)}, platform="linux", sanitise=safe)
    notifier('job 1 <a href="https://x.example">FAILED</a> & \u202eok\x9b31m', title="<b>t</b>")
    args = log.read_text().splitlines()
    assert args[1] == "&lt;b&gt;t&lt;/b&gt;"
    assert args[2] == (
        'job 1 &lt;a href="https://x.example"&gt;FAILED&lt;/a&gt; &amp; \\u202eok\\x9b31m'
    )


def test_osc_777_text_is_escaped_for_the_daemon_and_sanitised() -> None:
    stream = io.StringIO()
    Notifier(stream.write, env={"TERM": "foot"}, sanitise=safe)("<i>x</i> \u202e\x85y")
    sequence = stream.getvalue()
    assert sequence == "\a\x1b]777;notify;zbulk;&lt;i&gt;x&lt;/i&gt; \\u202e\\x85y\x07"
