"""A small HTTP server on loopback that misbehaves on purpose.

Each path prefix gets a handler that writes whatever bytes it likes to the socket:
trickled answers, lying Content-Length, redirect chains, huge headers, odd Retry-After.
Every request is logged with its headers, so a test can say exactly where the token went.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class Seen:
    """One request as it arrived."""

    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    at: float = 0.0  # time.monotonic() when it arrived (the same clock in every process)

    @property
    def authorization(self) -> str | None:
        return self.headers.get("authorization")


Handler = Callable[[socket.socket, Seen], None]


class HostileServer:
    """``with HostileServer() as server: server.route("/x", answer(b"..."))``"""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.routes: dict[str, Handler] = {}
        self.seen: list[Seen] = []
        self.connections = 0
        self._closed = False
        self.sock.settimeout(0.05)
        self._acceptor = threading.Thread(target=self._accept, daemon=True)
        self._acceptor.start()

    def __enter__(self) -> HostileServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        # Stop accepting before the socket is closed: a thread still in accept() on a
        # closed descriptor would take the connections of whatever socket gets its number
        # next (a sandbox of a later test).
        self._closed = True
        self._acceptor.join()
        with contextlib.suppress(OSError):
            self.sock.close()

    def route(self, prefix: str, handler: Handler) -> None:
        self.routes[prefix] = handler

    @property
    def tokens_seen(self) -> list[str]:
        return [s.authorization for s in self.seen if s.authorization]

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(30)
            try:
                head = b""
                while b"\r\n\r\n" not in head and len(head) < 65536:
                    data = conn.recv(4096)
                    if not data:
                        return
                    head += data
                lines = head.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
                method, path, _ = [*lines[0].split(" "), "", ""][:3]
                headers = {}
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                seen = Seen(method, path, headers, time.monotonic())
                self.seen.append(seen)
                matches = [p for p in self.routes if path.startswith(p)]
                handler = self.routes[max(matches, key=len)] if matches else answer(b"", 404)
                handler(conn, seen)
            except OSError:
                pass


def _head(status: int, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status} X"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def answer(
    body: bytes | dict[str, Any],
    status: int = 200,
    headers: dict[str, str] | None = None,
    content_type: str = "application/json",
) -> Handler:
    """A plain answer, then the connection closes."""
    data = json.dumps(body).encode() if isinstance(body, dict) else body

    def handle(conn: socket.socket, seen: Seen) -> None:
        conn.sendall(
            _head(
                status,
                {
                    "Content-Type": content_type,
                    "Content-Length": str(len(data)),
                    "Connection": "close",
                    **(headers or {}),
                },
            )
            + data
        )

    return handle


def trickle(body: bytes, every: float = 0.2, *, headers_too: bool = False) -> Handler:
    """One byte every ``every`` seconds: of the body, or of the whole answer."""

    def handle(conn: socket.socket, seen: Seen) -> None:
        head = _head(
            200,
            {
                "Content-Type": "application/json",
                "Content-Length": str(len(body)),
                "Connection": "close",
            },
        )
        data = head + body if headers_too else body
        if not headers_too:
            conn.sendall(head)
        for i in range(len(data)):
            conn.sendall(data[i : i + 1])
            time.sleep(every)

    return handle


def lying_length(body: bytes, declared: int, hold: float = 0.0) -> Handler:
    """Content-Length says ``declared``; fewer bytes come, then (after ``hold``) a close."""

    def handle(conn: socket.socket, seen: Seen) -> None:
        conn.sendall(
            _head(200, {"Content-Type": "application/json", "Content-Length": str(declared)}) + body
        )
        time.sleep(hold)

    return handle


def redirect(location: str, status: int = 302) -> Handler:
    return answer(b"", status, {"Location": location})


def huge_headers(size: int) -> Handler:
    """A header line of ``size`` bytes, or (``many``) a great many headers."""

    def handle(conn: socket.socket, seen: Seen) -> None:
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * size + b"\r\nContent-Length: 2\r\n\r\n{}"
        )

    return handle


def sequence(*handlers: Handler) -> Handler:
    """The first request gets the first handler, the next the next; the last repeats."""
    calls = iter(range(1 << 30))

    def handle(conn: socket.socket, seen: Seen) -> None:
        n = next(calls)
        handlers[min(n, len(handlers) - 1)](conn, seen)

    return handle


def job_doc(job_id: str, download_url: str | None = None, **extra: Any) -> dict[str, Any]:
    """A finished job document (COMPLETED), with a result link if given."""
    doc: dict[str, Any] = {
        "id": job_id,
        "status": "COMPLETED",
        "operation": "insert",
        "created_time": "2024-03-01T10:00:00+05:30",
        "created_by": {"id": "1", "name": "Ada"},
        "resource": [
            {
                "status": "COMPLETED",
                "module": {"api_name": "Leads"},
                "file": {"added_count": 1, "skipped_count": 1, "total_count": 2},
            }
        ],
    }
    if download_url is not None:
        doc["result"] = {"download_url": download_url}
    doc.update(extra)
    return doc
