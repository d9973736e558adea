"""A Zoho-compatible bulk write API on loopback, with faults that tests can inject.

Each request meets the faults, then the URL pattern (404), the method (400), the Authorization
header (401) and the route's scopes, then the route's handler. Uploads are taken on the API's
port and on a port of the sandbox's own (``upload_url``, Zoho's upload host), which answers
nothing else. More go in with ``add_route``: OAuth's (``accounts``),
result files' (``results``).

Answers are shaped like the recorded ones, bytes and headers: an answer of the API itself
(a job, RESOURCE_NOT_FOUND) is compact JSON sent chunked, gzipped when the client accepts it,
with ``vary``, ``X-ACCESSTOKEN-RESET`` and the API's security headers; the front end's errors
(INVALID_URL_PATTERN, INVALID_REQUEST_METHOD) are compact JSON plus a newline, with a
Content-Length and ``X-Frame-Options: deny``; authentication errors are like those but with the
API's headers. Each kind is a ``family`` of ``Response``.
"""

from __future__ import annotations

import contextlib
import gzip
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

from zbulk.sandbox.accounts import JOB_SCOPES, Accounts, AccountsMixin, allows, granted_scopes
from zbulk.sandbox.bulk_writes import UPLOAD_ROUTE, BulkWritesMixin
from zbulk.sandbox.jobs import VERSION_PATTERN, Answer, Catalogue, compact
from zbulk.sandbox.messages import RecordedRequest, Request
from zbulk.sandbox.result_files import DOWNLOAD_ROUTE, SOURCE_ROUTE, Downloads, ResultFilesMixin
from zbulk.sandbox.settings import SCOPES as SETTINGS_SCOPES
from zbulk.sandbox.settings import fields_answer, layouts_answer, modules_answer

JOB_ROUTE = rf"/crm/bulk/(?P<version>{VERSION_PATTERN})/write/(?P<job_id>\d+)"
RESTART_ROUTE = r"/sandbox/jobs/(?P<job_id>\d+)/restart"
START_ROUTE = r"/sandbox/jobs"
JSON = "application/json"
ERROR_JSON = "application/json;charset=utf-8"
HTML = "text/html;charset=utf-8"
AUTH_SCHEME = "Zoho-oauthtoken"
MALFORMED_BODY = b'{"status": "COMPL'
Family = Literal["api", "front", "auth", "download", "other"]
_API_HEADERS = {
    "Referrer-Policy": "strict-origin",
    "X-Content-Type-Options": "nosniff",
    "X-XSS-Protection": "1; mode=block",
    "Pragma": "no-cache",
    "Cache-Control": "no-cache",
    "Expires": "Thu, 01 Jan 1970 00:00:00 GMT",
    "X-Frame-Options": "SAMEORIGIN",
}
FAMILY_HEADERS: dict[str, dict[str, str]] = {  # after Server, Date, Content-*, Connection
    "api": _API_HEADERS,
    "front": {
        "X-Frame-Options": "deny",
        "X-Download-Options": "noopen",
        "X-Content-Type-Options": "nosniff",
    },
    "auth": {**_API_HEADERS, "X-Download-Options": "noopen"},
    "download": {"X-Content-Type-Options": "nosniff", "X-Download-Options": "noopen"},
    "other": _API_HEADERS,
}
STRICT_TRANSPORT = "max-age=63072000"
ERRORS = {  # code: (HTTP status, message), as Zoho answers them
    "INVALID_URL_PATTERN": (404, "Please check if the URL trying to access is a correct one"),
    "INVALID_REQUEST_METHOD": (400, "The http request method type is not a valid one"),
    "AUTHENTICATION_FAILURE": (401, "Authentication failed"),
    "INVALID_TOKEN": (401, "invalid oauth token"),
    "OAUTH_SCOPE_MISMATCH": (401, "invalid oauth scope to access this URL"),
    "RESOURCE_NOT_FOUND": (400, "The requested resource doesn't exist."),
    "NO_PERMISSION": (403, "permission denied"),
    "TOO_MANY_REQUESTS": (429, "too many requests, please try again later"),
}
# A 400 fault answers a code and message both in the OpenAPI file's API_Exception enums.
_FAULT_CODES = {
    400: "INVALID_REQUEST_METHOD",
    401: "INVALID_TOKEN",
    403: "NO_PERMISSION",
    404: "INVALID_URL_PATTERN",
    429: "TOO_MANY_REQUESTS",
}


_FRONT_CODES = ("INVALID_URL_PATTERN", "INVALID_REQUEST_METHOD")


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = JSON
    headers: dict[str, str] = field(default_factory=dict)
    family: Family = "api"


def error(code: str, headers: dict[str, str] | None = None) -> Response:
    """Zoho's error envelope for ``code`` (a key of ERRORS), in the recorded bytes: the API's
    own RESOURCE_NOT_FOUND is ``status, code, message, details``; the others (front end,
    authentication) ``code, details, message, status`` and a newline."""
    status, message = ERRORS[code]
    if code == "RESOURCE_NOT_FOUND":
        doc = {"status": "error", "code": code, "message": message, "details": {}}
        return Response(status, compact(doc), JSON, dict(headers or {}), "api")
    body = compact({"code": code, "details": {}, "message": message, "status": "error"}) + b"\n"
    family: Family = "front" if code in _FRONT_CODES else "auth"
    return Response(status, body, ERROR_JSON, dict(headers or {}), family)


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
    method: str | None = None  # only requests of this method (None: any)

    def __post_init__(self) -> None:
        if self.kind not in ("status", "stall", "malformed", "drop"):
            raise ValueError(f"unknown fault kind {self.kind!r}")

    def response(self) -> Response:
        """The answer for a "status" or "malformed" fault."""
        raw = self.body.encode() if isinstance(self.body, str) else self.body
        if self.kind == "malformed":
            resp = Response(200, MALFORMED_BODY if raw is None else raw, JSON)
        elif raw is not None:
            html = raw.lstrip()[:1] == b"<"
            resp = Response(self.status, raw, HTML if html else ERROR_JSON, family="other")
        elif self.status >= 500 or self.status not in _FAULT_CODES:  # a gateway's HTML page
            phrase = BaseHTTPRequestHandler.responses.get(self.status, ("Error",))[0]
            title = f"{self.status} {phrase}"
            page = f"<html><head><title>{title}</title></head><body><center><h1>{title}</h1>"
            html_page = f"{page}</center><hr>ZGS</body></html>".encode()
            resp = Response(self.status, html_page, HTML, family="other")
        else:
            resp = error(_FAULT_CODES[self.status])
        for name, value in self.headers.items():
            if name.lower() == "content-type":
                resp.content_type = value
            else:
                resp.headers[name] = value
        return resp


Handler = Callable[[Request], Response]


def _respond(answer: Callable[[Request], Answer]) -> Handler:
    return lambda request: Response(*answer(request), family="other")


def _respond_api(answer: Callable[[Request], Answer]) -> Handler:
    return lambda request: Response(*answer(request))


Body = dict[str, Any] | str | bytes


@dataclass(frozen=True)
class Route:
    pattern: re.Pattern[str]
    handler: Handler
    methods: frozenset[str]
    auth: bool
    scopes: tuple[str, ...] = JOB_SCOPES  # a minted token needs one of them


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # stop() must not wait for idle keep-alive connections

    def __init__(
        self, address: tuple[str, int], sandbox: Sandbox, upload_only: bool = False
    ) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.sandbox = sandbox
        self.upload_only = upload_only  # the upload host's port: uploads only
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
        resp = self.server.sandbox._handle(record, self.headers, body, self.server.upload_only)
        if resp is None:  # a "drop" fault: close without a word
            self.close_connection = True
            return
        try:
            self._send(resp)
        except OSError:  # the client went away
            self.close_connection = True

    def _send(self, resp: Response) -> None:
        """Status line, headers in the recorded order, then the body (chunked for the API's
        own answers, gzipped when the client accepts it)."""
        api = resp.family == "api"
        body = resp.body
        zipped = api and _accepts_gzip(self.headers.get("Accept-Encoding", ""))
        if zipped:
            body = gzip.compress(body, mtime=0)
        self.send_response(resp.status)
        headers = {"Content-Type": resp.content_type}
        if api:
            headers["Transfer-Encoding"] = "chunked"
        else:
            headers["Content-Length"] = str(len(body))
        headers["Connection"] = "close" if self.close_connection else "keep-alive"
        headers.update(FAMILY_HEADERS[resp.family])
        headers.update(resp.headers)
        if api:
            headers["vary"] = "accept-encoding"
            if zipped:
                headers["Content-Encoding"] = "gzip"
            if resp.status == 200:
                headers["Strict-Transport-Security"] = STRICT_TRANSPORT
        for name, value in headers.items():
            if name.lower() == "content-type" and name != "Content-Type":
                continue
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            if api:
                chunk = f"{len(body):x}\r\n".encode() + body + b"\r\n" if body else b""
                self.wfile.write(chunk + b"0\r\n\r\n")
            else:
                self.wfile.write(body)
        self.wfile.flush()

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_COPY = _dispatch


def _accepts_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding header allows gzip (``gzip;q=0`` does not)."""
    for part in accept_encoding.lower().split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip() in ("gzip", "*"):
            q = params.strip().removeprefix("q=")
            try:
                return not params.strip().startswith("q=") or float(q) > 0
            except ValueError:
                return False
    return False


class Sandbox(BulkWritesMixin, AccountsMixin, ResultFilesMixin):
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
        token_scopes: str | None = None,
        device_pace: float = 30.0,
        upload_port: int = 0,
    ) -> None:
        self.host, self.port, self.job_duration = host, port, job_duration
        self.upload_port = upload_port
        self.token = token if token is not None else "sandbox-" + secrets.token_urlsafe(24)
        # The scopes of ``token`` (comma-separated, as Zoho's token answers say): None for
        # every scope; e.g. "ZohoCRM.bulk.ALL,ZohoFiles.files.ALL" for one without settings.
        self.token_scopes = token_scopes
        self.requests: list[RecordedRequest] = []
        self._catalogue = Catalogue(clock, job_duration)
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._routes: list[Route] = []
        self._connections: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._upload_server: _Server | None = None  # Zoho's upload host, on a port of its own
        self._serving = self._stopped = False
        self._downloads = Downloads()
        self.add_route(JOB_ROUTE, self._get_job)
        self.add_route(DOWNLOAD_ROUTE, self._download)
        self.add_route(SOURCE_ROUTE, self._source, auth=False)
        self.add_route(RESTART_ROUTE, self._restart_job, "POST")
        self.add_route(START_ROUTE, self._start_jobs, "POST")
        # Requests being answered now, and the most at once (``job watch --concurrency``);
        # ``latency``: seconds every request waits before its answer (a distant server).
        self.in_flight = self.max_in_flight = 0
        self.latency = 0.0
        self._accounts = Accounts(
            lambda: self.url,
            clock,
            client_id,
            client_secret,
            token_ttl,
            device_interval,
            device_pace,
        )
        for pattern, methods, answer in self._accounts.routes:
            self.add_route(pattern, _respond(answer), methods, auth=False)
        for pattern, methods, answer, scopes in self._init_imports(clock):  # jobs of uploads
            self.add_route(pattern, _respond_api(answer), methods, scopes=scopes)
        for pattern, answer in zip(
            SETTINGS_SCOPES, (modules_answer, fields_answer, layouts_answer), strict=True
        ):
            self.add_route(pattern, _respond_api(answer), scopes=SETTINGS_SCOPES[pattern])

    def bind(self) -> Sandbox:
        """Bind the listening sockets, the API's and the upload host's (once; OSError if
        taken); demo jobs start now."""
        if self._server is None:
            self._server = _Server((self.host, self.port), self)
            try:
                self._upload_server = _Server((self.host, self.upload_port), self, True)
            except OSError:
                self._server.server_close()
                self._server = None
                raise
            threading.Thread(
                target=self._upload_server.serve_forever, args=(0.01,), daemon=True
            ).start()
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
        if self._upload_server is not None:
            self._upload_server.shutdown()
            self._upload_server.server_close()
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
    def upload_url(self) -> str:
        """The upload host's address (a port of its own, taking only uploads), as
        ``[data_centres.NAME] upload`` names it."""
        if self._upload_server is None:
            raise RuntimeError("the sandbox is not bound yet: call start() or bind()")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._upload_server.server_address[1]}"

    @property
    def jobs(self) -> list[str]:
        """Ids of the jobs served: the demo ones, then those put with put_document."""
        return self._catalogue.ids

    def add_route(
        self,
        pattern: str,
        handler: Handler,
        methods: str = "GET",
        auth: bool = True,
        scopes: tuple[str, ...] = JOB_SCOPES,
    ) -> None:
        """Serve paths fully matching ``pattern`` with ``handler``; ``methods`` space-separated;
        with ``auth``, a minted access token needs one of ``scopes`` (else
        OAUTH_SCOPE_MISMATCH)."""
        route = Route(re.compile(pattern), handler, frozenset(methods.split()), auth, scopes)
        self._routes.append(route)

    def add_fault(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def put_document(
        self, job_id: str, body: Body, status: int = 200, content_type: str = JSON
    ) -> None:
        """Answer GETs of ``job_id`` (any version) with exactly this body (a dict as compact
        JSON, as Zoho sends)."""
        self._catalogue.put(job_id, body, status, content_type)

    def restart_jobs(self, job_id: str | None = None) -> None:
        """Demo jobs (or just ``job_id``, KeyError if it is not one) start over from ADDED.
        Over HTTP: ``POST /sandbox/jobs/{id}/restart`` with the token."""
        self._catalogue.restart(job_id)

    def start_jobs(self, count: int, like: str = "large", span: float = 1.0) -> list[str]:
        """Start ``count`` new jobs now, copies of the demo job ``like`` taking ``span``
        job_durations each; their ids. Over HTTP: ``POST /sandbox/jobs?count=N&like=K``."""
        return self._catalogue.start(count, like, span)

    def request_count(self, path_prefix: str | None = None) -> int:
        with self._lock:
            return sum(r.path.startswith(path_prefix or "") for r in self.requests)

    # serving (called from the handler threads)
    def _handle(
        self, record: RecordedRequest, headers: Message, body: bytes, upload_only: bool = False
    ) -> Response | None:
        """The answer to a request (on the upload host's port: uploads only), or None to drop
        the connection."""
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.latency > 0:
                self._stopping.wait(self.latency)
            return self._answer(record, headers, body, upload_only)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _answer(
        self, record: RecordedRequest, headers: Message, body: bytes, upload_only: bool = False
    ) -> Response | None:
        path, _, query = record.path.partition("?")
        with self._lock:
            record.time = time.monotonic()
            self.requests.append(record)
            fault = next(
                (
                    f
                    for f in self._faults
                    if path.startswith(f.path_prefix or "") and f.method in (None, record.method)
                ),
                None,
            )
            if fault is not None and fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
        if fault is not None and fault.kind == "stall":  # then answer normally, unless stopped
            fault = Fault("drop") if self._stopping.wait(fault.delay) else None
        if fault is None and upload_only and not re.fullmatch(UPLOAD_ROUTE, path):
            resp = error("INVALID_URL_PATTERN")
        elif fault is None:
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
        granted: frozenset[str] | None = None  # the sandbox's own token: every scope
        if route.auth:
            scheme, _, token = (headers.get("Authorization") or "").strip().partition(" ")
            if scheme != AUTH_SCHEME:
                return error("AUTHENTICATION_FAILURE")
            token = token.strip()
            ours = secrets.compare_digest(token.encode(), self.token.encode())
            if not (ours or self._accounts.valid_access_token(token)):
                return error("INVALID_TOKEN")
            if ours:
                granted = None if self.token_scopes is None else granted_scopes(self.token_scopes)
            else:
                granted = self._accounts.scopes(token)
            if not allows(granted, route.scopes):
                return error("OAUTH_SCOPE_MISMATCH")
        return route.handler(Request(method, path, headers, body, match, query, granted))

    def _download(self, request: Request) -> Response:
        found = self._get_download(request)
        if found is None:
            return error("INVALID_URL_PATTERN")
        return Response(*found, family="download")

    def _source(self, request: Request) -> Response:
        found = self._get_source(request)
        if found is None:
            return error("INVALID_URL_PATTERN")
        return Response(*found, family="other")

    def _get_job(self, request: Request) -> Response:
        job_id, version = request.match["job_id"], request.match["version"]
        created = self._created_job(job_id, version)
        if created is not None:
            return Response(*created)
        found = self._catalogue.answer(job_id, version, self.url)
        if found is None:
            return error("RESOURCE_NOT_FOUND", {"X-ACCESSTOKEN-RESET": self._catalogue.token_reset})
        return Response(*found)

    def _start_jobs(self, request: Request) -> Response:
        """The sandbox's own: start N jobs now (``?count=N&like=large&span=1``)."""
        from urllib.parse import parse_qs

        query = {k: v[-1] for k, v in parse_qs(request.query).items()}
        try:
            ids = self.start_jobs(
                int(query.get("count", "1")),
                query.get("like", "large"),
                float(query.get("span", "1")),
            )
        except (KeyError, ValueError) as exc:
            doc = {"status": "error", "code": "INVALID_DATA", "message": str(exc), "details": {}}
            return Response(400, compact(doc), JSON, family="other")
        doc = {
            "status": "success",
            "code": "SUCCESS",
            "message": "started",
            "details": {"ids": ids},
        }
        return Response(201, compact(doc), JSON, family="other")

    def _restart_job(self, request: Request) -> Response:
        """The sandbox's own: start a demo job over, so there is always one to watch."""
        job_id = request.match["job_id"]
        try:
            self.restart_jobs(job_id)
        except KeyError:
            return error("RESOURCE_NOT_FOUND", {"X-ACCESSTOKEN-RESET": self._catalogue.token_reset})
        doc = {
            "status": "success",
            "code": "SUCCESS",
            "message": "restarted",
            "details": {"id": job_id},
        }
        return Response(200, compact(doc), JSON, family="other")
