"""Hostile job documents: every field is shown or printed without a traceback, and --json
prints exactly what was sent."""

from __future__ import annotations

import json

import pytest

from hostile.conftest import JOB, job_path
from hostile.server import answer, job_doc


def _doc(**fields: object) -> bytes:
    return json.dumps(job_doc(JOB, **fields)).encode()


@pytest.mark.parametrize(
    "body",
    [
        # A lone surrogate, as JSON allows: in every string the view shows.
        b'{"id": "' + JOB.encode() + b'", "status": "COMPLETED\\ud800", "operation": "\\udfff",'
        b' "created_by": {"name": "x\\ud800y", "id": "\\ud83d"}, "resource": [{"module":'
        b' {"api_name": "Le\\ud800ads"}, "status": "\\ud800", "file": {"name": "\\udc00.csv",'
        b' "added_count": 1, "total_count": 2}, "field_mappings": [{"api_name": "\\ud800",'
        b' "index": 0, "format": "\\ud800"}]}], "result": {"download_url": "\\ud800"}}',
        # Counts of 400 digits, as numbers and as strings, and floats beyond any count.
        _doc(
            resource=[
                {
                    "status": "COMPLETED",
                    "module": "Leads",
                    "file": {
                        "added_count": int("9" * 400),
                        "skipped_count": "9" * 400,
                        "updated_count": 1e300,
                        "total_count": -int("9" * 400),
                    },
                    "field_mappings": [{"api_name": "A", "index": int("9" * 400)}],
                }
            ]
        ),
        _doc(created_time="0001-01-01T00:00:00+05:00"),
        _doc(created_time="9999-12-31T23:59:59-05:00"),
        _doc(created_time="9999-12-31T23:59:59+14:00"),
    ],
    ids=["surrogates", "400-digit-counts", "year-1", "year-9999", "year-9999-east"],
)
def test_hostile_fields_are_shown(hostile, zb, inproc, body: bytes) -> None:
    """Item 5: each of these was a traceback (UnicodeEncodeError, OverflowError)."""
    hostile.route(job_path(), answer(body))
    zb("job", "show", JOB).clean(0)
    r = inproc("job", "show", "--json", JOB).clean(0)
    assert json.loads(r.out)["id"] == JOB
    inproc("job", "show", "--brief", JOB).clean(0)
    inproc("job", "watch", "--timeout", "5", JOB).clean(0)
    inproc("job", "watch", "--json", "--timeout", "5", JOB).clean(0)


def test_json_is_byte_faithful(hostile, zb) -> None:
    """Item 18: duplicate keys collapsed, 1E2 became 100.0, -0 became 0."""
    body = (
        b'{\n  "id": "' + JOB.encode() + b'",\n  "status": "COMPLETED",\n  "n": 1E2,\n'
        b'  "z": -0,\n  "n": 2.50,\n  "s": "a \\u00e9\\n b"\n}\n'
    )
    hostile.route(job_path(), answer(body))
    r = zb("job", "show", "--json", JOB).clean(0)
    assert r.out == (
        f'{{"id":"{JOB}","status":"COMPLETED","n":1E2,"z":-0,"n":2.50,"s":"a \\u00e9\\n b"}}\n'
    )


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-be"])
def test_json_from_utf16_and_utf32_bodies(hostile, zb, encoding: str) -> None:
    """Item 18: a UTF-16 body gave a line that was not JSON (or not the one sent)."""
    text = f'{{"id": "{JOB}", "status": "COMPLETED", "name": "Zoë 😀", "n": 1E2}}'
    hostile.route(job_path(), answer(text.encode(encoding)))
    r = zb("job", "show", "--json", JOB).clean(0)
    assert json.loads(r.out) == json.loads(text)
    assert r.out == text.replace(": ", ":").replace(", ", ",") + "\n"


def test_a_body_in_no_encoding_is_reported_cleanly(hostile, zb) -> None:
    hostile.route(job_path(), answer(b'\xff\xfe{\x00"\x00\x00\xd8'))
    r = zb("job", "show", "--json", JOB).clean(5)
    assert "not the JSON promised" in r.err
