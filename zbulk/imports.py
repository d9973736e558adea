"""Creating bulk write jobs: the pre-flight of a CSV (or a ZIP holding one), the field
mappings, the ZIP streamed to a temporary file, and the bodies of the upload and create
requests. Prints nothing; ``zbulk.commands.imports`` talks to the user and
``zbulk.client`` sends the requests.

The pre-flight reads the file once as a stream (memory does not grow with its size) and
lists every problem it finds, each with its record and column, before anything is sent:
Zoho's limits (25 MB and 25,000 records per file, one CSV per ZIP for modules without
subforms, a delimiter among ``, ; : |``), headers present and unique, the file decoding in
its encoding, no empty records, every mapped column present, ``find_by`` for update and
upsert.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import re
import shutil
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from zbulk import files
from zbulk.errors import UsageError

MAX_FILE_BYTES = 25 * 1024 * 1024  # Zoho: at most 25 MB per file
MAX_RECORDS = 25_000  # Zoho: at most 25,000 records per file
DELIMITERS = (",", ";", ":", "|")
OPERATIONS = ("insert", "update", "upsert")
SHOWN_PROBLEMS = 20  # listed in the error; the rest are counted
MAX_CELL = 16 * 1024 * 1024
CHUNK = 1 << 20
UTF8_BOM = codecs.BOM_UTF8
_UNDECODABLE = re.compile("[\udc80-\udcff]")


class PreflightError(UsageError):
    """The file fails the pre-flight: every problem found, nothing sent (exit 2)."""

    def __init__(self, path: Path | str, problems: Sequence[Problem]) -> None:
        shown = [f"  {p}" for p in problems[:SHOWN_PROBLEMS]]
        if len(problems) > SHOWN_PROBLEMS:
            shown.append(f"  … and {len(problems) - SHOWN_PROBLEMS:,} more")
        count = f"{len(problems)} problem" + ("s" if len(problems) != 1 else "")
        super().__init__(
            f"{path} fails the pre-flight ({count}); nothing was sent:\n" + "\n".join(shown),
            hint="fix the file (or the options) and run the command again; "
            "--dry-run checks without sending",
        )
        self.problems = list(problems)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the file: where (record number, 1 for the first after the
    header; the physical line it starts on; the column) and what."""

    message: str
    record: int | None = None
    line: int | None = None
    column: str | None = None

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


@dataclass
class Source:
    """The CSV to send: the file given (a CSV, or a ZIP holding one) and what the
    pre-flight found in it."""

    path: Path
    is_zip: bool
    member: str  # the CSV's name (inside the ZIP, or the file's own)
    size: int  # the CSV's bytes, uncompressed
    encoding: str  # the codec it decodes with (utf-8-sig when it has a BOM)
    delimiter: str = ","
    headers: list[str] = field(default_factory=list)
    records: int = 0

    def open_csv(self) -> contextlib.AbstractContextManager[IO[bytes]]:
        """The CSV's bytes as a stream."""
        if not self.is_zip:
            return self.path.open("rb")
        return _zip_member(self.path, self.member)


@contextlib.contextmanager
def _zip_member(path: Path, member: str) -> Iterator[IO[bytes]]:
    with zipfile.ZipFile(path) as archive, archive.open(member) as fh:
        yield fh


@dataclass(frozen=True)
class FieldMap:
    """One entry of ``field_mappings``: the column ``index`` (0-based, under ``column`` in
    the file) goes to the field ``api_name``."""

    api_name: str
    index: int | None
    column: str | None = None
    format: str | None = None
    find_by: str | None = None
    module: str | None = None
    default_value: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"api_name": self.api_name}
        if self.index is not None:
            doc["index"] = self.index
        for key in ("format", "find_by", "module", "default_value"):
            value = getattr(self, key)
            if value is not None:
                doc[key] = value
        return doc


@dataclass
class Plan:
    """Everything a create request says, but the uploaded file's id."""

    source: Source
    module: str
    operation: str
    mappings: list[FieldMap]
    find_by: str | None = None
    ignore_empty: bool = False
    callback: str | None = None
    character_encoding: str | None = None

    def create_body(self, file_id: str, api_version: str = "v8") -> dict[str, Any]:
        """The create request's body for ``api_version``: v2 takes the module as a string
        (Zoho's v2 Postman collection), v2.1 on as ``{"api_name": …}``."""
        module: str | dict[str, str] = {"api_name": self.module}
        if api_version == "v2":
            module = self.module
        resource: dict[str, Any] = {"type": "data", "module": module, "file_id": file_id}
        if self.find_by:
            resource["find_by"] = self.find_by
        resource["field_mappings"] = [m.as_json() for m in self.mappings]
        body: dict[str, Any] = {"operation": self.operation, "ignore_empty": self.ignore_empty}
        if self.character_encoding:
            body["character_encoding"] = self.character_encoding
        if self.callback:
            body["callback"] = {"url": self.callback, "method": "post"}
        body["resource"] = [resource]
        return body

    @property
    def zip_name(self) -> str:
        """The name of the ZIP uploaded."""
        if self.source.is_zip:
            return _safe_name(self.source.path.name, ".zip")
        return _safe_name(Path(self.source.member).stem, "") + ".zip"


def _safe_name(name: str, suffix: str) -> str:
    """A file name fit for a multipart header: ASCII letters, digits, ``._-``."""
    stem = name.removesuffix(suffix) if suffix else name
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", stem).strip("._") or "data"
    return stem + suffix


# -- the pre-flight --------------------------------------------------------------------


def _codec(encoding: str | None) -> str:
    name = encoding or "utf-8"
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise UsageError(
            f"unknown encoding {name!r}",
            hint="use a Python codec name such as utf-8, windows-1252 or iso-8859-1",
        ) from None


def inspect(path: Path, encoding: str | None = None) -> tuple[Source, list[Problem]]:
    """Read ``path`` once, as a stream, and return what it holds and every problem found.
    A file that cannot be read at all is a UsageError."""
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise UsageError(f"{path} is not a file")
        with path.open("rb") as fh:
            head = fh.read(4)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    problems: list[Problem] = []
    is_zip = head[:4] == b"PK\x03\x04" or path.suffix.lower() == ".zip"
    member = path.name
    if is_zip:
        try:
            with zipfile.ZipFile(path) as archive:
                infos = [i for i in archive.infolist() if not i.is_dir()]
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise UsageError(f"{path} is not a ZIP file Zoho can read ({exc})") from None
        csvs = [i for i in infos if i.filename.lower().endswith(".csv")]
        if len(infos) != 1 or not csvs:
            names = ", ".join(i.filename for i in infos[:5]) or "nothing"
            more = "…" if len(infos) > 5 else ""
            problems.append(
                Problem(
                    f"the ZIP holds {len(infos)} files ({names}{more}): Zoho takes one CSV per "
                    "ZIP for a module without subforms"
                )
            )
        if not csvs:
            raise PreflightError(path, problems)
        member, size = csvs[0].filename, csvs[0].file_size
        if csvs[0].flag_bits & 0x1:
            raise PreflightError(path, [Problem(f"{member} in the ZIP is encrypted")])
    codec = _codec(encoding)
    source = Source(path, is_zip, member, size, codec)
    if size > MAX_FILE_BYTES:
        problems.append(
            Problem(
                f"the CSV is {size:,} bytes: Zoho takes at most 25 MB ({MAX_FILE_BYTES:,} bytes) "
                "per file; split it"
            )
        )
    try:
        with source.open_csv() as raw:
            _scan(raw, source, problems)
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None
    if source.records > MAX_RECORDS:
        problems.append(
            Problem(
                f"{source.records:,} records: Zoho takes at most {MAX_RECORDS:,} per file; split it"
            )
        )
    return source, problems


def _scan(raw: IO[bytes], source: Source, problems: list[Problem]) -> None:
    """Decode and parse the CSV as a stream; fill in ``source`` and ``problems``."""
    first = raw.read(4)
    if first.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and "16" not in source.encoding:
        problems.append(
            Problem(
                "the file is UTF-16 (it starts with a UTF-16 byte order "
                "mark): save it as UTF-8, or pass --encoding utf-16"
            )
        )
        return
    if first.startswith(UTF8_BOM) and source.encoding == "utf-8":
        source.encoding = "utf-8-sig"
    stream = io.BufferedReader(_Prefixed(first, raw), CHUNK)
    text = io.TextIOWrapper(stream, encoding=source.encoding, errors="surrogateescape", newline="")
    header_line = text.readline()
    if not header_line.strip():
        problems.append(Problem("the file has no header row", record=0, line=1))
        return
    source.delimiter = _delimiter(header_line, problems)
    reader = csv.reader(_chain(header_line, text), delimiter=source.delimiter, strict=False)
    old_limit = csv.field_size_limit(MAX_CELL)
    try:
        _read(reader, source, problems)
    finally:
        csv.field_size_limit(old_limit)


def _read(reader: Any, source: Source, problems: list[Problem]) -> None:
    try:
        headers = next(reader)
    except (StopIteration, csv.Error) as exc:
        problems.append(Problem(f"the header row cannot be read ({exc})", record=0, line=1))
        return
    source.headers = headers
    _check_headers(headers, source.encoding, problems)
    width = len(headers)
    records = 0
    line = reader.line_num + 1
    try:
        for row in reader:
            records += 1
            if _UNDECODABLE.search("\x00".join(row)):
                for i, cell in enumerate(row):
                    if _UNDECODABLE.search(cell):
                        problems.append(
                            Problem(
                                f"bytes that are not {source.encoding} ({_shown_bytes(cell)}); "
                                + _encoding_hint(source.encoding),
                                record=records,
                                line=line,
                                column=_column_name(headers, i),
                            )
                        )
                        break
            if not any(cell.strip() for cell in row):
                problems.append(Problem("empty record", record=records, line=line))
            elif len(row) > width:
                problems.append(
                    Problem(
                        f"{len(row)} values, but the header has {width} columns "
                        "(a stray delimiter, or a value that needs quotes?)",
                        record=records,
                        line=line,
                    )
                )
            line = reader.line_num + 1
    except csv.Error as exc:
        problems.append(Problem(f"not valid CSV: {exc}", record=records + 1, line=line))
    source.records = records


def _check_headers(headers: list[str], encoding: str, problems: list[Problem]) -> None:
    seen: dict[str, int] = {}
    for i, name in enumerate(headers):
        label = f"{i + 1}"
        if _UNDECODABLE.search(name):
            problems.append(
                Problem(
                    f"bytes that are not {encoding}; " + _encoding_hint(encoding),
                    record=0,
                    column=label,
                )
            )
        if not name.strip():
            problems.append(
                Problem("empty header: every column needs a name", record=0, column=label)
            )
            continue
        if name in seen:
            problems.append(
                Problem(
                    f"header {name!r} repeats column {seen[name] + 1}: headers must be unique",
                    record=0,
                    column=label,
                )
            )
        else:
            seen[name] = i


def _encoding_hint(encoding: str) -> str:
    if encoding.startswith("utf"):
        return "a file saved by Excel on Windows is often --encoding windows-1252"
    return "pass the file's --encoding"


def _shown_bytes(cell: str) -> str:
    bad = _UNDECODABLE.search(cell)
    assert bad is not None
    return " ".join(
        f"0x{ord(ch) - 0xDC00:02X}"
        for ch in cell[bad.start() : bad.start() + 3]
        if "\udc80" <= ch <= "\udcff"
    )


def _column_name(headers: Sequence[str], index: int) -> str:
    if index < len(headers) and headers[index].strip():
        return headers[index]
    return str(index + 1)


def _delimiter(header_line: str, problems: list[Problem]) -> str:
    """The delimiter of the header row (outside quotes), as Zoho detects it: the one of
    ``, ; : |`` found most."""
    outside = re.sub(r'"[^"]*"', "", header_line)
    counts = {d: outside.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    if counts[best] == 0 and "\t" in outside:
        problems.append(
            Problem(
                "the columns are separated by tabs: Zoho takes , ; : or | (save the file as CSV)",
                record=0,
                line=1,
            )
        )
        return "\t"
    return best if counts[best] else ","


class _Prefixed(io.RawIOBase):
    """Bytes already read, then the rest of a stream."""

    def __init__(self, prefix: bytes, rest: IO[bytes]) -> None:
        self._prefix, self._rest = prefix, rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._prefix:
            n = min(len(buffer), len(self._prefix))
            buffer[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
            return n
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _chain(first: str, rest: IO[str]) -> Iterator[str]:
    yield first
    yield from rest


# -- mappings ---------------------------------------------------------------------------


def read_mapping_file(path: Path) -> dict[str, dict[str, Any]]:
    """A mapping file: TOML with one ``[columns."Header"]`` table per column to change:
    ``api_name``, ``format``, ``find_by``, ``module``, ``default`` (a value, or a table
    such as ``{name = "Zylker"}``), or ``skip = true``."""
    import tomllib

    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise UsageError(f"cannot read the mapping file {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise UsageError(f"the mapping file {path} is not valid TOML: {exc}") from None
    columns = data.get("columns", {})
    unknown = sorted(set(data) - {"columns"})
    if unknown or not isinstance(columns, dict):
        raise UsageError(
            f"the mapping file {path} holds {', '.join(unknown) or 'columns'} "
            'where only [columns."Header"] tables go'
        )
    allowed = {"api_name", "format", "find_by", "module", "default", "skip"}
    for name, spec in columns.items():
        if not isinstance(spec, dict):
            raise UsageError(f'the mapping file {path}: [columns."{name}"] must be a table')
        extra = sorted(set(spec) - allowed)
        if extra:
            known = ", ".join(sorted(allowed))
            raise UsageError(
                f'the mapping file {path}: [columns."{name}"] has unknown keys '
                f"{', '.join(extra)} (known: {known})"
            )
    return columns


def parse_maps(maps: Sequence[str]) -> dict[str, str]:
    """``--map COLUMN=api_name`` options (``COLUMN=`` leaves the column out)."""
    found: dict[str, str] = {}
    for item in maps:
        column, sep, api_name = item.rpartition("=")
        if not sep or not column:
            raise UsageError(f"--map {item!r}: use --map COLUMN=api_name (COLUMN= to leave it out)")
        found[column] = api_name.strip()
    return found


def build_mappings(
    source: Source,
    maps: dict[str, str],
    spec: dict[str, dict[str, Any]],
    problems: list[Problem],
) -> list[FieldMap]:
    """``field_mappings`` for the file: each column under its header as the field's API
    name (Zoho's convention), unless ``spec`` (a mapping file) or ``maps`` (``--map``)
    say otherwise. Columns named in either must exist."""
    headers = source.headers
    index_of = {name: i for i, name in reversed(list(enumerate(headers)))}
    for name in [*spec, *maps]:
        if name not in index_of:
            problems.append(
                Problem(
                    f"is mapped, but the file has no such column (its columns: "
                    f"{', '.join(h for h in headers if h.strip())})",
                    column=name,
                )
            )
    mappings: list[FieldMap] = []
    for i, name in enumerate(headers):
        if not name.strip() or index_of.get(name) != i:
            continue
        column = spec.get(name, {})
        api_name = str(column.get("api_name") or name).strip()
        if name in maps:
            api_name = maps[name]
        if column.get("skip") is True or not api_name:
            continue
        default = column.get("default")
        if default is not None and not isinstance(default, dict):
            default = {"value": default}
        find_by = _opt_str(column.get("find_by"))
        lookup = re.fullmatch(r"([A-Za-z][A-Za-z0-9_]*)\.([A-Za-z][A-Za-z0-9_]*)", api_name)
        if lookup and find_by is None:  # Zoho's lookup headers: Field.id, Field.Other_Field
            api_name, find_by = lookup[1], lookup[2]
        mappings.append(
            FieldMap(
                api_name,
                i,
                name,
                _opt_str(column.get("format")),
                find_by,
                _opt_str(column.get("module")),
                default,
            )
        )
    seen: dict[str, str] = {}
    for m in mappings:
        if m.api_name in seen:
            problems.append(
                Problem(f"maps to {m.api_name}, as column {seen[m.api_name]} does", column=m.column)
            )
        seen.setdefault(m.api_name, m.column or "")
    if not mappings and headers:
        problems.append(Problem("no column is mapped to a field"))
    return mappings


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def check_find_by(
    operation: str, find_by: str | None, mappings: Sequence[FieldMap], problems: list[Problem]
) -> None:
    if operation not in OPERATIONS:
        raise UsageError(f"--operation {operation!r}: use insert, update or upsert")
    if operation == "insert":
        if find_by:
            problems.append(Problem("--find-by is for update and upsert; insert adds every record"))
        return
    if not find_by:
        problems.append(
            Problem(
                f"{operation} needs --find-by FIELD: the field that finds each record "
                "(id, or a unique field such as Email)"
            )
        )
        return
    if find_by not in {m.api_name for m in mappings}:
        problems.append(Problem(f"--find-by {find_by}: no column is mapped to {find_by}"))


def resolve_find_by(find_by: str | None, mappings: Sequence[FieldMap]) -> str | None:
    """``--find-by`` matched case-insensitively to a mapped API name (``email`` → ``Email``,
    ``ID`` → ``id``); as given when nothing matches (the pre-flight then says so)."""
    if not find_by:
        return find_by
    if find_by.lower() == "id":
        return "id"
    names = {m.api_name for m in mappings}
    if find_by in names:
        return find_by
    folded = [n for n in names if n.lower() == find_by.lower()]
    return folded[0] if len(folded) == 1 else find_by


def prepare(
    path: Path,
    *,
    module: str,
    operation: str,
    find_by: str | None = None,
    maps: Sequence[str] = (),
    mapping_file: Path | None = None,
    ignore_empty: bool = False,
    encoding: str | None = None,
    callback: str | None = None,
) -> Plan:
    """The pre-flight: the plan for ``path``, or PreflightError listing every problem."""
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,99}", module):
        raise UsageError(f"--module {module!r} is not a module API name (like Leads or Deals)")
    if callback is not None:
        from zbulk.urls import check_https_url  # the HTTP layer's URL rules

        check_https_url(callback, "--callback")
    given = parse_maps(maps)
    spec = read_mapping_file(mapping_file) if mapping_file is not None else {}
    source, problems = inspect(path, encoding)
    mappings = build_mappings(source, given, spec, problems) if source.headers else []
    find_by = resolve_find_by(find_by, mappings)
    check_find_by(operation, find_by, mappings, problems)
    if problems:
        raise PreflightError(path, problems)
    charset = None
    if source.encoding not in ("utf-8", "utf-8-sig"):
        charset = encoding or source.encoding
    return Plan(source, module, operation, mappings, find_by, ignore_empty, callback, charset)


# -- the upload -------------------------------------------------------------------------


def build_zip(plan: Plan, directory: Path) -> Path:
    """The ZIP to upload, in ``directory``: the ZIP given as is, or the CSV deflated into
    a new one, streamed (never read whole)."""
    if plan.source.is_zip:
        return plan.source.path
    target = directory / plan.zip_name
    with files.new_zip(target, compresslevel=1) as archive:
        name = _safe_name(plan.source.member, "")  # level 1: fast, and still ~5x smaller
        with plan.source.path.open("rb") as src, archive.open(name, "w") as dest:
            shutil.copyfileobj(src, dest, CHUNK)
    return target


def upload_url(api_domain: str, api_version: str, origin: str | None = None) -> str:
    """Where uploads go: ``origin`` if given, else the upload host for the API domain's
    data centre (``zbulk.auth.datacentres.upload_origin``: configured, Zoho's, or the
    loopback host itself; a usage error for any other domain)."""
    from zbulk.auth.datacentres import upload_origin

    return f"{origin or upload_origin(api_domain)}/crm/{api_version}/upload"
