"""Everything that reaches the terminal goes through here.

Consoles are built per run (never at import), one for stdout (results only) and
one for stderr (progress, warnings, errors). Commands hand a typed result to
``Output.emit``, which prints it as JSON lines or through its human view
(``zbulk.views``); ``--json`` output bypasses rich.

The output contract, enforced here and not by each caller:
- Safety: views pass API text through ``safe()``; as a backstop, every text segment
  rich renders is passed through the same sanitiser before it is written, so no escape
  sequence from data can reach a terminal (rich's own control codes are separate).
- Width: on a pipe nothing is wrapped or cut (the console is unlimited in width); on a
  terminal the views fold and stack (``zbulk.views.widgets``).
- Encoding: text the stream cannot encode (ASCII, Latin-1, cp1252 consoles) falls back
  to ASCII symbols and escapes, never an exception; JSON lines stay valid JSON.
- Colour: only on a terminal that is not ``TERM=dumb``, or when ``FORCE_COLOR`` or
  ``CLICOLOR_FORCE`` ask for it; ``NO_COLOR`` removes colour in every case.
- Write errors: a closed pipe raises ``OutputClosed`` (exit 141, quiet); any other
  error writing stdout (a full disk, a closed descriptor) raises ``OutputFailed``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, Protocol

from zbulk.errors import OutputClosed, OutputFailed, ZbulkError

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderableType
    from rich.segment import Segment
    from rich.text import Text

    from zbulk.client import Fetched

# Patterns are compiled on first use (re caches them), so start-up pays for none.
# C0 controls, DEL, C1 controls (CSI and friends), and the bidi controls that can
# make text appear in another order than it is stored.
# Lone surrogates cannot be encoded at all, so they are written out too.
_UNSAFE = "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
# The same, less the line feed: for rendered lines and our own messages.
_UNSAFE_IN_LINES = (
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
# In JSON text the same characters can only stand inside strings: escape them there
# (C0 controls are already escaped by the JSON encoder).
_UNSAFE_IN_JSON = "[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
_JSON_SPACE = r'("[^"\\]*(?:\\.[^"\\]*)*")|[ \t\n\r]+'
# Whitespace between two tokens of valid JSON touches a structural character on one side
# (two values are never adjacent), so text with no whitespace next to one has none to take
# out: only whitespace inside strings. Finding that takes ~1/7 of the time of matching
# every string, as _JSON_SPACE must (0.04 s against 0.29 s for a 6.5 MB job).
_SPACE_NEXT_TO_STRUCTURE = r"[ \t\n\r](?:(?<=[,:\[\]{}][ \t\n\r])|(?=[,:\[\]{}]))"
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    ch = match.group()
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _printable_ascii(value: str) -> bool:
    """Printable ASCII: nothing to escape (the patterns' ASCII members are exactly what
    ``isprintable`` refuses), told without a regex for the common case."""
    return value.isascii() and value.isprintable()


def safe(value: str) -> str:
    """``value`` with every control character written out visibly (``\\x1b``, ``\\n``)."""
    if _printable_ascii(value) or not re.search(_UNSAFE, value):
        return value
    return re.sub(_UNSAFE, _escape, value)


def safe_lines(value: str) -> str:
    """``safe()``, except that line feeds stay line feeds (messages of several lines)."""
    if _printable_ascii(value) or not re.search(_UNSAFE_IN_LINES, value):
        return value
    return re.sub(_UNSAFE_IN_LINES, _escape, value)


def json_text(value: object) -> str:
    """Any JSON value as one compact line, safe for a terminal (see ``json_line``)."""
    return _inert(json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False))


def _inert(line: str) -> str:
    if re.search(_UNSAFE_IN_JSON, line):
        line = re.sub(_UNSAFE_IN_JSON, lambda m: f"\\u{ord(m.group()):04x}", line)
    return line


# The ASCII characters json_line escapes: C0 controls and DEL (the rest are not ASCII).
_ASCII_CONTROLS = bytes(range(0x20)) + b"\x7f"


def _strings_apart(data: bytes) -> list[bytes] | None:
    """UTF-8 JSON ``data`` split at the quotes that open and close its strings: the parts
    outside strings at even indices, the strings' contents at odd ones; None if the quotes
    do not pair up (not JSON). An escaped quote (an odd run of backslashes before it) stays
    inside its string. (No byte of a multi-byte UTF-8 character is a quote, a backslash
    or whitespace, so bytes can be split where characters would be.)"""
    parts = data.split(b'"')
    if b'\\"' in data:  # some quote may be escaped: join it back to its string
        joined: list[bytes] = []
        pending: bytes | None = None
        for part in parts:
            piece = part if pending is None else pending + b'"' + part
            if piece.endswith(b"\\") and (len(piece) - len(piece.rstrip(b"\\"))) % 2:
                pending = piece
            else:
                joined.append(piece)
                pending = None
        if pending is not None:
            joined.append(pending)
        parts = joined
    return parts if len(parts) % 2 else None


def _without_space_between_tokens(data: bytes) -> bytes:
    """UTF-8 JSON with the whitespace between its tokens taken out, strings untouched.

    The work is done by C bytes methods on a few large objects, not per token: split at
    the quotes, then the parts outside strings joined with NUL (which JSON text can only
    hold inside a string), `` \t\n\r`` deleted from that in one ``translate``, and split
    again. A body the JSON parser took has nothing else outside its strings. Anything
    unusual takes the regex path, one Python call per token (~5x slower on a
    pretty-printed 5 MB document).
    """
    parts = _strings_apart(data)
    if parts is not None and b"\x00" not in data:
        outside = b"\x00".join(parts[::2])
        if outside.isascii():
            parts[::2] = outside.translate(None, b" \t\n\r").split(b"\x00")
            return b'"'.join(parts)
    return re.sub(_JSON_SPACE.encode(), lambda m: m.group(1) or b"", data, flags=re.S)


def json_line(fetched: Fetched) -> str:
    """The document as one compact line of JSON, spelt exactly as the API sent it: the
    text of the body with the whitespace between tokens removed, so duplicate keys, ``1E2``,
    ``-0`` and numbers too large for a float survive. A UTF-16 or UTF-32 body is decoded
    (RFC 8259 §8.1) and written as UTF-8.

    Characters a terminal could act on are written as ``\\u`` escapes, which any JSON
    reader decodes back to the same string.
    """
    data = fetched.raw
    try:
        encoding = json.detect_encoding(data)
        if not encoding.startswith("utf-8"):  # UTF-16 or UTF-32: to UTF-8 first
            data = data.decode(encoding).encode("utf-8")
        while data.startswith(b"\xef\xbb\xbf"):  # byte order marks
            data = data[3:]
        data = data.strip(b" \t\n\r")
        if re.search(_SPACE_NEXT_TO_STRUCTURE.encode(), data):  # maybe between tokens
            data = _without_space_between_tokens(data)
        if data.isascii() and len(data.translate(None, _ASCII_CONTROLS)) == len(data):
            return data.decode("ascii")  # nothing a terminal could act on: as it is
        line = data.decode("utf-8")
    except (UnicodeError, LookupError):
        return json_text(fetched.doc)
    if re.search("[\x00-\x1f]", line):  # only inside strings now (the API's strict=False)
        line = re.sub("[\x00-\x1f]", lambda m: f"\\u{ord(m.group()):04x}", line)
    return _inert(line)


# Symbols zbulk draws, and what they become on a console that cannot encode them.
_ASCII = str.maketrans(
    {
        "—": "-",
        "–": "-",
        "·": "-",
        "✓": "+",
        "✗": "x",
        "█": "#",
        "░": ".",
        "━": "-",
        "─": "-",
        "…": "...",
        "→": "->",
        "‘": "'",
        "’": "'",
        "“": '"',
        "”": '"',
    }
)
# Wider than any line: on a pipe rich never wraps or cuts.
UNLIMITED = 1_000_000


def _json_escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code > 0xFFFF:
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def fallback(text: str, encoding: str, *, as_json: bool = False) -> str:
    """``text`` made writable in ``encoding``: the characters it lacks become ASCII
    (drawing symbols) or escapes (``\\u…`` JSON escapes in JSON)."""
    try:
        "".encode(encoding)
    except LookupError:
        encoding = "ascii"

    def escape(match: re.Match[str]) -> str:
        try:
            match.group().encode(encoding)
        except UnicodeEncodeError:
            return _json_escape(match)
        return match.group()

    if as_json:
        return re.sub("[^\x00-\x7f]", escape, text)
    tolerant(None)  # registers the error handler
    return text.encode(encoding, "zbulk").decode(encoding)


def _fallback_error(exc: UnicodeError) -> tuple[str, int]:
    """The ``zbulk`` codec error handler: ASCII for drawing symbols, escapes for the rest."""
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    text = exc.object[exc.start : exc.end].translate(_ASCII)
    encoding = exc.encoding or "ascii"
    return text.encode(encoding, "backslashreplace").decode(encoding), exc.end


def tolerant(stream: IO[str] | None) -> None:
    """Make ``stream`` write what its encoding lacks as ASCII instead of raising
    (help pages, prompts and anything else written without going through ``Output``)."""
    import codecs

    try:
        codecs.lookup_error("zbulk")
    except LookupError:
        codecs.register_error("zbulk", _fallback_error)
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is not None:
        with contextlib.suppress(ValueError, OSError, TypeError):
            reconfigure(errors="zbulk")


class _Stream:
    """A text stream as zbulk writes it: never an encoding error, and write errors
    turned into zbulk errors (stdout) or dropped (stderr: nowhere left to say it)."""

    def __init__(self, raw: IO[str] | None, name: str) -> None:
        self.raw = raw
        self.name = name
        self.encoding: str = (getattr(raw, "encoding", None) or "utf-8").lower()

    def isatty(self) -> bool:
        try:
            return bool(self.raw is not None and self.raw.isatty())
        except (ValueError, OSError, AttributeError):
            return False

    def fileno(self) -> int:
        if self.raw is None:
            raise OSError("closed")
        return self.raw.fileno()

    def write(self, text: str, *, as_json: bool = False) -> int:
        if self.raw is None:
            self._failed(None)
            return 0
        if as_json and not self.encoding.startswith("utf"):
            text = fallback(text, self.encoding, as_json=True)  # \u escapes, still JSON
        try:
            try:
                return self.raw.write(text)
            except UnicodeEncodeError:
                return self.raw.write(fallback(text, self.encoding, as_json=as_json))
        except OSError as exc:
            self._failed(exc)
            return 0

    def flush(self) -> None:
        if self.raw is None:
            return
        try:
            self.raw.flush()
        except OSError as exc:
            self._failed(exc)
        except ValueError:  # flushing a closed file
            pass

    def _failed(self, exc: OSError | None) -> None:
        if self.name != "stdout":
            return
        if isinstance(exc, BrokenPipeError):
            raise OutputClosed() from None
        raise OutputFailed(exc) from None


def _console_class() -> type[Console]:
    from rich.console import Console
    from rich.segment import Segment

    class _Console(Console):
        """A console whose every rendered text segment passes the sanitiser."""

        def render(
            self, renderable: RenderableType, options: ConsoleOptions | None = None
        ) -> Iterable[Segment]:
            for segment in super().render(renderable, options):
                if segment.control:
                    yield segment
                    continue
                text = safe_lines(segment.text)  # the same object when nothing is escaped
                yield segment if text is segment.text else Segment(text, segment.style)

    return _Console


class Emittable(Protocol):
    """A command's typed result: as JSON lines, or as renderables for its human view.
    Either may hold a ``Notice``: a note or warning for stderr, in that form."""

    # a line, or one in pieces
    def json_lines(self) -> Iterable[str | Iterable[str] | Notice]: ...

    def views(self) -> Iterable[RenderableType | Notice]: ...


class Line(str):
    """A line of zbulk's own plain text in a result's human view (a count, a path, a
    command to copy): written as it is, never wrapped or cut (``Output.write_line``)."""

    __slots__ = ()


@dataclass(frozen=True)
class Notice:
    """A message for stderr that is not an error: a ``warning:`` or a dim note."""

    text: str
    warning: bool = False


class EventStream(Protocol):
    """A stream of events (``job watch``'s) and what each says, in every form the output
    layer may show it; ``Output.stream_events`` chooses the form, not the caller."""

    def panel(self) -> RenderableType:
        """The live display of the whole stream (on a terminal, without ``--json``)."""
        ...

    def json_line(self, kind: str, item: Any) -> str | None:
        """With ``--json``: the line of machine output on stdout for this event, if any."""
        ...

    def line(self, kind: str, item: Any) -> RenderableType | None:
        """Without a live display: the progress line on stderr for this event, if any."""
        ...

    def above(self, kind: str, item: Any) -> Iterable[RenderableType | Notice]:
        """With a live display: what goes into the scrollback above it for this event."""
        ...

    def said(self, kind: str, item: Any) -> Iterable[ZbulkError | Notice]:
        """In every form: the errors, warnings and notes this event brings."""
        ...


class LiveDisplay:
    """A rich Live display on stderr, drawn from ``renderable`` four times a second.
    ``stop`` erases it (the summary follows), or leaves its last frame when interrupted;
    the cursor comes back either way. Messages written meanwhile print above it."""

    def __init__(self, console: Console, renderable: RenderableType) -> None:
        self._console = console
        self._renderable = renderable
        self._live: Any = None

    def start(self) -> None:
        from rich.live import Live

        self._live = Live(
            self._renderable,
            console=self._console,
            refresh_per_second=4,
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._live.start()

    def stop(self, *, interrupted: bool = False) -> None:
        if self._live is not None:
            live, self._live = self._live, None
            if interrupted:
                live.transient = False
            live.stop()


class EventWriter:
    """Writes one stream of events as this run shows it: NDJSON on stdout with ``--json``;
    otherwise a live display on a terminal (stderr with cursor control), or a plain
    line per event elsewhere. Errors, warnings and notes are written in every form."""

    def __init__(self, out: Output, stream: EventStream, *, as_json: bool) -> None:
        self.out = out
        self.stream = stream
        self.as_json = as_json
        self.live = not as_json and out.err_live
        self._display: LiveDisplay | None = None

    def start(self) -> None:
        """Begin the live display, if this run has one."""
        if self.live and self._display is None:
            self._display = LiveDisplay(self.out.err, self.stream.panel())
            self._display.start()

    def stop(self, *, interrupted: bool = False) -> None:
        if self._display is not None:
            display, self._display = self._display, None
            display.stop(interrupted=interrupted)

    def event(self, kind: str, item: Any) -> None:
        if self.as_json:
            line = self.stream.json_line(kind, item)
            if line is not None:
                self.out.write_line(line)
        elif self.live:
            for part in self.stream.above(kind, item):
                if isinstance(part, Notice):
                    self.out.say(part)
                else:
                    self.out.err.print(part, soft_wrap=True)
        else:
            shown = self.stream.line(kind, item)
            if shown is not None:
                self.out.err.print(shown, soft_wrap=True)
        self.out.say(*self.stream.said(kind, item))


def _env_on(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0")


class Output:
    """The two consoles of one run, and the ways to write to them."""

    def __init__(
        self,
        stdout: IO[str] | None = None,
        stderr: IO[str] | None = None,
        *,
        force_terminal: bool | None = None,
        width: int | None = None,
        stdin: IO[str] | None = None,
    ) -> None:
        self._stdin = stdin if stdin is not None else sys.stdin
        self._stdout = _Stream(stdout if stdout is not None else sys.stdout, "stdout")
        self._stderr = _Stream(stderr if stderr is not None else sys.stderr, "stderr")
        self._force_terminal = force_terminal
        self._width = width
        self._out: Console | None = None
        self._err: Console | None = None
        self.no_color = os.environ.get("NO_COLOR", "") != ""
        self.force_color = os.environ.get("FORCE_COLOR", "") != "" or _env_on("CLICOLOR_FORCE")
        self.dumb = os.environ.get("TERM", "").lower() in ("dumb", "unknown")
        #: the hint ``error()`` prints for an error (see ``AppContext.explain``)
        self.explain: Callable[[ZbulkError], str | None] | None = None

    def is_terminal(self, stream: _Stream) -> bool:
        return self._force_terminal if self._force_terminal is not None else stream.isatty()

    @property
    def out_terminal(self) -> bool:
        """stdout is a terminal: views may fold and stack to its width."""
        return self.is_terminal(self._stdout)

    @property
    def err_live(self) -> bool:
        """stderr is a terminal with cursor control (not ``TERM=dumb``): live views."""
        return self.is_terminal(self._stderr) and not self.dumb

    def _width_of(self, stream: _Stream, terminal: bool) -> int:
        if self._width is not None:
            return self._width
        if not terminal:
            return UNLIMITED
        columns = os.environ.get("COLUMNS", "")
        if columns.isdigit() and int(columns) > 0:
            return int(columns)
        try:
            return os.get_terminal_size(stream.fileno()).columns or 80
        except (OSError, ValueError):
            return 80

    def _console(self, stream: _Stream) -> Console:
        terminal = self.is_terminal(stream)
        capable = terminal and not self.dumb
        styled = capable or self.force_color
        return _console_class()(
            file=stream,  # type: ignore[arg-type]
            force_terminal=styled,
            force_interactive=capable,
            no_color=self.no_color,
            color_system=("auto" if not self.dumb else "standard") if styled else None,
            width=self._width_of(stream, terminal),
            highlight=False,
            markup=False,
            emoji=False,
            soft_wrap=False,
            legacy_windows=False,
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

    def emit(self, result: Emittable, *, as_json: bool) -> None:
        """The one step every command's result goes through: JSON lines or the human view."""
        if as_json:
            for line in result.json_lines():
                if isinstance(line, Notice):
                    self.say(line)
                elif isinstance(line, str):
                    self.write_line(line)
                else:  # one long line streamed in pieces (job results --failed --json)
                    for piece in line:
                        self._stdout.write(piece, as_json=True)
                    self.write_line("")
        else:
            for part in result.views():
                if isinstance(part, Notice):
                    self.say(part)
                elif isinstance(part, Line):
                    self.write_line(part)
                else:
                    self.print(part)

    def print(self, *renderables: RenderableType, soft_wrap: bool = False) -> None:
        """Results on stdout; ``soft_wrap`` keeps long lines whole (commands to copy)."""
        out = self.out
        # Nothing is cropped at UNLIMITED (a pipe): skip rich's pass that would look.
        out.print(*renderables, soft_wrap=soft_wrap, crop=out.width < UNLIMITED)

    def write_line(self, line: str) -> None:
        """A line of machine output on stdout, untouched by rich (valid JSON stays valid
        JSON on any console encoding)."""
        self._stdout.write(line + "\n", as_json=True)
        self._stdout.flush()

    def json(self, fetched: Fetched) -> None:
        self.write_line(json_line(fetched))

    def flush(self) -> None:
        self._stdout.flush()
        self._stderr.flush()

    def log(self, message: str) -> None:
        """A ``-v`` line on stderr."""
        self.err.print(_styled("zbulk: ", "dim") + _plain(message), soft_wrap=True)

    def warn(self, message: str) -> None:
        self.err.print(_styled("warning: ", "yellow bold") + _plain(message), soft_wrap=True)

    def note(self, message: str) -> None:
        """A message of one or more lines on stderr (line feeds in it are kept)."""
        self.err.print(_plain(message), style="dim", soft_wrap=True)

    def say(self, *messages: ZbulkError | Notice) -> None:
        """Errors, warnings and notes on stderr, in order (``error``, ``warn``, ``note``)."""
        for message in messages:
            if isinstance(message, Notice):
                (self.warn if message.warning else self.note)(message.text)
            else:
                self.error(message)

    def stream_events(self, stream: EventStream, *, as_json: bool) -> EventWriter:
        """The writer of a stream of events for this run (see ``EventWriter``): the
        caller hands over the events and ``--json``; this layer chooses the form."""
        return EventWriter(self, stream, as_json=as_json)

    def error(self, exc: ZbulkError) -> int:
        """Say what went wrong and what to try next; return the exit code. Every hint
        passes ``explain`` (set by the command's context): it names where each setting
        came from."""
        self.err.print(_styled("error: ", "red bold") + _plain(exc.message), soft_wrap=True)
        hint = self.explain(exc) if self.explain is not None else exc.hint
        if hint:
            self.err.print(_styled("hint: ", "cyan") + _plain(hint), soft_wrap=True)
        return int(exc.exit_code)

    # -- the terminal's other uses: questions, hidden input, control sequences ------------

    @property
    def can_ask(self) -> bool:
        """Standard input is a terminal: a person is there to answer."""
        return _Stream(self._stdin, "stdin").isatty()

    def read_input(self, limit: int = 1 << 20) -> str:
        """What was piped to standard input, at most ``limit`` characters."""
        return self._stdin.read(limit) if self._stdin is not None else ""

    def confirm(self, question: str) -> bool:
        """Ask a yes/no question on stderr and read the answer from stdin; only ``y`` or
        ``yes`` is a yes. The question goes through the sanitiser like everything else (it
        may hold an org's or a module's name). Ctrl-C or end of input raise ``Interrupted``."""
        return self._answer(safe(question) + " [y/N] ").strip().lower() in ("y", "yes")

    def ask(self, label: str, *, hidden: bool = False, default: str | None = None) -> str:
        """A value typed at the terminal after ``label`` (echo off with ``hidden``),
        stripped; ``default`` when nothing is typed. Ctrl-C or end of input raise
        ``Interrupted``."""
        shown = f" [{safe(default)}]" if default is not None else ""
        answer = self._answer(f"{safe(label)}{shown}: ", hidden=hidden).strip()
        return answer or (default or "")

    def _answer(self, prompt: str, *, hidden: bool = False) -> str:
        from zbulk.errors import Interrupted

        try:
            if hidden:  # getpass writes the prompt to the terminal itself, echo off
                import getpass

                return getpass.getpass(fallback(prompt, self._stderr.encoding))
            self._stderr.write(prompt)
            self._stderr.flush()
            answer = self._stdin.readline() if self._stdin is not None else ""
        except (KeyboardInterrupt, EOFError):
            answer = ""
        if not answer:
            self._stderr.write("\n")
            raise Interrupted(nothing_sent=True)  # every question comes before a change
        return answer.rstrip("\r\n")

    def control(self, sequence: str) -> None:
        """A control sequence zbulk built itself (the bell, a notification escape whose
        text was sanitised), written as such to stderr."""
        self._stderr.write(sequence)
        self._stderr.flush()

    def internal_error(self, exc: BaseException, *, verbose: bool) -> None:
        """The last resort: one line, and the traceback only with ``-v``."""
        if verbose:
            import traceback

            text = "".join(traceback.format_exception(exc))
            self._stderr.write(safe_lines(text))
        detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        more = "" if verbose else " (run with -v for details)"
        self.err.print(
            _styled("internal error: ", "red bold") + _plain(detail + more), soft_wrap=True
        )


# -- the standard streams themselves: only this module touches them ----------------------


def standard_streams_tolerant() -> None:
    """stdout and stderr write what their encoding lacks as ASCII (``tolerant``)."""
    tolerant(sys.stdout)
    tolerant(sys.stderr)


def discard_stdout() -> None:
    """Point stdout at /dev/null (its reader went away), so no later flush can fail."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def flush_standard_streams(code: int) -> int:
    """Flush stdout and stderr before the process ends; ``code``, or the exit status a
    failed flush means (141: the reader went away, 1: a write error)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:  # None: the descriptor was closed when zbulk started
                stream.flush()
        except BrokenPipeError:  # the reader went away after the last write
            code = code or 141
        except (OSError, ValueError):
            code = code or 1
    return code


def write_plain(text: str, *, err: bool = False) -> None:
    """``text`` and a line feed, as ``print`` writes them: zbulk's own text (help, usage
    errors, a completion script) on stdout or stderr, without rich. What came from outside
    in it has been through ``safe_lines`` (the caller's). A write error on stdout raises
    ``OutputClosed``/``OutputFailed``; on stderr it is dropped."""
    stream = _Stream(sys.stderr if err else sys.stdout, "stderr" if err else "stdout")
    stream.write(text + "\n")
    stream.flush()


@contextlib.contextmanager
def guarded(verbose: bool, *, with_logging: bool) -> Iterator[None]:
    """For one run of zbulk: what Python and libraries would write to stderr by themselves
    goes through here instead. An exception a finalizer or a thread could not raise
    ("Exception ignored in …"), a ``warnings`` warning and a library's log record (Python's
    last-resort handler prints WARNING and above) are ``-v`` log lines, sanitised like
    everything else, and nothing without ``-v``; an interrupt lost in a finalizer is
    delivered again (``zbulk.interrupts``). ``with_logging``: take over ``logging`` even if
    nothing has imported it yet (4 ms: not for ``--version`` and Tab presses)."""
    import threading
    import warnings

    saved: list[tuple[Any, str, Any]] = [
        (sys, "unraisablehook", sys.unraisablehook),
        (threading, "excepthook", threading.excepthook),
        (warnings, "showwarning", warnings.showwarning),
    ]
    sys.unraisablehook = lambda u: _unraisable(u, verbose)
    threading.excepthook = lambda a: _thread_failed(a, verbose)
    warnings.showwarning = lambda message, category, *_, **__: _said(
        f"{category.__name__}: {message}", verbose
    )
    if with_logging or "logging" in sys.modules:
        import logging

        saved.append((logging, "lastResort", logging.lastResort))
        logging.lastResort = _log_lines(verbose)
    try:
        yield
    finally:
        for owner, name, value in reversed(saved):
            setattr(owner, name, value)


def _said(message: str, verbose: bool) -> None:
    if verbose:
        with contextlib.suppress(Exception):
            Output().log(message)


def _unraisable(unraisable: Any, verbose: bool) -> None:
    from zbulk import interrupts

    if interrupts.swallowed(unraisable.exc_type):
        return
    name = getattr(unraisable.exc_type, "__name__", "exception")
    _said(f"in {unraisable.object!r}, not raised: {name}: {unraisable.exc_value}", verbose)


def _thread_failed(args: Any, verbose: bool) -> None:
    if args.exc_type is SystemExit or issubclass(args.exc_type, KeyboardInterrupt):
        return
    thread = args.thread.name if args.thread is not None else "a thread"
    _said(f"{thread} failed: {args.exc_type.__name__}: {args.exc_value}", verbose)


def _log_lines_class() -> type:
    import logging

    class _Handler(logging.Handler):
        def __init__(self, verbose: bool) -> None:
            super().__init__(logging.WARNING)
            self.verbose = verbose

        def emit(self, record: logging.LogRecord) -> None:
            # a record whose message cannot be built: nothing to say
            with contextlib.suppress(Exception):
                _said(f"{record.name}: {record.getMessage()}", self.verbose)

    return _Handler


def _log_lines(verbose: bool) -> Any:
    return _log_lines_class()(verbose)


def stdin_is_terminal() -> bool:
    """Standard input is a terminal: a person is there to answer (``Output.can_ask``)."""
    return _Stream(sys.stdin, "stdin").isatty()


def _plain(value: str) -> Text:
    from rich.text import Text

    return Text(safe_lines(value))


def _styled(value: str, style: str) -> Text:
    from rich.text import Text

    return Text(value, style=style)
