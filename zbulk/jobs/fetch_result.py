"""Fetch a finished job's result file and summarise it: the one way ``job results``,
``job retry``, ``job results --import``/``job retry --import`` (each part's ZIP) and
``zbulk demo`` get Zoho's result ZIP. Nothing here prints: the caller gets a
``ResultFile`` (the job, its result URL, the ZIP and its ``Summary``) and reports it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from zbulk.client import ZohoClient
    from zbulk.jobs.import_record import ImportRecord, PartState
    from zbulk.jobs.merged import Merged
    from zbulk.models import Job
    from zbulk.result_file import Summary
    from zbulk.user_file import UserFile

RESULT_FILE = "result file"  # what a job that has not finished has none of yet


@dataclass(frozen=True)
class ResultFile:
    """A job's result file, downloaded and summarised."""

    job_id: str
    job: Job
    url: str
    zip_path: Path  # in the caller's directory: failed rows are read from it again
    summary: Summary


def finished_job(job_id: str, doc: dict[str, Any], wanted: str = RESULT_FILE) -> Job:
    """The job of ``doc``, which must have finished with a result file: else an
    ``ApiError`` saying what it has none of yet (``wanted``) and how to wait for it."""
    from zbulk.errors import ApiError
    from zbulk.models import Job

    job = Job.read(doc)
    if not job.finished or (not job.result_url and wanted != RESULT_FILE):
        raise ApiError(
            f"job {job_id} is {job.status or 'not finished'}: it has no {wanted} yet",
            hint=f"wait for it with `zbulk job watch {job_id}`",
        )
    if not job.result_url:
        raise ApiError(f"job {job_id} ({job.status}) has no result file to download")
    return job


def download(client: ZohoClient, url: str, path: Path) -> Path:
    """The result ZIP at ``url`` written to the new file ``path`` (capped in size); a
    local problem (disk full, no permission) is a ``LocalFileError``, not a network one."""
    from zbulk import files
    from zbulk.result_file import MAX_DOWNLOAD, local_error

    try:
        with files.create_new(path) as fh:
            client.download(url, fh, MAX_DOWNLOAD)
    except OSError as exc:
        raise local_error(path, exc) from None
    return path


def download_result(client: ZohoClient, job_id: str, directory: Path) -> Path:
    """Job ``job_id``'s result ZIP (fetched now), as ``<job_id>.zip`` in ``directory``."""
    from zbulk.errors import ApiError
    from zbulk.models import Job

    job = Job.read(client.get_job(job_id).doc)
    if not job.result_url:
        raise ApiError(f"job {job_id} ({job.status}) has no result file to download")
    return download(client, job.result_url, directory / f"{job_id}.zip")


def downloader(client: ZohoClient, directory: Path) -> Callable[[PartState], Path]:
    """A part's result ZIP, downloaded into ``directory`` (for ``zbulk.jobs.merged``)."""
    return lambda part: download_result(client, part.job_id or "", directory)


def fetch_and_summarise(
    client: ZohoClient,
    job_id: str,
    directory: Path,
    *,
    doc: dict[str, Any] | None = None,
    wanted: str = RESULT_FILE,
    on_doc: Callable[[dict[str, Any]], None] | None = None,
    output_dir: Path | None = None,
    force: bool = False,
    keep_zip: bool = False,
    source: list[UserFile] | None = None,
) -> ResultFile:
    """Job ``job_id`` (its document ``doc``, else fetched now and handed to ``on_doc``),
    checked finished (``finished_job``), its result ZIP downloaded into ``directory`` and
    summarised: per-resource counts, errors, and with ``output_dir`` the failed, errors
    and created CSV files (``source``: the uploaded file, for whole failed rows)."""
    from zbulk.result_file import summarise_zip

    if doc is None:
        doc = client.get_job(job_id).doc
        if on_doc is not None:
            on_doc(doc)
    job = finished_job(job_id, doc, wanted)
    url = job.result_url or ""
    zip_path = download(client, url, directory / f"{job_id}.zip")
    summary = summarise_zip(
        zip_path,
        output_dir=output_dir,
        job_id=job_id,
        force=force,
        keep_zip=keep_zip,
        source=source,
        resources=job.resources,
    )
    return ResultFile(job_id, job, url, zip_path, summary)


def merge_import_results(
    client: ZohoClient, record: ImportRecord, directory: Path, output_dir: Path, force: bool
) -> Merged:
    """An import's result files (``job results --import``): each part's state fetched
    again, then every finished part's result ZIP downloaded into ``directory`` and merged
    into one failed, created and errors file in ``output_dir``."""
    from zbulk.errors import ApiError
    from zbulk.jobs import import_record as rec
    from zbulk.jobs.import_lookup import refresh_parts
    from zbulk.jobs.merged import merge

    refresh_parts(client, record)
    if not any(p.state in rec.FINISHED for p in record.parts):
        raise ApiError(
            f"no part of import {record.id} has finished yet",
            hint=f"zbulk job watch --import {record.id}",
        )
    return merge(record, downloader(client, directory), output_dir, force)
