"""``zbulk sandbox`` (a Zoho-compatible API on loopback) and ``zbulk demo`` (a tour of it)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated

import typer

from zbulk.commands.options import duration

if TYPE_CHECKING:
    from zbulk.client import Fetched, ZohoClient
    from zbulk.output import Output
    from zbulk.sandbox import Sandbox
    from zbulk.watch import Watched

DEFAULT_PORT = 8790
# Short enough that the watch the demo's "try it yourself" suggests ends within a minute;
# `POST /sandbox/jobs/{id}/restart` starts a job over at any time, for another look.
DEFAULT_JOB_DURATION = 45.0
DEMO_WATCH_SECONDS = 3.0  # how long the demo's `job watch` takes, in real time


def sandbox(
    ctx: typer.Context,
    host: Annotated[
        str, typer.Option("--host", help="Loopback address to listen on.")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port to listen on; 0 picks a free one.")
    ] = DEFAULT_PORT,
    upload_port: Annotated[
        int | None,
        typer.Option(
            "--upload-port",
            min=0,
            max=65535,
            help="Port of its upload host (takes only uploads). [default: --port + 1, or a free "
            "one with --port 0]",
            show_default=False,
        ),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            help="Access token the sandbox accepts (default: a random one).",
            show_default=False,
        ),
    ] = None,
    job_duration: Annotated[
        float,
        typer.Option(
            "--job-duration",
            metavar="DURATION",
            parser=duration(),
            help="How long a demo job takes from ADDED to its end (45s, 10m, 1h30m; each "
            "start begins anew). [default: 45s]",
            show_default=False,
        ),
    ] = DEFAULT_JOB_DURATION,
) -> int:
    """Run the built-in Zoho-compatible bulk write API on loopback, with demo jobs."""
    from zbulk.config import is_loopback_host
    from zbulk.errors import UsageError
    from zbulk.sandbox import Sandbox

    if not is_loopback_host(host):
        raise UsageError(
            f"the sandbox listens on loopback only, not {host!r}",
            hint="use --host 127.0.0.1, ::1 or localhost",
        )
    out: Output = ctx.find_root().obj.output
    if upload_port is None:
        upload_port = port + 1 if 0 < port < 65535 else 0
    try:
        server = Sandbox(
            host=host, port=port, token=token, job_duration=job_duration, upload_port=upload_port
        ).bind()
    except OSError as exc:
        raise UsageError(
            f"cannot listen on {host}:{port} and {host}:{upload_port}: {exc.strerror or exc}",
            hint="pick another --port and --upload-port (0 picks a free one)",
        ) from None
    _announce(out, server)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        out.note("sandbox stopped")
    finally:
        server.stop()
    return 0


def _announce(out: Output, server: Sandbox) -> None:
    """The URL, how to point zbulk at it, and its jobs (``views.sandbox``)."""
    from zbulk.views.sandbox import announcement

    for line in announcement(server):
        out.print(line, soft_wrap=True)
    out.out.file.flush()


class _FastForward:
    """A monotonic clock the demo moves ahead (so jobs are mid-way when shown) or speeds up
    (so a watch sees a job finish in a few seconds)."""

    def __init__(self) -> None:
        self.ahead = 0.0
        self.speed = 1.0
        self._base = time.monotonic()

    def __call__(self) -> float:
        return self._base + self.ahead + (time.monotonic() - self._base) * self.speed

    def run_at(self, speed: float) -> None:
        """From now on, move ``speed`` times as fast (without jumping)."""
        now = time.monotonic()
        self.ahead += (now - self._base) * (self.speed - 1.0)
        self._base, self.speed = now, speed


def demo(ctx: typer.Context) -> int:
    """A tour of zbulk against an in-process sandbox; needs no account or network.

    It shows, follows and diagnoses jobs as the commands do (show, watch, results), then
    imports a CSV, reads which rows failed and retries them fixed (import, results,
    retry). It records nothing in the job history and takes a few seconds.
    """
    from rich.text import Text

    from zbulk.auth.tokens import StaticToken
    from zbulk.client import ZohoClient
    from zbulk.commands.job import show_jobs
    from zbulk.config import Settings
    from zbulk.errors import NotFoundError
    from zbulk.sandbox import DEMO_JOBS, Sandbox
    from zbulk.sandbox.jobs import ORG_ID

    app_ctx = ctx.find_root().obj
    out: Output = app_ctx.output
    clock = _FastForward()
    length = DEFAULT_JOB_DURATION  # the demo's jobs, as `zbulk sandbox` serves them
    with Sandbox(job_duration=length, clock=clock) as server:
        settings = Settings(api_domain=server.url, request_timeout=10.0, verbose=app_ctx.verbose)
        tokens = StaticToken(server.token, "the demo sandbox")
        with ZohoClient(settings, tokens, log=out.log if app_ctx.verbose else None) as client:

            def step(title: str, command: str) -> None:
                out.print(Text(f"\n# {title}", style="bold"))
                out.print(Text(f"$ {command}\n", style="cyan"))

            out.print(Text("zbulk demo: a tour against the built-in sandbox", style="bold"))
            out.print(Text(f"(serving {server.url}; no account, no network)", style="dim"))
            done = DEMO_JOBS["recorded_v21"]
            step(
                "A finished import: summary, counts and field mappings in CSV column order",
                f"zbulk job show {done}",
            )
            show_jobs(client, out, [done], as_json=False)

            clock.ahead = 0.4 * length
            running = DEMO_JOBS["upsert"]
            step("An upsert into three modules, part-way through", f"zbulk job show {running}")
            show_jobs(client, out, [running], as_json=False)

            step("Follow it until it ends (the exit code says how)", f"zbulk job watch {running}")
            clock.run_at(length / DEMO_WATCH_SECONDS)
            code = _demo_watch(client, out, running)
            clock.run_at(1.0)
            out.print(Text(f"(exit status {code})", style="dim"))

            step("Which rows failed, and why", f"zbulk job results {running}")
            _demo_results(client, out, running)

            from zbulk.commands.demo_imports import demo_loop

            server.import_duration = 0  # created jobs finish at once in the demo
            demo_loop(client, out, server.url, ORG_ID, step, upload=server.upload_url)

            recorded = DEMO_JOBS["recorded_v2"]
            step(
                "Scripts get the document exactly as Zoho sent it, one line per job",
                f"zbulk job show --json {recorded}",
            )
            show_jobs(client, out, [recorded], as_json=True)

            step(
                "Mistakes get a clear message and an exit code scripts can trust",
                "zbulk job show 1234567890",
            )
            try:
                show_jobs(client, out, ["1234567890"], as_json=False)
            except NotFoundError as exc:
                code = out.error(exc)
                out.print(Text(f"(exit status {code})", style="dim"))

    out.print(Text("\n# Try it yourself", style="bold"))
    out.print(Text("$ zbulk sandbox            # in one shell: prints the two exports below"))
    out.print(Text("$ export ZBULK_API_DOMAIN=http://127.0.0.1:8790 ZBULK_TOKEN=<printed token>"))
    out.print(Text(f"$ zbulk job watch {DEMO_JOBS['large']}"))
    out.print(Text("\nAgainst Zoho: export ZBULK_TOKEN=<access token with ZohoCRM.bulk.ALL>"))
    return 0


def _demo_watch(client: ZohoClient, out: Output, job_id: str) -> int:
    """``zbulk job watch``'s use case (``zbulk.jobs.follow``), polling every half second."""
    from zbulk.jobs.follow import follow
    from zbulk.reports import WatchEvents, WatchReport
    from zbulk.watch import WatchOptions

    fetched: dict[str, Fetched] = {}
    events = WatchEvents(fetched)
    view = out.stream_events(events, as_json=False)

    def started(watched: list[Watched]) -> None:
        events.follow(watched)
        view.start()

    try:
        code, jobs = follow(
            client,
            [job_id],
            WatchOptions(interval=0.5, max_interval=0.5),
            view.event,
            on_start=started,
            fetched=fetched,
            signals=False,
        )
    finally:
        view.stop()
    out.emit(WatchReport(jobs, False, events.clock()), as_json=False)
    return int(code)


def _demo_results(client: ZohoClient, out: Output, job_id: str) -> None:
    """``zbulk job results``'s use case (``zbulk.jobs.fetch_result``)."""
    from zbulk import files
    from zbulk.jobs.fetch_result import fetch_and_summarise
    from zbulk.reports import ResultFileReport

    with files.temp_dir("zbulk-demo-") as tmp:
        got = fetch_and_summarise(client, job_id, tmp)
        out.emit(ResultFileReport(got.summary, got.url, False), as_json=False)
