"""An import, from a checked plan to jobs at Zoho: plan → split → record → upload → create →
follow. Prints nothing: what happens is told to ``events`` (the command's output), and the
client, the clock and the sleep are passed in.

Each part is its own bulk write job. Parts are created in order, with at most ``parallel``
of them unfinished at once. The import's record (``import_record``) is written before each
create is sent (the part is then *creating*) and after its answer (*created*, with the job
id), so a crash at any moment leaves a record that says which parts exist: a part found
*creating* on resume had its answer lost, and is *unknown*: never created again without the
user's consent.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

from zbulk.errors import ApiError, NetworkError, UsageError, ZbulkError
from zbulk.jobs import import_record as rec
from zbulk.jobs.import_record import ImportRecord, PartState
from zbulk.jobs.split import (
    MAX_PART_BYTES,
    MAX_RECORDS,
    Part,
    SplitError,
    ascii_safe,
    part_bytes,
    split,
)

if TYPE_CHECKING:
    from zbulk.client import Fetched, ZohoClient
    from zbulk.import_plan import Plan
    from zbulk.user_file import UserFile

CREDITS_PER_JOB = 500  # API credits Zoho counts for each bulk write job
POLL_FIRST = 1.0  # seconds between polls of unfinished parts, growing to POLL_MAX
POLL_MAX = 10.0
FILE_ID = "<FILE_ID>"  # in the record's create body, replaced by each part's upload


class Events(Protocol):
    """What an import tells as it goes (the command prints it)."""

    def note(self, message: str) -> None: ...

    def created(self, part: PartState, answer: Fetched) -> None: ...


@dataclass
class Clock:
    now: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


# -- plan ------------------------------------------------------------------------------


def plan_import(
    plan: Plan,
    profile: str,
    api_domain: str,
    api_version: str = "v8",
    *,
    retry_of: str | None = None,
) -> ImportRecord:
    """The record of a new import of ``plan``'s file: split into parts, nothing sent."""
    source = plan.source
    records = source.records_seen
    if ascii_safe(source.encoding.codec):
        try:
            with source.open() as raw:
                found = split(raw)
        except SplitError as exc:
            raise UsageError(
                f"{source.label} cannot be split into parts Zoho takes: {exc}"
            ) from None
        if found.records != records:
            raise UsageError(
                f"{source.label}: the pre-flight counts {records:,} records and the split "
                f"{found.records:,} (a quote inside an unquoted value?); nothing was sent",
                hint="quote every value that holds a double quote, as CSV does",
            )
        header, parts, digest = len(found.header), found.parts, found.sha256
    else:  # UTF-16, UTF-32: one part, the file as it is
        if source.size > MAX_PART_BYTES or records > MAX_RECORDS:
            raise UsageError(
                f"{source.label} needs splitting, and zbulk splits {source.encoding.label} "
                "files only when they fit one part; nothing was sent",
                hint="save it as UTF-8 and run the command again",
            )
        header = len(source.encoding.bom) + source.header_bytes
        digest = sha256_of(source)
        parts = [Part(1, 1, records, header, source.size, source.size, digest)]
    if records == 0:
        raise UsageError(f"{source.label} has a header and no records; nothing was sent")
    body = plan.create_body(FILE_ID, api_version)
    settings = {
        "module": plan.module,
        "operation": plan.operation,
        "body": body,
        "name": Path(plan.zip_name).stem,
    }
    return ImportRecord(
        rec.new_id(),
        profile,
        api_domain.rstrip("/").lower(),
        {
            "path": str(source.path.resolve()),
            "size": source.size,
            "sha256": digest,
            "member": source.member if source.is_zip else None,
            "encoding": source.encoding.codec,
            "delimiter": source.delimiter,
        },
        settings,
        header,
        records,
        [
            PartState(p.number, p.first_row, p.last_row, p.start, p.end, p.size, p.sha256)
            for p in parts
        ],
        retry_of=retry_of,
    )


def plan_several(
    plans: list[Plan],
    profile: str,
    api_domain: str,
    api_version: str = "v8",
    *,
    retry_of: str | None = None,
) -> ImportRecord:
    """One import of several plans (each its own module and settings: ``job retry`` of a
    job with several resources): each plan split into parts, all parts numbered in order
    under one import id, each part knowing its resource."""
    records = [plan_import(p, profile, api_domain, api_version) for p in plans]
    if len(records) == 1:
        records[0].retry_of = retry_of
        return records[0]
    first = records[0]
    parts: list[PartState] = []
    for n, r in enumerate(records):
        for part in r.parts:
            part.number, part.resource = len(parts) + 1, n
            parts.append(part)
    return ImportRecord(
        first.id,
        first.profile,
        first.api_domain,
        first.source,
        first.settings,
        first.header_size,
        sum(r.records for r in records),
        parts,
        retry_of=retry_of,
        resources=[
            {
                "source": r.source,
                "settings": r.settings,
                "header_size": r.header_size,
                "records": r.records,
            }
            for r in records
        ],
    )


def sha256_of(source: UserFile) -> str:
    """The sha256 of the CSV's bytes (a ZIP member's, uncompressed)."""
    digest = hashlib.sha256()
    with source.open() as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def describe(record: ImportRecord) -> str:
    """ "120,000 records into Leads (insert): 5 parts, 2,500 API credits" (the figures
    the confirmation states)."""
    n = len(record.parts)
    parts = f"{n} part" + ("s" if n != 1 else "")
    rows = f"{record.records:,} record" + ("s" if record.records != 1 else "")
    op = record.settings["operation"]
    if record.resources:
        each = ", ".join(f"{s.records:,} into {s.settings['module']}" for s in record.segments())
        return f"{rows} ({each}; {op}): {parts}, {n * CREDITS_PER_JOB:,} API credits"
    return f"{rows} into {record.module} ({op}): {parts}, {n * CREDITS_PER_JOB:,} API credits"


# -- the source, checked ----------------------------------------------------------------


def user_file(record: ImportRecord) -> UserFile:
    """The record's source, as the one reader of the user's files opens it."""
    from zbulk.user_file import UserFile

    member = record.source.get("member")
    path = Path(record.source["path"])
    return UserFile(path, member or path.name, bool(member), int(record.source["size"]))


@contextmanager
def open_source(record: ImportRecord, *, check: bool = True) -> Iterator[IO[bytes]]:
    """The source CSV's bytes, seekable; refused (exit 2) when the file changed since the
    import began (its sha256)."""
    if check:
        check_source(record)
    with user_file(record).open() as fh:
        yield fh


def check_source(record: ImportRecord) -> None:
    """Each source of the record (one per resource) unchanged since the import began."""
    for segment in record.segments():
        _check_one_source(segment)


def _check_one_source(record: ImportRecord) -> None:
    path = Path(record.source["path"])
    try:
        digest = sha256_of(user_file(record))
    except UsageError as exc:
        raise UsageError(
            f"import {record.id}'s source {path} cannot be read ({exc.message})",
            hint="put the file back where it was, unchanged",
        ) from None
    if digest != record.source["sha256"]:
        raise UsageError(
            f"import {record.id}'s source {path} changed since the import began (its sha256 "
            "differs): its parts would not be the rows already sent; nothing was sent",
            hint="put the original file back, or start a new import of the changed file",
        )


def header_of(record: ImportRecord, stream: IO[bytes]) -> bytes:
    stream.seek(0)
    return stream.read(record.header_size)


def part_name(record: ImportRecord, part: PartState) -> str:
    stem = str(record.settings.get("name") or "data")
    if len(record.parts) == 1:
        return stem
    return f"{stem}-part{part.number}"


def build_part_zip(record: ImportRecord, part: PartState, directory: Path) -> Path:
    """The ZIP of ``part`` in ``directory``: its CSV (header, then its records) deflated,
    streamed from the source; its sha256 checked against the record's."""
    from zbulk import files
    from zbulk.jobs.split import Part

    record = record.of(part)
    name = part_name(record, part)
    target = directory / f"{name}.zip"
    digest = hashlib.sha256()
    shape = Part(
        part.number, part.first_row, part.last_row, part.start, part.end, part.size, part.sha256
    )
    with open_source(record, check=False) as src:
        header = header_of(record, src)
        with (
            files.new_zip(target, compresslevel=1) as archive,
            archive.open(f"{name}.csv", "w") as dest,
        ):
            for chunk in part_bytes(src, header, shape):
                digest.update(chunk)
                dest.write(chunk)
    if digest.hexdigest() != part.sha256:
        raise UsageError(
            f"part {part.number} of {record.source['path']} is not what was split: the file "
            "changed; nothing was sent for it"
        )
    return target


# -- create and follow -------------------------------------------------------------------


class Stop(NetworkError):
    """The import stopped waiting (Zoho's limit held until ``--timeout``; exit 5); its
    record lets ``--resume`` go on."""


@dataclass
class Importer:
    record: ImportRecord
    client: ZohoClient
    org_id: str
    upload_url: str
    events: Events
    workdir: Path
    parallel: int = 2
    timeout: float = 3600.0
    clock: Clock = field(default_factory=Clock)
    env: Mapping[str, str] | None = None
    remember: Callable[[str, dict[str, Any]], None] | None = None  # job history

    def save(self) -> None:
        rec.save(self.record, self.env)

    def run(self) -> None:
        """Create every part not created yet, in order. Unknown parts must have been
        settled (``settle_unknown``) first."""
        if self.record.unknown:
            raise UsageError(f"import {self.record.id} has unknown parts: settle them first")
        deadline = self.clock.now() + self.timeout
        check_source(self.record)
        for part in self.record.parts:
            if part.has_job or part.state in rec.FINISHED:
                continue
            self._wait_for_room(deadline, self.parallel - 1)
            self._create(part, deadline)

    # waiting
    def unfinished(self) -> list[PartState]:
        return [p for p in self.record.parts if p.state == rec.CREATED]

    def _wait_for_room(self, deadline: float, most: int) -> None:
        """Until at most ``most`` parts are unfinished (polling them), or the deadline."""
        interval = POLL_FIRST
        while len(self.unfinished()) > most:
            self.poll()
            if len(self.unfinished()) <= most:
                return
            left = deadline - self.clock.now()
            if left <= 0:
                raise self._stopped("waiting for a part to finish took longer than --timeout")
            self.clock.sleep(min(interval, left))
            interval = min(interval * 1.5, POLL_MAX)

    def poll(self) -> None:
        """Fetch each unfinished part's job; note those that finished. A part that ended
        FAILED stops the import (exit 1, resumable)."""
        from zbulk.models import Job

        for part in self.unfinished():
            assert part.job_id is not None
            got = self.client.get_job(part.job_id)
            if self.remember is not None:
                self.remember(part.job_id, got.doc)
            update_part(part, Job.read(got.doc))
            if part.state in rec.FINISHED:
                self.save()
                self.events.note(_progress(self.record, part))
            if part.state == rec.FAILED:
                raise ApiError(
                    f"part {part.number} (job {part.job_id}) ended FAILED: no further part "
                    f"is created",
                    hint=f"see why with `zbulk job show {part.job_id}`, then go on with "
                    f"`zbulk job import --resume {self.record.id}`",
                )

    # creating
    def _upload(self, part: PartState) -> str:
        archive = build_part_zip(self.record, part, self.workdir)
        try:
            uploaded = self.client.upload(self.upload_url, archive, archive.name, self.org_id).doc
        finally:
            archive.unlink(missing_ok=True)
        details = uploaded.get("details")
        file_id = details.get("file_id") if isinstance(details, dict) else None
        if isinstance(file_id, int) and not isinstance(file_id, bool):
            file_id = str(file_id)
        if not isinstance(file_id, str) or not file_id or len(file_id) > 100:
            raise ApiError("the upload's answer holds no file_id: no job was created")
        part.file_id, part.state = file_id, rec.UPLOADED
        self.save()
        return file_id

    def _create(self, part: PartState, deadline: float) -> None:
        from zbulk.errors import CredentialsError

        interval = POLL_FIRST
        while True:
            file_id = self._upload(part)
            body = create_body(self.record.of(part), file_id)
            part.state, part.sent_at = rec.CREATING, time.time()
            self.save()  # before: a crash from here on leaves the part "unknown"
            try:
                answer = self.client.create_job(body)
            except (ApiError, NetworkError, CredentialsError) as exc:
                if _rate_limited(exc):
                    part.state = rec.UPLOADED  # Zoho answered: nothing was created
                    self.save()
                    self.events.note(
                        f"Zoho's limit of jobs at once is reached: part {part.number} waits "
                        "for one of this import's parts to finish"
                    )
                    if self.unfinished():
                        self._wait_for_room(deadline, len(self.unfinished()) - 1)
                    else:
                        left = deadline - self.clock.now()
                        if left <= 0:
                            raise self._stopped(
                                "Zoho kept refusing new jobs (rate limit) until --timeout"
                            ) from None
                        self.clock.sleep(min(interval, left))
                        interval = min(interval * 2, POLL_MAX * 6)
                    if self.clock.now() >= deadline:
                        raise self._stopped(
                            "Zoho kept refusing new jobs (rate limit) until --timeout"
                        ) from None
                    continue
                if isinstance(exc, ApiError | CredentialsError):
                    part.state, part.error = rec.REFUSED, exc.message[:500]
                    self.save()
                    exc.hint = (exc.hint + "; then " if exc.hint else "") + (
                        f"go on with `zbulk job import --resume {self.record.id}`"
                    )
                    raise
                raise may_exist(self.record, part, exc) from None
            from zbulk.client import created_job_id

            try:
                job_id = created_job_id(answer.doc)
            except ApiError as exc:  # the part stays unknown: the job may exist
                exc.message = f"part {part.number} of import {self.record.id}: {exc.message}"
                exc.args = (exc.message,)
                exc.hint = check_hint(self.record, part)
                raise
            part.job_id, part.state, part.status = job_id, rec.CREATED, "ADDED"
            part.error = None
            self.save()
            if self.remember is not None:
                self.remember(job_id, {"status": "ADDED", **body})
            self.events.created(part, answer)
            return

    def _stopped(self, why: str) -> Stop:
        return Stop(
            f"import {self.record.id} stopped: {why}",
            hint=f"go on later with `zbulk job import --resume {self.record.id}`",
        )


def _rate_limited(exc: ZbulkError) -> bool:
    return getattr(exc, "status", None) == 429 or getattr(exc, "code", None) == "LIMIT_EXCEEDED"


def create_body(record: ImportRecord, file_id: str) -> dict[str, Any]:
    import copy

    body = copy.deepcopy(record.settings["body"])
    for resource in body.get("resource") or []:
        resource["file_id"] = file_id
    return body


def update_part(part: PartState, job: Any) -> None:
    status = job.status
    part.status = status
    if job.finished:
        part.state = rec.FAILED if status == "FAILED" else rec.COMPLETED
        part.skipped = sum((r.file.skipped or 0) if r.file else 0 for r in job.resources)


def _progress(record: ImportRecord, part: PartState) -> str:
    done = sum(p.state in rec.FINISHED for p in record.parts)
    return (
        f"{record.id}: part {part.number}/{len(record.parts)} (job {part.job_id}) "
        f"{part.status}; {done}/{len(record.parts)} parts finished"
    )


def check_hint(record: ImportRecord, part: PartState) -> str:
    """How to find out whether an unknown part's job exists, and the two ways on."""
    when = ""
    if part.sent_at:
        when = " created at " + time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(part.sent_at))
    own = record.of(part)
    module = own.module
    source = Path(own.source["path"]).name if record.resources else "the file"
    return (
        f"check Zoho CRM for a {module} import{when} (Setup > Data Administration > "
        f"Import History), or search {module} for the part's first row (row "
        f"{part.first_row:,} of {source}). If it exists: `zbulk job import --resume "
        f"{record.id} --part-job {part.number}=JOB_ID`; if not: `zbulk job import --resume "
        f"{record.id} --recreate-unknown`"
    )


def may_exist(record: ImportRecord, part: PartState, exc: ZbulkError) -> NetworkError:
    """A create that may have reached Zoho (no answer, or a 5xx): the job may exist, the
    part is unknown until the user says (exit 5)."""
    said = exc.message
    if "may have been created" not in said:
        said += ": the job may have been created; zbulk does not send it again on its own"
    return NetworkError(
        f"part {part.number} of import {record.id}: {said}",
        hint=check_hint(record, part),
    )


def settle_unknown(
    record: ImportRecord,
    *,
    recreate: bool,
    part_jobs: Mapping[int, str],
    ask: Callable[[str], bool] | None,
    env: Mapping[str, str] | None = None,
) -> list[PartState]:
    """Decide each unknown part: a job id the user found (``part_jobs``), created again
    (``recreate``, or a yes from ``ask``), else it stays unknown. Returns those left."""
    for number, job_id in part_jobs.items():
        match = [p for p in record.parts if p.number == number]
        if not match:
            raise UsageError(
                f"--part-job {number}={job_id}: import {record.id} has no part {number}"
            )
        part = match[0]
        if part.has_job and part.job_id != job_id:
            raise UsageError(
                f"--part-job {number}={job_id}: part {number} is job {part.job_id} already"
            )
        part.job_id, part.state, part.status = job_id, rec.CREATED, None
    left = []
    for part in record.unknown:
        if recreate or (ask is not None and ask(part_question(record, part))):
            part.state = rec.UPLOADED
        else:
            left.append(part)
    rec.save(record, env)
    return left


def part_question(record: ImportRecord, part: PartState) -> str:
    return (
        f"Part {part.number} of {record.id} (rows {part.first_row:,}–{part.last_row:,}) is "
        "unknown: its create was sent and the answer lost. Create it again (only if Zoho "
        "has no such job)?"
    )
