"""The user's own files: the one reader of every CSV (or ZIP of CSVs) the user gives zbulk
(``job import FILE``, ``--source``, ``--from``, and the file ``job retry`` sends). Zoho's
result file is read by ``zbulk.result_file``; zbulk's report of it is ``zbulk.reports``.

Everything outside is settled here once, and checked before it is used:

- **ZIP or CSV**: ``is_zip`` (the ZIP signature, or a ``.zip`` name). A ZIP member must be a
  CSV, unencrypted, compressed with a method Python reads (stored, deflate, bzip2, lzma);
  anything else (Deflate64, say) is a ``UserFileError`` (exit 2) before a byte is read.
- **Encoding**: ``text_codec`` accepts text codecs only (``--encoding`` and a job document's
  ``character_encoding``); ``detect_encoding`` looks at the first bytes: a BOM (UTF-8,
  UTF-16 or UTF-32, either byte order), else the zero bytes of UTF-16 or UTF-32 without a
  BOM, else the codec given, else UTF-8 (for a ``--source``, ``fallback`` when the bytes are
  not UTF-8). UTF-16 and UTF-32 are decoded strictly: a truncated file is an error.
- **Delimiter**: ``detect_delimiter``, the one rule (Zoho's): the one of ``, ; : |`` found
  most often outside quotes in the header line.
- **Memory**: a file is read as a stream, a chunk at a time. ``UserFile.records`` yields one
  ``Record`` at a time with its byte ``offset`` and ``length`` in the uncompressed CSV (so a
  splitter can cut on record boundaries); a header longer than ``MAX_HEADER_BYTES`` or a
  record longer than ``MAX_RECORD_BYTES`` (Zoho's 25 MB) stops the reading with an error, so
  a file without line ends is never held whole. Runs of blank lines are skipped in C, a
  chunk at a time: between records they are reported once per run (``on_blank``), at the end
  they are ignored. ``Problems`` keeps at most ``KEPT_PER_KIND`` problems of each kind and
  counts the rest.

Prints nothing; raises ``UserFileError`` (a ``UsageError``: exit 2).
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

from zbulk.errors import UsageError

__all__ = [  # what other modules use: the pre-flight, --source, retry, a splitter, a checker
    "MAX_PART_BYTES",
    "MAX_RECORD_BYTES",
    "Encoding",
    "Problem",
    "Problems",
    "Record",
    "RecordTooLong",
    "UserFile",
    "UserFileError",
    "check_member",
    "csv_members",
    "detect_delimiter",
    "detect_encoding",
    "is_result_header",
    "is_zip",
    "open_source",
    "open_user_files",
    "text_codec",
]

MAX_RECORD_BYTES = 25 * 1024 * 1024  # Zoho's per-file limit: no record can be longer
MAX_PART_BYTES = MAX_RECORD_BYTES  # per uploaded file, header and BOM included
MAX_HEADER_BYTES = 1 << 20  # a header row longer than this is no CSV header
DELIMITERS = (",", ";", ":", "|")
KEPT_PER_KIND = 20  # problems kept (and shown) per kind; the rest are counted
MAX_KINDS = 200  # kinds told apart; the problems of any more are counted as one
TEXT_ERRORS = "surrogateescape"  # bytes without a character survive a read and a write back
RESULT_TRAILER = ("STATUS", "RECORD_ID", "ERRORS")  # the last columns of Zoho's result file
CHUNK = 1 << 20
_HEAD = 1 << 16
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_READABLE_ZIP = {
    zipfile.ZIP_STORED: "stored",
    zipfile.ZIP_DEFLATED: "deflate",
    zipfile.ZIP_BZIP2: "bzip2",
    zipfile.ZIP_LZMA: "lzma",
}
_ZIP_METHOD_NAMES = {9: "Deflate64", 6: "Implode", 98: "PPMd", 93: "Zstandard", 95: "XZ"}
_NOT_FOR_CSV = {"idna", "punycode", "undefined", "unicode-escape", "raw-unicode-escape"}
_PROBE = 'Name,E-mail;Notes:x|y "q"\r\n0123456789 abcXYZ\n'
_PUNCTUATION = '\r\n,;:|"'  # as ASCII in any codec but UTF-16 and UTF-32 (not EBCDIC)


class UserFileError(UsageError):
    """The user's file cannot be read, or is not one zbulk can send (exit 2)."""


# -- problems -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the file: where (record number, 1 for the first after the
    header, 0 for the header; the physical line it starts on; the column) and what.
    ``kind`` groups problems for ``Problems``' cap (the message when not given)."""

    message: str
    record: int | None = None
    line: int | None = None
    column: str | None = None
    kind: str = field(default="", compare=False)

    def __str__(self) -> str:
        where = []
        if self.record == 0:
            where.append("header")
        elif self.record is not None:
            line = f" (line {self.line:,})" if self.line else ""
            where.append(f"record {self.record:,}{line}")
        elif self.line is not None:
            where.append(f"line {self.line:,}")
        if self.column is not None:
            where.append(f"column {self.column}")
        return (", ".join(where) + ": " if where else "") + self.message


class Problems:
    """The problems found, in order: at most ``per_kind`` kept of each kind, the rest
    counted. Memory does not grow with the number of problems."""

    def __init__(self, per_kind: int = KEPT_PER_KIND) -> None:
        self.per_kind = per_kind
        self.kept: list[Problem] = []
        self.counts: dict[str, int] = {}

    def add(self, problem: Problem, count: int = 1) -> None:
        kind = problem.kind or problem.message
        if kind not in self.counts and len(self.counts) >= MAX_KINDS:
            kind = "(other)"  # kinds named by their message: bounded too
        seen = self.counts.get(kind, 0)
        if seen < self.per_kind:
            self.kept.append(problem)
        self.counts[kind] = seen + count

    def append(self, problem: Problem) -> None:
        self.add(problem)

    def extend(self, problems: Iterable[Problem]) -> None:
        for problem in problems:
            self.add(problem)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def unshown(self) -> int:
        return self.total - len(self.kept)

    def __len__(self) -> int:
        return self.total

    def __bool__(self) -> bool:
        return bool(self.counts)

    def __iter__(self) -> Iterator[Problem]:
        return iter(self.kept)

    def __getitem__(self, index: int) -> Problem:
        return self.kept[index]


# -- encodings ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Encoding:
    """How a CSV's bytes are read (and written back): the codec (with its byte order, for
    UTF-16 and UTF-32) and the BOM the file starts with (kept for files written back)."""

    codec: str  # a codecs name: "utf-8", "utf-16-le", "cp1252"
    bom: bytes = b""

    @property
    def unit(self) -> int:
        """Bytes per code unit: 4 for UTF-32, 2 for UTF-16, else 1 (ASCII-compatible)."""
        if self.codec.startswith("utf-32"):
            return 4
        return 2 if self.codec.startswith("utf-16") else 1

    @property
    def label(self) -> str:
        names = {"utf-8": "UTF-8", "cp1252": "Windows-1252"}
        name = names.get(self.codec) or self.codec.upper().replace("-LE", "LE")
        if self.unit == 1 and self.codec not in names:
            name = self.codec
        return name.replace("-BE", "BE") + (" with a BOM" if self.bom else "")

    @property
    def charset(self) -> str | None:
        """The ``character_encoding`` to tell Zoho (None for UTF-8, Zoho's default)."""
        if self.codec == "utf-8":
            return None
        if self.unit > 1:
            return self.codec.upper().replace("-LE", "LE").replace("-BE", "BE")
        return self.codec


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE, which it starts with
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def text_codec(name: object, what: str = "--encoding") -> str:
    """``name`` as a codec that reads text a CSV can be in (its normal name), else a
    UsageError naming ``what``: ``rot13``, ``base64``, ``zlib`` (bytes or text transforms),
    ``idna``, ``punycode`` (host names), ``undefined`` are refused, and so are codecs that
    spell line ends, delimiters and quotes otherwise than ASCII (EBCDIC's ``cp037``), but
    UTF-16 and UTF-32."""
    hint = "use a text encoding such as utf-8, utf-16, windows-1252 or iso-8859-1"
    shown = repr(name)[:60]
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._ -]{0,39}", name):
        raise UsageError(f"{what} {shown} is not an encoding name", hint=hint)
    try:
        info = codecs.lookup(name)
    except LookupError:
        raise UsageError(f"{what} {shown}: unknown encoding", hint=hint) from None
    usable = getattr(info, "_is_text_encoding", True) and info.name not in _NOT_FOR_CSV
    if usable:
        try:
            usable = _PROBE.encode(info.name).decode(info.name) == _PROBE
            wide = info.name.startswith(("utf-16", "utf-32"))
            usable = usable and (wide or _PUNCTUATION.encode(info.name) == _PUNCTUATION.encode())
        except (UnicodeError, ValueError, TypeError):
            usable = False
    if not usable:
        raise UsageError(f"{what} {shown} is not a text encoding a CSV can be in", hint=hint)
    return info.name


def detect_encoding(head: bytes, given: str | None = None, what: str = "--encoding") -> Encoding:
    """The encoding of a CSV from its first bytes (``head``) and the codec ``given`` (checked
    by ``text_codec``; None when none is). A BOM decides (a non-Unicode codec given with one
    is an error); without one, the zero bytes of UTF-16 or UTF-32 text; else ``given``, else
    UTF-8. ``utf-16``/``utf-32`` given for a file with neither BOM nor zero bytes is an
    error asking for the byte order."""
    codec = text_codec(given, what) if given is not None else None
    for bom, found in _BOMS:
        if head.startswith(bom):
            if codec is not None and not _same_family(codec, found):
                raise UserFileError(
                    f"the file starts with a {Encoding(found).label} byte order mark, "
                    f"but {what} says {given}",
                    hint=f"drop {what}, or pass {what} {found}",
                )
            return Encoding(found, bom)
    zeros = _zero_pattern(head)
    if zeros is not None and (codec is None or _same_family(codec, zeros)):
        return Encoding(zeros)
    if codec in ("utf-16", "utf-32"):
        raise UserFileError(
            f"{what} {given}: the file has no byte order mark, and its first bytes do not tell "
            "the byte order",
            hint=f"pass {what} {codec}-le or {what} {codec}-be",
        )
    if codec in ("utf-8-sig", None):
        codec = "utf-8"
    return Encoding(codec)


def _same_family(codec: str, found: str) -> bool:
    if found == "utf-8":
        return codec in ("utf-8", "utf-8-sig")
    return codec in (found, found[:6])  # "utf-16-le" matches utf-16-le and utf-16


def _zero_pattern(head: bytes) -> str | None:
    """UTF-16 or UTF-32 without a BOM, told by the zero bytes of its first (ASCII)
    characters: ``a\\0\\0\\0`` is UTF-32LE, ``\\0\\0\\0a`` UTF-32BE, ``a\\0b\\0`` UTF-16LE,
    ``\\0a\\0b`` UTF-16BE."""
    if len(head) >= 4:
        a, b, c, d = head[:4]
        if a and not b and not c and not d:
            return "utf-32-le"
        if not a and not b and not c and d:
            return "utf-32-be"
        if a and not b and c and not d:
            return "utf-16-le"
        if not a and b and not c and d:
            return "utf-16-be"
    elif len(head) >= 2:
        if head[0] and not head[1]:
            return "utf-16-le"
        if not head[0] and head[1]:
            return "utf-16-be"
    return None


def first_error(stream: IO[bytes], codec: str) -> tuple[int, bool] | None:
    """Where all of ``stream`` (read a chunk at a time) first fails to decode strictly
    with ``codec``, and whether it ends in the middle of a character; None if it decodes."""
    decoder = codecs.getincrementaldecoder(codec)()
    done = 0
    try:
        while chunk := stream.read(CHUNK):
            decoder.decode(chunk)
            done += len(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        return done + max(exc.start, 0), not chunk
    return None


# -- the delimiter and ZIPs ------------------------------------------------------------


def detect_delimiter(line: str) -> str:
    """The delimiter of a CSV from its header line, as Zoho detects it: the one of
    ``, ; : |`` found most often outside quotes (a comma on a tie or when none is found)."""
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(DELIMITERS, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


def is_zip(path: Path) -> bool:
    """Whether ``path`` is to be read as a ZIP: it starts with a ZIP signature, or its name
    ends in ``.zip`` (then a file that is no ZIP is an error, not a CSV)."""
    if path.suffix.lower() == ".zip":
        return True
    try:
        with path.open("rb") as fh:
            return fh.read(4) in _ZIP_MAGIC
    except OSError:
        return False


def zip_entries(path: Path, what: str) -> list[zipfile.ZipInfo]:
    """The files (not folders) of the ZIP ``path``, from its central directory."""
    try:
        with zipfile.ZipFile(path) as archive:
            return [i for i in archive.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise UserFileError(f"{what} {path} is not a ZIP file zbulk can read ({exc})") from None


def check_member(path: Path, info: zipfile.ZipInfo, what: str) -> None:
    """A ZIP member is readable: not encrypted, compressed with a method Python reads."""
    if info.flag_bits & 0x1:
        raise UserFileError(
            f"{what} {path}: {info.filename!r} is encrypted",
            hint="zip the CSV again without a password",
        )
    if info.compress_type not in _READABLE_ZIP:
        method = _ZIP_METHOD_NAMES.get(info.compress_type, f"method {info.compress_type}")
        raise UserFileError(
            f"{what} {path}: {info.filename!r} is compressed with {method}, which zbulk "
            "cannot read (and Zoho may not either)",
            hint="zip the CSV again with ordinary Deflate (zip -r, or Save as ZIP), or give "
            "the CSV itself",
        )


def is_result_header(header: list[str]) -> bool:
    """Whether ``header`` is that of Zoho's result file (its last three columns are
    STATUS, RECORD_ID, ERRORS)."""
    return [h.strip().upper() for h in header[-3:]] == list(RESULT_TRAILER)


# -- records ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Record:
    """One CSV record after the header: ``number`` (1 for the first; blank lines are no
    records), the physical ``line`` it starts on, its ``offset`` and ``length`` in bytes in
    the uncompressed CSV (line end included, so records laid end to end, with any blank
    lines between, are the file), its ``cells``, and its ``text`` as in the file."""

    number: int
    line: int
    offset: int
    length: int
    cells: list[str]
    text: str


class RecordTooLong(UserFileError):
    """A header or a record longer than its limit: the reading stopped there."""


class _Lines:
    """The physical lines of a CSV, as text with their byte lengths, read a chunk at a
    time. While ``boundary`` is set (between records), a run of blank lines is consumed in
    one step and noted in ``blank`` (its first line, count, bytes) instead of given out.
    ``limit`` bounds a line's bytes (RecordTooLong past it)."""

    def __init__(self, raw: IO[bytes], encoding: Encoding, errors: str, label: str) -> None:
        self.raw, self.label = raw, label
        self.unit = encoding.unit
        self.codec = encoding.codec
        self.eof = False
        self.limit = MAX_HEADER_BYTES
        self.boundary = True
        self.line = 1  # the next line's number
        self.offset = len(encoding.bom)  # the next line's byte offset
        self.blank: tuple[int, int, int] | None = None
        self.consumed: list[tuple[str, int]] = []
        self.pending = 0  # bytes of the lines of the record being read
        self._pos = 0  # where the unread part of the buffer starts
        self._from = 0  # where the search for a line end goes on
        decoder = codecs.getincrementaldecoder(encoding.codec)
        self._buf: Any
        self._blanks: re.Pattern[Any]
        if self.unit == 1:
            self._decode = decoder(errors).decode
            self._buf = bytearray()
            self._cr: Any = b"\r"
            self._nl: Any = (b"\r", b"\n", b"\r\n")
            self._blanks = re.compile(rb"[\r\n]+")
        else:  # UTF-16 and UTF-32: decoded a chunk at a time, strictly
            self._chunk_decoder = decoder("strict")
            self._buf = ""
            self._cr = "\r"
            self._nl = ("\r", "\n", "\r\n")
            self._blanks = re.compile(r"[\r\n]+")

    def _size(self, piece: Any) -> int:
        if self.unit == 1:
            return len(piece)
        return len(piece.encode(self.codec, "surrogatepass"))

    def _more(self) -> bool:
        """Drop what was read from the buffer, and add a chunk: False at the end."""
        if self._pos:  # a new buffer: a long line's bytes are freed
            self._buf = self._buf[self._pos :]
            self._from = max(0, self._from - self._pos)
            self._pos = 0
        if self.eof:
            return False
        chunk = self.raw.read(CHUNK)
        if not chunk:
            self.eof = True
        if self.unit == 1:
            self._buf += chunk
            return not self.eof
        try:
            text = self._chunk_decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError:
            name = Encoding(self.codec).label
            what = "ends in the middle of a character" if not chunk else "is not valid"
            raise UserFileError(
                f"{self.label} {what} {name} (near byte {self.offset:,})",
                hint="save the file again, or pass its --encoding",
            ) from None
        self._buf += text
        return not self.eof

    def _too_long(self) -> RecordTooLong:
        if self.limit == MAX_HEADER_BYTES:
            return RecordTooLong(
                f"{self.label}: the header row (line 1) is longer than {self.limit:,} bytes; "
                "nothing more was read",
                hint="is it a CSV? Its first line should name the columns",
            )
        return RecordTooLong(
            f"{self.label}: the record at line {self.line:,} is longer than "
            f"{self.limit:,} bytes (Zoho's 25 MB limit); nothing more was read",
            hint="is a quote left open, or are the lines ended by something else?",
        )

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        while True:
            if self.boundary and self._skip_blanks():
                continue
            buf, pos = self._buf, self._pos
            end = self._line_end(buf, max(pos, self._from))
            if end < 0:
                self._from = max(pos, len(buf) - 1)
                if (len(buf) - pos) * self.unit > self.limit + self.unit:
                    raise self._too_long()
                if not self.eof:
                    self._more()
                    continue
                if pos >= len(buf):
                    raise StopIteration
                end = len(buf)  # the last line, without a line end
            piece = buf[pos:end]
            self._pos = self._from = end
            size = self._size(piece)
            self.pending += size
            if self.pending > self.limit:  # a line, or a record of many lines, too long
                raise self._too_long()
            if self.unit == 1:
                try:
                    text = self._decode(piece)
                except UnicodeDecodeError as exc:  # bytes below 0x80 the codec has no use for
                    raise UserFileError(
                        f"{self.label}: line {self.line + len(self.consumed):,} is not valid "
                        f"{self.codec} ({exc.reason})",
                        hint="pass the file's --encoding",
                    ) from None
            else:
                text = piece
            self.consumed.append((text, size))
            self.boundary = False
            return text

    def _line_end(self, buf: Any, start: int) -> int:
        """Where the first line end at or after ``start`` ends (CRLF, CR or LF; two
        ``find`` calls, in C), or -1 when there is none yet (a CR last in the buffer may be
        the start of a CRLF: none yet, unless the file ended)."""
        cr, lf = self._nl[0], self._nl[1]
        nl = buf.find(lf, start)
        ret = buf.find(cr, start, nl if nl >= 0 else len(buf))
        if ret < 0:
            return nl + 1 if nl >= 0 else -1
        if ret + 1 < len(buf):
            return ret + 2 if buf[ret + 1 : ret + 2] == lf else ret + 1
        return ret + 1 if self.eof else -1

    def _skip_blanks(self) -> bool:
        """At a record boundary: consume a run of blank lines at the start of the unread
        buffer. True when something was consumed or read."""
        buf, pos = self._buf, self._pos
        if pos >= len(buf):
            if self.eof:
                return False
            self._more()
            return True
        if buf[pos : pos + 1] not in self._nl:
            return False
        run = self._blanks.match(buf, pos)
        assert run is not None
        end = run.end()
        if end == len(buf) and not self.eof and buf[end - 1 : end] == self._cr:
            if end == pos + 1:  # a lone CR: is an LF next?
                self._more()
                return True
            end -= 1
        nl, cr, crlf = self._nl[1], self._nl[0], self._nl[2]
        count = buf.count(nl, pos, end) + buf.count(cr, pos, end) - buf.count(crlf, pos, end)
        size = (end - pos) * self.unit
        first, before, bytes_before = self.blank or (self.line, 0, 0)
        self.blank = (first, before + count, bytes_before + size)
        self._pos = self._from = end
        self.line += count
        self.offset += size
        return True


def _records(
    lines: _Lines,
    delimiter: str,
    header_bytes: int,
    header_lines: int,
    on_blank: Callable[[int, int], None] | None,
) -> Iterator[Record]:
    """The records after the header (``lines`` positioned after it)."""
    reader = csv.reader(lines, delimiter=delimiter, strict=False)
    lines.limit = MAX_RECORD_BYTES
    lines.line = 1 + header_lines
    lines.offset += header_bytes
    number = 0
    consumed = lines.consumed
    while True:
        lines.boundary = True
        consumed.clear()
        lines.pending = 0
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise UserFileError(
                f"{lines.label} is not a readable CSV at line {lines.line:,}: {exc}"
            ) from None
        if lines.blank is not None:
            first, count, _ = lines.blank
            lines.blank = None
            if on_blank is not None:
                on_blank(first, count)
        if len(consumed) == 1:
            text, size = consumed[0]
        else:
            text, size = "".join(t for t, _ in consumed), lines.pending
        number += 1
        yield Record(number, lines.line, lines.offset, size, cells, text)
        lines.line += len(consumed)
        lines.offset += size


# -- the file -----------------------------------------------------------------------------


@dataclass
class UserFile:
    """One CSV of the user's: a file, or a member of a ZIP. ``open_user_files`` makes
    them; ``records`` reads the records after the header as a stream."""

    path: Path  # the file given (the CSV, or the ZIP)
    member: str  # the CSV's name: inside the ZIP, or the file's own
    is_zip: bool
    size: int  # the CSV's bytes, uncompressed
    encoding: Encoding = field(default_factory=lambda: Encoding("utf-8"))
    delimiter: str = ","
    header: list[str] = field(default_factory=list)
    header_text: str = ""  # the header as it is in the file, line end included
    header_bytes: int = 0  # its bytes, BOM not included
    header_lines: int = 1
    records_seen: int = 0  # set by a whole pass (the pre-flight)
    what: str = "FILE"  # how messages name it: FILE, --source, --from

    @property
    def label(self) -> str:
        """The CSV as messages name it: ``leads.csv``, or ``upload.zip: leads.csv``."""
        return f"{self.path.name}: {self.member}" if self.is_zip else self.path.name

    @property
    def name(self) -> str:
        """The CSV's own file name (a ZIP member's, without its folders)."""
        return PurePosixPath(self.member.replace("\\", "/")).name

    @property
    def headers(self) -> list[str]:
        return self.header

    @contextlib.contextmanager
    def open(self) -> Iterator[IO[bytes]]:
        """The CSV's bytes as a stream (BOM included)."""
        with self._reading():
            if not self.is_zip:
                with self.path.open("rb") as fh:
                    yield fh
                return
            with zipfile.ZipFile(self.path) as archive, archive.open(self.member) as fh:
                yield fh

    @contextlib.contextmanager
    def _reading(self) -> Iterator[None]:
        try:
            yield
        except (
            OSError,
            zipfile.BadZipFile,
            EOFError,
            RuntimeError,
            NotImplementedError,
            ValueError,
        ) as exc:
            if isinstance(exc, UnicodeError):
                raise
            raise UserFileError(f"cannot read {self.label}: {exc}") from None

    def _lines(self, raw: IO[bytes], errors: str) -> tuple[_Lines, list[str]]:
        """The lines after the BOM, the header read (and ``header_*`` set)."""
        raw.read(len(self.encoding.bom))
        lines = _Lines(raw, self.encoding, errors, self.label)
        lines.boundary = False  # blank lines before the header are the header's problem
        first = next(lines, "")
        self.delimiter = detect_delimiter(first)
        reader = csv.reader(_chain(first, lines), delimiter=self.delimiter, strict=False)
        try:
            header = next(reader, [])
        except csv.Error as exc:
            raise UserFileError(f"{self.label}: the header row cannot be read ({exc})") from None
        self.header_text = "".join(t for t, _ in lines.consumed)
        self.header_bytes = sum(s for _, s in lines.consumed)
        self.header_lines = max(1, len(lines.consumed))
        lines.consumed.clear()
        return lines, header

    def load(self, given: str | None, fallback: str | None) -> UserFile:
        """Settle the encoding, the delimiter and the header."""
        with self.open() as raw:
            head = raw.read(_HEAD)
        encoding = detect_encoding(head, given, "--encoding" if given else self.what)
        check = encoding.unit > 1 or (fallback and given is None and encoding.codec == "utf-8")
        if check:
            with self.open() as raw:
                raw.read(len(encoding.bom))
                bad = first_error(raw, encoding.codec)
            if bad is not None and encoding.unit == 1:
                encoding = Encoding(fallback or "cp1252", encoding.bom)
            elif bad is not None:
                what = "ends in the middle of a character" if bad[1] else "is not valid"
                raise UserFileError(
                    f"{self.label} {what} {encoding.label} (byte {bad[0]:,})",
                    hint="save the file again, or pass its --encoding",
                )
        self.encoding = encoding
        with self.open() as raw:
            _, header = self._lines(raw, TEXT_ERRORS)
        if not header or not any(h.strip() for h in header):
            raise UserFileError(
                f"{self.label} has no header row", hint="the first line names the columns"
            )
        self.header = header
        if not self.header_text.endswith(("\n", "\r")):
            self.header_text += "\r\n"
        return self

    @contextlib.contextmanager
    def records(
        self, errors: str = TEXT_ERRORS, on_blank: Callable[[int, int], None] | None = None
    ) -> Iterator[Iterator[Record]]:
        """Each record after the header, one at a time (see ``Record``). Blank lines between
        records go to ``on_blank(first line, count)``, one call per run; blank lines at the
        end are ignored. With the default ``errors`` a byte the codec has no character for
        comes back as the same byte when written with it. The reading stops with
        RecordTooLong at a record longer than ``MAX_RECORD_BYTES``."""
        old = csv.field_size_limit(MAX_RECORD_BYTES)
        try:
            with self.open() as raw:
                lines, _ = self._lines(raw, errors)
                yield _records(
                    lines, self.delimiter, self.header_bytes, self.header_lines, on_blank
                )
        finally:
            csv.field_size_limit(old)

    def check_single_upload(self, limit: int = MAX_PART_BYTES) -> None:
        """A CSV bigger than Zoho takes in one upload is refused before it is read."""
        if self.size > limit:
            raise UserFileError(
                f"{self.label} is {self.size:,} bytes{' uncompressed' if self.is_zip else ''}: "
                f"Zoho takes at most 25 MB ({MAX_PART_BYTES:,} bytes) per file; nothing was read",
                hint="split it into files of at most 25 MB and 25,000 records",
            )


def _chain(first: str, rest: Iterator[str]) -> Iterator[str]:
    if first:
        yield first
    yield from rest


def _file_size(path: Path, what: str) -> int:
    try:
        if not path.is_file():
            raise UserFileError(
                f"cannot read {what} {path}: no such file"
                if not path.exists()
                else f"{what} {path} is not a file"
            )
        return path.stat().st_size
    except OSError as exc:
        raise UserFileError(f"cannot read {what} {path}: {exc.strerror or exc}") from None


def csv_members(path: Path, what: str) -> tuple[list[zipfile.ZipInfo], list[zipfile.ZipInfo]]:
    """A ZIP's files, and those that are CSVs (each checked by ``check_member``)."""
    infos = zip_entries(path, what)
    csvs = [i for i in infos if i.filename.lower().endswith(".csv")]
    for info in csvs:
        check_member(path, info, what)
    return infos, csvs


def open_user_files(
    path: Path,
    *,
    encoding: str | None = None,
    what: str = "--source",
    fallback: str | None = None,
    members: list[zipfile.ZipInfo] | None = None,
    max_size: int | None = None,
) -> list[UserFile]:
    """The CSVs of ``path`` (a CSV, or a ZIP of CSVs), each with its encoding, delimiter
    and header settled. ``encoding`` is the codec the user (or the job) named; without one,
    ``fallback`` (e.g. ``cp1252``) reads a file whose bytes are not UTF-8. ``members``
    narrows a ZIP to those entries. ``what`` names the file in messages. A CSV (a ZIP
    member: uncompressed) bigger than ``max_size`` is refused before it is read."""
    size = _file_size(path, what)
    if encoding is not None:
        text_codec(encoding, "--encoding" if what != "the job's" else "character_encoding")
    if not is_zip(path):
        file = UserFile(path, path.name, False, size, what=what)
        if max_size is not None:
            file.check_single_upload(max_size)
        return [file.load(encoding, fallback)]
    if members is None:
        _, members = csv_members(path, what)
    if not members:
        raise UserFileError(f"{what} {path} holds no CSV file")
    files = []
    for info in members:
        check_member(path, info, what)
        file = UserFile(path, info.filename, True, info.file_size, what=what)
        if max_size is not None:
            file.check_single_upload(max_size)
        files.append(file.load(encoding, fallback))
    return files


def open_source(path: Path, encoding: str | None = None, what: str = "--source") -> list[UserFile]:
    """The CSVs of the file a job was uploaded from (``--source``): ``encoding`` is the job's
    ``character_encoding`` when known; else a file whose bytes are not UTF-8 is read as
    Windows-1252, the usual reason (the summary says which encoding it read)."""
    hint = "give the CSV or ZIP that was uploaded for the job"
    try:
        return open_user_files(path, encoding=encoding, what=what, fallback="cp1252")
    except UserFileError as exc:
        raise UserFileError(str(exc), hint=exc.hint or hint) from None
