"""The one HTTP layer: every request zbulk sends (API, accounts server, upload, download)
goes through ``Http``, with the same rules. Nothing here prints and nothing here knows Zoho's
API; ``zbulk.client`` builds the Zoho client on top of it.

- a gate per purpose decides where a request may go (``zbulk.urls``: ``UrlGate`` for the
  token, the API domain and Zoho's hosts; ``AccountsGate`` for credentials, the accounts
  servers zbulk knows), on the URL exactly as the transport reads it, for the first request
  and every redirect hop; ``Http.request`` asks it before anything is sent;
- https except loopback; no proxy ever carries a plain-http request;
- ``--request-timeout`` bounds each attempt (connect, headers and the whole body: a timer
  shuts the sockets of a trickling answer), ``deadline`` the whole command, Retry-After
  waits included: a wait past either ends the request at once and says so;
- one urllib3 ``Retry`` policy for GET and POST: a request that must not be sent twice
  (``resend=False``: a create, an OAuth grant) is retried only when the connection failed
  before anything was sent;
- a size cap on every answer read into memory; downloads are streamed to a file object;
- the multipart body of an upload, read from disk as it is sent.

``log`` (given by the CLI under ``-v``) receives one line per request, answer and retry,
with secrets left out.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any, Protocol
from urllib.parse import urljoin

import requests
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, ReadTimeoutError
from urllib3.util.retry import Retry

from zbulk import __version__
from zbulk.errors import ApiError, NetworkError, OutOfTime, UsageError, ZbulkError
from zbulk.models import MAX_WAIT, retry_after_seconds
from zbulk.urls import (
    AccountsGate,
    Gate,
    UrlGate,
    check_https_url,
    host_of,
    redact_url,
    token_may_go_to,
)

__all__ = [
    "AccountsGate",
    "Gate",
    "Http",
    "MultipartFile",
    "TokenSource",
    "UrlGate",
    "check_https_url",
    "form_poster",
    "host_of",
    "redact_url",
    "token_may_go_to",
]

RETRY_STATUSES = frozenset({429, 502, 503, 504})
MAX_RETRIES = 3
BACKOFF_FACTOR = 0.5
BACKOFF_JITTER = 0.5
MAX_RETRY_AFTER = 60.0  # never wait longer than this for a server, whatever the timeouts
MAX_JSON_BYTES = 64 * 1024 * 1024  # an API answer read into memory
MAX_TOKEN_BYTES = 1024 * 1024  # an accounts server's answer read into memory
MAX_REDIRECTS = 5
REDIRECTS = frozenset({301, 302, 303, 307, 308})
CHUNK = 1 << 20
# Patterns are compiled on first use (re caches them): start-up pays for none of them.
_ERRNO = r"\[Errno -?\d+\] ([^'\")]+)"

Log = Callable[[str], None]
#: POST a form to the accounts server, return its JSON object (zbulk.auth.oauth uses it)
Post = Callable[[str, Mapping[str, str]], dict[str, Any]]


class TokenSource(Protocol):
    """Where the API's access token comes from (``zbulk.auth.tokens`` has the real ones)."""

    #: a human description of where the token comes from, never the token
    origin: str

    def access_token(self) -> str: ...

    def rejected(self) -> bool:
        """The API answered 401 to the last token. True if a new one is ready to try."""
        ...


# -- the transport: a time budget per attempt, shared with urllib3's retries ------------

_local = threading.local()


class _Attempt:
    """The time budget of one request: connect, headers and every read of the body. A
    timer shuts the attempt's sockets when it runs out, so a server trickling a byte at a
    time cannot stretch an answer past ``--request-timeout`` (the socket timeout alone
    bounds each read, not the answer)."""

    def __init__(self, seconds: float, deadline: float | None, *, resend: bool) -> None:
        self.seconds = seconds
        self.deadline = deadline  # monotonic: the command's hard end (--timeout)
        self.resend = resend  # may the request be sent again after it may have arrived?
        self.on_rate_limit: Callable[[float | None], None] | None = None  # told of each 429
        self.fired = False
        self._socks: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self.start()

    def start(self) -> None:
        self.fired = False
        self._timer = threading.Timer(max(self.seconds, 0.0), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def pause(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        with self._lock:
            self._socks.clear()

    def stop(self) -> None:
        self.pause()

    def left(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            socks = list(self._socks)
        for sock in socks:
            _shut(sock)

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._socks.append(sock)
            fired = self.fired
        if fired:
            _shut(sock)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def _watch(sock: Any) -> None:
    attempt = getattr(_local, "attempt", None)
    if attempt is not None and sock is not None:
        attempt.watch(sock)


class _TimedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _watch(sock)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        _watch(self.sock)  # a kept-alive connection: its socket is already open
        super().request(*args, **kwargs)


class _TimedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _watch(sock)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        _watch(self.sock)
        super().request(*args, **kwargs)


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _TimedHTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _TimedHTTPSConnection


class _Adapter(requests.adapters.HTTPAdapter):
    """requests' adapter with connections whose sockets an attempt's timer can shut."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}

    def proxy_manager_for(self, *args: Any, **kwargs: Any) -> Any:
        manager = super().proxy_manager_for(*args, **kwargs)
        manager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}
        return manager


class _OutOfTime(Exception):
    """Raised out of urllib3's retry loop: the attempt's budget or the command's deadline
    is spent (not an OSError, so urllib3 lets it through untouched). ``deadline``: it was
    the command's --timeout that ran out, not the request's."""

    def __init__(self, why: str, status: int | None = None, *, deadline: bool = False) -> None:
        super().__init__(why)
        self.why = why
        self.status = status
        self.deadline = deadline


class _Retry(Retry):
    """urllib3's Retry: the one policy for every request, telling the log of each retry.

    A read timeout is not retried: ``--request-timeout`` bounds each request and a stalled
    server should be reported, not waited on four times over. A request that must not be
    sent twice (the attempt's ``resend`` is False) is retried only after a connection that
    failed before anything was sent. Retry-After is honoured while it fits the request's
    time and the command's deadline, never over ``MAX_RETRY_AFTER``.
    """

    notify: Log | None = None

    def new(self, **kw: Any) -> _Retry:
        retry = super().new(**kw)
        retry.notify = self.notify
        return retry

    def get_retry_after(self, response: Any) -> float | None:
        """Retry-After in seconds, read defensively (any size, any date) and bounded."""
        return retry_after_seconds(response.headers.get("Retry-After"))

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        attempt: _Attempt | None = getattr(_local, "attempt", None)
        if attempt is not None and not attempt.resend:
            return False  # an answer came: a create or a grant is never sent again
        return super().is_retry(method, status_code, has_retry_after)

    def sleep(self, response: Any = None) -> None:
        """Wait before the next attempt: Retry-After, else backoff. A wait longer than the
        time left (the request's --request-timeout, the command's --timeout) is not waited
        for: the error says so now. Each attempt gets its full time budget."""
        status = response.status if response is not None else None
        wait = self.get_retry_after(response) if response is not None else None
        attempt: _Attempt | None = getattr(_local, "attempt", None)
        asked = wait is not None
        if wait is None:
            wait = self.get_backoff_time()
        said = "a day or more" if wait >= MAX_WAIT else f"{wait:,.0f}s"
        left = attempt.left() if attempt is not None else None
        if left is not None and wait + (min(attempt.seconds, 1.0) if attempt else 0) > left:
            raise _OutOfTime(
                f"the server asks to wait {said} before trying again, more than the "
                f"{max(left, 0):.0f}s left of --timeout"
                if asked
                else f"the next try would be {said} away, past the end of --timeout",
                status,
                deadline=True,
            )
        limit = MAX_RETRY_AFTER if attempt is None else min(MAX_RETRY_AFTER, attempt.seconds)
        if wait > limit:
            why = f"the server asks to wait {said} before trying again, longer than zbulk waits"
            raise _OutOfTime(f"{why} ({limit:g}s, --request-timeout)", status)
        if attempt is None:
            time.sleep(wait)
            return
        attempt.pause()
        time.sleep(wait)
        attempt.start()

    def increment(  # type: ignore[override]
        self,
        method: str | None = None,
        url: str | None = None,
        response: Any = None,
        error: Exception | None = None,
        _pool: Any = None,
        _stacktrace: Any = None,
    ) -> Retry:
        if isinstance(error, ReadTimeoutError):
            raise error
        current: _Attempt | None = getattr(_local, "attempt", None)
        if (
            current is not None
            and not current.resend
            and error is not None
            and not isinstance(error, ConnectTimeoutError)
        ):
            raise error  # it may have arrived: never sent again
        told = current.on_rate_limit if current is not None else None
        if told is not None and response is not None and response.status == 429:
            told(self.get_retry_after(response))  # every job of a watch holds back
        if current is not None and current.fired:
            raise _OutOfTime("time ran out")
        retry = super().increment(method, url, response, error, _pool, _stacktrace)
        if self.notify:
            cause = f"HTTP {response.status}" if response is not None else type(error).__name__
            attempt = len(retry.history)
            self.notify(
                f"retry {attempt}/{MAX_RETRIES} after {cause} ({method} {redact_url(url or '')})"
            )
        return retry


def make_retry(notify: Log | None = None) -> Retry:
    """The retry policy of every request: connection failures, 429, 502, 503 and 504, at
    most ``MAX_RETRIES`` times, with backoff and jitter, honouring Retry-After."""
    retry = _Retry(
        total=MAX_RETRIES,
        connect=MAX_RETRIES,
        read=MAX_RETRIES,
        status=MAX_RETRIES,
        other=0,
        redirect=0,
        allowed_methods=frozenset({"GET", "POST"}),  # POSTs only with ``resend``
        status_forcelist=RETRY_STATUSES,
        backoff_factor=BACKOFF_FACTOR,
        backoff_jitter=BACKOFF_JITTER,
        backoff_max=10.0,
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    retry.notify = notify
    return retry


class _OwnAuthorization(requests.auth.AuthBase):
    """zbulk sets each request's Authorization header itself. A session without auth of
    its own makes requests read ~/.netrc (or $NETRC) for the host and put that entry's
    Basic credentials in place of the header: the token was never sent and the API said it
    was bad. Setting this (which changes nothing) keeps ~/.netrc out of it."""

    def __call__(self, request: Any) -> Any:
        return request


# -- the layer ----------------------------------------------------------------------------


class Http:
    """One requests Session with zbulk's rules; see the module's documentation."""

    def __init__(self, request_timeout: float, log: Log | None = None) -> None:
        self.request_timeout = request_timeout
        self.log = log
        # A monotonic time no request may outlast, retries and Retry-After waits included
        # (``--timeout``); None: each request is bounded by --request-timeout only.
        self.deadline: float | None = None
        # Told of each 429 (with its Retry-After in seconds, if any), from any thread: a
        # watch of many jobs holds all of them back (zbulk.watch.Throttle).
        self.on_rate_limit: Callable[[float | None], None] | None = None
        self.retry = make_retry(log)
        self.session = requests.Session()
        self.session.auth = _OwnAuthorization()
        self.session.headers["User-Agent"] = f"zbulk/{__version__}"
        self.session.headers["Accept"] = "application/json"
        self._mount(requests.adapters.DEFAULT_POOLSIZE)

    def _mount(self, pool_size: int) -> None:
        adapter = _Adapter(max_retries=self.retry, pool_maxsize=pool_size)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)

    def allow_parallel(self, requests_in_flight: int) -> None:
        """Keep a connection per request in flight (a watch of many jobs), so none is
        dropped and reopened for want of room in the pool."""
        self._mount(max(requests_in_flight, 1))

    def close(self) -> None:
        self.session.close()

    @contextlib.contextmanager
    def request(
        self,
        method: str,
        url: str,
        gate: Gate,
        *,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
        resend: bool = True,
        follow: bool = False,
    ) -> Iterator[requests.Response]:
        """One request and its answer within one time budget: ``--request-timeout`` for
        the whole answer (connect, headers, body) per attempt, and never past
        ``self.deadline``. ``follow``: redirects are followed where ``gate`` allows.
        Read the answer inside the ``with`` (``read``, ``save``)."""
        problem = gate.problem(url)
        if problem:
            raise gate.refused(url, problem)
        budget = self.request_timeout
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise NetworkError(f"no time left to ask {host_of(url)}")
            budget = min(budget, left)
        attempt = _Attempt(budget, self.deadline, resend=resend)
        attempt.on_rate_limit = self.on_rate_limit
        outer = getattr(_local, "attempt", None)
        _local.attempt = attempt
        try:
            response = self._send(method, url, attempt, gate, headers or {}, body, follow)
            with response:
                yield response
        finally:
            attempt.stop()
            _local.attempt = outer

    def _send(
        self,
        method: str,
        url: str,
        attempt: _Attempt,
        gate: Gate,
        headers: Mapping[str, str],
        body: Any,
        follow: bool,
    ) -> requests.Response:
        for _ in range(MAX_REDIRECTS + 1):
            response = self._once(method, url, attempt, headers, body)
            location = response.headers.get("Location")
            if not follow or response.status_code not in REDIRECTS or not location:
                return response
            response.close()
            target = urljoin(url, location)
            problem = gate.problem(target, redirect=True)
            if problem:
                raise ApiError(
                    f"{host_of(url)} redirected to {redact_url(target)!r}, which was not "
                    f"followed: {problem}",
                    hint="check --api-domain; zbulk follows redirects only to Zoho's "
                    "https hosts and your API domain",
                )
            if self.log:
                self.log(f"redirected to {redact_url(target)}")
            url = target
        raise NetworkError(f"more than {MAX_REDIRECTS} redirects from {host_of(url)}")

    def _once(
        self, method: str, url: str, attempt: _Attempt, headers: Mapping[str, str], body: Any
    ) -> requests.Response:
        if self.log:
            self.log(f"{method} {redact_url(url)}")
        started = time.monotonic()
        # Over plain http (only ever loopback) a proxy would read everything: never use one.
        proxies = {"http": "", "https": "", "all": ""} if url[:5].lower() == "http:" else None
        try:
            response = self.session.request(
                method,
                url,
                headers=dict(headers),
                data=body,
                stream=True,
                timeout=(attempt.seconds, attempt.seconds),
                allow_redirects=False,
                proxies=proxies,
            )
        except requests.exceptions.RequestException as exc:
            raise self.failure(exc, url) from None
        except _OutOfTime as exc:
            raise self._out_of_time(exc, url) from None
        if self.log:
            took = time.monotonic() - started
            self.log(f"{response.status_code} {response.reason} in {took:.3f}s ({redact_url(url)})")
        return response

    def read(self, response: requests.Response, limit: int = MAX_JSON_BYTES) -> bytes:
        """The whole answer, at most ``limit`` bytes (more is an error, never read)."""
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_content(chunk_size=256 * 1024):
                size += len(chunk)
                if size > limit:
                    raise NetworkError(
                        f"the answer from {host_of(response.url)} is larger than "
                        f"{_mib(limit)}; refusing to read it"
                    )
                chunks.append(chunk)
        except requests.exceptions.RequestException as exc:
            raise self.failure(exc, response.url) from None
        return b"".join(chunks)

    def save(self, response: requests.Response, dest: IO[bytes], limit: int) -> int:
        """Stream the answer into ``dest`` (never held in memory); return its size. More
        than ``limit`` bytes is an error; errors writing ``dest`` are the caller's OSError."""
        size = 0
        try:
            for chunk in response.iter_content(chunk_size=1 << 16):
                size += len(chunk)
                if size > limit:
                    raise NetworkError(
                        f"the file is larger than {_mib(limit)}; refusing to download more"
                    )
                dest.write(chunk)
        except requests.exceptions.RequestException as exc:
            raise self.failure(exc, response.url) from None
        return size

    def failure(self, exc: requests.exceptions.RequestException, url: str) -> ZbulkError:
        """The error for a request that failed. ``maybe_sent`` on it says whether the
        request may have reached the server (for a create: the job may exist)."""
        attempt: _Attempt | None = getattr(_local, "attempt", None)
        if attempt is not None and attempt.fired:
            error = self._out_of_time(_OutOfTime("time ran out"), url)
        else:
            error = _network_error(exc, url, self.request_timeout)
        reason = getattr(getattr(exc, "args", [None])[0], "reason", None)
        before_sending = isinstance(exc, requests.exceptions.ConnectTimeout) or isinstance(
            reason, ConnectTimeoutError
        )
        error.maybe_sent = not (before_sending or isinstance(exc, requests.exceptions.InvalidURL))
        return error

    def _out_of_time(self, exc: _OutOfTime, url: str) -> ZbulkError:
        error: ZbulkError
        if exc.deadline:
            said = f"HTTP {exc.status} from {host_of(url)}: " if exc.status else ""
            error = OutOfTime(f"{said}{exc.why}", hint="allow more time with --timeout")
        elif exc.status is not None:
            error = NetworkError(
                f"HTTP {exc.status} from {host_of(url)}: {exc.why}",
                hint="try again later; -v shows each attempt",
            )
        else:
            error = NetworkError(
                f"{host_of(url)} did not answer within {self.request_timeout:g}s",
                hint="try again, or allow more time with --request-timeout",
            )
        error.maybe_sent = exc.status is None
        return error

    # -- the accounts server ---------------------------------------------------------------

    def post_form(self, url: str, data: Mapping[str, str], gate: Gate) -> dict[str, Any]:
        """POST a form to an accounts server and return its JSON object (at most
        ``MAX_TOKEN_BYTES``). Never sent twice (a grant code is single use). The form holds
        secrets: only the URL is logged. OAuth errors come back as JSON (often with HTTP
        200) for the caller to read."""
        with self.request("POST", url, gate, body=dict(data), resend=False) as response:
            raw = self.read(response, MAX_TOKEN_BYTES)
            body = parse_object(raw)
            if body is None or response.status_code >= 500:
                raise NetworkError(
                    f"the answer from {host_of(url)} is not the JSON promised "
                    f"(HTTP {response.status_code}, {describe(response, raw)})",
                    hint="try again; check --dc and your network",
                )
            return body

    def form_poster(self, gate: Gate) -> Post:
        """``post_form`` with its gate: what ``zbulk.auth.oauth`` is handed."""

        def post(url: str, data: Mapping[str, str]) -> dict[str, Any]:
            return self.post_form(url, data, gate)

        return post


def form_poster(timeout: float, log: Log | None = None, gate: Gate | None = None) -> Post:
    """A ``Post`` on an ``Http`` of its own (a login, a logout). Without a gate: loopback
    accounts servers only (the sandbox)."""
    return Http(timeout, log).form_poster(gate or AccountsGate((), loopback=True))


# -- answers --------------------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_object(body: bytes) -> dict[str, Any] | None:
    """A JSON object, or None (not JSON, NaN and Infinity included, or not an object)."""
    try:
        doc = json.loads(body, parse_constant=_reject_constant, strict=False)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return doc if isinstance(doc, dict) else None


def describe(response: requests.Response, body: bytes) -> str:
    kind = (response.headers.get("Content-Type") or "no content type").split(";")[0].strip()
    if not body:
        return f"{response.reason or 'no reason'}, empty body"
    return f"{response.reason or 'no reason'}, {len(body)} bytes of {kind}"


def _mib(size: int) -> str:
    return f"{size // (1 << 20)} MiB"


def _network_error(
    exc: requests.exceptions.RequestException, url: str, timeout: float
) -> ZbulkError:
    host = host_of(url)
    hint = "check your network and --api-domain; -v shows each attempt"
    if isinstance(exc, requests.exceptions.Timeout):
        return NetworkError(
            f"{host} did not answer within {timeout:g}s",
            hint="try again, or allow more time with --request-timeout",
        )
    if isinstance(exc, requests.exceptions.SSLError):
        return NetworkError(f"TLS failure talking to {host}: {_reason(exc)}", hint=hint)
    if isinstance(exc, requests.exceptions.ConnectionError):
        return NetworkError(f"cannot reach {host}: {_reason(exc)}", hint=hint)
    if isinstance(exc, requests.exceptions.InvalidURL):
        return UsageError(f"invalid URL {redact_url(url)}")
    return NetworkError(f"request to {host} failed: {_reason(exc)}", hint=hint)


def _reason(exc: BaseException) -> str:
    text = str(exc)
    found = re.search(_ERRNO, text)
    if found:
        return found.group(1).strip()
    if "RemoteDisconnected" in text or "Connection aborted" in text:
        return "the server closed the connection without an answer"
    return type(exc).__name__


# -- the multipart body of an upload ----------------------------------------------------------


class MultipartFile(io.RawIOBase):
    """A ``multipart/form-data`` body with one field, ``file``, read from disk as it is
    sent: its length is known up front (a Content-Length, not chunked) and it is never
    held in memory. It can be rewound (``seek``), so the retry policy can send it again."""

    def __init__(self, path: Path, filename: str, field_name: str = "file") -> None:
        super().__init__()
        self.boundary = "zbulk" + secrets.token_hex(16)
        self._head = (
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="{field_name}"; '
            f'filename="{_safe_name(filename)}"\r\n'
            "Content-Type: application/zip\r\n\r\n"
        ).encode()
        self._tail = f"\r\n--{self.boundary}--\r\n".encode()
        self._file = path.open("rb")
        self._size = path.stat().st_size
        self.length = len(self._head) + self._size + len(self._tail)
        self._sent = 0

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def __len__(self) -> int:
        return self.length

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        pos, head = self._sent, len(self._head)
        if pos < head:
            data = self._head[pos : pos + len(buffer)]
        elif pos < head + self._size:
            data = self._file.read(min(len(buffer), head + self._size - pos))
        else:
            start = pos - head - self._size
            data = self._tail[start : start + len(buffer)]
        buffer[: len(data)] = data
        self._sent += len(data)
        return len(data)

    def tell(self) -> int:
        """How much was read (requests sends Content-Length = len - tell)."""
        return self._sent

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._sent, io.SEEK_END: self.length}[whence]
        self._sent = min(max(base + offset, 0), self.length)
        self._file.seek(min(max(self._sent - len(self._head), 0), self._size))
        return self._sent

    def __iter__(self) -> Iterator[bytes]:
        while True:
            chunk = self.read(CHUNK)
            if not chunk:
                return
            yield chunk

    def close(self) -> None:
        self._file.close()
        super().close()


def _safe_name(name: str) -> str:
    """A file name fit for a multipart header: ASCII letters, digits, ``._-``."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", name).strip("._") or "data"
