"""One result for a whole import: every part's result file lined up with the part's rows
in the source, written as three files in ``output_dir``:

- ``<import id>-<Module>-failed.csv``: every row not added or updated, whole, as it was in
  the source (encoding, delimiter, BOM, quoting and line ends kept), in the source's order
  across parts, under the source's header: fix it and send it again;
- ``<import id>-<Module>-created.csv``: every row added or updated, whole, and its RECORD_ID;
- ``<import id>-<Module>-errors.csv``: per failed row, its row number in the source, the
  record id, each error code and column, and what it means.

Streams: each part's result ZIP is downloaded to a temporary file and read row by row
beside the part's records, so memory does not grow with the number of rows.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from zbulk.errors import ApiError
from zbulk.jobs import import_record as rec
from zbulk.jobs.import_record import ImportRecord, PartState
from zbulk.jobs.importing import header_of, open_source
from zbulk.jobs.split import Part, part_records

if TYPE_CHECKING:
    from zbulk.files import NewFile

SUCCESS = frozenset({"added", "updated"})
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class PartResult:
    number: int
    job_id: str | None
    rows: int = 0
    created: int = 0
    failed: int = 0
    missing: int = 0  # the part's rows with no result row (a job that stopped)


@dataclass
class Merged:
    import_id: str
    module: str
    parts: list[PartResult] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(p.rows for p in self.parts)

    @property
    def created(self) -> int:
        return sum(p.created for p in self.parts)

    @property
    def failed(self) -> int:
        return sum(p.failed for p in self.parts)

    def as_json(self) -> dict[str, Any]:
        return {
            "import": self.import_id,
            "module": self.module,
            "rows": self.rows,
            "created": self.created,
            "failed": self.failed,
            "files": self.files,
            "parts": [vars(p) for p in self.parts],
        }


def targets(record: ImportRecord, output_dir: Path) -> tuple[Path, Path, Path]:
    module = re.sub(r"[^A-Za-z0-9_.-]", "_", record.module)
    return tuple(  # type: ignore[return-value]
        output_dir / f"{record.id}-{module}-{kind}.csv" for kind in ("failed", "created", "errors")
    )


def inert(value: str) -> str:
    """A cell from Zoho that a spreadsheet will not run as a formula."""
    return "'" + value if value.startswith(_FORMULA) else value


def merge(
    record: ImportRecord,
    result_zip: Callable[[PartState], Path],
    output_dir: Path,
    force: bool,
) -> Merged:
    """Write the three files for ``record``; ``result_zip(part)`` gives each finished
    part's result ZIP (downloaded). An import of several resources: three files per
    resource (each under its own module's name and its own source's header)."""
    if record.resources:
        merged = Merged(record.id, record.module)
        for segment in record.segments():
            one = _merge_one(segment, result_zip, output_dir, force)
            merged.parts += one.parts
            merged.files += one.files
            merged.warnings += one.warnings
        return merged
    return _merge_one(record, result_zip, output_dir, force)


def _merge_one(
    record: ImportRecord,
    result_zip: Callable[[PartState], Path],
    output_dir: Path,
    force: bool,
) -> Merged:
    from zbulk import files
    from zbulk.result_file import _prepare, local_error

    failed_path, created_path, errors_path = targets(record, output_dir)
    _prepare(output_dir, [failed_path, created_path, errors_path], force)
    merged = Merged(record.id, record.module)
    sinks = [
        files.create_output(p, force=force, binary=True)
        for p in (failed_path, created_path, errors_path)
    ]
    failed, created, errors = sinks
    try:
        with open_source(record) as src:
            header = header_of(record, src)
            encoding = str(record.source.get("encoding") or "utf-8")
            delimiter = str(record.source.get("delimiter") or ",")
            body, end = _split_end(header)
            failed.write(header)
            created.write(body + (delimiter + "RECORD_ID").encode(encoding) + (end or b"\r\n"))
            err_writer = csv.writer(_TextSink(errors), lineterminator="\r\n")
            from zbulk.result_file import ERRORS_HEADER

            err_writer.writerow(ERRORS_HEADER)
            for part in record.parts:
                result = PartResult(part.number, part.job_id)
                merged.parts.append(result)
                if part.state not in rec.FINISHED:
                    merged.warnings.append(
                        f"part {part.number} (rows {part.first_row:,}–{part.last_row:,}) has "
                        f"not finished ({part.status or part.state}): its rows are not in "
                        "these files"
                    )
                    continue
                zip_path = result_zip(part)
                _merge_part(
                    record,
                    part,
                    src,
                    zip_path,
                    result,
                    encoding,
                    delimiter,
                    end,
                    failed,
                    created,
                    err_writer,
                )
        for sink in sinks:
            sink.publish()
    except OSError as exc:
        raise local_error(output_dir, exc) from None
    finally:
        for sink in sinks:
            sink.discard()
    merged.files = [str(p) for p in (failed_path, created_path, errors_path)]
    return merged


class _TextSink:
    """Text written to a new file of bytes, as UTF-8."""

    def __init__(self, target: NewFile) -> None:
        self.target = target

    def write(self, text: str) -> int:
        self.target.write(text.encode("utf-8", "replace"))
        return len(text)


def _split_end(record: bytes) -> tuple[bytes, bytes]:
    body = record.rstrip(b"\r\n")
    return body, record[len(body) :]


def _result_rows(zip_path: Path) -> Iterator[tuple[str, str, str]]:
    """(status, record id, errors) of each row of the result ZIP's one CSV."""
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ApiError(f"the result file is not a ZIP Zoho writes ({exc})") from None
    with archive:
        members = [i for i in archive.infolist() if i.filename.lower().endswith(".csv")]
        if len(members) != 1:
            raise ApiError(f"the result ZIP holds {len(members)} CSV files, not one")
        with archive.open(members[0]) as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="")
            reader = csv.reader(text)
            header = [h.strip().upper() for h in next(reader, [])]
            try:
                at = [header.index(name) for name in ("STATUS", "RECORD_ID", "ERRORS")]
            except ValueError:
                raise ApiError("the result file has no STATUS, RECORD_ID and ERRORS") from None
            for row in reader:
                if not row:
                    continue
                cells = [row[i] if i < len(row) else "" for i in at]
                yield cells[0], cells[1], cells[2]


def _merge_part(
    record: ImportRecord,
    part: PartState,
    src: IO[bytes],
    zip_path: Path,
    result: PartResult,
    encoding: str,
    delimiter: str,
    end: bytes,
    failed: NewFile,
    created: NewFile,
    errors: Any,
) -> None:
    from zbulk.result_codes import explain
    from zbulk.result_file import parse_errors

    shape = Part(
        part.number, part.first_row, part.last_row, part.start, part.end, part.size, part.sha256
    )
    rows = _result_rows(zip_path)
    number = part.first_row - 1
    for raw in part_records(src, shape):
        number += 1
        result.rows += 1
        got = next(rows, None)
        if got is None:
            result.missing += 1
            status, record_id, text = "unprocessed", "", ""
        else:
            status, record_id, text = got
        status = status.strip().lower()
        record_id = record_id.strip()
        if status in SUCCESS:
            result.created += 1
            body, line_end = _split_end(raw)
            cell = record_id if record_id.isdigit() else _quoted(inert(record_id), delimiter)
            created.write(
                body + (delimiter + cell).encode(encoding, "replace") + (line_end or end or b"\r\n")
            )
            continue
        result.failed += 1
        failed.write(raw if raw.endswith((b"\n", b"\r")) else raw + (end or b"\r\n"))
        found = parse_errors(text)
        for code, column in found or [("", "")]:
            why = explain(code) if code else None
            if not code:
                why = f"{status or 'no status'}: not added or updated, with no error code"
            errors.writerow(
                [str(number), inert(record_id), inert(code), inert(column), inert(why or "")]
            )
    if next(rows, None) is not None:
        raise ApiError(
            f"part {part.number}'s result file (job {part.job_id}) has more rows than the "
            f"part's {part.records:,}: is it this part's job?"
        )


def _quoted(value: str, sep: str) -> str:
    if sep in value or '"' in value or "\n" in value or "\r" in value:
        return '"' + value.replace('"', '""') + '"'
    return value
