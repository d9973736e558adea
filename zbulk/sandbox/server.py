"""A Zoho-compatible bulk write API on loopback, with faults that tests can inject.

Each request meets the faults, then the URL pattern (404), the method (400), the Authorization
header (401), then the route's handler. More go in with ``add_route``: OAuth's (``accounts``),
result files' (``results``).
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

from zbulk.sandbox.accounts import Accounts, AccountsMixin
from zbulk.sandbox.jobs import Answer, Catalogue
from zbulk.sandbox.results import DOWNLOAD_ROUTE, SOURCE_ROUTE, Downloads, ResultsMixin

JOB_ROUTE = r"/crm/bulk/(?P<version>v\d+(?:\.\d+)?)/write/(?P<job_id>\d+)"
JSON = "application/json"
ERROR_JSON = "application/json;charset=utf-8"
HTML = "text/html;charset=utf-8"
AUTH_SCHEME = "Zoho-oauthtoken"
MALFORMED_BODY = b'{"status": "COMPL'
_COMMON_HEADERS = {"Referrer-Policy": "strict-origin", "X-Content-Type-Options": "nosniff",
                   "X-XSS-Protection": "1; mode=block", "Pragma": "no-cache",
                   "Cache-Control": "no-cache", "Expires": "Thu, 01 Jan 1970 00:00:00 GMT",
                   "X-Frame-Options": "SAMEORIGIN"}  # fmt: skip
ERRORS = {  # code: (HTTP status, message), as Zoho answers them
    "INVALID_URL_PATTERN": (404, "Please check if the URL trying to access is a correct one"),
    "INVALID_REQUEST_METHOD": (400, "The http request method type is not a valid one"),
    "AUTHENTICATION_FAILURE": (401, "Authentication failed"),
    "INVALID_TOKEN": (401, "invalid oauth token"),
    "RESOURCE_NOT_FOUND": (400, "The requested resource doesn't exist."),
    "INVALID_DATA": (400, "the request is not valid"),
    "NO_PERMISSION": (403, "permission denied"),
    "TOO_MANY_REQUESTS": (429, "too many requests, please try again later"),
}
_FAULT_CODES = {400: "INVALID_DATA", 401: "INVALID_TOKEN", 403: "NO_PERMISSION",
                404: "INVALID_URL_PATTERN", 429: "TOO_MANY_REQUESTS"}  # fmt: skip


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = JSON
    headers: dict[str, str] = field(default_factory=dict)


def error(code: str) -> Response:
    """Zoho's error envelope for ``code`` (a key of ERRORS)."""
    status, message = ERRORS[code]
    body = {"code": code, "details": {}, "message": message, "status": "error"}
    return Response(status, json.dumps(body).encode(), ERROR_JSON)


@dataclass
class Fault:
    """Something to go wrong with the next ``times`` matching requests (None: all of them)."""

    kind: Literal["status", "stall", "malformed", "drop"]
    status: int = 502
    body: str | bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    times: int | None = 1
    path_prefix: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("status", "stall", "malformed", "drop"):
            raise ValueError(f"unknown fault kind {self.kind!r}")

    def response(self) -> Response:
        """The answer for a "status" or "malformed" fault."""
        raw = self.body.encode() if isinstance(self.body, str) else self.body
        if self.kind == "malformed":
            resp = Response(200, MALFORMED_BODY if raw is None else raw, JSON)
        elif raw is not None:
            resp = Response(self.status, raw, HTML if raw.lstrip()[:1] == b"<" else ERROR_JSON)
        elif self.status >= 500 or self.status not in _FAULT_CODES:  # a gateway's HTML page
            phrase = BaseHTTPRequestHandler.responses.get(self.status, ("Error",))[0]
            title = f"{self.status} {phrase}"
            page = f"<html><head><title>{title}</title></head><body><center><h1>{title}</h1>"
            resp = Response(self.status, f"{page}</center><hr>ZGS</body></html>".encode(), HTML)
        else:
            resp = error(_FAULT_CODES[self.status])
        for name, value in self.headers.items():
            if name.lower() == "content-type":
                resp.content_type = value
            else:
                resp.headers[name] = value
        return resp


@dataclass
class RecordedRequest:
    """A request as received: ``status`` is 0 until answered, ``time`` monotonic on arrival."""

    method: str
    path: str
    headers: dict[str, str]
    status: int
    time: float


@dataclass
class Request:
    method: str
    path: str  # without the query string
    headers: Message
    body: bytes
    match: re.Match[str]
    query: str = ""


Handler = Callable[[Request], Response]


def _respond(answer: Callable[[Request], Answer]) -> Handler:
    return lambda request: Response(*answer(request))


Body = dict[str, Any] | str | bytes


@dataclass(frozen=True)
class Route:
    pattern: re.Pattern[str]
    handler: Handler
    methods: frozenset[str]
    auth: bool


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # stop() must not wait for idle keep-alive connections

    def __init__(self, address: tuple[str, int], sandbox: Sandbox) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.sandbox = sandbox
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client gone mid-answer is normal here; print nothing."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as two writes
    server: _Server

    def version_string(self) -> str:
        return "ZGS"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the CLI does the printing."""

    def setup(self) -> None:
        super().setup()
        with self.server.sandbox._lock:
            self.server.sandbox._connections.add(self.connection)

    def finish(self) -> None:
        with self.server.sandbox._lock:
            self.server.sandbox._connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        self.close_connection |= "Transfer-Encoding" in self.headers  # chunked bodies go unread
        record = RecordedRequest(self.command, self.path, dict(self.headers.items()), 0, 0.0)
        resp = self.server.sandbox._handle(record, self.headers, body)
        if resp is None:  # a "drop" fault: close without a word
            self.close_connection = True
            return
        try:
            self.send_response(resp.status)
            headers = {**_COMMON_HEADERS, "Content-Type": resp.content_type, **resp.headers}
            headers["Content-Length"] = str(len(resp.body))
            headers["Connection"] = "close" if self.close_connection else "keep-alive"
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(resp.body)
            self.wfile.flush()
        except OSError:  # the client went away
            self.close_connection = True

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_COPY = _dispatch


class Sandbox(AccountsMixin, ResultsMixin):
    """Zoho's bulk write API (with the jobs of ``jobs``) and accounts server, on loopback."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        job_duration: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        client_id: str = "1000.SANDBOXCLIENT",
        client_secret: str = "sandbox-secret",  # noqa: S107 (the sandbox's own)
        token_ttl: float = 3600.0,
        device_interval: float = 5.0,
    ) -> None:
        self.host, self.port, self.job_duration = host, port, job_duration
        self.token = token if token is not None else "sandbox-" + secrets.token_urlsafe(24)
        self.requests: list[RecordedRequest] = []
        self._catalogue = Catalogue(clock, job_duration)
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._routes: list[Route] = []
        self._connections: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._serving = self._stopped = False
        self._downloads = Downloads()
        self.add_route(JOB_ROUTE, self._get_job)
        self.add_route(DOWNLOAD_ROUTE, self._get_download)
        self.add_route(SOURCE_ROUTE, self._get_source, auth=False)
        self._accounts = Accounts(
            lambda: self.url, clock, client_id, client_secret, token_ttl, device_interval
        )
        for pattern, methods, answer in self._accounts.routes:
            self.add_route(pattern, _respond(answer), methods, auth=False)

    def bind(self) -> Sandbox:
        """Bind the listening socket (once; OSError if taken); demo jobs start now."""
        if self._server is None:
            self._server = _Server((self.host, self.port), self)
            self.restart_jobs()
        return self

    def start(self) -> Sandbox:
        """Bind and serve in a daemon thread."""
        self.bind()
        if not self._serving:
            self._serving = True
            threading.Thread(target=self._serve, args=(0.01,), daemon=True).start()  # quick stop
        return self

    def serve_forever(self) -> None:
        """Bind (if needed) and serve in the calling thread until stop() or an exception."""
        self.bind()
        self._serving = True
        self._serve(0.1)

    def _serve(self, poll_interval: float) -> None:
        assert self._server is not None
        self._server.serve_forever(poll_interval)

    def stop(self) -> None:
        """Stop serving, end stalls and open connections, free the port. Idempotent."""
        stopped, self._stopped = self._stopped, True
        if stopped or self._server is None:
            return
        self._stopping.set()
        if self._serving:
            self._server.shutdown()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self._server.server_close()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the sandbox is not bound yet: call start() or bind()")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._server.server_address[1]}"

    @property
    def jobs(self) -> list[str]:
        """Ids of the jobs served: the demo ones, then those put with put_document."""
        return self._catalogue.ids

    def add_route(
        self, pattern: str, handler: Handler, methods: str = "GET", auth: bool = True
    ) -> None:
        """Serve paths fully matching ``pattern`` with ``handler``; ``methods`` space-separated."""
        self._routes.append(Route(re.compile(pattern), handler, frozenset(methods.split()), auth))

    def add_fault(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def put_document(
        self, job_id: str, body: Body, status: int = 200, content_type: str = JSON
    ) -> None:
        """Answer GETs of ``job_id`` (any version) with exactly this body (a dict as JSON)."""
        self._catalogue.put(job_id, body, status, content_type)

    def restart_jobs(self) -> None:
        """Demo jobs start over from ADDED."""
        self._catalogue.restart()

    def request_count(self, path_prefix: str | None = None) -> int:
        with self._lock:
            return sum(r.path.startswith(path_prefix or "") for r in self.requests)

    # serving (called from the handler threads)
    def _handle(self, record: RecordedRequest, headers: Message, body: bytes) -> Response | None:
        """The answer to a request, or None to drop the connection."""
        path, _, query = record.path.partition("?")
        with self._lock:
            record.time = time.monotonic()
            self.requests.append(record)
            fault = next((f for f in self._faults if path.startswith(f.path_prefix or "")), None)
            if fault is not None and fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
        if fault is not None and fault.kind == "stall":  # then answer normally, unless stopped
            fault = Fault("drop") if self._stopping.wait(fault.delay) else None
        if fault is None:
            resp = self._route(record.method, path, query, headers, body)
        elif fault.kind == "drop":
            return None
        else:
            resp = fault.response()
        record.status = resp.status
        return resp

    def _route(self, method: str, path: str, query: str, headers: Message, body: bytes) -> Response:
        for route in self._routes:
            match = route.pattern.fullmatch(path)
            if match is not None:
                break
        else:
            return error("INVALID_URL_PATTERN")
        if method not in route.methods:
            return error("INVALID_REQUEST_METHOD")
        if route.auth:
            scheme, _, token = (headers.get("Authorization") or "").strip().partition(" ")
            if scheme != AUTH_SCHEME:
                return error("AUTHENTICATION_FAILURE")
            token = token.strip()
            ours = secrets.compare_digest(token.encode(), self.token.encode())
            if not (ours or self._accounts.valid_access_token(token)):
                return error("INVALID_TOKEN")
        return route.handler(Request(method, path, headers, body, match, query))

    def _get_job(self, request: Request) -> Response:
        job_id, version = request.match["job_id"], request.match["version"]
        found = self._catalogue.answer(job_id, version, self.url)
        return error("RESOURCE_NOT_FOUND") if found is None else Response(*found)
