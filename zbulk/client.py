"""HTTP to Zoho: one requests Session, retries, and the mapping of answers to errors.

Nothing here prints. ``log`` (given by the CLI under ``-v``) receives one line per
request, answer and retry, with secrets left out.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from typing import IO, Any, NamedTuple
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests
from urllib3.exceptions import ReadTimeoutError
from urllib3.util.retry import Retry

from zbulk import __version__
from zbulk.auth.model import TokenSource
from zbulk.config import Settings
from zbulk.errors import (
    ApiError,
    CredentialsError,
    NetworkError,
    NotFoundError,
    UsageError,
    ZbulkError,
)

RETRY_STATUSES = frozenset({429, 502, 503, 504})
MAX_RETRIES = 3
BACKOFF_FACTOR = 0.5
BACKOFF_JITTER = 0.5
MAX_RETRY_AFTER = 60.0
MAX_BODY_BYTES = 64 * 1024 * 1024
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
        after = super().get_retry_after(response)
        return None if after is None else min(after, MAX_RETRY_AFTER)

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
        redirect=5,
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
        self.session = requests.Session()
        self.session.headers["User-Agent"] = f"zbulk/{__version__}"
        self.session.headers["Accept"] = "application/json"
        adapter = requests.adapters.HTTPAdapter(max_retries=make_retry(log))
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
        response = self._get(url)
        if response.status_code == 401 and self.tokens.rejected():
            response.close()
            response = self._get(url)
        with response:
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

    def download(self, url: str, dest: IO[bytes], max_bytes: int) -> int:
        """Stream a file (a job's result ZIP) into ``dest`` with the token; return its size.
        The caller checks first that the token may go to this host."""
        response = self._get(url)
        if response.status_code == 401 and self.tokens.rejected():
            response.close()
            response = self._get(url)
        with response:
            if response.status_code >= 400:
                error = self._error_for(response, self._read_body(response))
                if isinstance(error, ApiError | NotFoundError):
                    raise ApiError(
                        f"the result file could not be downloaded: {error.message}",
                        hint="result links last about a day after the job ends; once expired, "
                        "Zoho does not give the file again",
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
                raise _network_error(exc, url, self.settings.request_timeout) from None
            return size

    def _get(self, url: str) -> requests.Response:
        headers = {"Authorization": f"Zoho-oauthtoken {self.tokens.access_token()}"}
        if self.log:
            self.log(f"GET {redact_url(url)}")
        started = time.monotonic()
        try:
            response = self.session.get(
                url, headers=headers, timeout=self.settings.request_timeout, stream=True
            )
        except requests.exceptions.RequestException as exc:
            raise _network_error(exc, url, self.settings.request_timeout) from None
        if self.log:
            took = time.monotonic() - started
            self.log(f"{response.status_code} {response.reason} in {took:.3f}s ({redact_url(url)})")
        return response

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
            raise _network_error(exc, response.url, self.settings.request_timeout) from None
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


def form_poster(timeout: float, log: Log | None = None) -> Callable[[str, Mapping[str, str]], dict]:
    """A function that POSTs a form to Zoho's accounts server and returns the JSON object.

    Never retried (a grant code is single use). The form holds secrets: only the URL is
    logged. OAuth errors come back as JSON (often with HTTP 200) for the caller to read.
    """
    session = requests.Session()
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
