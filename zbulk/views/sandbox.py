"""What ``zbulk sandbox`` says when it starts: its URL, how to point zbulk at it, how to
log in against it, and its jobs; each line kept whole for copying."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text

if TYPE_CHECKING:
    from zbulk.sandbox import Sandbox


def announcement(server: Sandbox) -> list[Text]:
    """The URL, how to point zbulk at it, and its jobs; lines kept whole for copying."""
    from zbulk.sandbox import DEMO_JOBS
    from zbulk.views.format import span

    url = server.url
    roles = {job_id: role for role, job_id in DEMO_JOBS.items()}
    lines = [
        Text(f"zbulk sandbox listening on {url}  (Ctrl-C to stop)", style="bold"),
        Text("\nPoint zbulk at it in another shell:\n"),
        Text(f"  export ZBULK_API_DOMAIN={url}"),
        Text(f"  export ZBULK_TOKEN={server.token}"),
        Text(
            "\nUploads go to its upload host as Zoho's go to theirs once config.toml "
            "(`zbulk config path`) names it (else to the API port):\n"
        ),
        Text("  [data_centres.sandbox]"),
        Text(f'  accounts = "{url}"'),
        Text(f'  api_domain = "{url}"'),
        Text(f'  upload = "{server.upload_url}"'),
        Text("\nOr log in against it as you would with Zoho (this code is valid 3 minutes):\n"),
        Text(f"  ZBULK_CLIENT_ID={server.client_id} ZBULK_CLIENT_SECRET={server.client_secret} \\"),
        Text(f"    zbulk auth login --self-client --dc {url} --code {server.issue_grant_code()}"),
        Text(
            "\nOr try the device flow by hand: run this, then open the URL it prints and "
            "approve the code there:\n"
        ),
        Text(f"  ZBULK_CLIENT_ID={server.client_id} ZBULK_CLIENT_SECRET={server.client_secret} \\"),
        Text(f"    zbulk auth login --device --dc {url}"),
        Text("\nJobs:"),
    ]
    for job_id in server.jobs:
        role = roles.get(job_id)
        lines.append(
            Text(f"  zbulk job show {job_id}") + Text(f"   # {role}" if role else "", "dim")
        )
    done = DEMO_JOBS["completed"]
    lines += [
        Text(
            f"\nThe demo jobs started now and run for {span(server.job_duration)}; follow one with"
        ),
        Text(f"  zbulk job watch {DEMO_JOBS['large']}"),
        Text("and start one over at any time with"),
        Text('  curl -X POST -H "Authorization: Zoho-oauthtoken $ZBULK_TOKEN" \\'),
        Text(f"    $ZBULK_API_DOMAIN/sandbox/jobs/{DEMO_JOBS['large']}/restart"),
        Text("\nA finished job's result, with the file it was uploaded from (whole failed rows):"),
        Text(f"  curl -so upload.zip {url}/sandbox/source/{done}.zip"),
        Text(f"  zbulk job results {done} --source upload.zip --output-dir fix/"),
    ]
    return lines
