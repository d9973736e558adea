"""zbulk job results through the CLI against the sandbox's result files."""

from __future__ import annotations

import json
import socket
import threading
import zipfile
from pathlib import Path

import pytest

from zbulk.errors import ExitCode
from zbulk.sandbox import DEMO_JOBS, Fault

DONE = DEMO_JOBS["completed"]
PUT = "4150868000000000777"


def job_doc(url: str, status: str = "COMPLETED") -> dict:
    return {
        "id": PUT,
        "status": status,
        "operation": "insert",
        "resource": [
            {
                "status": status,
                "module": {"api_name": "Leads"},
                "file": {"added_count": 1, "skipped_count": 1, "total_count": 2},
            }
        ],
        "result": {"download_url": url},
    }


def test_summary_matches_the_counts(zbulk, sandbox) -> None:
    shown = json.loads(zbulk("job", "show", "--json", DONE).out)
    file = shown["resource"][0]["file"]
    r = zbulk("job", "results", "--json", DONE)
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    statuses = {k: v for f in doc["files"] for k, v in f["statuses"].items()}
    assert statuses.get("added", 0) == file["added_count"]
    assert statuses.get("skipped", 0) == file["skipped_count"]
    errors = sum(g["count"] for f in doc["files"] for g in f["errors"])
    assert errors >= file["skipped_count"]
    assert all(len(g["examples"]) <= 3 for f in doc["files"] for g in f["errors"])


def test_human_view_and_failed_rows(zbulk) -> None:
    r = zbulk("job", "results", "--failed", DONE)
    assert r.code == 0, r.err
    assert "Errors" in r.out and "Skipped and failed rows (12)" in r.out
    assert "\x1b" not in r.out


def test_output_dir(zbulk, tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = zbulk("job", "results", "--output-dir", str(out), DONE)
    assert r.code == 0, r.err
    names = sorted(p.name for p in out.iterdir())
    assert f"{DONE}.zip" in names
    for kind in ("result-rows", "errors", "created"):  # without the source: never "failed"
        assert f"{DONE}-Accounts-{kind}.csv" in names
    assert f"{DONE}-Accounts-failed.csv" not in names
    assert "--source" in r.err  # the one-line note: whole rows need the uploaded file
    with zipfile.ZipFile(out / f"{DONE}.zip") as zf:
        assert zf.namelist()


def test_not_finished_yet(zbulk) -> None:
    r = zbulk("job", "results", DEMO_JOBS["upsert"])
    assert r.code == ExitCode.ERROR and f"zbulk job watch {DEMO_JOBS['upsert']}" in r.err


def test_expired_link(zbulk, sandbox) -> None:
    sandbox.expire_downloads()
    r = zbulk("job", "results", DONE)
    assert r.code == ExitCode.ERROR and "up to seven days" in r.err and "a day" not in r.err


@pytest.mark.parametrize("status", [403, 404])
def test_download_refused(zbulk, sandbox, status) -> None:
    sandbox.add_fault(Fault("status", status=status, times=None, path_prefix="/v2/crm/"))
    r = zbulk("job", "results", DONE)
    assert r.code == ExitCode.ERROR and str(status) in r.err and "Traceback" not in r.err


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "not a readable ZIP"),
        (b"<html>gateway</html>", "not a readable ZIP"),
    ],
)
def test_bad_downloads(zbulk, sandbox, body, message) -> None:
    sandbox.put_document(PUT, job_doc(sandbox.download_url(PUT)))
    sandbox.put_download(PUT, body)
    r = zbulk("job", "results", PUT)
    assert r.code == ExitCode.NETWORK and message in r.err


class Listener:
    """A TCP port on loopback that records what arrives and answers nothing useful."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.received: list[bytes] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    self.received.append(conn.recv(65536))
                    conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                except OSError:
                    pass


def test_token_never_goes_to_a_foreign_host(zbulk, sandbox) -> None:
    spy = Listener()
    for url in (
        f"https://127.0.0.1:{spy.port}/x.zip",
        "https://attacker.example/x.zip",
        f"https://download.zoho.com@127.0.0.1:{spy.port}/x.zip",
    ):
        sandbox.put_document(PUT, job_doc(url))
        r = zbulk("job", "results", PUT)
        assert r.code == ExitCode.ERROR and "refusing to send your token" in r.err
    assert spy.received == []


def test_redirect_to_another_host_is_an_error_and_not_followed(zbulk, sandbox) -> None:
    spy = Listener()
    sandbox.add_fault(
        Fault(
            "status",
            status=302,
            path_prefix="/v2/crm/",
            headers={"Location": f"http://localhost:{spy.port}/x.zip"},
        )
    )
    r = zbulk("job", "results", DONE)
    assert r.code == ExitCode.ERROR and "not followed" in r.err
    assert spy.received == []
    assert sandbox.token not in r.out + r.err


def test_hostile_cells_reach_no_terminal(zbulk, sandbox) -> None:
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(
            "Leads.csv",
            "Name,STATUS,RECORD_ID,ERRORS\r\n"
            "[bold]x[/bold]\x1b[2J\x9b31m,skipped,,INVALID_DATA-Name\u202e\r\n",
        )
    sandbox.put_document(PUT, job_doc(sandbox.download_url(PUT)))
    sandbox.put_download(PUT, buf.getvalue())
    for args in (["--json", "--failed"], ["--failed"]):
        r = zbulk("job", "results", *args, PUT)
        assert r.code == 0, r.err
        assert "\x1b" not in r.out and "\x9b" not in r.out and "\u202e" not in r.out
    assert "[bold]x[/bold]" in r.out
    assert (
        json.loads(zbulk("job", "results", "--json", "--failed", PUT).out)["files"][0][
            "failed_rows"
        ][0]["cells"][0]
        == "[bold]x[/bold]\x1b[2J\x9b31m"
    )
