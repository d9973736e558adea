"""What a request to the sandbox is, as its handlers see it: the types every part of the
sandbox (server, accounts, bulk writes, result files, settings) shares, below all of them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message


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
    scopes: frozenset[str] | None = None  # the token's (lower case); None: the sandbox's own
