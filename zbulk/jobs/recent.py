"""The jobs of this profile's history: the unfinished ones (to follow, to fetch again),
and each import's jobs marked and kept together (``zbulk job recent``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from zbulk.client import ZohoClient
    from zbulk.history import Scope


def unfinished(scope: Scope) -> list[str]:
    """Ids of the jobs in this profile's (and API domain's) history not last seen
    finished, oldest first."""
    from zbulk.history import entries
    from zbulk.models import is_finished

    ids = [str(e["id"]) for e in entries(scope) if not is_finished(e.get("status"))]
    return [job_id for job_id in reversed(ids) if job_id.isdigit()]


def refresh_unfinished(
    client: ZohoClient, seen: list[dict[str, object]], scope: Scope, warn: Callable[[str], None]
) -> None:
    """Fetch each job of ``seen`` not last seen finished and record its status in
    ``scope``'s history; a job Zoho no longer knows is ``warn``-ed about and skipped."""
    from zbulk.errors import NotFoundError
    from zbulk.history import record
    from zbulk.models import is_finished

    for entry in seen:
        if is_finished(entry["status"]):
            continue
        job_id = str(entry["id"])
        try:
            fetched = client.get_job(job_id)
        except NotFoundError as exc:
            warn(f"{job_id}: {exc.message}")
            continue
        record(job_id, fetched.doc, scope)


def grouped(seen: list[dict[str, object]], scope: Scope) -> list[dict[str, object]]:
    """``seen`` with each job of an import marked (``import``, ``part`` N of ``parts``) and
    an import's jobs together, in part order, where its newest one was."""
    from zbulk.jobs.import_record import of_scope

    parts: dict[object, tuple[str, int, int]] = {}
    for record in of_scope(scope.profile, scope.api_domain):
        for part in record.parts:
            if part.job_id:
                parts.setdefault(part.job_id, (record.id, part.number, len(record.parts)))
    if not parts:
        return seen
    groups: dict[str, list[dict[str, object]]] = {}
    order: list[list[dict[str, object]]] = []
    for entry in seen:
        found = parts.get(entry["id"])
        if found is None:
            order.append([entry])
            continue
        entry = {**entry, "import": found[0], "part": found[1], "parts": found[2]}
        if found[0] not in groups:
            groups[found[0]] = []
            order.append(groups[found[0]])
        groups[found[0]].append(entry)
    for group in groups.values():
        group.sort(key=lambda e: int(str(e["part"])))
    return [entry for group in order for entry in group]
