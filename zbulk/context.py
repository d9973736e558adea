"""What the root command's global options leave for subcommands.

Settings and consoles are resolved on first use, so ``--help`` and usage
errors never read config files or build consoles.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

    from zbulk.auth.model import LoginRecord
    from zbulk.client import ZohoClient
    from zbulk.config import Settings
    from zbulk.datacentres import DataCentre
    from zbulk.errors import ZbulkError
    from zbulk.http import Http, Post, TokenSource
    from zbulk.output import Output
    from zbulk.urls import AccountsGate


class AppContext:
    def __init__(
        self,
        profile: str | None = None,
        api_domain: str | None = None,
        api_version: str | None = None,
        request_timeout: float | None = None,
        verbose: bool = False,
    ) -> None:
        self.profile = profile
        self.api_domain = api_domain
        self.api_version = api_version
        self.request_timeout = request_timeout
        self.verbose = verbose
        self._settings: Settings | None = None
        self._output: Output | None = None
        self._http: Http | None = None

    @property
    def profile_name(self) -> str:
        """The profile in use (--profile, ZBULK_PROFILE, else "default"), checked, without
        resolving the other settings (login and logout need no API domain)."""
        import os

        from zbulk.config import DEFAULT_PROFILE, check_profile_name

        return check_profile_name(
            self.profile or os.environ.get("ZBULK_PROFILE") or DEFAULT_PROFILE
        )

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from zbulk.config import resolve

            self._settings = resolve(
                profile=self.profile,
                api_domain=self.api_domain,
                api_version=self.api_version,
                request_timeout=self.request_timeout,
                verbose=self.verbose,
            )
        return self._settings

    @property
    def output(self) -> Output:
        if self._output is None:
            from zbulk.output import Output

            self._output = Output()
            self._output.explain = self.explain
        return self._output

    def explain(self, exc: ZbulkError) -> str | None:
        """The hint for ``exc``, naming where each setting came from (the flag, the
        variable, the profile's config key); a refused connection to a loopback API
        domain asks whether ``zbulk sandbox`` is running."""
        from zbulk.config import loopback_domain, name_sources, where
        from zbulk.errors import NetworkError

        settings = self._settings
        if settings is None:  # never resolved: the hint cannot be about them
            return exc.hint
        if (
            isinstance(exc, NetworkError)
            and "refused" in exc.message.lower()
            and loopback_domain(settings)
        ):
            from urllib.parse import urlsplit

            port = urlsplit(settings.api_domain).port
            start = "zbulk sandbox" + (f" --port {port}" if port not in (None, 8790) else "")
            return (
                f"is the sandbox running? Start it with `{start}` ({settings.api_domain} "
                f"is the API domain from {where(settings, 'api_domain')})"
            )
        return name_sources(exc.hint, settings) if exc.hint else exc.hint

    def log(self) -> Callable[[str], None] | None:
        return self.output.log if self.settings.verbose else None

    def http(self) -> Http:
        """The command's one HTTP layer: every request (API, accounts server, upload,
        download) shares its --request-timeout and its deadline (--timeout)."""
        if self._http is None:
            from zbulk.config import DEFAULT_REQUEST_TIMEOUT
            from zbulk.errors import UsageError
            from zbulk.http import Http

            try:
                timeout = self.settings.request_timeout
            except UsageError:  # logout needs no API domain: a bad one must not stop it
                timeout = self.request_timeout or DEFAULT_REQUEST_TIMEOUT
            self._http = Http(timeout, self.output.log if self.verbose else None)
        return self._http

    def accounts_gate(
        self, api_domain: str, known: Mapping[str, DataCentre] | None = None
    ) -> AccountsGate:
        """Where credentials may go: the known and configured accounts servers, and
        loopback ones when the API domain is on loopback (the sandbox)."""
        from urllib.parse import urlsplit

        from zbulk.config import is_loopback_host
        from zbulk.datacentres import accounts_servers, overrides
        from zbulk.urls import AccountsGate

        host = (urlsplit(api_domain).hostname or "").strip("[]")
        servers = accounts_servers(overrides() if known is None else known)
        return AccountsGate(servers, loopback=is_loopback_host(host))

    def refresh_poster(self) -> Callable[[LoginRecord], Post]:
        """For a stored login: what POSTs to its accounts server, through the HTTP layer."""

        def post(record: LoginRecord) -> Post:
            return self.http().form_poster(self.accounts_gate(record.api_domain))

        return post

    def tokens(self) -> TokenSource:
        """The profile's credentials: ZBULK_TOKEN, else its stored login."""
        from zbulk.auth.tokens import token_source

        settings = self.settings
        return token_source(settings.profile, warn=self.output.warn, post=self.refresh_poster())

    def client(self) -> ZohoClient:
        """A client for the resolved settings and the profile's credentials."""
        # Tokens first: a stored login starts reading the keyring now, while requests loads.
        tokens = self.tokens()
        return self.client_with(tokens)

    def client_with(self, tokens: TokenSource) -> ZohoClient:
        from zbulk.client import ZohoClient

        return ZohoClient(self.settings, tokens, log=self.log(), http=self.http())
