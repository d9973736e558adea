"""Creating bulk write jobs: the pre-flight of a CSV (or a ZIP holding one), the field
mappings, the ZIP streamed to a temporary file, and the bodies of the upload and create
requests. Prints nothing; ``zbulk.commands.job_import`` talks to the user and
``zbulk.client`` sends the requests.

The pre-flight reads the file through ``zbulk.user_file`` (the one reader of the user's
files), once, as a stream (memory does not grow with its size), and lists the problems it
finds (a capped number of each kind, the rest counted), each with its record and column,
before anything is sent: Zoho's limits (25 MB and 25,000 records per file, one CSV per ZIP
for modules without subforms, a delimiter among ``, ; : |``), headers present and unique,
not Zoho's result file, the file decoding in its encoding, records and no blank or empty
ones, every mapped column present, mapping defaults Zoho takes, ``find_by`` for update and
upsert.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zbulk import files
from zbulk.errors import UsageError
from zbulk.user_file import MAX_PART_BYTES, Problem, Problems, UserFile, is_result_header

MAX_FILE_BYTES = MAX_PART_BYTES  # Zoho: at most 25 MB per file
MAX_RECORDS = 25_000  # Zoho: at most 25,000 records per file
OPERATIONS = ("insert", "update", "upsert")
SHOWN_PROBLEMS = 20  # listed in the error; the rest are counted
CHUNK = 1 << 20
_UNDECODABLE = re.compile("[\udc80-\udcff]")


class PreflightError(UsageError):
    """The file fails the pre-flight: every problem found, nothing sent (exit 2)."""

    def __init__(self, path: Path | str, problems: Problems | Sequence[Problem]) -> None:
        if not isinstance(problems, Problems):
            found = Problems()
            found.extend(problems)
            problems = found
        kept = problems.kept[:SHOWN_PROBLEMS]
        kinds = {p.kind or p.message for p in kept}
        for p in problems.kept[SHOWN_PROBLEMS:]:  # the first of every kind is shown
            if (p.kind or p.message) not in kinds:
                kinds.add(p.kind or p.message)
                kept.append(p)
        shown = [f"  {p}" for p in kept]
        if problems.total > len(shown):
            shown.append(f"  … and {problems.total - len(shown):,} more")
        count = f"{problems.total:,} problem" + ("s" if problems.total != 1 else "")
        super().__init__(
            f"{path} fails the pre-flight ({count}); nothing was sent:\n" + "\n".join(shown),
            hint="fix the file (or the options) and run the command again; "
            "--dry-run checks without sending",
        )
        self.problems = problems


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

    source: UserFile
    module: str
    operation: str
    mappings: list[FieldMap]
    find_by: str | None = None
    ignore_empty: bool = False
    callback: str | None = None
    character_encoding: str | None = None

    @property
    def records(self) -> int:
        return self.source.records_seen

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


def inspect(
    path: Path, encoding: str | None = None, what: str = "FILE", *, one_file: bool = True
) -> tuple[UserFile, Problems]:
    """Read ``path`` once, as a stream, and return what it holds and the problems found
    (a capped number of each kind, the rest counted). A file that cannot be read at all, or
    (``one_file``) that is bigger than one upload takes, is a UsageError before it is read.
    With ``one_file`` False a file over Zoho's limits for one file is no problem: it is
    split into parts (``zbulk.jobs.split``)."""
    from zbulk.user_file import csv_members, is_zip, open_user_files

    problems = Problems()
    members = None
    if is_zip(path):
        infos, csvs = csv_members(path, what)
        if len(infos) != 1 or not csvs:
            names = ", ".join(i.filename for i in infos[:5]) or "nothing"
            more = "…" if len(infos) > 5 else ""
            problems.add(
                Problem(
                    f"the ZIP holds {len(infos)} files ({names}{more}): Zoho takes one CSV per "
                    "ZIP for a module without subforms"
                )
            )
        if not csvs:
            raise PreflightError(path, problems)
        members = csvs[:1]
    [source] = open_user_files(
        path,
        encoding=encoding,
        what=what,
        members=members,
        max_size=MAX_FILE_BYTES if one_file else None,
    )
    _scan(source, problems)
    if one_file and source.records_seen > MAX_RECORDS:
        problems.add(
            Problem(
                f"{source.records_seen:,} records: Zoho takes at most {MAX_RECORDS:,} per file; "
                "split it"
            )
        )
    return source, problems


def _scan(source: UserFile, problems: Problems) -> None:
    """Read the records as a stream; count them into ``source`` and note the problems."""
    headers = source.header
    _check_headers(headers, source.encoding.label, problems)
    if is_result_header(headers):
        problems.add(
            Problem(
                "the last columns are STATUS, RECORD_ID and ERRORS: this is a result file "
                "of Zoho's, not rows to import (send a job's failed rows with "
                "`zbulk job retry JOB_ID`)",
                record=0,
            )
        )
    width = len(headers)
    label = source.encoding.label

    def blank(line: int, count: int) -> None:
        what = "a blank line" if count == 1 else f"{count:,} blank lines"
        problems.add(Problem(f"{what} between records", line=line, kind="blank"))

    records = 0
    with source.records(on_blank=blank) as rows:
        for rec in rows:
            records = rec.number
            row = rec.cells
            if _UNDECODABLE.search(rec.text):
                for i, cell in enumerate(row):
                    if _UNDECODABLE.search(cell):
                        problems.add(
                            Problem(
                                f"bytes that are not {label} ({_shown_bytes(cell)}); "
                                + _encoding_hint(source.encoding.codec),
                                record=rec.number,
                                line=rec.line,
                                column=_column_name(headers, i),
                                kind="undecodable",
                            )
                        )
                        break
            if not any(cell.strip() for cell in row):
                problems.add(
                    Problem("empty record", record=rec.number, line=rec.line, kind="empty")
                )
            elif len(row) > width:
                problems.add(
                    Problem(
                        f"{len(row)} values, but the header has {width} columns "
                        "(a stray delimiter, or a value that needs quotes?)",
                        record=rec.number,
                        line=rec.line,
                        kind="width",
                    )
                )
    source.records_seen = records
    if records == 0:
        problems.add(
            Problem("the file has a header row but no records: nothing to import", record=0)
        )


def _check_headers(headers: list[str], encoding: str, problems: Problems) -> None:
    seen: dict[str, int] = {}
    if len(headers) == 1 and "\t" in headers[0]:
        problems.add(
            Problem(
                "the columns are separated by tabs: Zoho takes , ; : or | (save the file as CSV)",
                record=0,
                line=1,
            )
        )
    for i, name in enumerate(headers):
        label = f"{i + 1}"
        if _UNDECODABLE.search(name):
            problems.add(
                Problem(
                    f"bytes that are not {encoding}; " + _encoding_hint(encoding),
                    record=0,
                    column=label,
                )
            )
        if not name.strip():
            problems.add(Problem("empty header: every column needs a name", record=0, column=label))
            continue
        if name in seen:
            problems.add(
                Problem(
                    f"header {name!r} repeats column {seen[name] + 1}: headers must be unique",
                    record=0,
                    column=label,
                )
            )
        else:
            seen[name] = i


def _encoding_hint(encoding: str) -> str:
    if encoding.lower().startswith("utf"):
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
        where = f'the mapping file {path}: [columns."{name}"]'
        if not isinstance(spec, dict):
            raise UsageError(f"{where} must be a table")
        extra = sorted(set(spec) - allowed)
        if extra:
            known = ", ".join(sorted(allowed))
            raise UsageError(f"{where} has unknown keys {', '.join(extra)} (known: {known})")
        for key in ("api_name", "format", "find_by", "module"):
            if key in spec and not isinstance(spec[key], str):
                raise UsageError(f"{where}: {key} must be a string, not {_kind(spec[key])}")
        if "skip" in spec and not isinstance(spec["skip"], bool):
            raise UsageError(f"{where}: skip must be true or false")
        if "default" in spec:
            check_default(spec["default"], f"{where}: default")
    return columns


_SCALARS = (str, int, float, bool)


def check_default(value: Any, where: str) -> dict[str, Any]:
    """A mapping default as Zoho's ``default_value`` takes it: a string, an integer, a
    finite number or a boolean (sent as ``{"value": …}``), or a table of those (for lookups
    and users, e.g. ``{name = "Zylker"}``). Anything else (a date or time, NaN, an infinity,
    a list, a nested table) is a UsageError naming ``where``."""
    if isinstance(value, dict):
        if not value:
            raise UsageError(f"{where} is an empty table")
        for key, item in value.items():
            if not isinstance(key, str):
                raise UsageError(f"{where} has a key that is not a string")
            _check_scalar(item, f"{where}.{key}")
        return value
    _check_scalar(value, where)
    return {"value": value}


def _check_scalar(value: Any, where: str) -> None:
    import math

    if not isinstance(value, _SCALARS):
        raise UsageError(
            f"{where} is {_kind(value)}: a default is a string, an integer, a number or "
            "true/false (or a table of those)",
            hint='write dates and times as strings, e.g. default = "2024-01-31"',
        )
    if isinstance(value, float) and not math.isfinite(value):
        raise UsageError(f"{where} is {value}: a default must be a finite number")


def _kind(value: Any) -> str:
    import datetime as dt

    kinds = (
        (bool, "a boolean"),
        (int, "an integer"),
        (float, "a number"),
        (str, "a string"),
        (dt.datetime, "a date and time"),
        (dt.date, "a date"),
        (dt.time, "a time"),
        (list, "an array"),
        (dict, "a table"),
    )
    return next((name for cls, name in kinds if isinstance(value, cls)), type(value).__name__)


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
    source: UserFile,
    maps: dict[str, str],
    spec: dict[str, dict[str, Any]],
    problems: Problems,
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
        if default is not None:
            default = check_default(default, f'[columns."{name}"] default')
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
    operation: str, find_by: str | None, mappings: Sequence[FieldMap], problems: Problems
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
    one_file: bool = True,
) -> Plan:
    """The pre-flight: the plan for ``path``, or PreflightError listing every problem.
    With ``one_file`` False the file may be over Zoho's limits for one file (it is split)."""
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,99}", module):
        raise UsageError(f"--module {module!r} is not a module API name (like Leads or Deals)")
    if callback is not None:
        from zbulk.urls import check_https_url  # the HTTP layer's URL rules

        check_https_url(callback, "--callback")
    given = parse_maps(maps)
    spec = read_mapping_file(mapping_file) if mapping_file is not None else {}
    source, problems = inspect(path, encoding, one_file=one_file)
    mappings = build_mappings(source, given, spec, problems) if source.headers else []
    find_by = resolve_find_by(find_by, mappings)
    check_find_by(operation, find_by, mappings, problems)
    if problems:
        raise PreflightError(path, problems)
    charset = source.encoding.charset
    if charset is not None and encoding is not None and source.encoding.unit == 1:
        charset = encoding  # as the user spelled it
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
    data centre (``zbulk.datacentres.upload_origin``: configured, Zoho's, or the
    loopback host itself; a usage error for any other domain)."""
    from zbulk.datacentres import upload_origin

    return f"{origin or upload_origin(api_domain)}/crm/{api_version}/upload"
