"""The Zoho CRM API client, on the HTTP layer (``zbulk.http``): job documents, result
files, the org, uploads and creates, and the mapping of Zoho's answers to errors.

Nothing here prints. ``log`` (given by the CLI under ``-v``) receives one line per
request, answer and retry, with secrets left out.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NamedTuple

from zbulk.config import Settings
from zbulk.errors import (
    ApiError,
    CredentialsError,
    NetworkError,
    NotFoundError,
    UsageError,
    ZbulkError,
)
from zbulk.http import (
    MAX_RETRIES,
    Http,
    Log,
    MultipartFile,
    TokenSource,
    UrlGate,
    describe,
    host_of,
    parse_object,
    redact_url,
    token_may_go_to,
)

if TYPE_CHECKING:
    import requests

__all__ = [
    "Fetched",
    "TokenSource",
    "UrlGate",
    "ZohoClient",
    "check_job_id",
    "redact_url",
    "token_may_go_to",
]

AUTH_CODES = frozenset({"AUTHENTICATION_FAILURE", "INVALID_TOKEN", "OAUTH_SCOPE_MISMATCH"})
MAY_EXIST_HINT = (
    "before running it again, look for a job created just now in Zoho CRM "
    "(Setup > Data Administration > Import History), or wait for its callback"
)


def check_job_id(job_id: str) -> str:
    """A job id is all digits; anything else is a usage error and nothing is sent."""
    if not (job_id.isascii() and job_id.isdigit() and len(job_id) <= 30):
        raise UsageError(
            f"invalid job id {job_id!r}: a bulk write job id is all digits "
            "(like 4150868000005392002)",
        )
    return job_id


def created_job_id(doc: Mapping[str, Any]) -> str:
    """The id in Zoho's answer to a create. Not ASCII digits (or none): exit 1, and the
    job may exist all the same."""
    details = doc.get("details")
    job_id = details.get("id") if isinstance(details, dict) else None
    if isinstance(job_id, int) and not isinstance(job_id, bool):
        job_id = str(job_id)
    if isinstance(job_id, str) and job_id.isascii() and job_id.isdigit() and len(job_id) <= 30:
        return job_id
    said = "holds no job id"
    if job_id is not None:
        said = f"gives the job id {str(job_id)[:40]!r}, which is not all digits"
    raise ApiError(
        f"Zoho's answer to the create {said}: the job may have been created", hint=MAY_EXIST_HINT
    )


class Fetched(NamedTuple):
    """A JSON document and the bytes it came from (for output that must not change it)."""

    doc: dict[str, Any]
    raw: bytes


class ZohoClient:
    def __init__(
        self,
        settings: Settings,
        tokens: TokenSource,
        log: Log | None = None,
        *,
        http: Http | None = None,
    ) -> None:
        self.settings = settings
        self.tokens = tokens
        self.log = log
        self.gate = UrlGate(settings.api_domain)
        hint = "a result link should point at a Zoho download host"
        self.downloads = UrlGate(settings.api_domain, hint=hint)
        self.http = http if http is not None else Http(settings.request_timeout, log)

    @property
    def deadline(self) -> float | None:
        """A monotonic time no request may outlast (``--timeout``), retries included."""
        return self.http.deadline

    @deadline.setter
    def deadline(self, value: float | None) -> None:
        self.http.deadline = value

    @property
    def on_rate_limit(self) -> Callable[[float | None], None] | None:
        return self.http.on_rate_limit

    @on_rate_limit.setter
    def on_rate_limit(self, value: Callable[[float | None], None] | None) -> None:
        self.http.on_rate_limit = value

    def allow_parallel(self, requests_in_flight: int) -> None:
        self.http.allow_parallel(requests_in_flight)

    def __enter__(self) -> ZohoClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Zoho-oauthtoken {self.tokens.access_token()}"}

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
            headers = self._auth()
            with self.http.request("GET", url, self.gate, headers=headers, follow=True) as response:
                if response.status_code == 401 and not last and self.tokens.rejected():
                    continue
                body = self.http.read(response)
                if response.status_code >= 400:
                    raise self._error_for(response, body)
                doc = parse_object(body)
                if doc is None:
                    raise NetworkError(
                        f"the answer from {host_of(url)} is not the JSON promised "
                        f"(HTTP {response.status_code}, {describe(response, body)})",
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
        for last in (False, True):
            headers = self._auth()
            with self.http.request(
                "GET", url, self.downloads, headers=headers, follow=True
            ) as response:
                if response.status_code == 401 and not last and self.tokens.rejected():
                    continue
                if response.status_code >= 400:
                    error = self._error_for(response, self.http.read(response))
                    if isinstance(error, ApiError | NotFoundError):
                        raise ApiError(
                            f"the result file could not be downloaded: {error.message}",
                            hint="result links last up to seven days after the job ends; "
                            "once expired, Zoho does not give the file again",
                            status=response.status_code,
                        )
                    raise error
                try:
                    return self.http.save(response, dest, max_bytes)
                except NetworkError as exc:
                    if "larger than" in exc.message:
                        exc.message = exc.message.replace("the file", "the result file")
                        exc.args = (exc.message,)
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _error_for(
        self, response: requests.Response, body: bytes, *, retried: bool = True
    ) -> ZbulkError:
        status = response.status_code
        envelope = parse_object(body) or {}
        code = envelope.get("code") if isinstance(envelope.get("code"), str) else None
        message = envelope.get("message") if isinstance(envelope.get("message"), str) else None
        said = ": ".join(p for p in (code, message) if p) or describe(response, body)
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
            after = f" after {MAX_RETRIES} retries" if retried else ""
            error = NetworkError(
                f"{reason}: HTTP {status} from {host_of(response.url)}{after} ({said})",
                hint="try again later; -v shows each attempt",
            )
            error.status = status
            return error
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
            headers = self._auth()
            with self.http.request("GET", url, self.gate, headers=headers, follow=True) as response:
                status = response.status_code
                body = self.http.read(response)
                doc = parse_object(body)
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
                        f"the answer from {host_of(url)} is not the JSON promised "
                        f"(HTTP {status}, {describe(response, body)})",
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
        nothing, so the retry policy may send it again (connection failures, 429, 502, 503
        and 504, Retry-After within the time left)."""
        with MultipartFile(path, filename) as body:
            headers = {
                "feature": "bulk-write",
                "X-CRM-ORG": org_id,
                "Content-Type": body.content_type,
            }

            def rewound() -> MultipartFile:
                body.seek(0)
                return body

            return self._post(url, headers, rewound, what="upload", resend=True)

    def create_job(self, body: Mapping[str, Any]) -> Fetched:
        """``POST /crm/bulk/{version}/write``. Sent once: a create is not idempotent. Once
        it may have reached Zoho (a timeout or a broken connection after sending, a 5xx,
        an answer that is not JSON), the error says the job may exist and how to check."""
        s = self.settings
        data = json.dumps(body, allow_nan=False).encode()
        self.http.close()  # a fresh connection: a stale kept-alive one would blur "sent"
        url = f"{s.api_domain}/crm/bulk/{s.api_version}/write"
        headers = {"Content-Type": "application/json"}
        try:
            return self._post(url, headers, lambda: data, what="create", resend=False)
        except (NetworkError, ApiError) as exc:
            status = exc.status
            if isinstance(exc, ApiError) or status == 429 or not exc.maybe_sent:
                raise  # an answer that says no job was made, or a request never sent
            raise NetworkError(
                f"the request to create the job was sent to {host_of(url)}, but "
                f"{_lost(exc)}: the job may have been created. zbulk does not send it "
                "again on its own",
                hint=MAY_EXIST_HINT,
            ) from None

    def _post(
        self,
        url: str,
        headers: Mapping[str, str],
        body: Callable[[], Any],
        *,
        what: str,
        resend: bool,
    ) -> Fetched:
        for last in (False, True):
            sent = {**headers, **self._auth()}
            with self.http.request(
                "POST", url, self.gate, headers=sent, body=body(), resend=resend
            ) as response:
                if response.status_code == 401 and not last and self.tokens.rejected():
                    continue  # a 401 is an answer: nothing was created
                raw = self.http.read(response)
                return self._posted(response, raw, what)
        raise AssertionError("unreachable")  # pragma: no cover

    def _posted(self, response: requests.Response, raw: bytes, what: str) -> Fetched:
        """The answer to an upload or create: its document, or the error Zoho said."""
        status = response.status_code
        doc = parse_object(raw)
        refused = doc is not None and doc.get("status") == "error"
        if status < 300 and doc is not None and not refused:
            return Fetched(doc, raw)
        if status < 300 and doc is None:
            raise NetworkError(
                f"the answer to the {what} from {host_of(response.url)} is not the JSON promised "
                f"(HTTP {status}, {describe(response, raw)})",
                hint="try again; if it persists, run with -v",
            )
        error = self._error_for(response, raw, retried=what == "upload")
        scope = (
            "ZohoFiles.files.ALL"
            if what == "upload"
            else "ZohoCRM.bulk.CREATE (or "
            ".ALL) and ZohoCRM.modules.ALL (or ZohoCRM.modules.<module>.CREATE)"
        )
        if isinstance(error, CredentialsError):
            error.hint = (
                f"the {what} needs a token with the scopes {scope}; log in again with "
                "`zbulk auth login`, and check --api-domain"
            )
            raise error
        if not isinstance(error, ApiError | NotFoundError):
            raise error
        envelope = doc or {}
        code = envelope.get("code") if isinstance(envelope.get("code"), str) else None
        said = ": ".join(str(envelope[k]) for k in ("code", "message") if envelope.get(k))
        said = said or str(envelope.get("x-error") or envelope.get("ERROR_MESSAGE") or "")
        said = said or describe(response, raw)
        details = envelope.get("details")
        if isinstance(details, dict) and details:
            said += " " + json.dumps(details, ensure_ascii=False)
        hint = _REFUSAL_HINTS.get(code or "")
        if code in ("NO_PERMISSION", "OAUTH_SCOPE_MISMATCH"):
            hint = f"the token needs the scopes {scope} and a user allowed to use bulk APIs"
        raise ApiError(
            f"Zoho refused the {what} (HTTP {status}): {said}", hint, status=status, code=code
        )


_REFUSAL_HINTS = {
    "MANDATORY_FIELDS_NOT_MAPPED": "map a column to each mandatory field (--map COLUMN=api_name)",
    "INVALID_FIELD": "check the field API names: --map COLUMN=api_name, or rename the header",
    "COLUMN_INDEX_NOT_FOUND": "a mapped column is not in the uploaded file",
    "INVALID_FILE_ID": "the uploaded file is gone; run the command again to upload it anew",
    "INVALID_FILE_FORMAT": "Zoho takes a ZIP holding one CSV",
    "FILE_TOO_LARGE": "Zoho takes at most 25 MB and 25,000 records per file; split it",
    "MODULE_NOT_AVAILABLE": "check --module: a module API name such as Leads or Deals",
}


def _lost(exc: NetworkError) -> str:
    """What became of a create's answer, for the "may exist" message."""
    if exc.status:
        return f"Zoho answered with an error ({exc.message})"
    if "not the JSON promised" in exc.message:
        return f"its answer was not the JSON promised ({exc.message})"
    if "did not answer" in exc.message:
        return f"no answer came within the time allowed ({exc.message})"
    return f"the answer was lost ({exc.message})"
