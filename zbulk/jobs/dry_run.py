"""``--dry-run``'s requests: what ``zbulk job import`` (or ``job retry``) would send, in
order, the token redacted. Sends nothing and prints nothing: the command shows them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    from zbulk.import_plan import Plan
    from zbulk.jobs.import_record import ImportRecord, PartState
    from zbulk.orgid import Org

VERBS = {"insert": "Import", "update": "Update with", "upsert": "Upsert"}


def what(record: ImportRecord) -> str:
    """The import in words: "Import 120,000 records of leads.csv into Leads (insert)…"."""
    from zbulk.jobs.importing import describe

    op = record.settings["operation"]
    return f"{VERBS.get(op, op)} {describe(record)}"


@dataclass(frozen=True)
class PlannedRequests:
    what: str  # "Import 3 records into Leads (insert)"
    requests: list[dict[str, Any]]
    of_part: str  # " (of part 1)" when the import has several parts, else ""


def planned_requests(
    plan: Plan,
    archive: Path,
    url: str,
    known: Org | None,
    api_domain: str,
    api_version: str,
    part: PartState | None = None,
) -> PlannedRequests:
    """The requests for ``archive`` (the upload body of ``plan``, or of ``part``, the
    first of several: its own CSV): the org (unless ``known``), the upload to ``url``, the
    create."""
    from zbulk.http import MultipartFile

    auth = "Zoho-oauthtoken ***"
    requests: list[dict[str, Any]] = []
    if known is None:
        org_url = f"{api_domain}/crm/{api_version}/org"
        requests.append({"method": "GET", "url": org_url, "headers": {"Authorization": auth}})
        org_id = f"<the zgid of GET {org_url}>"
    else:
        org_id = known.id
    body = MultipartFile(archive, plan.zip_name)
    body.close()
    form = {
        "file": {
            "filename": archive.name if part else plan.zip_name,
            "bytes": archive.stat().st_size,
            "csv": archive.with_suffix(".csv").name if part else plan.source.member,
            "csv_bytes": part.size if part else plan.source.size,
            "records": part.records if part else plan.records,
        }
    }
    requests.append(
        {
            "method": "POST",
            "url": url,
            "headers": {
                "Authorization": auth,
                "feature": "bulk-write",
                "X-CRM-ORG": org_id,
                "Content-Type": "multipart/form-data; boundary=<random>",
                "Content-Length": str(body.length),
            },
            "form": form,
        }
    )
    create = f"{api_domain}/crm/bulk/{api_version}/write"
    requests.append(
        {
            "method": "POST",
            "url": create,
            "headers": {"Authorization": auth, "Content-Type": "application/json"},
            "body": plan.create_body("<file_id from the upload's answer>", api_version),
        }
    )
    n = plan.records
    records = f"{n:,} record" + ("s" if n != 1 else "")
    what = f"{VERBS[plan.operation]} {records} into {plan.module} ({plan.operation})"
    return PlannedRequests(what, requests, " (of part 1)" if part else "")
