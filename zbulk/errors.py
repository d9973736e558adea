"""The error hierarchy and the exit codes of the contract.

Core modules raise these; ``zbulk.cli.main`` is the one place that turns them
into a message on stderr and an exit status.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    ERROR = 1  # a watched job FAILED, or an API error not listed below
    USAGE = 2  # bad arguments, bad job id, bad API domain: nothing was sent
    CREDENTIALS = 3  # none found, rejected (401), refresh failed, no usable keyring
    NOT_FOUND = 4  # RESOURCE_NOT_FOUND
    NETWORK = 5  # unreachable, timed out, 5xx/429 after retries, body not the JSON promised
    SKIPPED = 6  # --fail-on-skipped and records were skipped
    INTERNAL = 70  # a bug in zbulk (EX_SOFTWARE): one line, the traceback only with -v
    TIMEOUT = 124  # job watch --timeout ran out
    BROKEN_PIPE = 141  # the reader of stdout went away (128 + SIGPIPE)
    INTERRUPTED = 130  # Ctrl-C


# Every exit code from least to most severe: a run with several outcomes (``job watch``
# of many jobs) ends with the worst. A test checks that every member is ranked.
SEVERITY: tuple[ExitCode, ...] = (
    ExitCode.OK,
    ExitCode.SKIPPED,
    ExitCode.ERROR,
    ExitCode.NETWORK,
    ExitCode.NOT_FOUND,
    ExitCode.CREDENTIALS,
    ExitCode.TIMEOUT,
    ExitCode.USAGE,
    ExitCode.INTERNAL,
    ExitCode.BROKEN_PIPE,
    ExitCode.INTERRUPTED,
)


class ZbulkError(Exception):
    """Base of every error a user may see. ``hint`` names the next thing to try."""

    exit_code: ExitCode = ExitCode.ERROR

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(ZbulkError):
    exit_code = ExitCode.USAGE


class CredentialsError(ZbulkError):
    exit_code = ExitCode.CREDENTIALS


class NotFoundError(ZbulkError):
    exit_code = ExitCode.NOT_FOUND


class NetworkError(ZbulkError):
    exit_code = ExitCode.NETWORK


class ApiError(ZbulkError):
    """An error answer from the API that no narrower class covers."""

    exit_code = ExitCode.ERROR

    def __init__(
        self,
        message: str,
        hint: str | None = None,
        *,
        status: int | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message, hint)
        self.status = status
        self.code = code


class Interrupted(ZbulkError):
    """Ctrl-C. Nothing zbulk does changes a job, so jobs at Zoho keep running."""

    exit_code = ExitCode.INTERRUPTED

    def __init__(self) -> None:
        super().__init__("interrupted: nothing was changed at Zoho; bulk jobs there keep running")


class OutputClosed(ZbulkError):
    """The reader of stdout went away (``zbulk … | head -1``)."""

    exit_code = ExitCode.BROKEN_PIPE

    def __init__(self) -> None:
        super().__init__("stdout was closed")


class OutputFailed(ZbulkError):
    """stdout could not be written: a full disk (``>/dev/full``), a closed descriptor."""

    exit_code = ExitCode.ERROR

    def __init__(self, exc: OSError | None) -> None:
        reason = "it is closed" if exc is None else (exc.strerror or str(exc))
        super().__init__(f"cannot write to stdout: {reason}")


class WatchTimeout(ZbulkError):
    """``job watch --timeout`` ran out before the job finished."""

    exit_code = ExitCode.TIMEOUT
