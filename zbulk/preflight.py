"""The import pre-flight against the org's fields: every mapped column and every value checked
before anything is sent, each finding naming its row, column and fix.

Column checks (``check_columns``): each *mapped* API name is a field of the module (a display
label or near miss suggests the API name), not read-only; at most 200 columns; the mandatory
fields (system-mandatory, and the default layout's) mapped for insert and upsert; ``find_by``
is ``id`` or a unique field. Value checks (``check_rows``): one checker per column, compiled
once from its field, over every cell as a stream; refusals (``REFUSED``) hold a row back,
warnings (Zoho's rules are not published precisely) never do. Duplicates on unique fields and
on ``find_by`` are looked for across the whole file, following each field's
``casesensitive``; the first row holding a value keeps it.

What Zoho's pages leave open, and what is relied on here: numbers may carry ``,`` thousands
separators (refusing them would be unsure, so they pass); booleans are ``true``/``false``
(others warn); multi-select values are separated by ``;`` (values outside the list warn);
date-times are ISO 8601 with an offset (others warn).

Prints nothing; the command shows the ``Report``.
"""

from __future__ import annotations

import calendar
import difflib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from zbulk.import_plan import FieldMap, Plan
    from zbulk.metadata import FieldInfo, Metadata

MAX_COLUMNS = 200
SHOWN_ROWS = 5
NUMBER_TYPES = frozenset({"integer", "bigint", "double", "currency", "percent", "decimal"})
_LIMITS = {"integer": 2**31 - 1, "bigint": 2**63 - 1}
# code: (refused?, explanation)
CODES = {
    "UNKNOWN_MODULE": (True, "the org has no such module"),
    "UNKNOWN_FIELD": (True, "the module has no field of that API name"),
    "NOT_AN_API_NAME": (True, "an API name holds only letters, digits and underscores"),
    "READ_ONLY": (True, "the field is read-only: Zoho fills it"),
    "TOO_MANY_COLUMNS": (True, "Zoho takes at most 200 columns"),
    "MANDATORY_NOT_MAPPED": (True, "a mandatory field has no column"),
    "FIND_BY": (True, "find_by must be id or a unique field"),
    "MANDATORY_NOT_FOUND": (True, "a mandatory field is empty"),
    "TOO_LONG": (True, "the value is longer than the field takes"),
    "NOT_A_NUMBER": (True, "the field takes a number"),
    "INVALID_EMAIL": (True, "the value is not an email address"),
    "INVALID_DATE": (True, "the date does not match its format"),
    "INVALID_LOOKUP_ID": (True, "a lookup id is all digits"),
    "DUPLICATE_DATA": (True, "the value repeats an earlier row's in a unique field"),
    "DUPLICATE_FIND_BY": (True, "two rows find the same record"),
    "PHONE_FORMAT": (False, "the phone number has unusual characters"),
    "BOOLEAN": (False, "Zoho takes true or false"),
    "DATETIME": (False, "date-times are ISO 8601 with an offset, like 2024-05-01T09:30:00+02:00"),
    "MULTISELECT": (False, "a value is not one of the field's choices (Zoho adds or refuses it)"),
    "PICKLIST": (False, "the value is not one of the field's choices"),
    "DECIMALS": (False, "more decimal places than the field keeps: Zoho rounds"),
}
REFUSED = frozenset(code for code, (refused, _) in CODES.items() if refused)

_EMAIL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,63}"
)
_INTEGER = re.compile(r"[+-]?[0-9]+")
_NUMBER = re.compile(  # a digit at least; "," only as a thousands separator
    r"[+-]?(?:(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.([0-9]*))?|\.([0-9]+))(?:[eE][+-]?[0-9]+)?"
)
_PHONE = re.compile(r"[0-9+()\-. /x#*]+")
_DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:?\d\d)")
_JAVA_DATE = {
    "yyyy": r"(?P<y>\d{4})",
    "yy": r"(?P<y>\d{2})",
    "MM": r"(?P<m>\d{2})",
    "M": r"(?P<m>\d{1,2})",
    "dd": r"(?P<d>\d{2})",
    "d": r"(?P<d>\d{1,2})",
    "HH": r"\d{2}",
    "mm": r"\d{2}",
    "ss": r"\d{2}",
}

_API_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
Checker = Callable[[str], str | None]


@dataclass
class Group:
    """Every finding of one code in one column."""

    code: str
    column: str
    api_name: str
    fix: str
    count: int = 0
    rows: list[int] = field(default_factory=list)
    example: str = ""

    @property
    def refused(self) -> bool:
        return self.code in REFUSED

    def as_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "column": self.column,
            "api_name": self.api_name,
            "refused": self.refused,
            "explanation": CODES[self.code][1],
            "fix": self.fix,
            "count": self.count,
            "first_rows": self.rows,
        }


@dataclass
class Report:
    """What the pre-flight found: column problems (nothing can be sent), groups of row
    findings, and which rows would be rejected."""

    module: str
    records: int = 0
    columns: list[Group] = field(default_factory=list)
    groups: dict[tuple[str, str], Group] = field(default_factory=dict)
    rejected: set[int] = field(default_factory=set)  # record numbers, 1 for the first
    metadata: str = "checked"  # "checked", "cached", "unavailable", "skipped"

    def add(
        self, code: str, column: str, api_name: str, fix: str, row: int | None, example: str = ""
    ) -> None:
        if row is None:
            self.columns.append(Group(code, column, api_name, fix, 1))
            return
        group = self.groups.get((code, column))
        if group is None:
            group = self.groups[(code, column)] = Group(code, column, api_name, fix, 0, [], example)
        group.count += 1
        if len(group.rows) < SHOWN_ROWS:
            group.rows.append(row)
        if code in REFUSED:
            self.rejected.add(row)

    @property
    def blocked(self) -> bool:
        """Column problems: no row can go."""
        return any(g.refused for g in self.columns)

    def warnings(self) -> list[Group]:
        return [g for g in self.groups.values() if not g.refused]

    def refusals(self) -> list[Group]:
        return [g for g in self.groups.values() if g.refused]

    def as_json(self) -> dict[str, Any]:
        return {
            "module": self.module,
            "records": self.records,
            "rejected": len(self.rejected),
            "passing": self.records - len(self.rejected),
            "metadata": self.metadata,
            "columns": [g.as_json() for g in self.columns],
            "rows": [
                g.as_json()
                for g in sorted(
                    self.groups.values(), key=lambda g: (not g.refused, g.code, g.column)
                )
            ],
        }


# -- columns ---------------------------------------------------------------------------------


def suggest(name: str, meta: Metadata) -> str | None:
    """The field meant by a header that is not an API name: its display label (any case,
    spaces or underscores), its API name in another case, or the closest API name."""
    key = re.sub(r"[\s_]+", "_", name.strip()).lower()
    for f in meta.fields.values():
        if key in (f.api_name.lower(), re.sub(r"[\s_]+", "_", f.label.strip()).lower()):
            return f.api_name
    close = difflib.get_close_matches(name, list(meta.fields), n=1, cutoff=0.75)
    return close[0] if close else None


def check_columns(plan: Plan, meta: Metadata, report: Report) -> None:
    fields = meta.fields
    if len(plan.mappings) > MAX_COLUMNS:
        report.add(
            "TOO_MANY_COLUMNS",
            f"{len(plan.mappings)} columns",
            "",
            "split the columns over two files, or leave some out with --map COLUMN=",
            None,
        )
    for m in plan.mappings:
        column = m.column or m.api_name
        f = fields.get(m.api_name)
        if f is None:
            meant = suggest(m.api_name, meta)
            if meant:
                fix = (
                    f"did you mean {meant}? rename the header to {meant}, or pass "
                    f"--map {_arg(column)}={meant}"
                )
            else:
                fix = f"map it to a field of {meta.module} with --map {_arg(column)}=API_NAME, "
                fix += f"or leave it out with --map {_arg(column)}="
            report.add("UNKNOWN_FIELD", column, m.api_name, fix, None)
        elif f.read_only:
            report.add(
                "READ_ONLY",
                column,
                m.api_name,
                f"leave the column out with --map {_arg(column)}=",
                None,
            )
    mapped = {m.api_name for m in plan.mappings}
    if plan.operation in ("insert", "upsert"):
        for name in meta.mandatory():
            if name not in mapped:
                label = fields[name].label if name in fields else name
                report.add(
                    "MANDATORY_NOT_MAPPED",
                    name,
                    name,
                    f"add a column for {name} ({label}), or --map COLUMN={name}",
                    None,
                )
    if plan.find_by and plan.find_by != "id":
        f = fields.get(plan.find_by)
        if f is None or not f.unique:
            uniques = ", ".join(["id", *(f.api_name for f in fields.values() if f.unique)])
            report.add(
                "FIND_BY",
                plan.find_by,
                plan.find_by,
                f"--find-by takes id or a unique field: {uniques}",
                None,
            )


def check_names(plan: Plan, report: Report) -> None:
    """The file-only part: a mapped name that cannot be an API name (letters, digits and
    underscores) is refused, with the API name it most likely is (``First Name`` →
    ``First_Name``)."""
    for m in plan.mappings:
        if not _API_NAME.fullmatch(m.api_name):
            column = m.column or m.api_name
            meant = re.sub(r"\W+", "_", m.api_name.strip()).strip("_")
            fix = f"map it to a field with --map {_arg(column)}=API_NAME"
            if meant and _API_NAME.fullmatch(meant):
                fix = (
                    f"did you mean {meant}? rename the header to {meant}, or pass "
                    f"--map {_arg(column)}={meant}"
                )
            report.add("NOT_AN_API_NAME", column, m.api_name, fix, None)


def _arg(column: str) -> str:
    import shlex

    return shlex.quote(column) if re.search(r"[^\w.-]", column) else column


# -- values ----------------------------------------------------------------------------------


def _date_checker(fmt: str) -> Checker | None:
    """A checker for dates written as ``fmt`` (Java's letters, as Zoho's mappings take them:
    yyyy, yy, MM, M, dd, d, HH, mm, ss); None for a format with other letters (unsure)."""
    parts = re.split(r"(yyyy|yy|MM|M|dd|d|HH|mm|ss)", fmt)
    pattern, named = "", set()
    for n, part in enumerate(parts):
        if n % 2 == 0:
            if re.search(r"[A-Za-z]", part):
                return None
            pattern += re.escape(part)
            continue
        regex = _JAVA_DATE[part]
        name = regex[4]  # the group's name: y, m or d
        if regex.startswith("(?P<") and name in named:
            regex = "(?:" + regex[regex.index(">") + 1 :]
        named.add(name)
        pattern += regex
    compiled = re.compile(pattern)

    def check(value: str) -> str | None:
        found = compiled.fullmatch(value)
        if found is None:
            return "INVALID_DATE"
        groups = found.groupdict()
        y = int(groups.get("y") or 2000)
        mo = int(groups.get("m") or 1)
        d = int(groups.get("d") or 1)
        year = y if y > 99 else 2000 + y
        if not (1 <= mo <= 12 and 1 <= d <= calendar.monthrange(year, mo)[1]):
            return "INVALID_DATE"
        return None

    return check


_UNMEASURED = frozenset(
    {"boolean", "date", "datetime", "picklist", "multiselectpicklist", "lookup", "ownerlookup"}
)


def _checker(f: FieldInfo, m: FieldMap) -> Checker | None:
    """One function for every cell of the column: None when the value passes, else the
    code of what is wrong with it. Built once per column, the field's length folded in (a
    call per cell, not two)."""
    kind = f.data_type
    most = f.length if f.length and kind not in _UNMEASURED else 1 << 62
    check: Checker | None = None
    if kind in _LIMITS:
        limit, integer = _LIMITS[kind], _INTEGER.fullmatch

        def check(v: str) -> str | None:
            if integer(v) is None or abs(int(v)) > limit:
                return "NOT_A_NUMBER"
            return "TOO_LONG" if len(v.lstrip("+-")) > most else None

    elif kind in NUMBER_TYPES:
        places, number = f.decimal_place, _NUMBER.fullmatch

        def check(v: str) -> str | None:
            found = number(v)
            if found is None:
                return "NOT_A_NUMBER"
            if len(v) > most:
                return "TOO_LONG"
            decimals = found.group(1) or found.group(2)
            if places is not None and decimals and len(decimals) > places:
                return "DECIMALS"
            return None

    elif kind == "email":
        email = _EMAIL.fullmatch

        def check(v: str) -> str | None:
            if len(v) > most:
                return "TOO_LONG"
            return None if email(v) else "INVALID_EMAIL"

    elif kind == "date":
        check = _date_checker(m.format or "yyyy-MM-dd")
    elif kind == "datetime":
        check = lambda v: None if _DATETIME.fullmatch(v) else "DATETIME"  # noqa: E731
    elif kind == "phone":
        phone = _PHONE.fullmatch

        def check(v: str) -> str | None:
            if len(v) > most:
                return "TOO_LONG"
            return None if phone(v) else "PHONE_FORMAT"

    elif kind == "boolean":
        check = lambda v: None if v.lower() in ("true", "false") else "BOOLEAN"  # noqa: E731
    elif kind in ("lookup", "ownerlookup"):
        if m.find_by in (None, "id"):
            check = lambda v: None if v.isascii() and v.isdigit() else "INVALID_LOOKUP_ID"  # noqa: E731
    elif kind == "picklist":
        if f.picklist:
            allowed = frozenset(f.picklist)
            check = lambda v: None if v in allowed else "PICKLIST"  # noqa: E731
    elif kind == "multiselectpicklist":
        if f.picklist:
            choices = frozenset(f.picklist)
            check = lambda v: (  # noqa: E731
                None if all(p.strip() in choices for p in v.split(";")) else "MULTISELECT"
            )
    elif most < 1 << 62:
        check = lambda v: "TOO_LONG" if len(v) > most else None  # noqa: E731
    return check


_FIXES = {
    "MANDATORY_NOT_FOUND": "fill it in",
    "TOO_LONG": "shorten it to {length} characters",
    "NOT_A_NUMBER": "write a plain number such as 1250.50 (no currency signs or words)",
    "DECIMALS": "round it to {places} decimal places",
    "INVALID_EMAIL": "write an address like name@example.com",
    "INVALID_DATE": "write it as {format}, or give the column's format in a mapping file",
    "INVALID_LOOKUP_ID": "write the record's id (digits), or map the column as {api}.Other_Field "
    "to find the record by another field",
    "DUPLICATE_DATA": "keep one row per value ({api} is unique)",
    "DUPLICATE_FIND_BY": "keep one row per record",
    "PHONE_FORMAT": "check the number",
    "BOOLEAN": "write true or false",
    "DATETIME": "write it like 2024-05-01T09:30:00+02:00",
    "PICKLIST": "use one of: {choices}",
    "MULTISELECT": "separate values with ; and use the field's choices: {choices}",
}


def _fix(code: str, f: FieldInfo | None, m: FieldMap) -> str:
    choices = ", ".join((f.picklist if f else ())[:10])
    return _FIXES[code].format(
        length=f.length if f else "",
        places=f.decimal_place if f else "",
        format=m.format or "yyyy-MM-dd",
        api=m.api_name,
        choices=choices,
    )


@dataclass
class _Column:
    index: int
    column: str
    mapping: FieldMap
    field: FieldInfo | None
    check: Checker | None
    mandatory: bool
    unique: bool  # duplicates looked for
    fold: bool  # compare lower-cased
    code: str  # the duplicate code


def compile_columns(plan: Plan, meta: Metadata) -> list[_Column]:
    mandatory = set(meta.mandatory()) if plan.operation == "insert" else set()
    out = []
    for m in plan.mappings:
        if m.index is None:
            continue
        f = meta.fields.get(m.api_name)
        if f is None or f.read_only:
            continue
        is_find_by = plan.find_by is not None and m.api_name == plan.find_by
        unique = (f.unique and plan.operation == "insert") or is_find_by
        out.append(
            _Column(
                m.index,
                m.column or m.api_name,
                m,
                f,
                _checker(f, m),
                m.api_name in mandatory,
                unique,
                not f.casesensitive,
                "DUPLICATE_FIND_BY" if is_find_by else "DUPLICATE_DATA",
            )
        )
    return out


def check_rows(plan: Plan, meta: Metadata, report: Report, records: Iterator[list[str]]) -> None:
    """Every value of every mapped column; duplicates across the whole file. The loop is
    the hot path (25,000 rows x 30 columns): per cell one strip and at most one call."""
    columns = compile_columns(plan, meta)
    checked = [(c.index, c.check, c.mandatory and not c.mapping.default_value, c) for c in columns]
    uniques = [(c.index, c.fold, set[str](), c) for c in columns if c.unique]
    fixes: dict[tuple[str, int], str] = {}
    add = report.add
    n = 0
    for n, cells in enumerate(records, 1):
        width = len(cells)
        found: list[tuple[str, _Column, str]] | None = None
        for index, check, mandatory, c in checked:
            value = cells[index].strip() if index < width else ""
            if not value:
                if mandatory:
                    found = found or []
                    found.append(("MANDATORY_NOT_FOUND", c, value))
            elif check is not None:
                code = check(value)
                if code is not None:
                    found = found or []
                    found.append((code, c, value))
        refused = found is not None and any(code in REFUSED for code, _, _ in found)
        if uniques and not refused:
            keys = []
            for index, fold, seen, c in uniques:
                value = cells[index].strip() if index < width else ""
                if value:
                    key = value.lower() if fold else value
                    if key in seen:
                        found = found or []
                        found.append((c.code, c, value))
                        refused = True
                    keys.append((seen, key))
            if not refused:  # the first row holding a value keeps it (as Zoho adds it)
                for seen, key in keys:
                    seen.add(key)
        if found:
            for code, c, value in found:
                fix = fixes.get((code, c.index))
                if fix is None:
                    fix = fixes[(code, c.index)] = _fix(code, c.field, c.mapping)
                add(code, c.column, c.mapping.api_name, fix, n, value[:60])
    report.records = n


def run(plan: Plan, meta: Metadata, records: Iterator[list[str]], report: Report) -> Report:
    check_columns(plan, meta, report)
    if not report.blocked:
        check_rows(plan, meta, report, records)
    else:
        report.records = plan.records
    return report
