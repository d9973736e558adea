"""The file a job was uploaded from (``--source``), and lining it up with the result file.

Zoho's result file keeps only the first three mapped columns of each uploaded row, in the
uploaded order; the whole row exists only in the file the user uploaded. A source is a CSV
or a ZIP of CSVs; each of its CSVs is paired with the result CSV of the same uploaded file
(the result member is named ``<Module>-<file stem>.csv``), or, one with one, with the only
one. Reading is streaming: the encoding is settled by one pass over the bytes (UTF-8, with or
without a BOM, else Windows-1252; a BOM is kept for the files written back), the delimiter
from the header line (Zoho accepts ``,`` ``;`` ``:`` ``|``). Prints nothing.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

from zbulk.errors import UsageError

DELIMITERS = ",;:|"
_CHUNK = 1 << 20
_HEAD = 1 << 16
ERRORS = "surrogateescape"  # bytes without a character survive a read and a write


class SourceError(UsageError):
    """The --source file cannot be read, or does not line up with the result (exit 2)."""


def detect_delimiter(line: str) -> str:
    """The delimiter of a CSV from its header line: the one of ``, ; : |`` found most often
    outside quotes (a comma on a tie or when none is found)."""
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(DELIMITERS, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


def header_line(head: bytes, encoding: str) -> str:
    """The first line of ``head`` (bytes from the start of a CSV), decoded leniently."""
    text = head.decode(encoding, errors="replace")
    return text.splitlines()[0] if text else ""


@dataclass(frozen=True)
class Encoding:
    """How a CSV's bytes are read (and written back): the codec and the BOM it starts with."""

    codec: str  # "utf-8", "cp1252", "utf-16"
    bom: bytes = b""

    @property
    def label(self) -> str:
        names = {"utf-8": "UTF-8", "cp1252": "Windows-1252", "utf-16": "UTF-16"}
        return names.get(self.codec, self.codec) + (" with a BOM" if self.bom else "")


def sniff_encoding(stream: IO[bytes]) -> Encoding:
    """Read all of ``stream`` once: UTF-8 if every byte decodes as UTF-8, else Windows-1252;
    a UTF-8 BOM is remembered either way, a UTF-16 BOM means UTF-16."""
    first = stream.read(_CHUNK)
    if first.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return Encoding("utf-16")
    bom = codecs.BOM_UTF8 if first.startswith(codecs.BOM_UTF8) else b""
    decoder = codecs.getincrementaldecoder("utf-8")()
    chunk = first[len(bom) :]
    try:
        while chunk:
            decoder.decode(chunk)
            chunk = stream.read(_CHUNK)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return Encoding("cp1252", bom)
    return Encoding("utf-8", bom)


@dataclass
class SourceFile:
    """One CSV of the --source file: where it is, how it reads, and its header."""

    label: str  # shown in messages: "leads.csv" or "upload.zip: leads.csv"
    name: str  # the CSV's own file name
    opener: Callable[[], IO[bytes]] = field(repr=False)
    encoding: Encoding = field(default_factory=lambda: Encoding("utf-8"))
    delimiter: str = ","
    header: list[str] = field(default_factory=list)
    header_text: str = ""  # the header line as it is in the file, line end included

    @contextlib.contextmanager
    def records(self, errors: str = ERRORS) -> Iterator[Iterator[tuple[list[str], str]]]:
        """Each data record (after the header) as (its cells, its text as in the file, line
        end included), read as a stream. With the default ``errors`` a byte the encoding
        has no character for comes back as the same byte when written with it."""
        with self._reading(), self.opener() as raw:
            raw.read(len(self.encoding.bom))
            text = io.TextIOWrapper(raw, encoding=self.encoding.codec, errors=errors,
                                    newline="")  # fmt: skip
            consumed: list[str] = []

            def lines() -> Iterator[str]:
                for line in text:
                    consumed.append(line)
                    yield line

            reader = csv.reader(lines(), delimiter=self.delimiter)
            next(reader, None)
            self.header_text = "".join(consumed)
            consumed.clear()

            def pairs() -> Iterator[tuple[list[str], str]]:
                for cells in reader:
                    whole = consumed[0] if len(consumed) == 1 else "".join(consumed)
                    consumed.clear()
                    yield cells, whole

            yield _guarded(pairs(), self.label)

    def _reader(self, raw: IO[bytes]) -> Iterator[list[str]]:
        raw.read(len(self.encoding.bom))
        text = io.TextIOWrapper(raw, encoding=self.encoding.codec, errors=ERRORS,
                                newline="")  # fmt: skip
        return csv.reader(text, delimiter=self.delimiter)

    @contextlib.contextmanager
    def _reading(self) -> Iterator[None]:
        try:
            yield
        except csv.Error as exc:
            raise SourceError(f"{self.label} is not a readable CSV: {exc}") from None
        except (OSError, zipfile.BadZipFile, EOFError, RuntimeError) as exc:
            raise SourceError(f"cannot read {self.label}: {exc}") from None

    def load(self) -> SourceFile:
        """Settle the encoding, delimiter and header (one pass over the bytes)."""
        with self._reading():
            with self.opener() as raw:
                self.encoding = sniff_encoding(raw)
            with self.opener() as raw:
                head = raw.read(_HEAD)[len(self.encoding.bom) :]
            self.delimiter = detect_delimiter(header_line(head, self.encoding.codec))
            with self.opener() as raw:
                header = next(self._reader(raw), None)
            with self.records():  # sets header_text
                pass
        if not header or not any(h.strip() for h in header):
            raise SourceError(f"{self.label} has no header row")
        self.header = header
        if not self.header_text.endswith(("\n", "\r")):
            self.header_text += "\r\n"
        return self


def _guarded(reader: Iterator[Any], label: str) -> Iterator[Any]:
    try:
        yield from reader
    except csv.Error as exc:
        raise SourceError(f"{label} is not a readable CSV: {exc}") from None


def open_source(path: Path) -> list[SourceFile]:
    """The CSVs of ``path`` (a CSV, or a ZIP of CSVs), each loaded (SourceError if none)."""
    try:
        is_zip = zipfile.is_zipfile(path)
        if not path.is_file():
            raise SourceError(f"--source {path}: no such file",
                              hint="give the CSV or ZIP that was uploaded for the job")  # fmt: skip
    except OSError as exc:
        raise SourceError(f"cannot read --source {path}: {exc.strerror or exc}") from None
    if not is_zip:
        return [SourceFile(path.name, path.name, lambda: path.open("rb")).load()]
    try:
        with zipfile.ZipFile(path) as archive:
            infos = [i for i in archive.infolist()
                     if not i.is_dir() and i.filename.lower().endswith(".csv")]  # fmt: skip
    except (zipfile.BadZipFile, OSError) as exc:
        raise SourceError(f"--source {path} is not a readable ZIP: {exc}") from None
    if not infos:
        raise SourceError(f"--source {path} holds no CSV file")
    files = []
    for info in infos:
        name = PurePosixPath(info.filename.replace("\\", "/")).name
        files.append(SourceFile(f"{path.name}: {info.filename}", name,
                                _member_opener(path, info)).load())  # fmt: skip
    return files


def _member_opener(path: Path, info: zipfile.ZipInfo) -> Callable[[], IO[bytes]]:
    @contextlib.contextmanager
    def member() -> Iterator[IO[bytes]]:
        with zipfile.ZipFile(path) as archive, archive.open(info) as fh:
            yield fh

    return member  # type: ignore[return-value]


def pair_sources(
    sources: list[SourceFile], members: list[str], uploaded: list[str | None]
) -> list[SourceFile | None]:
    """Per result member, its source CSV or None. ``uploaded`` is each member's uploaded
    file name when known (from the job document or the member name). A member takes the
    source of the same file name; one member and one source pair whatever their names.
    SourceError when a source pairs with nothing."""
    out: list[SourceFile | None] = [None] * len(members)
    used: set[int] = set()
    for m, name in enumerate(uploaded):
        for s, source in enumerate(sources):
            if s not in used and name is not None and source.name.lower() == name.lower():
                out[m] = source
                used.add(s)
                break
    if not used and len(sources) == 1 and len(members) == 1:
        out[0] = sources[0]
        used.add(0)
    unpaired = [s.label for n, s in enumerate(sources) if n not in used]
    if unpaired:
        wanted = ", ".join(n for n in uploaded if n) or "(unknown)"
        raise SourceError(
            f"cannot tell which resource of the result {', '.join(unpaired)} was uploaded for; "
            f"the result file holds rows of {wanted}",
            hint="give the CSV (or the ZIP) that was uploaded, under its own file name",
        )
    return out
