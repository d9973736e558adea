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
    """Base of every error a user may see: what went wrong (the class and ``message``) and
    the next thing to try (``hint``). The exit status follows from the class, in
    ``EXIT_CODES`` below."""

    #: for a request that failed: could it have reached the server (a create: the job
    #: may exist)? False only when it certainly was not sent
    maybe_sent: bool = True

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    @property
    def exit_code(self) -> ExitCode:
        return exit_code_of(self)


class UsageError(ZbulkError):
    """Bad arguments, options, settings or input files: nothing was sent."""


class CredentialsError(ZbulkError):
    """No credentials, or the API or accounts server refused them."""


class NotFoundError(ZbulkError):
    """Zoho has no such job (``RESOURCE_NOT_FOUND``)."""


class NetworkError(ZbulkError):
    """The API could not be reached, timed out, failed (5xx, 429 after retries), or
    answered with something other than the JSON it promises."""

    status: int | None = None  # the HTTP status that ended it (5xx, 429), if any


class ApiError(ZbulkError):
    """An error answer from the API that no narrower class covers."""

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


class ResultFileError(ZbulkError):
    """Zoho's result file (a ZIP of CSVs) is damaged, unsafe or not what Zoho writes.
    Downloaded from Zoho, that is the server's trouble (exit 5); a file the user gave with
    ``--file`` is bad input (exit 2)."""

    def __init__(self, message: str, hint: str | None = None, *, given: bool = False) -> None:
        super().__init__(message, hint)
        self.given = given


class LocalFileError(ZbulkError):
    """A file zbulk writes on this machine could not be written (or would replace one)."""


class Interrupted(ZbulkError):
    """Ctrl-C. zbulk never cancels a job: jobs at Zoho keep running. ``done`` says what
    this run had already changed at Zoho, if anything ("job 123 was created")."""

    def __init__(self, done: str | None = None, *, nothing_sent: bool = False) -> None:
        if nothing_sent:
            message = "interrupted: nothing was sent, nothing was changed at Zoho"
        elif done:
            message = f"interrupted: {done}; bulk jobs at Zoho keep running"
        else:
            message = "interrupted: bulk jobs at Zoho keep running"
        super().__init__(message)


class OutputClosed(ZbulkError):
    """The reader of stdout went away (``zbulk … | head -1``)."""

    def __init__(self) -> None:
        super().__init__("stdout was closed")


class OutputFailed(ZbulkError):
    """stdout could not be written: a full disk (``>/dev/full``), a closed descriptor."""

    def __init__(self, exc: OSError | None) -> None:
        reason = "it is closed" if exc is None else (exc.strerror or str(exc))
        super().__init__(f"cannot write to stdout: {reason}")


class OutOfTime(ZbulkError):
    """The command's ``--timeout`` ran out during a request, or a server asked to wait
    longer than the time left (a Retry-After)."""


class WatchTimeout(ZbulkError):
    """``job watch --timeout`` ran out before the job finished."""


# The one table from what went wrong to the exit status (the contract's), most specific
# class first: ``exit_code_of`` takes the first that the error is an instance of.
EXIT_CODES: tuple[tuple[type[ZbulkError], ExitCode], ...] = (
    (UsageError, ExitCode.USAGE),
    (CredentialsError, ExitCode.CREDENTIALS),
    (NotFoundError, ExitCode.NOT_FOUND),
    (NetworkError, ExitCode.NETWORK),
    (ApiError, ExitCode.ERROR),
    (LocalFileError, ExitCode.ERROR),
    (Interrupted, ExitCode.INTERRUPTED),
    (OutputClosed, ExitCode.BROKEN_PIPE),
    (OutputFailed, ExitCode.ERROR),
    (WatchTimeout, ExitCode.TIMEOUT),
    (OutOfTime, ExitCode.TIMEOUT),
)


def exit_code_of(exc: ZbulkError) -> ExitCode:
    """The exit status for ``exc``: ``EXIT_CODES``' first match, else ERROR (1)."""
    if isinstance(exc, ResultFileError):
        return ExitCode.USAGE if exc.given else ExitCode.NETWORK
    for kind, code in EXIT_CODES:
        if isinstance(exc, kind):
            return code
    return ExitCode.ERROR
