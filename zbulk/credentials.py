"""Where the access token comes from.

A ``TokenSource`` hands the client a token and is told when the API rejected it,
so that a source able to refresh (the keyring login) can do so and let the
client retry once. Today the only source is ``ZBULK_TOKEN``: used as is, never
stored, and it beats stored credentials.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Protocol

from zbulk.errors import CredentialsError

TOKEN_ENV = "ZBULK_TOKEN"  # noqa: S105  (a variable name, not a secret)


class TokenSource(Protocol):
    #: a human description of where the token comes from, never the token
    origin: str

    def access_token(self) -> str: ...

    def rejected(self) -> bool:
        """The API answered 401 to the last token. True if a new one is ready to try."""
        ...


class StaticToken:
    """A token used exactly as given (``ZBULK_TOKEN``); nothing to refresh."""

    __slots__ = ("origin", "token")

    def __init__(self, token: str, origin: str) -> None:
        self.token = token
        self.origin = origin

    def __repr__(self) -> str:  # never the token itself
        return f"StaticToken(origin={self.origin!r})"

    def access_token(self) -> str:
        return self.token

    def rejected(self) -> bool:
        return False


def clean_token(raw: str, origin: str) -> str:
    """Strip surrounding white space; refuse what cannot go into a header."""
    token = raw.strip()
    if not token:
        raise CredentialsError(f"the access token from {origin} is empty")
    if not (token.isascii() and token.isprintable() and " " not in token):
        raise CredentialsError(
            f"the access token from {origin} contains spaces or control characters",
            hint="paste the token alone, as Zoho's API console shows it",
        )
    return token


def token_source(profile: str, env: Mapping[str, str] | None = None) -> TokenSource:
    env = os.environ if env is None else env
    raw = env.get(TOKEN_ENV)
    if raw is not None:
        origin = f"the environment ({TOKEN_ENV})"
        return StaticToken(clean_token(raw, origin), origin)
    raise CredentialsError(
        f"no credentials for profile {profile!r}",
        hint=f"set {TOKEN_ENV} to an access token with the ZohoCRM.bulk.ALL scope "
        "(Zoho API console → Self Client), or try `zbulk demo` to see zbulk with no account",
    )
