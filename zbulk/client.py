"""HTTP to Zoho: one requests Session, retries, and the mapping of answers to errors.

Nothing here prints. ``log`` (given by the CLI under ``-v``) receives one line per
request, answer and retry, with secrets left out.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any, NamedTuple
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import requests
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, LocationParseError, ReadTimeoutError
from urllib3.util import parse_url
from urllib3.util.retry import Retry

from zbulk import __version__
from zbulk.auth.model import TokenSource
from zbulk.config import Settings, is_loopback_host
from zbulk.errors import (
    ApiError,
    CredentialsError,
    NetworkError,
    NotFoundError,
    UsageError,
    ZbulkError,
)
from zbulk.models import MAX_WAIT

RETRY_STATUSES = frozenset({429, 502, 503, 504})
MAX_RETRIES = 3
BACKOFF_FACTOR = 0.5
BACKOFF_JITTER = 0.5
MAX_RETRY_AFTER = 60.0
MAX_BODY_BYTES = 64 * 1024 * 1024
MAX_REDIRECTS = 5
REDIRECTS = frozenset({301, 302, 303, 307, 308})
# Zoho's own hosts: https://*.zoho.<tld>, *.zohoapis.<tld>, *.zohocloud.ca.
_ZOHO_HOST = (r"(?:^|\.)(?:zoho|zohoapis)\.(?:com|eu|in|jp|sa|uk|ca|com\.au|com\.cn)$"
              r"|(?:^|\.)zohocloud\.ca$")  # fmt: skip
AUTH_CODES = frozenset({"AUTHENTICATION_FAILURE", "INVALID_TOKEN", "OAUTH_SCOPE_MISMATCH"})
# Patterns are compiled on first use (re caches them): start-up pays for none of them.
_SECRET_PARAM = r"(?i)token|code|secret|password|key|signature"  # noqa: S105
_ERRNO = r"\[Errno -?\d+\] ([^'\")]+)"

Log = Callable[[str], None]


def check_job_id(job_id: str) -> str:
    """A job id is all digits; anything else is a usage error and nothing is sent."""
    if not (job_id.isascii() and job_id.isdigit() and len(job_id) <= 30):
        raise UsageError(
            f"invalid job id {job_id!r}: a bulk write job id is all digits "
            "(like 4150868000005392002)",
        )
    return job_id


def redact_url(url: str) -> str:
    """The URL with the values of secret-looking query parameters replaced."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    query = [(k, "***" if re.search(_SECRET_PARAM, k) else v) for k, v in parse_qsl(parts.query)]
    return urlunsplit(parts._replace(query=urlencode(query, safe="*")))


class UrlGate:
    """The one decision "may this URL carry the token", for the API, downloads, uploads
    and every redirect hop alike.

    It is made on the URL exactly as the transport reads it (urllib3's parser, which
    requests uses too), after refusing what parsers disagree on: backslashes, spaces,
    control and non-ASCII characters. Allowed: the configured API domain itself (scheme,
    host and port); the upload host config.toml names for it (``[data_centres.NAME]``
    ``upload``, not for redirects); Zoho's own hosts over https on the default port; and,
    when the API domain is a loopback address (the sandbox), loopback hosts over http.
    Never a URL with a user name or password.
    """

    def __init__(self, api_domain: str) -> None:
        api = parse_url(api_domain)
        self.api = (api.scheme, api.host, api.port or _default_port(api.scheme))
        self.loopback_api = bool(api.host) and is_loopback_host(_bare(api.host or ""))
        self.api_domain = api_domain
        self._upload: tuple[str | None, str | None, int | None] | None = None  # read when needed

    def problem(self, url: str, *, redirect: bool = False) -> str | None:
        """Why the token must not go to ``url``; None when it may. A ``redirect`` goes
        only to the API domain itself or to Zoho's https hosts."""
        if not url.isascii() or re.search(r"[\x00-\x20\x7f\\]", url):
            return "the URL holds characters that parsers read differently"
        try:
            parts = parse_url(url)
        except (LocationParseError, ValueError):
            return "it is not a valid URL"
        if parts.auth is not None or "@" in (parts.netloc or ""):
            return "the URL carries a user name or password"
        scheme, host = parts.scheme or "", parts.host or ""
        port = parts.port or _default_port(scheme)
        if not host or scheme not in ("http", "https"):
            return "it is not an http(s) URL with a host"
        if (scheme, host, port) == self.api:
            return None
        refusal = None
        if scheme == "http":
            if not (self.loopback_api and is_loopback_host(_bare(host)) and not redirect):
                refusal = "it is not https"
        elif port != 443:
            refusal = f"port {port} is not Zoho's"
        elif not (re.fullmatch(r"[a-z0-9.-]+", host) and re.search(_ZOHO_HOST, host)):
            refusal = f"{host} is neither a Zoho host nor your API domain"
        if refusal and not redirect and self._is_upload(scheme, host, port):
            return None
        return refusal

    def allows(self, url: str) -> bool:
        return self.problem(url) is None

    def _is_upload(self, scheme: str, host: str, port: int | None) -> bool:
        """Whether this is the upload host configured for the API domain (config.toml is
        read once, and only when a URL is not otherwise allowed)."""
        if self._upload is None:
            from zbulk.auth.datacentres import configured_upload

            try:
                found = configured_upload(self.api_domain)
            except ZbulkError:
                found = None
            parts = parse_url(found) if found else None
            self._upload = (parts.scheme, parts.host, parts.port or _default_port(parts.scheme)
                            ) if parts else (None, None, None)  # fmt: skip
        return self._upload == (scheme, host, port)


def token_may_go_to(url: str, api_domain: str) -> bool:
    return UrlGate(api_domain).allows(url)


def _default_port(scheme: str | None) -> int | None:
    return {"http": 80, "https": 443}.get(scheme or "")


def _bare(host: str) -> str:
    return host[1:-1] if host.startswith("[") and host.endswith("]") else host


_local = threading.local()


class _Attempt:
    """The time budget of one request attempt: connect, headers and every read of the
    body. A timer shuts the attempt's sockets when it runs out, so a server trickling a
    byte at a time cannot stretch an answer past ``--request-timeout`` (the socket
    timeout alone bounds each read, not the answer)."""

    def __init__(self, seconds: float, deadline: float | None) -> None:
        self.seconds = seconds
        self.deadline = deadline  # monotonic: the caller's hard end (a watch's --timeout)
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
    """Raised out of urllib3's retry loop: the attempt's budget or the caller's deadline
    is spent (not an OSError, so urllib3 lets it through untouched)."""

    def __init__(self, why: str, status: int | None = None) -> None:
        super().__init__(why)
        self.why = why
        self.status = status


class _Retry(Retry):
    """urllib3's Retry, telling the log about each retry.

    A read timeout is not retried: ``--request-timeout`` bounds each request and a
    stalled server should be reported, not waited on four times over. Retry-After is
    honoured up to ``MAX_RETRY_AFTER`` seconds.
    """

    notify: Log | None = None

    def new(self, **kw: Any) -> _Retry:
        retry = super().new(**kw)
        retry.notify = self.notify
        return retry

    def get_retry_after(self, response: Any) -> float | None:
        """Retry-After in seconds, read defensively (any size, any date) and bounded."""
        from zbulk.models import retry_after_seconds

        return retry_after_seconds(response.headers.get("Retry-After"))

    def sleep(self, response: Any = None) -> None:
        """Wait before the next attempt: Retry-After, else backoff. A server asking for
        more than ``MAX_RETRY_AFTER`` is not waited for (the error says so now), no wait
        goes past the caller's deadline, and each attempt gets its full time budget."""
        status = response.status if response is not None else None
        wait = self.get_retry_after(response) if response is not None else None
        if wait is not None and wait > MAX_RETRY_AFTER:
            asked = "a day or more" if wait >= MAX_WAIT else f"{wait:,.0f}s"
            raise _OutOfTime(f"the server asks to wait {asked} before trying again", status)
        if wait is None:
            wait = self.get_backoff_time()
        attempt: _Attempt | None = getattr(_local, "attempt", None)
        if attempt is None:
            time.sleep(wait)
            return
        left = attempt.left()
        if left is not None and wait + min(attempt.seconds, 1.0) > left:
            raise _OutOfTime(f"the next try would be {wait:.0f}s away, past the time left",
                             status)  # fmt: skip
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
    retry = _Retry(
        total=MAX_RETRIES,
        connect=MAX_RETRIES,
        read=MAX_RETRIES,
        status=MAX_RETRIES,
        other=0,
        redirect=0,
        allowed_methods=frozenset({"GET"}),
        status_forcelist=RETRY_STATUSES,
        backoff_factor=BACKOFF_FACTOR,
        backoff_jitter=BACKOFF_JITTER,
        backoff_max=10.0,
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    retry.notify = notify
    return retry


class Fetched(NamedTuple):
    """A JSON document and the bytes it came from (for output that must not change it)."""

    doc: dict[str, Any]
    raw: bytes


class ZohoClient:
    def __init__(self, settings: Settings, tokens: TokenSource, log: Log | None = None) -> None:
        self.settings = settings
        self.tokens = tokens
        self.log = log
        self.gate = UrlGate(settings.api_domain)
        # A monotonic time no request may outlast, retries and Retry-After waits included
        # (``job watch --timeout``); None: each attempt is bounded by --request-timeout only.
        self.deadline: float | None = None
        # Told of each 429 (with its Retry-After in seconds, if any), from any thread: a
        # watch of many jobs holds all of them back (zbulk.watch.Throttle).
        self.on_rate_limit: Callable[[float | None], None] | None = None
        self.session = _Session()
        self.session.headers["User-Agent"] = f"zbulk/{__version__}"
        self.session.headers["Accept"] = "application/json"
        adapter = _Adapter(max_retries=make_retry(log))
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)

    def allow_parallel(self, requests_in_flight: int) -> None:
        """Keep a connection per request in flight (a watch of many jobs), so none is
        dropped and reopened for want of room in the pool."""
        adapter = _Adapter(max_retries=make_retry(self.log), pool_maxsize=requests_in_flight)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)

    def __enter__(self) -> ZohoClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.session.close()

    def job_url(self, job_id: str) -> str:
        s = self.settings
        return f"{s.api_domain}/crm/bulk/{s.api_version}/write/{check_job_id(job_id)}"

    def get_job(self, job_id: str) -> Fetched:
        try:
            return self.get_json(self.job_url(job_id))
        except NotFoundError:
            raise NotFoundError(
                f"no bulk write job {job_id} in this org",
                hint="check the id, and that --api-domain and --profile point at the "
                "data centre and org that created the job",
            ) from None

    def get_json(self, url: str) -> Fetched:
        """GET a JSON object with the token; one more try after a 401 if the token was renewed."""
        for last in (False, True):
            with self._exchange(url) as response:
                if response.status_code == 401 and not last and self.tokens.rejected():
                    continue
                body = self._read_body(response)
                if response.status_code >= 400:
                    raise self._error_for(response, body)
                doc = _parse_object(body)
                if doc is None:
                    raise NetworkError(
                        f"the answer from {_host(url)} is not the JSON promised "
                        f"(HTTP {response.status_code}, {_describe(response, body)})",
                        hint="try again; if it persists, run with -v and check --api-domain",
                    )
                if doc.get("status") == "error" and isinstance(doc.get("code"), str):
                    raise self._error_for(response, body)
                return Fetched(doc, body)
        raise AssertionError("unreachable")  # pragma: no cover

    def download(self, url: str, dest: IO[bytes], max_bytes: int) -> int:
        """Stream a file (a job's result ZIP) into ``dest`` with the token; return its size.
        The URL (and every redirect) must pass the gate; errors writing ``dest`` are the
        caller's OSError."""
        problem = self.gate.problem(url)
        if problem:
            raise ApiError(f"refusing to send your token to {_host(url)!r}: {problem}",
                           hint="a result link should point at a Zoho download host")  # fmt: skip
        for last in (False, True):
            with self._exchange(url) as response:
                if response.status_code == 401 and not last and self.tokens.rejected():
                    continue
                if response.status_code >= 400:
                    error = self._error_for(response, self._read_body(response))
                    if isinstance(error, ApiError | NotFoundError):
                        raise ApiError(
                            f"the result file could not be downloaded: {error.message}",
                            hint="result links last up to seven days after the job ends; "
                            "once expired, Zoho does not give the file again",
                            status=response.status_code,
                        )
                    raise error
                size = 0
                try:
                    for chunk in response.iter_content(chunk_size=1 << 16):
                        size += len(chunk)
                        if size > max_bytes:
                            raise NetworkError(
                                f"the result file is larger than {max_bytes // (1 << 20)} MiB; "
                                "refusing to download more"
                            )
                        dest.write(chunk)
                except requests.exceptions.RequestException as exc:
                    raise self._failure(exc, url) from None
                return size
        raise AssertionError("unreachable")  # pragma: no cover

    @contextlib.contextmanager
    def _exchange(self, url: str) -> Iterator[requests.Response]:
        """One request and its answer, within one time budget: ``--request-timeout`` for
        the whole answer (connect, headers, body) per attempt, and never past
        ``self.deadline``. Redirects are followed only where the gate lets the token go."""
        budget = self.settings.request_timeout
        if self.deadline is not None:
            budget = min(budget, self.deadline - time.monotonic())
            if budget <= 0:
                raise NetworkError(f"no time left to ask {_host(url)}")
        attempt = _Attempt(budget, self.deadline)
        attempt.on_rate_limit = self.on_rate_limit
        _local.attempt = attempt
        try:
            response = self._get(url, attempt)
            with response:
                yield response
        finally:
            attempt.stop()
            _local.attempt = None

    def _get(self, url: str, attempt: _Attempt) -> requests.Response:
        for _ in range(MAX_REDIRECTS + 1):
            response = self._send(url, attempt)
            location = response.headers.get("Location")
            if response.status_code not in REDIRECTS or not location:
                return response
            response.close()
            target = urljoin(url, location)
            problem = self.gate.problem(target, redirect=True)
            if problem:
                raise ApiError(
                    f"{_host(url)} redirected to {redact_url(target)!r}, which was not "
                    f"followed: {problem}",
                    hint="check --api-domain; zbulk follows redirects only to Zoho's "
                    "https hosts and your API domain",
                )
            if self.log:
                self.log(f"redirected to {redact_url(target)}")
            url = target
        raise NetworkError(f"more than {MAX_REDIRECTS} redirects from {_host(url)}")

    def _send(self, url: str, attempt: _Attempt) -> requests.Response:
        headers = {"Authorization": f"Zoho-oauthtoken {self.tokens.access_token()}"}
        if self.log:
            self.log(f"GET {redact_url(url)}")
        started = time.monotonic()
        # Over plain http (only ever loopback) a proxy would see the token: never use one.
        proxies = {"http": "", "https": "", "all": ""} if url[:5].lower() == "http:" else None
        try:
            response = self.session.get(
                url,
                headers=headers,
                timeout=(attempt.seconds, attempt.seconds),
                stream=True,
                allow_redirects=False,
                proxies=proxies,
            )
        except requests.exceptions.RequestException as exc:
            raise self._failure(exc, url) from None
        except _OutOfTime as exc:
            raise self._out_of_time(exc, url) from None
        if self.log:
            took = time.monotonic() - started
            self.log(f"{response.status_code} {response.reason} in {took:.3f}s ({redact_url(url)})")
        return response

    def _failure(self, exc: requests.exceptions.RequestException, url: str) -> ZbulkError:
        attempt: _Attempt | None = getattr(_local, "attempt", None)
        if attempt is not None and attempt.fired:
            return self._out_of_time(_OutOfTime("time ran out"), url)
        return _network_error(exc, url, self.settings.request_timeout)

    def _out_of_time(self, exc: _OutOfTime, url: str) -> ZbulkError:
        if exc.status is not None:
            return NetworkError(
                f"HTTP {exc.status} from {_host(url)}: {exc.why}",
                hint="try again later; -v shows each attempt",
            )
        return NetworkError(
            f"{_host(url)} did not answer within {self.settings.request_timeout:g}s",
            hint="try again, or allow more time with --request-timeout",
        )

    def _read_body(self, response: requests.Response) -> bytes:
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_content(chunk_size=256 * 1024):
                size += len(chunk)
                if size > MAX_BODY_BYTES:
                    raise NetworkError(
                        f"the answer from {_host(response.url)} is larger than "
                        f"{MAX_BODY_BYTES // (1024 * 1024)} MiB; refusing to read it"
                    )
                chunks.append(chunk)
        except requests.exceptions.RequestException as exc:
            raise self._failure(exc, response.url) from None
        return b"".join(chunks)

    def _error_for(self, response: requests.Response, body: bytes) -> ZbulkError:
        status = response.status_code
        envelope = _parse_object(body) or {}
        code = envelope.get("code") if isinstance(envelope.get("code"), str) else None
        message = envelope.get("message") if isinstance(envelope.get("message"), str) else None
        said = ": ".join(p for p in (code, message) if p) or _describe(response, body)
        if status == 401 or (code in AUTH_CODES and status < 500):
            return CredentialsError(
                f"the API rejected the access token from {self.tokens.origin} ({said})",
                hint="get a fresh token with the ZohoCRM.bulk.ALL scope, and check that "
                "--api-domain is your data centre's",
            )
        if code == "RESOURCE_NOT_FOUND":
            return NotFoundError(f"not found ({said})")
        if status == 429 or status >= 500:
            reason = "rate limited" if status == 429 else "server error"
            return NetworkError(
                f"{reason}: HTTP {status} from {_host(response.url)} after {MAX_RETRIES} retries "
                f"({said})",
                hint="try again later; -v shows each attempt",
            )
        hint = None
        if code == "INVALID_URL_PATTERN":
            hint = "check --api-version (v2 … v8) and --api-domain"
        elif code in ("NO_PERMISSION", "OAUTH_SCOPE_MISMATCH"):
            hint = "the token needs the ZohoCRM.bulk.ALL scope and a user allowed to use bulk APIs"
        return ApiError(f"HTTP {status} from the API ({said})", hint, status=status, code=code)

    # -- the org's metadata (the import pre-flight): zbulk.metadata ----------------------

    def get_settings(self, what: str, module: str | None = None) -> Fetched:
        """``GET /crm/{version}/settings/{modules|fields|layouts}[?module=M]``. A 401 that
        says ``OAUTH_SCOPE_MISMATCH`` is an ApiError with that code, and the token is not
        refreshed for it (a new token has the same scopes); other 401s are as ``get_json``."""
        from urllib.parse import quote

        if what not in ("modules", "fields", "layouts"):
            raise ValueError(what)
        s = self.settings
        url = f"{s.api_domain}/crm/{s.api_version}/settings/{what}"
        if module is not None:
            url += "?module=" + quote(module, safe="")
        for last in (False, True):
            with self._exchange(url) as response:
                status = response.status_code
                body = self._read_body(response)
                doc = _parse_object(body)
                code = doc.get("code") if doc is not None else None
                renew = status == 401 and code != "OAUTH_SCOPE_MISMATCH" and not last
                if renew and self.tokens.rejected():
                    continue
                if status >= 400 and (code == "OAUTH_SCOPE_MISMATCH" or status == 404):
                    raise ApiError(
                        f"HTTP {status} from the API ({code or 'not found'})",
                        status=status,
                        code=code if isinstance(code, str) else None,
                    )
                if status >= 400 or (doc is not None and doc.get("status") == "error"):
                    error = self._error_for(response, body)
                    raise error
                if doc is None:
                    if status == 204:  # Zoho's "nothing": a module without fields or layouts
                        return Fetched({}, body)
                    raise NetworkError(
                        f"the answer from {_host(url)} is not the JSON promised "
                        f"(HTTP {status}, {_describe(response, body)})",
                        hint="try again; if it persists, run with -v and check --api-domain",
                    )
                return Fetched(doc, body)
        raise AssertionError("unreachable")  # pragma: no cover

    # -- changes at Zoho (job import, job retry): POSTs ---------------------------------

    def get_org(self) -> Fetched:
        """The org behind the token (``GET /crm/{version}/org``; scope ZohoCRM.org.READ)."""
        s = self.settings
        try:
            return self.get_json(f"{s.api_domain}/crm/{s.api_version}/org")
        except CredentialsError as exc:
            exc.hint = (
                "reading the org id needs a token with the ZohoCRM.org.READ scope: "
                "log in again with it (`zbulk auth login`), or give the id with --org"
            )
            raise

    def upload(self, url: str, path: Path, filename: str, org_id: str) -> Fetched:
        """Upload a ZIP to Zoho's upload host as a streamed multipart form (field ``file``),
        with ``feature: bulk-write`` and ``X-CRM-ORG``. A file that no job uses changes
        nothing, so connection failures, 429, 502, 503 and 504 are tried again."""
        from zbulk.imports import MultipartFile

        def body() -> MultipartFile:
            return MultipartFile(path, filename)

        headers = {"feature": "bulk-write", "X-CRM-ORG": org_id}
        return self._post(url, body, headers, what="upload", again=True)

    def create_job(self, body: Mapping[str, Any]) -> Fetched:
        """``POST /crm/bulk/{version}/write``. Never sent twice: a create is not idempotent,
        so once the request may have reached Zoho no failure is retried, and one with no
        answer says the job may exist."""
        s = self.settings
        data = json.dumps(body, allow_nan=False).encode()
        self.session.close()  # a fresh connection: a stale kept-alive one would blur "sent"
        return self._post(f"{s.api_domain}/crm/bulk/{s.api_version}/write",
                          lambda: io.BytesIO(data), {"Content-Type": "application/json"},
                          what="create", again=False)  # fmt: skip

    def _post(self, url: str, make_body: Callable[[], Any], headers: Mapping[str, str],
              *, what: str, again: bool) -> Fetched:  # fmt: skip
        problem = self.gate.problem(url)
        if problem:
            raise ApiError(f"refusing to send your token to {_host(url)!r}: {problem}",
                           hint="check --api-domain")  # fmt: skip
        renewed, tries = False, 0
        while True:
            body = make_body()
            sent = dict(headers)
            if getattr(body, "content_type", None):  # a multipart body: its boundary
                sent["Content-Type"] = body.content_type
            try:
                status, response, raw = self._post_once(url, body, sent, what, again)
            finally:
                body.close()
            if status == 401 and not renewed and self.tokens.rejected():
                renewed = True  # a 401 is an answer: nothing was created
                continue
            if again and status in RETRY_STATUSES and tries < MAX_RETRIES:
                tries += 1
                from zbulk.models import retry_after_seconds

                after = retry_after_seconds(response.headers.get("Retry-After"))
                wait = BACKOFF_FACTOR * (2 ** (tries - 1)) + BACKOFF_JITTER * random.random()
                time.sleep(min(after if after is not None else wait, MAX_RETRY_AFTER))
                if self.log:
                    self.log(f"retry {tries}/{MAX_RETRIES} after HTTP {status} (POST {url})")
                continue
            return self._posted(response, raw, what)

    def _post_once(self, url: str, body: Any, headers: Mapping[str, str], what: str,
                   again: bool) -> tuple[int, requests.Response, bytes]:  # fmt: skip
        attempt = _Attempt(self.settings.request_timeout, self.deadline)
        _local.attempt = attempt
        auth = {"Authorization": f"Zoho-oauthtoken {self.tokens.access_token()}"}
        proxies = {"http": "", "https": "", "all": ""} if url[:5].lower() == "http:" else None
        if self.log:
            self.log(f"POST {redact_url(url)}")
        started = time.monotonic()
        try:
            try:
                response = self.session.post(
                    url, data=body, headers={**headers, **auth}, stream=True,
                    timeout=(attempt.seconds, attempt.seconds), allow_redirects=False,
                    proxies=proxies,
                )  # fmt: skip
                with response:
                    raw = self._read_body(response)
            except (requests.exceptions.RequestException, _OutOfTime, NetworkError) as exc:
                raise self._post_failure(exc, url, what, attempt, again) from None
        finally:
            attempt.stop()
            _local.attempt = None
        if self.log:
            took = time.monotonic() - started
            self.log(f"{response.status_code} {response.reason} in {took:.3f}s ({redact_url(url)})")
        return response.status_code, response, raw

    def _post_failure(self, exc: Exception, url: str, what: str, attempt: _Attempt,
                      again: bool) -> ZbulkError:  # fmt: skip
        reason = getattr(getattr(exc, "args", [None])[0], "reason", None)
        before_sending = isinstance(exc, requests.exceptions.ConnectTimeout) or isinstance(
            reason, ConnectTimeoutError)  # fmt: skip
        if again or before_sending or isinstance(exc, requests.exceptions.InvalidURL):
            if isinstance(exc, requests.exceptions.RequestException):
                return self._failure(exc, url)
            return NetworkError(
                f"{_host(url)} did not answer within {self.settings.request_timeout:g}s",
                hint="try again, or allow more time with --request-timeout",
            )
        timed_out = attempt.fired or isinstance(exc, requests.exceptions.Timeout | _OutOfTime)
        why = (f"no answer came within {self.settings.request_timeout:g}s" if timed_out
               else f"the connection failed ({_reason(exc)})")  # fmt: skip
        return NetworkError(
            f"the request to {what} the job was sent to {_host(url)}, but {why}: the job may "
            "have been created. zbulk does not send it again on its own",
            hint="before importing again, look for a job created just now in Zoho CRM "
            "(Setup > Data Administration > Import History), or wait for its callback",
        )

    def _posted(self, response: requests.Response, raw: bytes, what: str) -> Fetched:
        """The answer to an upload or create: its document, or the error Zoho said."""
        status = response.status_code
        doc = _parse_object(raw)
        refused = doc is not None and doc.get("status") == "error"
        if status < 300 and doc is not None and not refused:
            return Fetched(doc, raw)
        if status < 300 and doc is None:
            raise NetworkError(
                f"the answer to the {what} from {_host(response.url)} is not the JSON promised "
                f"(HTTP {status}, {_describe(response, raw)})",
                hint="try again; if it persists, run with -v",
            )
        error = self._error_for(response, raw)
        scope = ("ZohoFiles.files.ALL" if what == "upload" else "ZohoCRM.bulk.CREATE (or "
                 ".ALL) and ZohoCRM.modules.ALL (or ZohoCRM.modules.<module>.CREATE)")  # fmt: skip
        if isinstance(error, CredentialsError):
            error.hint = (f"the {what} needs a token with the scopes {scope}; log in again with "
                          "`zbulk auth login`, and check --api-domain")  # fmt: skip
            raise error
        if not isinstance(error, ApiError | NotFoundError):
            raise error
        envelope = doc or {}
        code = envelope.get("code") if isinstance(envelope.get("code"), str) else None
        said = ": ".join(str(envelope[k]) for k in ("code", "message") if envelope.get(k))
        said = said or str(envelope.get("x-error") or envelope.get("ERROR_MESSAGE") or "")
        said = said or _describe(response, raw)
        details = envelope.get("details")
        if isinstance(details, dict) and details:
            said += " " + json.dumps(details, ensure_ascii=False)
        hint = _REFUSAL_HINTS.get(code or "")
        if code in ("NO_PERMISSION", "OAUTH_SCOPE_MISMATCH"):
            hint = f"the token needs the scopes {scope} and a user allowed to use bulk APIs"
        raise ApiError(f"Zoho refused the {what} (HTTP {status}): {said}", hint,
                       status=status, code=code)  # fmt: skip


_REFUSAL_HINTS = {
    "MANDATORY_FIELDS_NOT_MAPPED": "map a column to each mandatory field (--map COLUMN=api_name)",
    "INVALID_FIELD": "check the field API names: --map COLUMN=api_name, or rename the header",
    "COLUMN_INDEX_NOT_FOUND": "a mapped column is not in the uploaded file",
    "INVALID_FILE_ID": "the uploaded file is gone; run the command again to upload it anew",
    "INVALID_FILE_FORMAT": "Zoho takes a ZIP holding one CSV",
    "FILE_TOO_LARGE": "Zoho takes at most 25 MB and 25,000 records per file; split it",
    "MODULE_NOT_AVAILABLE": "check --module: a module API name such as Leads or Deals",
}


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _parse_object(body: bytes) -> dict[str, Any] | None:
    try:
        doc = json.loads(body, parse_constant=_reject_constant, strict=False)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return doc if isinstance(doc, dict) else None


def _describe(response: requests.Response, body: bytes) -> str:
    kind = (response.headers.get("Content-Type") or "no content type").split(";")[0].strip()
    if not body:
        return f"{response.reason or 'no reason'}, empty body"
    return f"{response.reason or 'no reason'}, {len(body)} bytes of {kind}"


def _host(url: str) -> str:
    return urlsplit(url).netloc or url


def _network_error(
    exc: requests.exceptions.RequestException, url: str, timeout: float
) -> ZbulkError:
    host = _host(url)
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


class _OwnAuthorization(requests.auth.AuthBase):
    """zbulk sets each request's Authorization header itself. A session without auth of
    its own makes requests read ~/.netrc (or $NETRC) for the host and put that entry's
    Basic credentials in place of the header: the token was never sent and the API said it
    was bad. Setting this (which changes nothing) keeps ~/.netrc out of it."""

    def __call__(self, request: Any) -> Any:
        return request


class _Session(requests.Session):
    """A requests Session with ``_OwnAuthorization``, which reads the environment's proxy
    settings once per scheme and host. requests reads every variable of the environment
    twice per request for them (260 µs a request here, on every poll of every job watched);
    the answer only changes with the host, and a process's environment is its own.
    ``REQUESTS_CA_BUNDLE``, ``NO_PROXY`` and the rest mean what they mean to requests."""

    _HOSTS_KEPT = 16  # a redirect can name any host: the cache stays small

    def __init__(self) -> None:
        super().__init__()
        self.auth = _OwnAuthorization()
        self._environ_proxies: dict[tuple[str, str], dict[str, str]] = {}
        self._environ_lock = threading.Lock()

    def merge_environment_settings(
        self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> Any:
        if not self.trust_env or proxies is None or "no_proxy" in proxies:
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        parts = urlsplit(url)
        key = (parts.scheme.lower(), parts.netloc.lower())
        with self._environ_lock:
            found = self._environ_proxies.get(key)
            if found is None:
                if len(self._environ_proxies) >= self._HOSTS_KEPT:
                    self._environ_proxies.clear()
                found = requests.utils.get_environ_proxies(url)
                self._environ_proxies[key] = found
        # The rest as requests.Session.merge_environment_settings does it.
        for name, proxy in found.items():
            proxies.setdefault(name, proxy)
        if verify is True or verify is None:
            environ = os.environ
            verify = environ.get("REQUESTS_CA_BUNDLE") or environ.get("CURL_CA_BUNDLE") or verify
        merge = requests.sessions.merge_setting
        return {"proxies": merge(proxies, self.proxies), "stream": merge(stream, self.stream),
                "verify": merge(verify, self.verify), "cert": merge(cert, self.cert)}  # fmt: skip


def form_poster(timeout: float, log: Log | None = None) -> Callable[[str, Mapping[str, str]], dict]:
    """A function that POSTs a form to Zoho's accounts server and returns the JSON object.

    Never retried (a grant code is single use). The form holds secrets: only the URL is
    logged. OAuth errors come back as JSON (often with HTTP 200) for the caller to read.
    """
    session = _Session()
    session.headers["User-Agent"] = f"zbulk/{__version__}"

    def post(url: str, data: Mapping[str, str]) -> dict[str, Any]:
        if log:
            log(f"POST {redact_url(url)}")
        try:
            response = session.post(url, data=dict(data), timeout=timeout, allow_redirects=False)
        except requests.exceptions.RequestException as exc:
            raise _network_error(exc, url, timeout) from None
        with response:
            if log:
                log(f"{response.status_code} {response.reason} ({redact_url(url)})")
            body = _parse_object(response.content)
            if body is None or response.status_code >= 500:
                raise NetworkError(
                    f"the answer from {_host(url)} is not the JSON promised "
                    f"(HTTP {response.status_code}, {_describe(response, response.content)})",
                    hint="try again; check --dc and your network",
                )
            return body

    return post
