"""Telling someone who switched windows that a watch (or a job) ended: ``job watch --notify``.

Two parts, both best effort and silent when they cannot be done:
- on a terminal, the bell, and a desktop notification escape where the terminal is known
  to turn it into one: OSC 9 (iTerm2, WezTerm, Windows Terminal, ConEmu, Ghostty, kitty)
  or OSC 777 (foot, rxvt-unicode, VTE terminals such as GNOME Terminal). Inside tmux or
  screen the escape would be swallowed: the bell alone is sent there.
- otherwise the desktop's own tool: ``notify-send`` (Linux and BSDs), ``osascript``
  (macOS), a PowerShell toast (Windows); skipped when none is found.

The escapes are control sequences written as such, through ``Output.control`` (the one
terminal writer); the text in them, and the text handed to a tool, goes through the
sanitiser first (``zbulk.output.safe``, handed in: control and bidi characters written out
visibly), then loses ``;`` (which would end a field),
and where a notification daemon renders markup (``notify-send``, and OSC 777, which foot and
VTE terminals pass on to it) ``<``, ``>`` and ``&`` are escaped.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping

TITLE = "zbulk"
TOOL_TIMEOUT = 5.0  # seconds a notification tool may take
# Terminals (TERM_PROGRAM, or a variable only they set) that show OSC 9 as a notification.
_OSC9_PROGRAMS = ("iterm.app", "wezterm", "ghostty", "vscode")
_OSC9_VARIABLES = ("WT_SESSION", "ConEmuPID", "KITTY_WINDOW_ID", "WEZTERM_PANE")
_OSC777_TERMS = ("foot", "rxvt-unicode", "rxvt-unicode-256color")


def osc_kind(env: Mapping[str, str]) -> str | None:
    """``"9"``, ``"777"`` or None: the notification escape this terminal understands."""
    if env.get("TMUX") or env.get("STY") or env.get("TERM", "").startswith(("screen", "tmux")):
        return None  # a multiplexer swallows unknown OSC sequences
    program = env.get("TERM_PROGRAM", "").lower()
    if program in _OSC9_PROGRAMS or any(env.get(v) for v in _OSC9_VARIABLES):
        return "9"
    term = env.get("TERM", "").lower()
    if term.split("-")[0] == "foot" or term in _OSC777_TERMS or env.get("VTE_VERSION"):
        return "777"
    return None


def _clean(text: str) -> str:
    """Text fit to travel inside an escape sequence or a command's argument: no control
    character, no ``;``. (What a terminal could act on beyond that, bidi controls among
    them, the sanitiser handed to ``Notifier`` has written out already.)"""
    return re.sub(r"[\x00-\x1f\x7f-\x9f;]", " ", text).strip()


def markup_escaped(text: str) -> str:
    """``text`` as literal text in the markup notification daemons render (a subset of
    HTML in the freedesktop notification spec): ``<``, ``>`` and ``&`` escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape(kind: str, title: str, body: str) -> str:
    """The OSC sequence for a notification (BEL-terminated, understood by all of them)."""
    if kind == "9":
        return f"\x1b]9;{_clean(title)}: {_clean(body)}\x07"
    title, body = markup_escaped(_clean(title)), markup_escaped(_clean(body))
    return f"\x1b]777;notify;{title};{body}\x07"


def desktop_command(title: str, body: str, platform: str = sys.platform) -> list[str] | None:
    """The command that shows a desktop notification here, or None if there is none."""
    title, body = _clean(title), _clean(body)
    if platform == "darwin":
        tool = shutil.which("osascript")
        if tool is None:
            return None
        quoted = [s.replace("\\", "\\\\").replace('"', '\\"') for s in (body, title)]
        return [tool, "-e", f'display notification "{quoted[0]}" with title "{quoted[1]}"']
    if platform.startswith("win"):
        tool = shutil.which("powershell") or shutil.which("pwsh")
        if tool is None:
            return None
        script = (
            "[Windows.UI.Notifications.ToastNotificationManager, Windows.UI.Notifications, "
            "ContentType=WindowsRuntime] > $null; "
            "$t = [Windows.UI.Notifications.ToastTemplateType]::ToastText02; "
            "$x = [Windows.UI.Notifications.ToastNotificationManager]::GetTemplateContent($t); "
            "$n = $x.GetElementsByTagName('text'); "
            "$n.Item(0).AppendChild($x.CreateTextNode($env:ZBULK_NOTIFY_TITLE)) > $null; "
            "$n.Item(1).AppendChild($x.CreateTextNode($env:ZBULK_NOTIFY_BODY)) > $null; "
            "[Windows.UI.Notifications.ToastNotificationManager]::CreateToastNotifier('zbulk')"
            ".Show([Windows.UI.Notifications.ToastNotification]::new($x))"
        )
        return [tool, "-NoProfile", "-NonInteractive", "-Command", script]
    tool = shutil.which("notify-send")
    if tool is None:
        return None
    return [tool, "--app-name=zbulk", markup_escaped(title), markup_escaped(body)]


class Notifier:
    """Rings and notifies for one run. ``terminal`` writes a control sequence where a
    person sees it (``Output.control``, when stderr is a terminal with cursor control),
    else None."""

    def __init__(
        self,
        terminal: Callable[[str], object] | None,
        env: Mapping[str, str] | None = None,
        platform: str = sys.platform,
        sanitise: Callable[[str], str] | None = None,
    ) -> None:
        # ``sanitise``: the one sanitiser (``zbulk.output.safe``), passed in by the command:
        # this module is core and never imports the output layer.
        self.sanitise = sanitise or (lambda text: text)
        self.terminal = terminal
        self.env = os.environ if env is None else env
        self.platform = platform
        self.sent: list[str] = []  # what was done, for -v and the tests

    def __call__(self, body: str, title: str = TITLE) -> None:
        body, title = self.sanitise(body), self.sanitise(title)
        kind = osc_kind(self.env) if self.terminal is not None else None
        if self.terminal is not None:
            sequence = "\a" + (escape(kind, title, body) if kind else "")
            try:
                self.terminal(sequence)
                self.sent.append(f"bell{f' and OSC {kind}' if kind else ''}")
            except (OSError, ValueError):
                pass
        if kind is None:
            self._desktop(title, body)

    def _desktop(self, title: str, body: str) -> None:
        command = desktop_command(title, body, self.platform)
        if command is None:
            return
        env = dict(self.env, ZBULK_NOTIFY_TITLE=_clean(title), ZBULK_NOTIFY_BODY=_clean(body))
        try:
            quiet = subprocess.DEVNULL
            subprocess.run(
                command,
                env=env,
                stdin=quiet,
                stdout=quiet,
                stderr=quiet,
                timeout=TOOL_TIMEOUT,
                check=False,
            )
            self.sent.append(os.path.basename(command[0]))
        except (OSError, subprocess.SubprocessError):
            pass  # no desktop to show it on: the watch's own output says it all
