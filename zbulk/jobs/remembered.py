"""The source of a job zbulk created: the import record says which file and which rows
(its part), so ``job results`` and ``job retry`` line the result up with whole rows
without ``--source``, as long as the file is unchanged (its sha256)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from zbulk.errors import UsageError
from zbulk.jobs import import_record as rec
from zbulk.jobs.importing import check_source, header_of, open_source, part_name
from zbulk.jobs.split import Part, part_bytes


def source_of(job_id: str, directory: Path, warn: Callable[[str], None]) -> Path | None:
    """The rows job ``job_id`` was created from, written to ``directory`` as the CSV that
    was uploaded; None when zbulk did not create it here or the file changed (said)."""
    found = rec.with_job(job_id)
    if found is None:
        return None
    record, part = found
    record = record.of(part)
    try:
        check_source(record)
    except UsageError as exc:
        del exc
        warn(
            f"job {job_id} was created from {record.source['path']}, which has changed "
            "since (or cannot be read): add --source FILE for whole rows"
        )
        return None
    target = directory / f"{part_name(record, part)}.csv"
    shape = Part(
        part.number, part.first_row, part.last_row, part.start, part.end, part.size, part.sha256
    )
    from zbulk import files

    with open_source(record, check=False) as src, files.create_new(target) as out:
        for chunk in part_bytes(src, header_of(record, src), shape):
            out.write(chunk)
    return target
