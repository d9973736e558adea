"""``job import``'s check against the org's modules and fields (``zbulk.metadata``,
``zbulk.preflight``), between the file's own pre-flight and the upload.

The report goes to stderr (with ``--json``, as one document on stdout when it stops the
import); the rows that would be rejected go whole to ``<source stem>-rejected.csv`` in
``--output-dir``. Any refused row stops the import (exit 2, nothing sent) unless
``--skip-invalid``, which sends only the rows that pass.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from zbulk.context import AppContext
    from zbulk.import_plan import Plan
    from zbulk.metadata import Metadata
    from zbulk.output import Output
    from zbulk.preflight import Report
    from zbulk.user_file import UserFile


def check_against_org(
    app_ctx: AppContext,
    plan: Plan,
    *,
    org: str | None,
    refresh: bool,
    skip_invalid: bool,
    output_dir: Path,
    force: bool,
    as_json: bool,
    workdir: Path,
    dry_run: bool = False,
) -> Plan:
    """The plan to send: ``plan`` itself, or (``skip_invalid``) one whose file holds only
    the rows that pass. Raises UsageError (exit 2) when the import must stop."""
    from zbulk import metadata, orgid

    out, settings = app_ctx.output, app_ctx.settings
    known = orgid.known(org, settings.profile, settings.api_domain)
    org_key = known.id if known else f"profile {settings.profile}"
    warned: list[str] = []

    def warn(message: str) -> None:
        if message not in warned:
            warned.append(message)
            out.warn(message)

    import contextlib

    # --dry-run sends nothing (not even reads): only metadata kept from an earlier run
    opened = contextlib.nullcontext(None) if dry_run else app_ctx.client()
    with opened as client:
        meta = metadata.load(
            client, org_key, settings.api_domain, plan.module, refresh=refresh, warn=warn
        )
        if meta is None:
            return file_only(app_ctx.output, plan, as_json)
        report = _check(plan, meta)
        if (report.blocked or report.rejected) and meta.from_cache and client is not None:
            # a refusal on kept metadata: read it again once (the org may have changed)
            fresh = metadata.load(
                client, org_key, settings.api_domain, plan.module, refresh=True, warn=warn
            )
            if fresh is None:
                return file_only(app_ctx.output, plan, as_json)
            meta, report = fresh, _check(plan, fresh)
    return _conclude(out, plan, meta, report, skip_invalid, output_dir, force, as_json, workdir)


def file_only(out: Output, plan: Plan, as_json: bool) -> Plan:
    """The checks that need no metadata (``--no-metadata``, or none readable): mapped
    names that cannot be API names."""
    from zbulk.preflight import Report, check_names

    report = Report(plan.module, plan.records, metadata="unavailable")
    check_names(plan, report)
    if report.columns:
        _stop(out, plan, report, as_json)
    return plan


def _stop(out: Output, plan: Plan, report: Report, as_json: bool) -> None:
    from zbulk.errors import UsageError
    from zbulk.reports import PreflightReport

    out.emit(PreflightReport(report, _said(plan, report)), as_json=as_json)
    fit = (
        "are not all field API names"
        if report.metadata == "unavailable"
        else (f"do not fit the fields of {plan.module}")
    )
    raise UsageError(
        f"the columns of {plan.source.path.name} {fit} (see above); nothing was sent",
        hint="fix the columns (rename the headers, or --map COLUMN=API_NAME) and run the "
        "command again; --dry-run checks without sending",
    )


def _check(plan: Plan, meta: Metadata) -> Report:
    from zbulk.preflight import Report, run

    report = Report(plan.module)
    with plan.source.records() as records:
        run(plan, meta, (r.cells for r in records), report)
    return report


def _conclude(
    out: Output,
    plan: Plan,
    meta: Metadata,
    report: Report,
    skip_invalid: bool,
    output_dir: Path,
    force: bool,
    as_json: bool,
    workdir: Path,
) -> Plan:
    from zbulk.errors import UsageError

    if report.blocked:
        _stop(out, plan, report, as_json)
    from zbulk.reports import PreflightReport

    stops = bool(report.rejected) and not skip_invalid  # --json: the findings are the result
    out.emit(PreflightReport(report, _said(plan, report), final=stops), as_json=as_json)
    if not report.rejected:
        return plan
    rejected_path = output_dir / f"{plan.source.path.stem}-rejected.csv"
    passing = report.records - len(report.rejected)
    kept = _write_rows(
        plan,
        report.rejected,
        rejected_path,
        force,
        workdir / plan.source.member.rsplit("/", 1)[-1] if skip_invalid else None,
    )
    held = f"{len(report.rejected):,} of {report.records:,} rows"
    if not skip_invalid:
        raise UsageError(
            f"{held} would be rejected by the fields of {plan.module}; nothing was sent. "
            f"They are in {rejected_path}",
            hint=f"fix them and run the command again, or add --skip-invalid to upload only "
            f"the {passing:,} rows that pass ({len(report.rejected):,} stay in "
            f"{rejected_path.name})",
        )
    if passing == 0:
        raise UsageError(
            f"no row passes the pre-flight ({held} would be rejected); nothing "
            f"was sent. They are in {rejected_path}"
        )
    out.note(
        f"--skip-invalid: {passing:,} rows go, {len(report.rejected):,} stay (in {rejected_path})"
    )
    assert kept is not None
    source = replace(
        plan.source,
        path=kept,
        member=kept.name,
        is_zip=False,
        size=kept.stat().st_size,
        records_seen=passing,
    )
    return replace(plan, source=source)


def _said(plan: Plan, report: Report) -> str | None:
    """The findings as a note: a head line and one line per finding; None: none."""
    lines: list[str] = []
    for g in report.columns:
        lines.append(f"  {g.code}: column {g.column}: {_explain(g.code)}; {g.fix}")
    for g in sorted(report.groups.values(), key=lambda g: (not g.refused, g.code, g.column)):
        rows = ", ".join(f"{r:,}" for r in g.rows) + (" …" if g.count > len(g.rows) else "")
        what = "refused" if g.refused else "warning"
        column = g.column if g.column == g.api_name else f"{g.column} ({g.api_name})"
        lines.append(
            f"  {g.code} ({what}): column {column}: {g.count:,} row"
            f"{'s' if g.count != 1 else ''} (rows {rows}): {_explain(g.code)}; {g.fix}"
        )
    if not lines:
        return None
    head = f"checked {plan.source.path.name} against the fields of {plan.module}"
    if report.metadata == "unavailable":
        head = f"checked {plan.source.path.name} (the file alone)"
    if report.blocked:
        head += ": its columns do not fit, so no row can be sent"
    elif report.rejected:
        head += f": {len(report.rejected):,} of {report.records:,} rows would be rejected"
    else:
        head += f": every row passes ({len(report.warnings())} kinds of warning)"
    return "\n".join([head + ":", *lines])


def _explain(code: str) -> str:
    from zbulk.preflight import CODES

    return CODES[code][1]


def _write_rows(
    plan: Plan, rejected: set[int], target: Path, force: bool, kept: Path | None
) -> Path | None:
    """The rejected rows, whole, to ``target`` (and, given ``kept``, the others to it), in
    the file's own delimiter, encoding, BOM and line ends."""
    import os

    from zbulk import files
    from zbulk.errors import LocalFileError
    from zbulk.user_file import TEXT_ERRORS as ERRORS

    source: UserFile = plan.source
    files.output_dir(target.parent)
    if os.path.lexists(target) and not force:
        raise LocalFileError(
            f"{target} already exists; nothing was written and nothing sent",
            hint="add --force to replace it, or choose another --output-dir",
        )
    codec = source.encoding.codec
    bad = files.create_output(target, force=force, encoding=codec, errors=ERRORS)
    good = (
        files.create_output(kept, force=True, encoding=codec, errors=ERRORS)
        if kept is not None
        else None
    )
    try:
        with source.records() as records:
            for f in (bad, good):
                if f is not None:
                    if source.encoding.bom:
                        f.handle.buffer.write(source.encoding.bom)  # type: ignore[attr-defined]
                    f.write(source.header_text)
            for record in records:
                if record.number in rejected:
                    bad.write(record.text)
                elif good is not None:
                    good.write(record.text)
        bad.publish()
        if good is not None:
            good.publish()
    finally:
        bad.discard()
        if good is not None:
            good.discard()
    return kept
