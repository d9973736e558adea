"""Imports found and brought up to date: the record named (or the newest unfinished one
of a profile and API domain), its parts' states fetched again, its source kept beside it,
and the org it goes to. Prints nothing."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from zbulk.client import ZohoClient
    from zbulk.jobs.import_record import ImportRecord
    from zbulk.orgid import Org


def find_import(profile: str, api_domain: str, import_id: str | None) -> ImportRecord:
    """The import named, or the newest unfinished one of ``profile`` and ``api_domain``;
    a ``UsageError`` when it was made elsewhere, or none (or several) is unfinished."""
    from zbulk.errors import UsageError
    from zbulk.jobs import import_record as rec

    domain = api_domain.rstrip("/").lower()
    if import_id is not None:
        record = rec.load(rec.check_id(import_id))
        if (record.profile, record.api_domain) != (profile, domain):
            raise UsageError(
                f"import {record.id} was made with profile {record.profile} against "
                f"{record.api_domain}, not {profile} against {domain}",
                hint=f"add --profile {record.profile} --api-domain {record.api_domain}",
            )
        return record
    open_ = [r for r in rec.of_scope(profile, domain) if not r.finished]
    if not open_:
        raise UsageError(
            f"no unfinished import of profile {profile} against {domain}",
            hint="zbulk job recent lists the imports made here",
        )
    if len(open_) > 1:
        listed = "\n".join(
            f"  {r.id}  {Path(r.source['path']).name}  {len(r.parts)} parts" for r in open_[:20]
        )
        raise UsageError(
            f"{len(open_)} unfinished imports of profile {profile}; say which:\n" + listed,
            hint=f"zbulk job import --resume {open_[0].id}",
        )
    return open_[0]


def refresh_parts(client: ZohoClient, record: ImportRecord) -> None:
    """Fetch each unfinished part's job and note its state in the record (saved)."""
    from zbulk.jobs import import_record as rec
    from zbulk.jobs.importing import update_part
    from zbulk.models import Job

    todo = [p for p in record.parts if p.job_id and p.state not in rec.FINISHED]
    if not todo:
        return
    for part in todo:
        assert part.job_id is not None
        update_part(part, Job.read(client.get_job(part.job_id).doc))
    rec.save(record)


def keep_copy(record: ImportRecord) -> None:
    """The record's source (each resource's) copied beside the record (0600), and the
    record pointed at it."""
    for n, segment in enumerate(record.segments()):
        _keep_copy(segment, f"-{n + 1}" if record.resources else "")
        if n == 0:
            record.source["path"] = segment.source["path"]


def _keep_copy(record: ImportRecord, tag: str) -> None:
    from zbulk import files
    from zbulk.jobs import import_record as rec

    source = Path(record.source["path"])
    kept = rec.directory() / f"{record.id}-source{tag}{source.suffix.lower() or '.csv'}"
    with (
        files.open_private_for_write(kept, durable=True, binary=True) as dest,
        source.open("rb") as src,
    ):
        while chunk := src.read(1 << 20):
            dest.write(chunk)
    record.source["path"] = str(kept)


def org_of(client: ZohoClient, profile: str, api_domain: str, known: Org | None) -> Org:
    """``known``, else the org Zoho answers for (kept for the profile and API domain)."""
    from zbulk import orgid

    if known is not None:
        return known
    org = orgid.from_answer(client.get_org().doc)
    orgid.keep(profile, api_domain, org)
    return org
