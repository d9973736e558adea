"""A finished job's result file: a streaming summary of the ZIP (one CSV per resource: the
first mapped columns, STATUS, RECORD_ID, ERRORS), its failed rows read again as a stream,
and the files ``--output-dir`` writes. Prints nothing.

Hostile files are expected: names that escape the folder, non-CSV members, encrypted or
oddly compressed members, ZIP bombs, odd encodings, missing columns and huge cells each end
in a clear ZbulkError. Memory does not grow with the number of rows: counts are kept per
status and per error group (both bounded), and failed rows are never held, only read again.

Files written are the user's: never through a symlink, never over an existing file without
``force``, each written to a temporary file beside it and renamed into place; a local
error (disk full, a directory in the way) is a ``LocalFileError`` naming the path.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import errno
import io
import os
import re
import tempfile
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

from zbulk.errors import NetworkError, ZbulkError

MAX_DOWNLOAD = 512 * 1024 * 1024
MAX_UNCOMPRESSED = 2 * 1024 * 1024 * 1024  # all members together
MAX_RATIO = 250  # uncompressed / compressed, per member
MAX_CELL = 16 * 1024 * 1024  # one CSV cell; the csv module's own default is 128 KiB
MAX_GROUPS = 1000  # distinct (code, column) error groups per file; the rest are "(other)"
MAX_STATUSES = 100  # distinct STATUS values per file; the rest are "(other)"
OTHER = "(other)"
EXAMPLES = 3
SUCCESS = frozenset({"added", "updated"})
READABLE = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2,
                      zipfile.ZIP_LZMA})  # fmt: skip


class LocalFileError(ZbulkError):
    """A file zbulk writes could not be written: the cause is on this machine (exit 1)."""


def local_error(path: Path | str, exc: OSError) -> LocalFileError:
    reason = exc.strerror or str(exc) or type(exc).__name__
    hint = None
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        hint = "free some space (or raise the file size limit) and run the command again"
    return LocalFileError(f"cannot write {path}: {reason}", hint=hint)


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


@dataclass
class Summary:
    job_id: str
    files: list[FileSummary]
    warnings: list[str]
    path: Path | None = None  # the ZIP, read again for the failed rows

    @property
    def failed(self) -> int:
        return sum(f.failed for f in self.files)

    def failed_rows(self, f: FileSummary) -> Iterator[tuple[int, list[str]]]:
        """(row number, cells) of each skipped or failed row of ``f``, read again from the
        ZIP as a stream: memory does not grow with the number of rows."""
        assert self.path is not None and f.info is not None
        with _reading(f.info), zipfile.ZipFile(self.path) as archive:
            reader, header, _ = _open_csv(archive, f.info, f.encoding)
            status_at, width = _columns(header)["STATUS"], len(header)
            assert status_at is not None
            for number, row in enumerate(reader, 1):
                if len(row) < width:
                    row = row + [""] * (width - len(row))
                if row[status_at].strip().lower() not in SUCCESS:
                    yield number, row

    def as_json(self, download_url: str | None) -> dict[str, Any]:
        """The summary without the failed rows (see ``json_chunks``)."""
        files = [_file_json(f) for f in self.files]
        return {"job_id": self.job_id, "download_url": download_url, "files": files,
                "warnings": self.warnings}  # fmt: skip

    def json_chunks(self, download_url: str | None, with_rows: bool, encode: Any,
                    batch: int = 2000) -> Iterator[str]:  # fmt: skip
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
    return {
        "name": f.name, "module": f.module, "encoding": f.encoding, "columns": f.columns,
        "rows": f.rows, "failed": f.failed, "statuses": dict(f.statuses),
        "errors": [
            {"code": g.code, "column": g.column, "count": g.count,
             "examples": [{"row": r, "record_id": rid} for r, rid in g.examples]}
            for g in sorted(f.errors.values(), key=lambda g: -g.count)
        ],
        **({"written": f.written} if f.written else {}),
    }  # fmt: skip


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


def _members(archive: zipfile.ZipFile, warnings: list[str]) -> list[zipfile.ZipInfo]:
    total = 0
    members = []
    seen: set[str] = set()
    for info in archive.infolist():
        if info.is_dir():
            continue
        path = PurePosixPath(info.filename.replace("\\", "/"))
        if path.is_absolute() or ".." in path.parts or ":" in info.filename:
            raise NetworkError(f"the result file holds an unsafe name {info.filename!r}; "
                               "refusing to read it")  # fmt: skip
        if path.suffix.lower() != ".csv":
            warnings.append(f"skipped {info.filename!r}: not a CSV file")
            continue
        if info.flag_bits & 0x1:
            raise NetworkError(f"{info.filename!r} in the result file is encrypted; "
                               "zbulk cannot read it")  # fmt: skip
        if info.compress_type not in READABLE:
            method = info.compress_type
            raise NetworkError(f"{info.filename!r} in the result file uses a compression "
                               f"method zbulk cannot read (method {method})")  # fmt: skip
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if total > MAX_UNCOMPRESSED or ratio > MAX_RATIO:
            raise NetworkError(
                f"the result file unpacks to more than it plausibly holds ({info.filename!r}: "
                f"{info.file_size:,} bytes from {info.compress_size:,}); refusing a ZIP bomb"
            )
        if info.filename in seen:
            warnings.append(f"the result file holds {info.filename!r} more than once; "
                            "each copy is read and written separately")  # fmt: skip
        seen.add(info.filename)
        members.append(info)
    return members


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
            raise NetworkError(f"{info.filename!r} in the result file holds a cell larger "
                               f"than {limit} MiB; refusing to read it") from None  # fmt: skip
        raise NetworkError(f"the result file is damaged ({info.filename!r}: {exc})") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError,
            NotImplementedError, RuntimeError) as exc:  # fmt: skip
        raise NetworkError(f"the result file is damaged ({info.filename!r}: {exc})") from None


Opened = tuple[Iterator[list[str]], list[str], str]  # rows, header, encoding


def _open_csv(archive: zipfile.ZipFile, info: zipfile.ZipInfo,
              encoding: str | None = None) -> Opened:  # fmt: skip
    # zipfile stops at the size the header declares (and fails the CRC beyond it), so
    # with the checks in _members a member cannot unpack to more than it claimed.
    member = archive.open(info)
    raw = io.BufferedReader(member, 1 << 16)  # type: ignore[type-var]
    if encoding is None:
        encoding = _encoding(raw.peek(4096)[:4096])
    text = io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="")
    reader = csv.reader(text)
    header = next(reader, None)
    if not header or "STATUS" not in [h.strip().upper() for h in header]:
        raise NetworkError(f"{info.filename!r} in the result file has no STATUS column")
    return reader, header, encoding


def _columns(header: list[str]) -> dict[str, int | None]:
    upper = [h.strip().upper() for h in header]
    return {name: upper.index(name) if name in upper else None
            for name in ("STATUS", "RECORD_ID", "ERRORS")}  # fmt: skip


def summarise_zip(
    path: Path,
    *,
    output_dir: Path | None = None,
    job_id: str = "",
    force: bool = False,
    keep_zip: bool = False,
) -> Summary:
    """Read every CSV of the result ZIP as a stream and summarise it. With ``output_dir``,
    write each member's success and failed rows there (and the ZIP itself with
    ``keep_zip``), refusing before anything is written if a target exists and not ``force``."""
    warnings: list[str] = []
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise NetworkError(
            f"the result file is not a readable ZIP: {exc}",
            hint="download it again; the link may have expired",
        ) from None
    files = []
    with archive:
        members = _members(archive, warnings)
        if not members:
            raise NetworkError("the result file holds no CSV file",
                               hint="; ".join(warnings) or None)  # fmt: skip
        targets = _targets(output_dir, job_id, members) if output_dir is not None else None
        if output_dir is not None and targets is not None:
            _prepare(output_dir, [t for pair in targets for t in pair]
                     + ([output_dir / f"{job_id}.zip"] if keep_zip else []), force)  # fmt: skip
        for n, info in enumerate(members):
            with _reading(info):
                files.append(_summarise_member(archive, info, targets[n] if targets else None,
                                               force, warnings))  # fmt: skip
    if output_dir is not None and keep_zip:
        copy_file(path, output_dir / f"{job_id}.zip", force)
    return Summary(job_id, files, warnings, path)


def module_of(info: zipfile.ZipInfo) -> str:
    return PurePosixPath(info.filename.replace("\\", "/")).stem or "result"


def _targets(output_dir: Path, job_id: str,
             members: list[zipfile.ZipInfo]) -> list[tuple[Path, Path]]:  # fmt: skip
    """Per member its success and failed CSV: two members with the same module name
    (``Leads.csv`` twice, or ``sub/Leads.csv``) get ``-2``, ``-3``… never the same file."""
    used: set[str] = set()
    out = []
    for info in members:
        base = f"{job_id}-{re.sub(r'[^A-Za-z0-9_.-]', '_', module_of(info))}"
        name, n = base, 1
        while name.lower() in used:
            n += 1
            name = f"{base}-{n}"
        used.add(name.lower())
        out.append((output_dir / f"{name}-success.csv", output_dir / f"{name}-failed.csv"))
    return out


def _prepare(output_dir: Path, targets: list[Path], force: bool) -> None:
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise local_error(output_dir, exc) from None
    if not output_dir.is_dir():
        raise LocalFileError(f"cannot write into {output_dir}: not a directory")
    for target in targets:
        if os.path.lexists(target) and not force:
            raise LocalFileError(
                f"{target} already exists; nothing was written",
                hint="add --force to replace it, or choose another --output-dir",
            )
        if force and target.is_dir() and not target.is_symlink():
            raise LocalFileError(f"cannot write {target}: it is a directory; nothing was written")


class AtomicFile:
    """A new file written beside ``target`` and moved into place by ``publish()``: never
    through a symlink, and over an existing file (or symlink) only with ``force``."""

    def __init__(self, target: Path, force: bool, mode: str = "w") -> None:
        self.target = target
        self.force = force
        try:
            fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                        suffix=".part")  # fmt: skip
        except OSError as exc:
            raise local_error(target, exc) from None
        self.temp = Path(name)
        if "b" in mode:
            self.handle: IO[Any] = os.fdopen(fd, "wb")
        else:
            self.handle = os.fdopen(fd, "w", encoding="utf-8", newline="")

    def write(self, data: Any) -> None:
        try:
            self.handle.write(data)
        except OSError as exc:
            raise local_error(self.target, exc) from None

    def publish(self) -> None:
        try:
            self.handle.close()
            if self.force:
                os.replace(self.temp, self.target)  # a symlink there is replaced, not followed
                return
            try:
                os.link(self.temp, self.target)  # fails if anything, even a symlink, is there
            except FileExistsError:
                raise LocalFileError(f"{self.target} already exists; it was not replaced",
                                     hint="add --force to replace it") from None  # fmt: skip
            except OSError:  # a file system without hard links
                if os.path.lexists(self.target):
                    raise LocalFileError(f"{self.target} already exists; it was not replaced",
                                         hint="add --force to replace it") from None  # fmt: skip
                os.rename(self.temp, self.target)
                return
            os.unlink(self.temp)
        except OSError as exc:
            raise local_error(self.target, exc) from None
        finally:
            self.discard()

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            self.handle.close()
        with contextlib.suppress(OSError):
            os.unlink(self.temp)


def copy_file(source: Path, target: Path, force: bool) -> None:
    """``source`` copied to ``target`` the AtomicFile way."""
    dest = AtomicFile(target, force, "wb")
    try:
        with source.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                dest.write(chunk)
        dest.publish()
    finally:
        dest.discard()


class _CsvSink:
    """A CSV written through an AtomicFile; write errors are local errors."""

    def __init__(self, target: Path, force: bool, header: list[str]) -> None:
        self.file = AtomicFile(target, force)
        self.writer = csv.writer(self.file.handle)
        self.writerow(header)

    def writerow(self, row: list[str]) -> None:
        try:
            self.writer.writerow(row)
        except OSError as exc:
            raise local_error(self.file.target, exc) from None


def _summarise_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo,
                      targets: tuple[Path, Path] | None, force: bool,
                      warnings: list[str]) -> FileSummary:  # fmt: skip
    reader, header, encoding = _open_csv(archive, info)
    if encoding == "cp1252":
        warnings.append(f"{info.filename!r} is not UTF-8; read as Windows-1252")
    summary = FileSummary(info.filename, module_of(info), header, encoding, info)
    sinks: dict[bool, _CsvSink] = {}
    try:
        if targets is not None:
            sinks[True] = _CsvSink(targets[0], force, header)
            sinks[False] = _CsvSink(targets[1], force, header)
        _read_rows(reader, _columns(header), summary, sinks, len(header))
        for sink in sinks.values():
            sink.file.publish()
            summary.written.append(str(sink.file.target))
    finally:
        for sink in sinks.values():
            sink.file.discard()
    return summary


def _read_rows(reader: Iterator[list[str]], at: dict[str, int | None], summary: FileSummary,
               sinks: dict[bool, _CsvSink], width: int) -> None:  # fmt: skip
    status_at, record_at, errors_at = at["STATUS"], at["RECORD_ID"], at["ERRORS"]
    assert status_at is not None
    statuses, groups = summary.statuses, summary.errors
    failed = 0
    for number, row in enumerate(reader, 1):
        if len(row) < width:
            row = row + [""] * (width - len(row))
        status = row[status_at].strip().lower() or "(empty)"
        if status not in statuses and len(statuses) >= MAX_STATUSES and status not in SUCCESS:
            status = OTHER
        statuses[status] += 1
        ok = status in SUCCESS
        if sinks:
            sinks[ok].writerow(row)
        if ok:
            continue
        failed += 1
        record = (row[record_at].strip() or None) if record_at is not None else None
        errors = row[errors_at] if errors_at is not None else ""
        for key in parse_errors(errors):
            group = groups.get(key)
            if group is None:
                if len(groups) >= MAX_GROUPS:
                    key = (OTHER, "")
                    group = groups.get(key)
                if group is None:
                    group = groups[key] = ErrorGroup(*key)
            group.count += 1
            if len(group.examples) < EXAMPLES:
                group.examples.append((number, record))
    summary.rows = sum(statuses.values())
    summary.failed = failed
