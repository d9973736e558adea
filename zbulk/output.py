"""Everything that reaches the terminal goes through here.

Consoles are built per run (never at import), one for stdout (results only) and
one for stderr (progress, warnings, errors). rich decides colour from the
terminal and honours ``NO_COLOR``; text from the API is made safe with
``safe()`` and handed to rich as ``Text``, so neither markup nor escape
sequences in the data are ever interpreted. ``--json`` output bypasses rich.
"""

from __future__ import annotations

import json
import re
import sys
from typing import IO, TYPE_CHECKING

from zbulk.errors import ZbulkError

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.text import Text

    from zbulk.client import Fetched

# Patterns are compiled on first use (re caches them), so start-up pays for none.
# C0 controls, DEL, C1 controls (CSI and friends), and the bidi controls that can
# make text appear in another order than it is stored.
_UNSAFE = "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
# In JSON text the same characters can only stand inside strings: escape them there
# (C0 controls are already escaped by the JSON encoder).
_UNSAFE_IN_JSON = "[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
_JSON_SPACE = r'("[^"\\]*(?:\\.[^"\\]*)*")|[ \t\n\r]+'
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    ch = match.group()
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe(value: str) -> str:
    """``value`` with every control character written out visibly (``\\x1b``, ``\\n``)."""
    return re.sub(_UNSAFE, _escape, value) if re.search(_UNSAFE, value) else value


def json_text(value: object) -> str:
    """Any JSON value as one compact line, safe for a terminal (see ``json_line``)."""
    return _inert(json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False))


def _inert(line: str) -> str:
    if re.search(_UNSAFE_IN_JSON, line):
        line = re.sub(_UNSAFE_IN_JSON, lambda m: f"\\u{ord(m.group()):04x}", line)
    if not line.isascii() and re.search("[\ud800-\udfff]", line):  # lone surrogates
        line = re.sub("[\ud800-\udfff]", lambda m: f"\\u{ord(m.group()):04x}", line)
    return line


def json_line(fetched: Fetched) -> str:
    """The document as one compact line of JSON, spelt exactly as the API sent it: the
    text of the body with the whitespace between tokens removed, so duplicate keys, ``1E2``,
    ``-0`` and numbers too large for a float survive. A UTF-16 or UTF-32 body is decoded
    (RFC 8259 §8.1) and written as UTF-8.

    Characters a terminal could act on are written as ``\\u`` escapes, which any JSON
    reader decodes back to the same string.
    """
    try:
        text = fetched.raw.decode(json.detect_encoding(fetched.raw))
    except (UnicodeDecodeError, LookupError):
        return json_text(fetched.doc)
    line = re.sub(_JSON_SPACE, lambda m: m.group(1) or "", text.lstrip("\ufeff"), flags=re.S)
    if re.search("[\x00-\x1f]", line):  # only inside strings now (the API's strict=False)
        line = re.sub("[\x00-\x1f]", lambda m: f"\\u{ord(m.group()):04x}", line)
    return _inert(line)


class Output:
    """The two consoles of one run, and the ways to write to them."""

    def __init__(
        self,
        stdout: IO[str] | None = None,
        stderr: IO[str] | None = None,
        *,
        force_terminal: bool | None = None,
        width: int | None = None,
    ) -> None:
        self._stdout = stdout if stdout is not None else sys.stdout
        self._stderr = stderr if stderr is not None else sys.stderr
        self._force_terminal = force_terminal
        self._width = width
        self._out: Console | None = None
        self._err: Console | None = None

    def _console(self, file: IO[str]) -> Console:
        from rich.console import Console

        return Console(
            file=file,
            force_terminal=self._force_terminal,
            width=self._width,
            highlight=False,
            markup=False,
            emoji=False,
            soft_wrap=False,
        )

    @property
    def out(self) -> Console:
        if self._out is None:
            self._out = self._console(self._stdout)
        return self._out

    @property
    def err(self) -> Console:
        if self._err is None:
            self._err = self._console(self._stderr)
        return self._err

    def print(self, *renderables: RenderableType, soft_wrap: bool = False) -> None:
        """Results on stdout; ``soft_wrap`` keeps long lines whole (commands to copy)."""
        self.out.print(*renderables, soft_wrap=soft_wrap)

    def write_line(self, line: str) -> None:
        """A line of machine output on stdout, untouched by rich."""
        self._stdout.write(line + "\n")
        self._stdout.flush()

    def write(self, text: str) -> None:
        """Part of a line of machine output (a long document streamed in pieces)."""
        self._stdout.write(text)

    def json(self, fetched: Fetched) -> None:
        self.write_line(json_line(fetched))

    def log(self, message: str) -> None:
        """A ``-v`` line on stderr."""
        self.err.print(_styled("zbulk: ", "dim") + _plain(message), soft_wrap=True)

    def warn(self, message: str) -> None:
        self.err.print(_styled("warning: ", "yellow bold") + _plain(message), soft_wrap=True)

    def note(self, message: str) -> None:
        self.err.print(_plain(message), style="dim", soft_wrap=True)

    def error(self, exc: ZbulkError) -> int:
        """Say what went wrong and what to try next; return the exit code."""
        self.err.print(_styled("error: ", "red bold") + _plain(exc.message), soft_wrap=True)
        if exc.hint:
            self.err.print(_styled("hint: ", "cyan") + _plain(exc.hint), soft_wrap=True)
        return int(exc.exit_code)


def _plain(value: str) -> Text:
    from rich.text import Text

    return Text(safe(value))


def _styled(value: str, style: str) -> Text:
    from rich.text import Text

    return Text(value, style=style)
