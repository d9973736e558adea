"""What the sandbox's own tests share: a hand-moved clock, the token, the job duration.

The ``clock`` and ``sb`` fixtures built from these live in conftest.py.
"""

from __future__ import annotations

TOKEN = "tok-123"
DURATION = 100.0


class Clock:
    """A monotonic clock the tests move by hand."""

    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


def auth(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Zoho-oauthtoken {token}"}
