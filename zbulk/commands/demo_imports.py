"""``zbulk demo``'s import loop: import a CSV with planted bad rows, read which failed and
why, fix them and send them again, through the use cases the commands call."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from zbulk.client import ZohoClient
    from zbulk.import_plan import Plan
    from zbulk.output import Output

DEMO_CSV = (
    "First_Name,Last_Name,Email,Company,Annual_Revenue\n"
    "Ada,Lovelace,ada@example.com,Analytical Engines,1000\n"
    "Bob,,bob@example.com,Nowhere Ltd,20\n"
    "Cy,Young,cy-at-example.com,Baseball Inc,abc\n"
    "Grace,Hopper,grace@example.com,Navy,5\n"
)
DEMO_FIXES = (("Bob,,", "Bob,Builder,"), ("cy-at-example.com", "cy@example.com"), (",abc", ",300"))


def demo_loop(
    client: ZohoClient,
    out: Output,
    api_domain: str,
    org_id: str,
    step: Any,
    upload: str | None = None,
) -> None:
    """``zbulk demo``'s import loop, as the commands do it: import a CSV with planted bad
    rows, read which failed and why, fix them, send them again (``upload``: the upload
    host's address, the sandbox's own port). Records no history."""
    from rich.text import Text

    from zbulk import files
    from zbulk.commands.job import show_jobs
    from zbulk.import_plan import prepare, upload_url
    from zbulk.jobs.fetch_result import fetch_and_summarise
    from zbulk.jobs.retrying import retry_plan
    from zbulk.reports import ResultFileReport
    from zbulk.user_file import open_source

    url = upload_url(api_domain, client.settings.api_version, upload)
    with files.temp_dir("zbulk-demo-") as tmp:
        leads = tmp / "leads.csv"
        with files.create_new(leads, binary=False) as fh:
            fh.write(DEMO_CSV)
        command = "zbulk job import leads.csv --module Leads --operation insert --yes"
        step("Import a CSV: checked first, then uploaded and created", command)
        out.print(Text(DEMO_CSV.rstrip(), style="dim"))
        plan = prepare(leads, module="Leads", operation="insert")
        job_id = _demo_import(client, plan, url, org_id, tmp)
        out.print(Text(f"\n{job_id}"))
        step(
            "Its rows, whole, with what went wrong",
            f"zbulk job results {job_id} --source leads.csv",
        )
        got = fetch_and_summarise(
            client, job_id, tmp, output_dir=tmp / "fix", force=True, source=open_source(leads)
        )
        summary = got.summary
        out.emit(ResultFileReport(summary, got.url, True), as_json=False)
        failed = next(
            Path(p) for f in summary.files for p in f.written if p.endswith("-failed.csv")
        )
        text = failed.read_text(encoding="utf-8-sig")
        for wrong, right in DEMO_FIXES:
            text = text.replace(wrong, right)
        fixed = tmp / "fixed.csv"
        with files.create_new(fixed, binary=False) as fh:
            fh.write(text)
        step(
            "Fix the failed rows and send them again, with the job's own settings",
            f"zbulk job retry {job_id} --source leads.csv --from fixed.csv --yes",
        )
        out.print(Text(text.rstrip(), style="dim"))
        plan = retry_plan(job_id, client.get_job(job_id).doc, leads, fixed)
        retry_id = _demo_import(client, plan, url, org_id, tmp)
        out.print(Text(f"\n{retry_id}"))
        step("Every row is in", f"zbulk job show --brief {job_id} {retry_id}")
        show_jobs(client, out, [job_id, retry_id], as_json=False, brief=True)


def _demo_import(client: ZohoClient, plan: Plan, url: str, org_id: str, tmp: Path) -> str:
    """``plan`` imported as ``zbulk job import`` does, its record kept in ``tmp``."""
    from zbulk.jobs.importing import Importer, plan_import

    class Quiet:
        def note(self, message: str) -> None:
            pass

        def created(self, part: object, answer: object) -> None:
            pass

    record = plan_import(plan, "demo", client.settings.api_domain, client.settings.api_version)
    Importer(
        record, client, org_id, url, Quiet(), tmp, env={"ZBULK_STATE_DIR": str(tmp / "state")}
    ).run()
    return record.parts[0].job_id or ""
