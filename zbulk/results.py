"""A finished job's result file: where the token may go, and a streaming summary of the
ZIP (one CSV per resource: the first mapped columns, STATUS, RECORD_ID, ERRORS). Prints
nothing. Hostile files are expected: names that escape the folder, non-CSV members,
ZIP bombs, odd encodings and missing columns each end in a clear ZbulkError."""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any
from urllib.parse import urlsplit

from zbulk.config import is_loopback_host
from zbulk.errors import NetworkError

MAX_DOWNLOAD = 512 * 1024 * 1024
MAX_UNCOMPRESSED = 2 * 1024 * 1024 * 1024  # all members together
MAX_RATIO = 250  # uncompressed / compressed, per member
EXAMPLES = 3
SUCCESS = frozenset({"added", "updated"})
_ZOHO_HOST = re.compile(r"(?:^|\.)(?:zoho\.(?:com|eu|in|jp|sa|uk|com\.au|com\.cn)|zohocloud\.ca)$")


def token_may_go_to(url: str, api_domain: str) -> bool:
    """Zoho's download hosts (https, ``*.zoho.<tld>``, ``*.zohocloud.ca``), the configured
    API domain itself, or loopback when the API domain is loopback (the sandbox)."""
    try:
        target, api = urlsplit(url), urlsplit(api_domain)
        host, api_host = (target.hostname or "").lower(), (api.hostname or "").lower()
        target.port, api.port  # noqa: B018  (raise ValueError on a bad port)
    except ValueError:
        return False
    if target.username or target.password:
        return False
    if target.scheme == "https" and _ZOHO_HOST.search(host):
        return True
    if (target.scheme, host, target.port) == (api.scheme, api_host, api.port):
        return True
    return target.scheme == "http" and is_loopback_host(host) and is_loopback_host(api_host)


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
    rows: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    errors: dict[tuple[str, str], ErrorGroup] = field(default_factory=dict)
    failed_rows: list[dict[str, Any]] = field(default_factory=list)
    written: list[str] = field(default_factory=list)


@dataclass
class Summary:
    job_id: str
    files: list[FileSummary]
    warnings: list[str]

    @property
    def failed(self) -> int:
        return sum(n for f in self.files for s, n in f.statuses.items() if s not in SUCCESS)

    def as_json(self, download_url: str | None, with_rows: bool) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "download_url": download_url,
            "files": [
                {
                    "name": f.name, "module": f.module, "encoding": f.encoding, "rows": f.rows,
                    "statuses": dict(f.statuses),
                    "errors": [
                        {"code": g.code, "column": g.column, "count": g.count,
                         "examples": [{"row": r, "record_id": rid} for r, rid in g.examples]}
                        for g in sorted(f.errors.values(), key=lambda g: -g.count)
                    ],
                    **({"failed_rows": f.failed_rows} if with_rows else {}),
                    **({"written": f.written} if f.written else {}),
                }
                for f in self.files
            ],
            "warnings": self.warnings,
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


def _members(archive: zipfile.ZipFile, warnings: list[str]) -> Iterator[zipfile.ZipInfo]:
    total = 0
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
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if total > MAX_UNCOMPRESSED or ratio > MAX_RATIO:
            raise NetworkError(
                f"the result file unpacks to more than it plausibly holds ({info.filename!r}: "
                f"{info.file_size:,} bytes from {info.compress_size:,}); refusing a ZIP bomb"
            )
        yield info


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


def summarise_zip(
    path: Path,
    *,
    keep_failed: bool = False,
    output_dir: Path | None = None,
    job_id: str = "",
) -> Summary:
    """Read every CSV of the result ZIP as a stream and summarise it."""
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
        for info in _members(archive, warnings):
            try:
                files.append(_summarise_member(archive, info, keep_failed, output_dir, job_id,
                                               warnings))  # fmt: skip
            except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, csv.Error, EOFError,
                    OSError) as exc:  # fmt: skip
                raise NetworkError(
                    f"the result file is damaged ({info.filename!r}: {exc})"
                ) from None
    if not files:
        raise NetworkError("the result file holds no CSV file", hint="; ".join(warnings) or None)
    return Summary(job_id, files, warnings)


def _summarise_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, keep_failed: bool,
                      output_dir: Path | None, job_id: str,
                      warnings: list[str]) -> FileSummary:  # fmt: skip
    module = PurePosixPath(info.filename.replace("\\", "/")).stem or "result"
    with archive.open(info) as member:
        # zipfile stops at the size the header declares (and fails the CRC beyond it), so
        # with the checks in _members a member cannot unpack to more than it claimed.
        raw = io.BufferedReader(member, 1 << 16)  # type: ignore[type-var]
        encoding = _encoding(raw.peek(4096)[:4096])
        if encoding == "cp1252":
            warnings.append(f"{info.filename!r} is not UTF-8; read as Windows-1252")
        text = io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="")
        reader = csv.reader(text)
        header = next(reader, None)
        if not header or "STATUS" not in [h.strip().upper() for h in header]:
            raise NetworkError(f"{info.filename!r} in the result file has no STATUS column")
        upper = [h.strip().upper() for h in header]
        at = {name: upper.index(name) if name in upper else None
              for name in ("STATUS", "RECORD_ID", "ERRORS")}  # fmt: skip
        summary = FileSummary(info.filename, module, header, encoding)
        writers = _writers(output_dir, job_id, module, header, summary) if output_dir else None
        try:
            _read_rows(reader, at, summary, keep_failed, writers, len(header))
        finally:
            for handle, _ in (writers or {}).values():
                handle.close()
    return summary


def _writers(output_dir: Path, job_id: str, module: str, header: list[str],
             summary: FileSummary) -> dict[bool, tuple[IO[str], Any]]:  # fmt: skip
    output_dir.mkdir(parents=True, exist_ok=True)
    safe_module = re.sub(r"[^A-Za-z0-9_.-]", "_", module)
    out: dict[bool, tuple[IO[str], Any]] = {}
    for ok, kind in ((True, "success"), (False, "failed")):
        target = output_dir / f"{job_id}-{safe_module}-{kind}.csv"
        handle = target.open("w", encoding="utf-8", newline="")
        writer = csv.writer(handle)
        writer.writerow(header)
        out[ok] = (handle, writer)
        summary.written.append(str(target))
    return out


def _read_rows(reader: Any, at: dict[str, int | None], summary: FileSummary, keep_failed: bool,
               writers: dict[bool, tuple[IO[str], Any]] | None, width: int) -> None:  # fmt: skip
    status_at, record_at, errors_at = at["STATUS"], at["RECORD_ID"], at["ERRORS"]
    assert status_at is not None
    statuses = summary.statuses
    for number, row in enumerate(reader, 1):
        if len(row) < width:
            row = row + [""] * (width - len(row))
        status = row[status_at].strip().lower() or "(empty)"
        statuses[status] += 1
        ok = status in SUCCESS
        if writers is not None:
            writers[ok][1].writerow(row)
        if ok:
            continue
        record = (row[record_at].strip() or None) if record_at is not None else None
        errors = row[errors_at] if errors_at is not None else ""
        for code, column in parse_errors(errors):
            group = summary.errors.get((code, column))
            if group is None:
                group = summary.errors[(code, column)] = ErrorGroup(code, column)
            group.count += 1
            if len(group.examples) < EXAMPLES:
                group.examples.append((number, record))
        if keep_failed:
            summary.failed_rows.append(
                {"row": number, **dict(zip(summary.columns, row, strict=False))}
            )
    summary.rows = sum(statuses.values())
