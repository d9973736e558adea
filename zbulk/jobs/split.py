"""Splitting a CSV into parts Zoho accepts: at most ``MAX_RECORDS`` records and
``MAX_PART_BYTES`` bytes each (header and BOM included), on record boundaries.

The file is read once, as a stream of lines (memory does not grow with its size). A record
ends at a line end outside quotes: a quoted newline stays in its record. That is decided on
bytes, which is exact for every encoding in which ``"`` and the line feed are the ASCII
bytes 0x22 and 0x0A and never part of another character (UTF-8, the Windows and ISO code
pages, Shift_JIS, GBK, Big5…); UTF-16 and UTF-32 files are refused when they need splitting.

A part is described by byte offsets into the CSV (``start``, ``end``): its bytes are the
header record (with the BOM, as in the file) and then ``csv[start:end]`` unchanged, so
encoding, delimiter, quoting and line endings are kept. Blank lines at the end of the file
are left out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO

MAX_RECORDS = 25_000  # Zoho: at most 25,000 records per file
MAX_PART_BYTES = 25 * 1024 * 1024  # Zoho: at most 25 MB per file, uncompressed
CHUNK = 1 << 20


class SplitError(ValueError):
    """The file cannot be split safely (the message says why)."""


@dataclass(frozen=True)
class Part:
    """One part: its number (1-based), its records (``first_row``…``last_row``, numbered as
    the source's records, 1 for the first after the header), its bytes in the source, and
    the sha256 of the part's own bytes (header first)."""

    number: int
    first_row: int
    last_row: int
    start: int
    end: int
    size: int  # the part's bytes, header included
    sha256: str

    @property
    def records(self) -> int:
        return self.last_row - self.first_row + 1


@dataclass(frozen=True)
class Split:
    header: bytes  # the header record as in the file, BOM included
    parts: list[Part]
    records: int
    sha256: str  # of the whole CSV as read


def ascii_safe(codec: str) -> bool:
    """Whether records can be found on the bytes of a file in ``codec``."""
    try:
        return '"\n\r,;:|'.encode(codec) == b'"\n\r,;:|' and not codec.startswith("utf-16")
    except (LookupError, UnicodeError):
        return False


def records(stream: Iterable[bytes], limit: int = MAX_PART_BYTES) -> Iterator[tuple[int, bytes]]:
    """(offset, bytes) of each record of ``stream``, header first, line ends included.
    A record longer than ``limit`` is a SplitError."""
    offset = 0
    pending: list[bytes] = []
    size = 0
    quoted = False
    start = 0
    for line in stream:
        if not pending:
            start = offset
        offset += len(line)
        if line.count(b'"') & 1:
            quoted = not quoted
        if not quoted:
            if pending:
                pending.append(line)
                record = b"".join(pending)
                pending, size = [], 0
            else:
                record = line
            if len(record) > limit:
                raise SplitError(
                    f"the record at byte {start:,} is {len(record):,} bytes: Zoho takes at most "
                    f"{limit:,} bytes per file"
                )
            yield start, record
            continue
        pending.append(line)
        size += len(line)
        if size > limit:
            raise SplitError(
                f"the record at byte {start:,} is longer than {limit:,} bytes (or a quote "
                "is never closed): Zoho takes at most 25 MB per file"
            )
    if pending:
        raise SplitError(f"the record at byte {start:,} opens a quote that is never closed")


def is_blank(record: bytes) -> bool:
    return not record.strip(b"\r\n")


def split(stream: IO[bytes], max_records: int | None = None, max_bytes: int | None = None) -> Split:
    """The parts of the CSV ``stream`` (read once, from its start); by default at most
    ``MAX_RECORDS`` records and ``MAX_PART_BYTES`` bytes each."""
    max_records = max_records or MAX_RECORDS
    max_bytes = max_bytes or MAX_PART_BYTES
    whole = hashlib.sha256()  # the records cover every byte of the file
    found = records(stream, max_bytes)
    try:
        _, header = next(found)
    except StopIteration:
        raise SplitError("the file is empty") from None
    whole.update(header)
    parts: list[Part] = []
    blank_run: list[tuple[int, bytes]] = []  # blank records not (yet) followed by another
    # the part being built: its first row, start, end, size, hash; ``row`` the last row
    row, first, start, end, size = 0, 1, -1, -1, len(header)
    part_hash = hashlib.sha256(header)
    for offset, record in found:
        whole.update(record)
        if not record.strip(b"\r\n"):
            blank_run.append((offset, record))
            continue
        pending = [*blank_run, (offset, record)] if blank_run else ((offset, record),)
        blank_run = []
        for o, r in pending:
            n = len(r)
            if start >= 0 and (row - first + 1 >= max_records or size + n > max_bytes):
                parts.append(
                    Part(len(parts) + 1, first, row, start, end, size, part_hash.hexdigest())
                )
                part_hash = hashlib.sha256(header)
                first, start, size = row + 1, -1, len(header)
            if len(header) + n > max_bytes:
                raise SplitError(
                    f"record {row + 1:,} with the header is {len(header) + n:,} bytes: "
                    f"Zoho takes at most {max_bytes:,} bytes per file"
                )
            if start < 0:
                start = o
            row += 1
            end = o + n
            size += n
            part_hash.update(r)
    if start >= 0:
        parts.append(Part(len(parts) + 1, first, row, start, end, size, part_hash.hexdigest()))
    return Split(header, parts, row, whole.hexdigest())


def part_bytes(stream: IO[bytes], header: bytes, part: Part) -> Iterator[bytes]:
    """The bytes of ``part``: the header, then its records, read from the seekable CSV
    ``stream``."""
    yield header
    stream.seek(part.start)
    left = part.end - part.start
    while left > 0:
        chunk = stream.read(min(CHUNK, left))
        if not chunk:
            raise SplitError("the file is shorter than when it was split")
        left -= len(chunk)
        yield chunk


def part_records(stream: IO[bytes], part: Part) -> Iterator[bytes]:
    """The records of ``part`` (blank lines inside it included, as they were sent)."""
    stream.seek(part.start)
    bounded = _Bounded(stream, part.end - part.start)
    for _, record in records(bounded):
        yield record


class _Bounded:
    """Lines of ``stream`` up to ``left`` bytes."""

    def __init__(self, stream: IO[bytes], left: int) -> None:
        self.stream, self.left = stream, left

    def __iter__(self) -> Iterator[bytes]:
        while self.left > 0:
            line = self.stream.readline(self.left)
            if not line:
                return
            self.left -= len(line)
            yield line
