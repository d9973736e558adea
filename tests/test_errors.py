"""What went wrong decides the exit status, in one table (``zbulk.errors.EXIT_CODES``)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from zbulk import errors
from zbulk.errors import ExitCode, Interrupted, ResultFileError, ZbulkError


def _subclasses(kind: type) -> set[type]:
    found = set()
    for sub in kind.__subclasses__():
        found |= {sub} | _subclasses(sub)
    return found


def test_every_error_class_has_its_exit_code_in_the_table() -> None:
    import zbulk.import_plan
    import zbulk.user_file  # noqa: F401

    listed = {kind for kind, _ in errors.EXIT_CODES} | {ResultFileError}
    for kind in _subclasses(ZbulkError):
        assert any(issubclass(kind, base) for base in listed), kind
    assert not any(k.__dict__.get("exit_code") for k in _subclasses(ZbulkError))


def test_a_damaged_result_file_is_the_servers_trouble_or_the_users_input() -> None:
    assert ResultFileError("damaged").exit_code == ExitCode.NETWORK
    assert ResultFileError("damaged", given=True).exit_code == ExitCode.USAGE


def test_damaged_result_file_given_with_file_is_a_usage_error(run, tmp_path: Path) -> None:
    damaged = tmp_path / "4150868000000000001.zip"
    with zipfile.ZipFile(damaged, "w") as archive:
        archive.writestr("Leads.csv", "First_Name\nAda\n")  # no STATUS column: not Zoho's
    r = run("job", "results", "--file", str(damaged))
    assert r.code == ExitCode.USAGE, r.err
    assert "no STATUS column" in r.err and "network" not in r.err.lower()


@pytest.mark.parametrize(
    ("error", "says", "never"),
    [
        (Interrupted(), "keep running", "nothing was changed"),
        (Interrupted(nothing_sent=True), "nothing was sent", "keep running"),
        (Interrupted("job 4150868000000000001 was created"), "was created", "nothing was"),
    ],
)
def test_interrupted_says_what_this_run_changed(error: Interrupted, says: str, never: str) -> None:
    assert error.exit_code == ExitCode.INTERRUPTED
    assert says in error.message and never not in error.message
