"""Where a request may go: the URL rules every request of the HTTP layer (``zbulk.http``)
passes, and the check of URLs zbulk hands to Zoho (``--callback``). No I/O.

A decision is made on the URL exactly as the transport reads it (urllib3's parser, which
requests uses too), after refusing what parsers disagree on: backslashes, spaces, control
and non-ASCII characters, user names and passwords.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

from zbulk.config import is_loopback_host
from zbulk.errors import ApiError, UsageError, ZbulkError

# Zoho's own hosts: https://*.zoho.<tld>, *.zohoapis.<tld>, *.zohocloud.ca.
_ZOHO_HOST = (
    r"(?:^|\.)(?:zoho|zohoapis)\.(?:com|eu|in|jp|sa|uk|ca|com\.au|com\.cn)$"
    r"|(?:^|\.)zohocloud\.ca$"
)
# Patterns are compiled on first use (re caches them): start-up pays for none of them.
_SECRET_PARAM = r"(?i)token|code|secret|password|key|signature"  # noqa: S105
_ODD = r"[\x00-\x20\x7f\\]"  # what parsers read differently: controls, spaces, backslash


def redact_url(url: str) -> str:
    """The URL with the values of secret-looking query parameters replaced."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    query = [(k, "***" if re.search(_SECRET_PARAM, k) else v) for k, v in parse_qsl(parts.query)]
    return urlunsplit(parts._replace(query=urlencode(query, safe="*")))


def host_of(url: str) -> str:
    return urlsplit(url).netloc or url


def _default_port(scheme: str | None) -> int | None:
    return {"http": 80, "https": 443}.get(scheme or "")


def _bare(host: str) -> str:
    return host[1:-1] if host.startswith("[") and host.endswith("]") else host


def _origin(url: str) -> tuple[str, str, int | None] | str:
    """(scheme, host, port) of ``url`` as urllib3 reads it, or why it cannot be used."""
    if not url.isascii() or re.search(_ODD, url):
        return "the URL holds characters that parsers read differently"
    try:
        parts = parse_url(url)
    except (LocationParseError, ValueError):
        return "it is not a valid URL"
    if parts.auth is not None or "@" in (parts.netloc or ""):
        return "the URL carries a user name or password"
    scheme, host = parts.scheme or "", parts.host or ""
    if not host or scheme not in ("http", "https"):
        return "it is not an http(s) URL with a host"
    return scheme, host, parts.port or _default_port(scheme)


def check_https_url(url: str, what: str) -> str:
    """A URL zbulk hands to Zoho (``--callback``): https, a host, nothing parsers read
    differently. Anything else is a usage error, before anything is sent."""
    found = _origin(url)
    if isinstance(found, str):
        raise UsageError(f"{what} {url!r} is not a valid https URL: {found}")
    if found[0] != "https":
        raise UsageError(f"{what} {url!r} is not a valid https URL: it is not https")
    return url


class Gate(Protocol):
    def problem(self, url: str, *, redirect: bool = False) -> str | None: ...

    def refused(self, url: str, problem: str) -> ZbulkError: ...


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

    def __init__(self, api_domain: str, hint: str = "check --api-domain") -> None:
        api = parse_url(api_domain)
        self.api = (api.scheme, api.host, api.port or _default_port(api.scheme))
        self.loopback_api = bool(api.host) and is_loopback_host(_bare(api.host or ""))
        self.hint = hint
        self.api_domain = api_domain
        self._upload: tuple[str | None, str | None, int | None] | None = None  # read when needed

    def problem(self, url: str, *, redirect: bool = False) -> str | None:
        """Why the token must not go to ``url``; None when it may. A ``redirect`` goes
        only to the API domain itself or to Zoho's https hosts."""
        found = _origin(url)
        if isinstance(found, str):
            return found
        scheme, host, port = found
        if found == self.api:
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
            from zbulk.config import configured_upload

            try:
                found = configured_upload(self.api_domain)
            except ZbulkError:
                found = None
            parts = parse_url(found) if found else None
            self._upload = (
                (parts.scheme, parts.host, parts.port or _default_port(parts.scheme))
                if parts
                else (None, None, None)
            )
        return self._upload == (scheme, host, port)

    def refused(self, url: str, problem: str) -> ZbulkError:
        return ApiError(
            f"refusing to send your token to {host_of(url)!r}: {problem}", hint=self.hint
        )


def token_may_go_to(url: str, api_domain: str) -> bool:
    return UrlGate(api_domain).allows(url)


class AccountsGate:
    """Where client secrets, grant codes and refresh tokens may go: exactly the accounts
    servers given (the known data centres' and those configured in ``[data_centres.NAME]``),
    and loopback hosts when the API in use is on loopback (the sandbox). Checked on every
    request, so an ``accounts_url`` read back from ``logins.json`` is checked too."""

    def __init__(self, accounts: Iterable[str], *, loopback: bool = False) -> None:
        self.known = {o for o in map(_origin, accounts) if not isinstance(o, str)}
        self.loopback = loopback

    def problem(self, url: str, *, redirect: bool = False) -> str | None:
        found = _origin(url)
        if isinstance(found, str):
            return found
        if redirect:
            return "the accounts server's answers are never redirected"
        if found in self.known:
            return None
        if self.loopback and is_loopback_host(_bare(found[1])):
            return None
        if found[0] == "http":
            return "it is not https"
        return f"{found[1]} is not an accounts server zbulk knows"

    def refused(self, url: str, problem: str) -> ZbulkError:
        return UsageError(
            f"refusing to send your credentials to {redact_url(url)!r}: {problem}; nothing "
            "was sent",
            hint="use --dc with a data centre's code, or add the accounts server as "
            '`accounts = "https://…"` in a [data_centres.NAME] table of config.toml',
        )
