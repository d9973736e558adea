"""A finished job's result file: a streaming summary of the ZIP (one CSV per resource,
``<Module>-<file stem>.csv``: the first three mapped columns, STATUS, RECORD_ID, ERRORS),
its failed rows read again as a stream, and the files ``--output-dir`` writes. With the
uploaded file (``source``), each result row is lined up with its uploaded row (see
``zbulk.user_file``) so the files hold whole rows. Prints nothing.

Hostile files are expected: names that escape the folder, non-CSV members, encrypted or
oddly compressed members, ZIP bombs, odd encodings, missing columns and huge cells each end
in a clear ResultFileError. Memory does not grow with the number of rows: counts are kept per
status and per error group (both bounded), and failed rows are never held, only read again.

Files written are the user's: never through a symlink, never over an existing file without
``force``, each written to a temporary file beside it and renamed into place; a local
error (disk full, a directory in the way) is a ``LocalFileError`` naming the path.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import os
import re
import struct
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING, Any

from zbulk import files
from zbulk.errors import LocalFileError, ResultFileError
from zbulk.files import NewFile, copy_to_output, create_output
from zbulk.files import local_error as local_error  # its callers' name for it
from zbulk.result_codes import explain
from zbulk.user_file import TEXT_ERRORS as SOURCE_ERRORS
from zbulk.user_file import Encoding, UserFile, UserFileError, detect_delimiter

if TYPE_CHECKING:
    from zbulk.models import Resource

MAX_DOWNLOAD = 512 * 1024 * 1024
MAX_UNCOMPRESSED = 2 * 1024 * 1024 * 1024  # all members together
MAX_RATIO = 250  # uncompressed / compressed, per member
MAX_CELL = 16 * 1024 * 1024  # one CSV cell; the csv module's own default is 128 KiB
MAX_GROUPS = 1000  # distinct (code, column) error groups per file; the rest are "(other)"
MAX_STATUSES = 100  # distinct STATUS values per file; the rest are "(other)"
MAX_MEMBERS = 100_000  # entries in a result ZIP's central directory
OTHER = "(other)"
BATCH = 1000  # rows a written CSV gets per call
EXAMPLES = 3
SUCCESS = frozenset({"added", "updated"})
TRAILING = ("STATUS", "RECORD_ID", "ERRORS")
ERRORS_HEADER = ["row", "RECORD_ID", "code", "column", "explanation"]
WHOLE_ROWS_NOTE = (
    "Zoho's result file keeps only the first three mapped columns of each row; "
    "add --source FILE (the CSV or ZIP you uploaded) for whole rows"
)
READABLE = frozenset(
    {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
)


@dataclass
class ErrorGroup:
    code: str
    column: str
    count: int = 0
    examples: list[tuple[int, str | None]] = field(default_factory=list)  # (row, record id)


@dataclass
class FileSummary:
    name: str
    module: str
    columns: list[str]
    encoding: str
    info: zipfile.ZipInfo | None = field(default=None, repr=False)
    rows: int = 0
    failed: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    errors: dict[tuple[str, str], ErrorGroup] = field(default_factory=dict)
    written: list[str] = field(default_factory=list)
    delimiter: str = ","
    uploaded: str | None = None  # the uploaded file's name, from the member's name
    source: UserFile | None = field(default=None, repr=False)
    positions: list[int] = field(default_factory=list)  # of the kept columns, in the source

    @property
    def kept(self) -> list[int]:
        """Where the uploaded file's columns are in the result: all but the trailing three."""
        return [n for n, h in enumerate(self.columns) if h.strip().upper() not in TRAILING]

    @property
    def failed_columns(self) -> list[str]:
        """The columns of ``Summary.failed_rows``: the uploaded file's whole header with
        a source, the result's own otherwise; then STATUS, RECORD_ID, ERRORS."""
        if self.source is None:
            return self.columns
        return [*self.source.header, *TRAILING]


@dataclass
class Summary:
    job_id: str
    files: list[FileSummary]
    warnings: list[str]
    path: Path | None = None  # the ZIP, read again for the failed rows
    label: str | None = None  # what the view calls it ("Job 4150…" when None)

    @property
    def failed(self) -> int:
        return sum(f.failed for f in self.files)

    def failed_rows(self, f: FileSummary) -> Iterator[tuple[int, list[str]]]:
        """(row number, cells) of each skipped or failed row of ``f``, read again from the
        ZIP as a stream: memory does not grow with the number of rows."""
        assert self.path is not None and f.info is not None
        with _reading(f.info), zipfile.ZipFile(self.path) as archive:
            reader, header, _ = _open_csv(archive, f.info, f.encoding)
            at = _columns(header)
            status_at, record_at, errors_at = at["STATUS"], at["RECORD_ID"], at["ERRORS"]
            assert status_at is not None
            with _source_rows(f, "replace") as source:  # for people: no lone surrogates
                for number, row, cells, _ in _joined(reader, len(header), source, f):
                    if row[status_at].strip().lower() in SUCCESS:
                        continue
                    if cells is None:
                        yield number, row
                    else:
                        if len(cells) < len(f.source.header):  # type: ignore[union-attr]
                            cells = cells + [""] * (len(f.source.header) - len(cells))  # type: ignore[union-attr]
                        yield (
                            number,
                            [
                                *cells,
                                row[status_at],
                                "" if record_at is None else row[record_at],
                                "" if errors_at is None else row[errors_at],
                            ],
                        )

    def as_json(self, download_url: str | None) -> dict[str, Any]:
        """The summary without the failed rows (see ``json_chunks``)."""
        files = [_file_json(f) for f in self.files]
        return {
            "job_id": self.job_id,
            "download_url": download_url,
            "files": files,
            "warnings": self.warnings,
        }

    def json_chunks(
        self, download_url: str | None, with_rows: bool, encode: Any, batch: int = 2000
    ) -> Iterator[str]:
        """One compact JSON document, in pieces, with every failed row under
        ``files[].failed_rows`` as ``{"row": n, "cells": [...]}`` (cells in the order of
        ``files[].columns``). ``encode`` turns a value into compact JSON text."""
        head = encode({"job_id": self.job_id, "download_url": download_url})
        yield head[:-1] + ',"files":['
        for n, f in enumerate(self.files):
            text = encode(_file_json(f))
            if not with_rows:
                yield ("," if n else "") + text
                continue
            yield ("," if n else "") + text[:-1] + ',"failed_rows":['
            rows: list[dict[str, Any]] = []
            first = True
            for number, cells in self.failed_rows(f):
                rows.append({"row": number, "cells": cells})
                if len(rows) == batch:
                    yield ("" if first else ",") + encode(rows)[1:-1]
                    rows, first = [], False
            if rows:
                yield ("" if first else ",") + encode(rows)[1:-1]
            yield "]}"
        yield '],"warnings":' + encode(self.warnings) + "}"


def _file_json(f: FileSummary) -> dict[str, Any]:
    source = None
    if f.source is not None:
        source = {
            "name": f.source.label,
            "encoding": f.source.encoding.label,
            "delimiter": f.source.delimiter,
        }
    return {
        "name": f.name,
        "module": f.module,
        "uploaded_file": f.uploaded,
        "encoding": f.encoding,
        "delimiter": f.delimiter,
        "source": source,
        "columns": f.failed_columns,
        "rows": f.rows,
        "failed": f.failed,
        "statuses": dict(f.statuses),
        "errors": [
            {
                "code": g.code,
                "column": g.column,
                "count": g.count,
                "explanation": explain(g.code),
                "examples": [{"row": r, "record_id": rid} for r, rid in g.examples],
            }
            for g in sorted(f.errors.values(), key=lambda g: -g.count)
        ],
        **({"written": f.written} if f.written else {}),
    }


def parse_errors(text: str) -> list[tuple[str, str]]:
    """``MANDATORY_NOT_FOUND-Company,Last_Name:DUPLICATE_DATA-Email`` →
    [(MANDATORY_NOT_FOUND, Company), (MANDATORY_NOT_FOUND, Last_Name), (DUPLICATE_DATA, Email)];
    text in another form is kept whole as its own code."""
    found = []
    for part in filter(None, (p.strip() for p in text.split(":"))):
        code, dash, columns = part.partition("-")
        if not dash or not re.fullmatch(r"[A-Z][A-Z0-9_]*", code):
            found.append((part, ""))
            continue
        found.extend((code, c.strip()) for c in columns.split(",") if c.strip())
    return found


_EOCD = struct.Struct("<4s4H2LH")  # end of central directory: ..., entries, size, offset, ...
_EOCD64_LOCATOR = struct.Struct("<4sLQL")
_EOCD64 = struct.Struct("<4sQ2H2L4Q")  # ZIP64's: ..., entries here, entries, size, offset
_CENTRAL = 46  # bytes of a central directory entry before its name, extra field and comment
_LENGTHS = struct.Struct("<3H")  # at offset 28 of an entry: name, extra, comment lengths


def _too_many(count: int, exact: bool) -> ResultFileError:
    return ResultFileError(
        f"the result file lists {'more than ' if not exact else ''}{count:,} entries; zbulk "
        f"reads at most {MAX_MEMBERS:,} (Zoho's hold one CSV per resource), so it is refused "
        "unread",
        hint="check that the file is a result file of the job; download it again",
    )


def _check_entries(fh: IO[bytes]) -> None:
    """Refuse a ZIP whose central directory has more than ``MAX_MEMBERS`` entries before
    zipfile reads it (zipfile keeps an object per entry: 600,000 take 420 MB). The count
    in the end record is checked first; the entries are then counted as zipfile will read
    them (the count may lie), a megabyte at a time. Anything unusual is left to zipfile,
    which says what is wrong."""
    fh.seek(0, os.SEEK_END)
    size = fh.tell()
    tail_len = min(size, _EOCD.size + 0xFFFF)
    fh.seek(size - tail_len)
    tail = fh.read(tail_len)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < _EOCD.size:
        return
    total, size_cd = _EOCD.unpack_from(tail, at)[4:6]
    end = size - tail_len + at  # where the central directory ends
    locator = at - _EOCD64_LOCATOR.size
    if locator >= 0 and tail[locator : locator + 4] == b"PK\x06\x07":
        record_at = end - _EOCD64_LOCATOR.size - _EOCD64.size
        if record_at >= 0:
            fh.seek(record_at)
            record = fh.read(_EOCD64.size)
            if len(record) == _EOCD64.size and record[:4] == b"PK\x06\x06":
                total, size_cd = _EOCD64.unpack(record)[7:9]
                end = record_at
    if total > MAX_MEMBERS:
        raise _too_many(total, True)
    start = end - size_cd
    if start < 0:
        return
    fh.seek(start)
    read = count = 0
    while read < size_cd:
        head = fh.read(_CENTRAL)
        if len(head) < _CENTRAL or head[:4] != b"PK\x01\x02":
            return
        skip = sum(_LENGTHS.unpack_from(head, 28))
        if len(fh.read(skip)) < skip:
            return
        read += _CENTRAL + skip
        count += 1
        if count > MAX_MEMBERS:
            raise _too_many(MAX_MEMBERS, False)


def _members(archive: zipfile.ZipFile, warnings: list[str]) -> list[zipfile.ZipInfo]:
    total = 0
    members = []
    seen: set[str] = set()
    for info in archive.infolist():
        if info.is_dir():
            continue
        path = PurePosixPath(info.filename.replace("\\", "/"))
        if path.is_absolute() or ".." in path.parts or ":" in info.filename:
            raise ResultFileError(
                f"the result file holds an unsafe name {info.filename!r}; refusing to read it"
            )
        if path.suffix.lower() != ".csv":
            warnings.append(f"skipped {info.filename!r}: not a CSV file")
            continue
        if info.flag_bits & 0x1:
            raise ResultFileError(
                f"{info.filename!r} in the result file is encrypted; zbulk cannot read it"
            )
        if info.compress_type not in READABLE:
            method = info.compress_type
            raise ResultFileError(
                f"{info.filename!r} in the result file uses a compression "
                f"method zbulk cannot read (method {method})"
            )
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if total > MAX_UNCOMPRESSED or ratio > MAX_RATIO:
            raise ResultFileError(
                f"the result file unpacks to more than it plausibly holds ({info.filename!r}: "
                f"{info.file_size:,} bytes from {info.compress_size:,}); refusing a ZIP bomb"
            )
        if info.filename in seen:
            warnings.append(
                f"the result file holds {info.filename!r} more than once; "
                "each copy is read and written separately"
            )
        seen.add(info.filename)
        members.append(info)
    return members


def _header_line(head: bytes, encoding: str) -> str:
    """The first line of ``head`` (bytes from the start of a CSV), decoded leniently."""
    text = head.decode(encoding, errors="replace")
    return text.splitlines()[0] if text else ""


def _encoding(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the sample's end
            return "cp1252"
    return "utf-8"


@contextlib.contextmanager
def _reading(info: zipfile.ZipInfo) -> Iterator[None]:
    """Errors while reading a member of the ZIP, as what they are: a damaged file."""
    csv.field_size_limit(MAX_CELL)
    try:
        yield
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            limit = MAX_CELL // (1 << 20)
            raise ResultFileError(
                f"{info.filename!r} in the result file holds a cell larger "
                f"than {limit} MiB; refusing to read it"
            ) from None
        raise ResultFileError(f"the result file is damaged ({info.filename!r}: {exc})") from None
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        zlib.error,
        EOFError,
        OSError,
        NotImplementedError,
        RuntimeError,
    ) as exc:
        raise ResultFileError(f"the result file is damaged ({info.filename!r}: {exc})") from None


Opened = tuple[Iterator[list[str]], list[str], str]  # rows, header, encoding
Records = Iterator[tuple[list[str], str]]  # a source's (cells, text as in the file)
Joined = Iterator[tuple[int, list[str], list[str] | None, str]]  # row, result, source, text


def _open_csv(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, encoding: str | None = None
) -> Opened:
    # zipfile stops at the size the header declares (and fails the CRC beyond it), so
    # with the checks in _members a member cannot unpack to more than it claimed.
    member = archive.open(info)
    raw = io.BufferedReader(member, 1 << 16)  # type: ignore[type-var]
    head = raw.peek(4096)[:4096]
    if encoding is None:
        encoding = _encoding(head)
    delimiter = detect_delimiter(_header_line(head, encoding))
    text = io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="")
    reader = csv.reader(text, delimiter=delimiter)
    header = next(reader, None)
    if not header or "STATUS" not in [h.strip().upper() for h in header]:
        raise ResultFileError(f"{info.filename!r} in the result file has no STATUS column")
    return reader, header, encoding


def _columns(header: list[str]) -> dict[str, int | None]:
    upper = [h.strip().upper() for h in header]
    return {
        name: upper.index(name) if name in upper else None
        for name in ("STATUS", "RECORD_ID", "ERRORS")
    }


def summarise_zip(path: Path, *, given: bool = False, **options: Any) -> Summary:
    """``_summarise_zip``; ``given``: the user gave the file (``--file``), so a damaged one
    is their input (exit 2), not a download gone wrong (exit 5)."""
    try:
        return _summarise_zip(path, **options)
    except ResultFileError as exc:
        exc.given = given
        raise


def _summarise_zip(
    path: Path,
    *,
    output_dir: Path | None = None,
    job_id: str = "",
    force: bool = False,
    keep_zip: bool = False,
    source: list[UserFile] | None = None,
    resources: list[Resource] | None = None,
) -> Summary:
    """Read every CSV of the result ZIP as a stream and summarise it. ``resources`` (the
    job document's) name each CSV's CRM module and give its mapped column indices; ``source``
    (the uploaded CSVs, see ``zbulk.user_file.open_source``) is lined up row by row with the CSV
    it was uploaded as. With ``output_dir``, write per CSV ``-failed.csv``, ``-errors.csv``
    and ``-created.csv`` there (and the ZIP itself with ``keep_zip``): all or nothing,
    refusing before anything is written if a target exists and not ``force``, and
    publishing only once every CSV was read through (a source that does not line up
    writes nothing)."""

    warnings: list[str] = []
    try:
        with path.open("rb", buffering=1 << 20) as fh:
            _check_entries(fh)
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ResultFileError(
            f"the result file is not a readable ZIP: {exc}",
            hint="download it again; the link may have expired",
        ) from None
    found: list[FileSummary] = []
    sinks: list[_CsvSink] = []
    try:
        with archive:
            members = _members(archive, warnings)
            if not members:
                raise ResultFileError(
                    "the result file holds no CSV file", hint="; ".join(warnings) or None
                )
            named = [name_member(info, resources or []) for info in members]
            paired = (
                pair_sources(source, [i.filename for i in members], [u for _, u, _ in named])
                if source
                else [None] * len(members)
            )
            targets = None
            if output_dir is not None:
                targets = _targets(
                    output_dir, job_id, [m for m, _, _ in named], whole=source is not None
                )
                _prepare(
                    output_dir,
                    [t for group in targets for t in group]
                    + ([output_dir / f"{job_id}.zip"] if keep_zip else []),
                    force,
                )
            for n, info in enumerate(members):
                module, uploaded, indices = named[n]
                done = len(sinks)
                with _reading(info):
                    found.append(
                        _summarise_member(
                            archive,
                            info,
                            module,
                            uploaded,
                            paired[n],
                            indices,
                            targets[n] if targets else None,
                            force,
                            warnings,
                            sinks,
                        )
                    )
                for sink in sinks[done:]:  # written through: its file stays, its handle goes
                    sink.file.close()  # (3 open files per member would run out at 500)
        for sink in sinks:
            sink.file.publish()
        for f in found:
            f.written = [str(sink.file.target) for sink in sinks if sink.owner is f]
    finally:
        for sink in sinks:
            sink.file.discard()
    if output_dir is not None and keep_zip:
        copy_to_output(path, output_dir / f"{job_id}.zip", force=force)
    return Summary(job_id, found, warnings, path)


def module_of(info: zipfile.ZipInfo) -> str:
    return PurePosixPath(info.filename.replace("\\", "/")).stem or "result"


def name_member(
    info: zipfile.ZipInfo, resources: list[Resource]
) -> tuple[str, str | None, list[int]]:
    """The CRM module of a result CSV, the name of the file it was uploaded as, and the
    sorted mapped column indices of its resource (when known). Zoho names the CSV
    ``<module>-<uploaded file stem>``: the job document's resource whose module and file
    name give that name is the one; without a match, the part before the first ``-``."""
    stem = module_of(info)
    for res in resources:
        uploaded = res.file.name if res.file and res.file.name else None
        if not res.module or not uploaded:
            continue
        base = PurePosixPath(uploaded.replace("\\", "/")).name
        if stem in (f"{res.module}-{PurePosixPath(base).stem}", PurePosixPath(base).stem):
            indices = sorted(m.index for m in res.mappings if m.index is not None)
            return res.module, base, indices
    module, dash, rest = stem.partition("-")
    if dash and module and rest:
        for res in resources:
            if res.module == module:
                indices = sorted(m.index for m in res.mappings if m.index is not None)
                return module, f"{rest}.csv", indices
        return module, f"{rest}.csv", []
    modules = {r.module for r in resources if r.module}
    if len(resources) == 1 and len(modules) == 1:
        res = resources[0]
        return (
            modules.pop(),
            f"{stem}.csv",
            sorted(m.index for m in res.mappings if m.index is not None),
        )
    return stem, f"{stem}.csv", []


def _targets(
    output_dir: Path, job_id: str, modules: list[str], whole: bool = True
) -> list[tuple[Path, Path, Path]]:
    """Per member its failed, errors and created CSV: two members of the same module
    get ``-2``, ``-3``… never the same file. Without the source (``whole`` False) the
    failed rows are Zoho's few columns only: ``-result-rows.csv``, never named "failed",
    so they are not taken for rows to import again."""
    used: set[str] = set()
    out = []
    for module in modules:
        base = f"{job_id}-{re.sub(r'[^A-Za-z0-9_.-]', '_', module)}".lstrip(".-") or "result"
        name, n = base, 1
        while name.lower() in used:
            n += 1
            name = f"{base}-{n}"
        used.add(name.lower())
        kinds = ("failed" if whole else "result-rows", "errors", "created")
        failed, errors, created = (output_dir / f"{name}-{kind}.csv" for kind in kinds)
        out.append((failed, errors, created))
    return out


def _prepare(output_dir: Path, targets: list[Path], force: bool) -> None:
    files.output_dir(output_dir)
    for target in targets:
        if os.path.lexists(target) and not force:
            raise LocalFileError(
                f"{target} already exists; nothing was written",
                hint="add --force to replace it, or choose another --output-dir",
            )
        if force and target.is_dir() and not target.is_symlink():
            raise LocalFileError(f"cannot write {target}: it is a directory; nothing was written")


class _CsvSink:
    """A CSV written through a ``zbulk.files.NewFile`` (published by the caller); write errors are
    local errors. Written in ``encoding`` (its BOM first) with ``delimiter``. A ``header``
    given as text makes a sink of text: rows are added as they were in the source file
    (same quoting, same line ends, bytes without a character kept)."""

    def __init__(
        self,
        target: Path,
        force: bool,
        header: list[str] | str,
        owner: FileSummary,
        encoding: Encoding | None = None,
        delimiter: str = ",",
    ) -> None:
        encoding = encoding or Encoding("utf-8")
        self.owner = owner
        self.text = isinstance(header, str)
        errors = SOURCE_ERRORS if self.text else "strict"
        self.file: NewFile = create_output(
            target, force=force, encoding=encoding.codec, errors=errors
        )
        if encoding.bom:  # as bytes: the codec may have no character for it
            try:
                self.file.handle.buffer.write(encoding.bom)  # type: ignore[attr-defined]
            except OSError as exc:
                raise local_error(target, exc) from None
        self.writer = csv.writer(self.file.handle, delimiter=delimiter, lineterminator="\r\n")
        self.pending: list[Any] = []
        self.add(header)
        self.flush()

    def add(self, row: list[str] | str) -> None:
        """Queue ``row``; rows are written a batch at a time (fewer calls, same bytes)."""
        self.pending.append(row)
        if len(self.pending) >= BATCH:
            self.flush()

    def flush(self) -> None:
        rows, self.pending = self.pending, []
        try:
            if self.text:
                self.file.handle.write("".join(rows))
            else:
                self.writer.writerows(rows)
        except OSError as exc:
            raise local_error(self.file.target, exc) from None
        except UnicodeEncodeError as exc:
            raise LocalFileError(
                f"cannot write {self.file.target}: {exc.reason} "
                f"({exc.object[exc.start : exc.end]!r})"
            ) from None


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert(value: str) -> str:
    """A cell zbulk writes from Zoho's columns (a record id, an error code or column, an
    explanation) as a spreadsheet takes it for text, never a formula: OWASP's CSV-injection
    rule, a ``'`` before a leading ``=``, ``+``, ``-``, ``@``, tab or carriage return. The
    user's own cells never pass through here: they are written back byte for byte."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _line_end(text: str) -> tuple[str, str]:
    """``text`` without its line end, and the line end (CRLF when it has none)."""
    body = text.rstrip("\r\n")
    return body, text[len(body) :] or "\r\n"


def _cell(value: str, sep: str) -> str:
    """``value`` as one CSV cell (quoted only when it must be)."""
    if sep in value or '"' in value or "\n" in value or "\r" in value:
        return '"' + value.replace('"', '""') + '"'
    return value


def _positions(f: FileSummary, source: UserFile, indices: list[int]) -> list[int]:
    """Where the result's kept columns are in the source: the mapped indices of the job
    document when the source's headers there are the result's, else by header name, else
    the mapped indices as they are (the row check decides)."""
    names = [f.columns[k].strip() for k in f.kept]
    header = [h.strip() for h in source.header]
    first = indices[: len(names)]
    usable = len(first) == len(names) and all(i < len(header) for i in first)
    if usable and [header[i].casefold() for i in first] == [n.casefold() for n in names]:
        return first
    folded = [h.casefold() for h in header]
    found = [folded.index(n.casefold()) if n.casefold() in folded else -1 for n in names]
    if -1 not in found:
        return found
    if usable:
        return first
    missing = names[found.index(-1)]
    raise UserFileError(
        f"{source.label} has no column {missing!r}, which the result file {f.name!r} holds; "
        "nothing was written",
        hint="give the file that was uploaded for this job",
    )


@contextlib.contextmanager
def _source_rows(f: FileSummary, errors: str = SOURCE_ERRORS) -> Iterator[Records | None]:
    """The source's records (cells, text as in the file) when ``f`` has a source."""
    if f.source is None:
        yield None
        return
    with f.source.records(errors) as records:
        yield ((r.cells, r.text) for r in records)


def _joined(
    reader: Iterator[list[str]], width: int, source: Records | None, f: FileSummary
) -> Joined:
    """(row number, result row, source cells or None, source text or ""), the rows lined
    up in order: the kept columns must agree on every row and both files must end together
    (UserFileError naming the first row that does not, with nothing written)."""
    if source is None:
        for number, row in enumerate(reader, 1):
            if len(row) < width:
                row = row + [""] * (width - len(row))
            yield number, row, None, ""
        return
    assert f.source is not None
    label, header = f.source.label, f.source.header
    pairs = tuple(zip(f.kept, f.positions, strict=True))
    swidth = len(header)
    records = filter(itemgetter(0), source)  # a blank line is no record
    number = 0
    for number, row in enumerate(reader, 1):
        if len(row) < width:
            row = row + [""] * (width - len(row))
        record = next(records, None)
        if record is None:
            raise UserFileError(
                f"{label} ends after {number - 1:,} rows, but the result file {f.name!r} has "
                f"more (row {number} is missing); nothing was written",
                hint="give the whole file that was uploaded for this job",
            )
        cells, text = record
        full = cells if len(cells) >= swidth else cells + [""] * (swidth - len(cells))
        for k, p in pairs:
            if row[k] != full[p] and row[k].strip() != full[p].strip():
                raise UserFileError(
                    f"{label} does not line up with the result file {f.name!r}: row {number} "
                    f"has {_shown(header[p].strip())} = {_shown(full[p])} where the result "
                    f"has {_shown(row[k])}; nothing was written",
                    hint="give the file that was uploaded for this job, unchanged",
                )
        yield number, row, cells, text
    if next(records, None) is not None:
        raise UserFileError(
            f"{label} has more rows than the result file {f.name!r} ({number:,}); "
            "nothing was written",
            hint="give the file that was uploaded for this job, unchanged",
        )


def _summarise_member(
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    module: str,
    uploaded: str | None,
    source: UserFile | None,
    indices: list[int],
    targets: tuple[Path, Path, Path] | None,
    force: bool,
    warnings: list[str],
    sinks: list[_CsvSink],
) -> FileSummary:
    reader, header, encoding = _open_csv(archive, info)
    if encoding == "cp1252":
        warnings.append(f"{info.filename!r} is not UTF-8; read as Windows-1252")
    delimiter = getattr(reader, "dialect", csv.excel).delimiter
    summary = FileSummary(
        info.filename, module, header, encoding, info, delimiter=delimiter, uploaded=uploaded
    )
    if source is not None:
        summary.source = source
        summary.positions = _positions(summary, source, indices)
    at = _columns(header)
    out: tuple[_CsvSink, _CsvSink, _CsvSink] | None = None
    if targets is not None:
        if source is not None:  # the source's own text: its header line, then its rows
            body, end = _line_end(source.header_text)
            out = (
                _CsvSink(targets[0], force, body + end, summary, source.encoding),
                _CsvSink(targets[1], force, ERRORS_HEADER, summary),
                _CsvSink(
                    targets[2],
                    force,
                    body + source.delimiter + "RECORD_ID" + end,
                    summary,
                    source.encoding,
                ),
            )
        else:
            own = [header[k] for k in summary.kept]
            enc = Encoding("utf-8", codecs.BOM_UTF8 if encoding == "utf-8-sig" else b"")
            enc = enc if encoding in ("utf-8", "utf-8-sig") else Encoding(encoding)
            # Zoho's rows as Zoho wrote them, STATUS, RECORD_ID and ERRORS last: a file the
            # import pre-flight knows for a result file, never taken for rows to import
            out = (
                _CsvSink(targets[0], force, header, summary, enc, delimiter),
                _CsvSink(targets[1], force, ERRORS_HEADER, summary),
                _CsvSink(targets[2], force, [*own, "RECORD_ID"], summary, enc, delimiter),
            )
        sinks.extend(out)
    with _source_rows(summary) as rows:
        _read_rows(_joined(reader, len(header), rows, summary), at, summary, out)
    return summary


def _read_rows(
    rows: Joined,
    at: dict[str, int | None],
    summary: FileSummary,
    out: tuple[_CsvSink, _CsvSink, _CsvSink] | None,
) -> None:
    status_at, record_at, errors_at = at["STATUS"], at["RECORD_ID"], at["ERRORS"]
    assert status_at is not None
    counts: dict[str, int] = {}
    groups = summary.errors
    kept = summary.kept
    failed_out = created_out = errors_out = None
    if out is not None:
        failed_out, errors_out, created_out = (sink.add for sink in out)
    sep = summary.source.delimiter if summary.source is not None else ","
    width = len(summary.source.header) if summary.source is not None else 0
    failed = 0
    for number, row, cells, text in rows:
        raw = row[status_at]
        status = raw if raw in SUCCESS else (raw.strip().lower() or "(empty)")
        if status in counts:
            counts[status] += 1
        elif len(counts) >= MAX_STATUSES and status not in SUCCESS:
            counts[OTHER] = counts.get(OTHER, 0) + 1
        else:
            counts[status] = 1
        record = row[record_at].strip() if record_at is not None else ""
        if status in SUCCESS:
            if created_out is None:
                continue
            if cells is None:
                created_out([*[row[k] for k in kept], inert(record)])
            else:  # the row as it was, then its id (after empty cells for a short row)
                if text[-2:] == "\r\n":
                    body, end = text[:-2], "\r\n"
                else:
                    body, end = _line_end(text)
                pad = sep if len(cells) >= width else sep * (width - len(cells) + 1)
                if not record.isdigit():
                    record = _cell(inert(record), sep)
                created_out(body + pad + record + end)
            continue
        failed += 1
        if failed_out is not None:
            if cells is None:
                failed_out(row)
            else:
                failed_out(text if text.endswith(("\n", "\r")) else text + "\r\n")
        found = parse_errors(row[errors_at] if errors_at is not None else "")
        if errors_out is not None:
            shown = inert(record)
            for code, column in found:
                errors_out(
                    [str(number), shown, inert(code), inert(column), inert(explain(code) or "")]
                )
            if not found:
                errors_out([str(number), shown, "", "", inert(_no_code(status))])
        for key in found:
            group = groups.get(key)
            if group is None:
                if len(groups) >= MAX_GROUPS:
                    key = (OTHER, "")
                    group = groups.get(key)
                if group is None:
                    group = groups[key] = ErrorGroup(*key)
            group.count += 1
            if len(group.examples) < EXAMPLES:
                group.examples.append((number, record or None))
    if out is not None:
        for sink in out:
            sink.flush()
    summary.statuses.update(counts)
    summary.rows = sum(counts.values())
    summary.failed = failed


def _shown(value: str, limit: int = 60) -> str:
    """``value`` quoted for a message, cut to ``limit`` characters (a cell may be huge)."""
    return repr(value if len(value) <= limit else value[:limit] + "…")


def _no_code(status: str) -> str:
    if status == "unprocessed":
        return "unprocessed: the job stopped before this row; send it again"
    if status == "skipped":
        return "skipped, with no error code from Zoho"
    return f"{status or 'no status'}: not added or updated, with no error code from Zoho"


def pair_sources(
    sources: list[UserFile], members: list[str], uploaded: list[str | None]
) -> list[UserFile | None]:
    """Per result member, its source CSV or None. ``uploaded`` is each member's uploaded
    file name when known (from the job document or the member name). A member takes the
    source of the same file name; one member and one source pair whatever their names.
    UserFileError when a source pairs with nothing."""
    out: list[UserFile | None] = [None] * len(members)
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
        raise UserFileError(
            f"cannot tell which resource of the result {', '.join(unpaired)} was uploaded for; "
            f"the result file holds rows of {wanted}",
            hint="give the CSV (or the ZIP) that was uploaded, under its own file name",
        )
    return out
