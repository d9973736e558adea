"""The user's files and every outside value of `job import` and `job retry`, through the CLI
against the sandbox: each bad value is a clear error with a contract exit code (never 70,
a bug), found before anything is sent. Only the CLI is used here, so each test also runs
against a tree without ``zbulk.user_file``."""

from __future__ import annotations

import codecs
import json
import zipfile
from pathlib import Path

import pytest

from zbulk.errors import ExitCode
from zbulk.sandbox import Fault

UPLOAD = "/crm/v8/upload"
CREATE = "/crm/bulk/v8/write"
ORG = "/crm/v8/org"
LEADS = "Last_Name,Email\nLovelace,ada@example.com\nHopper,grace@example.com\n"
JOB = "4150868000000777001"


@pytest.fixture
def fast(sandbox):
    sandbox.import_duration = 0
    return sandbox


def dry(zbulk, path: Path, *extra: str):  # type: ignore[no-untyped-def]
    return zbulk(
        "job",
        "import",
        str(path),
        "--module",
        "Leads",
        "--operation",
        "insert",
        "--dry-run",
        *extra,
    )


def sent(sandbox) -> list[str]:  # type: ignore[no-untyped-def]
    return [r.path for r in sandbox.requests if r.path in (UPLOAD, CREATE)]


@pytest.mark.parametrize("codec", ["rot13", "base64", "hex", "zlib", "idna", "undefined"])
def test_encoding_takes_text_codecs_only(zbulk, sandbox, tmp_path, codec) -> None:
    path = tmp_path / "leads.csv"
    path.write_text(LEADS)
    r = dry(zbulk, path, "--encoding", codec)
    assert r.code == ExitCode.USAGE, r.err
    assert f"--encoding '{codec}'" in r.err and "text encoding" in r.err
    assert sandbox.requests == []


def test_utf16_without_a_bom_is_read_when_named_or_found(zbulk, sandbox, tmp_path) -> None:
    path = tmp_path / "leads.csv"
    path.write_bytes(LEADS.encode("utf-16-le"))
    for extra in ((), ("--encoding", "utf-16"), ("--encoding", "utf-16-le")):
        r = dry(zbulk, path, *extra, "--json")
        assert r.code == 0, r.err
        body = json.loads(r.out.splitlines()[-1])["body"]
        assert body["character_encoding"] == "UTF-16LE"
        form = json.loads(r.out.splitlines()[-2])["form"]["file"]
        assert form["records"] == 2
    cjk = tmp_path / "cjk.csv"  # no zero bytes in its first characters: the order is unknown
    cjk.write_bytes("名前,メール\n山田,a@example.com\n".encode("utf-16-be"))
    r = dry(zbulk, cjk, "--encoding", "utf-16")
    assert r.code == ExitCode.USAGE, r.err
    assert "--encoding utf-16-le or --encoding utf-16-be" in r.err


def test_utf32_is_utf32(zbulk, sandbox, tmp_path) -> None:
    for name, data in (
        ("bom.csv", codecs.BOM_UTF32_LE + LEADS.encode("utf-32-le")),
        ("plain.csv", LEADS.encode("utf-32-be")),
    ):
        path = tmp_path / name
        path.write_bytes(data)
        r = dry(zbulk, path, "--json")
        assert r.code == 0, r.err
        body = json.loads(r.out.splitlines()[-1])["body"]
        assert body["character_encoding"] in ("UTF-32LE", "UTF-32BE")


def test_deflate64_member_is_refused(zbulk, sandbox, tmp_path) -> None:
    path = tmp_path / "leads.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("leads.csv", LEADS)
    data = bytearray(path.read_bytes())
    local, central = data.find(b"PK\x03\x04"), data.find(b"PK\x01\x02")
    data[local + 8 : local + 10] = (9).to_bytes(2, "little")  # Deflate64
    data[central + 10 : central + 12] = (9).to_bytes(2, "little")
    path.write_bytes(bytes(data))
    r = dry(zbulk, path)
    assert r.code == ExitCode.USAGE, r.err
    assert "Deflate64" in r.err and sandbox.requests == []


def test_truncated_utf16_source_is_a_clear_error(zbulk, sandbox, tmp_path) -> None:
    path = tmp_path / "leads.csv"
    path.write_bytes((codecs.BOM_UTF16_LE + LEADS.encode("utf-16-le"))[:-1])
    r = zbulk("job", "results", "4150868000000000999", "--source", str(path))
    assert r.code == ExitCode.USAGE, r.err
    assert "ends in the middle of a character" in r.err
    r = dry(zbulk, path)
    assert r.code == ExitCode.USAGE, r.err


def test_header_only_trailing_blanks_and_result_files(zbulk, sandbox, tmp_path) -> None:
    header_only = tmp_path / "header.csv"
    header_only.write_text("Last_Name,Email\n\n\n")
    r = dry(zbulk, header_only)
    assert r.code == ExitCode.USAGE and "no records" in r.err
    trailing = tmp_path / "trailing.csv"
    trailing.write_text(LEADS + "\n\r\n\n")
    r = dry(zbulk, trailing, "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out.splitlines()[-2])["form"]["file"]["records"] == 2
    result = tmp_path / "result.csv"
    result.write_text("Last_Name,STATUS,RECORD_ID,ERRORS\nLovelace,ADDED,1,\n")
    r = dry(zbulk, result)
    assert r.code == ExitCode.USAGE and "result file" in r.err


def test_blank_lines_and_empty_records_are_counted_not_kept(zbulk, sandbox, tmp_path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text("Last_Name,Email\n" + ",\n" * 5000 + "\n" * 5000 + "x,y\n")
    r = dry(zbulk, path)
    assert r.code == ExitCode.USAGE
    assert "5,001 problems" in r.err and "… and 4,980 more" in r.err
    assert "line 5,002: 5,000 blank lines between records" in r.err


@pytest.mark.parametrize(
    ("default", "said"),
    [
        ("1979-05-27", "is a date"),
        ("1979-05-27T07:32:00Z", "is a date and time"),
        ("07:32:00", "is a time"),
        ("nan", "finite"),
        ("-inf", "finite"),
        ("[1, 2]", "is an array"),
        ("{ when = 1979-05-27 }", "is a date"),
    ],
)
def test_mapping_defaults_are_checked_before_the_upload(
    zbulk, fast, tmp_path, default, said
) -> None:
    path = tmp_path / "leads.csv"
    path.write_text(LEADS)
    mapping = tmp_path / "map.toml"
    mapping.write_text(f'[columns."Last_Name"]\ndefault = {default}\n')
    r = zbulk(
        "job",
        "import",
        str(path),
        "--module",
        "Leads",
        "--operation",
        "insert",
        "--mapping",
        str(mapping),
        "--yes",
    )
    assert r.code == ExitCode.USAGE, r.err
    assert said in r.err and sent(fast) == []


def test_a_table_default_of_scalars_is_sent(zbulk, fast, tmp_path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text(LEADS)
    mapping = tmp_path / "map.toml"
    mapping.write_text('[columns."Last_Name"]\ndefault = { name = "Zylker", n = 1.5 }\n')
    r = dry(zbulk, path, "--mapping", str(mapping), "--json")
    assert r.code == 0, r.err
    body = json.loads(r.out.splitlines()[-1])["body"]
    assert body["resource"][0]["field_mappings"][0]["default_value"] == {"name": "Zylker", "n": 1.5}


def completed(**changes: object) -> dict[str, object]:
    resource = {
        "status": "COMPLETED",
        "type": "data",
        "module": {"api_name": "Leads"},
        "field_mappings": [
            {"api_name": "Last_Name", "index": 0},
            {"api_name": "Email", "index": 1},
        ],
        "file": {
            "status": "COMPLETED",
            "name": "leads.csv",
            "added_count": 2,
            "skipped_count": 0,
            "updated_count": 0,
            "total_count": 2,
        },
    }
    doc: dict[str, object] = {
        "id": JOB,
        "status": "COMPLETED",
        "operation": "insert",
        "resource": [resource],
        "result": {"download_url": "https://download-accl.zoho.com/x.zip"},
    }
    for key, value in changes.items():
        if key.startswith("r_"):
            resource[key[2:]] = value
        else:
            doc[key] = value
    return doc


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"character_encoding": "rot13"}, "character_encoding 'rot13' is not a text encoding"),
        ({"character_encoding": 5}, "character_encoding 5 is not an encoding name"),
        ({"resource": 5}, "has a resource that is an integer"),
        ({"resource": {"a": 1}}, "has a resource that is a table"),
        ({"r_field_mappings": "x"}, "has field_mappings that are a string"),
        ({"r_field_mappings": [{"api_name": "Last_Name", "index": "0"}]}, "index is a string"),
        ({"r_field_mappings": [5]}, "field mapping 1 without an api_name"),
        ({"r_field_mappings": [{"api_name": "X", "default_value": 5}]}, "is not a table"),
        ({"r_find_by": ["Email"]}, "find_by that is an array"),
    ],
)
def test_retry_checks_the_job_document(zbulk, fast, tmp_path, changes, said) -> None:
    fast.put_document(JOB, completed(**changes))
    path = tmp_path / "leads.csv"
    path.write_text(LEADS)
    for form in ((), ("--json",)):
        r = zbulk(
            "job", "retry", JOB, "--source", str(path), "--from", str(path), "--dry-run", *form
        )
        assert r.code == ExitCode.USAGE, r.err
        assert said in r.err and "nothing was sent" in r.err


def test_retry_refuses_a_nan_default_from_the_job(zbulk, fast, tmp_path) -> None:
    raw = json.dumps(completed()).replace(
        '"index": 1}', '"index": 1, "default_value": {"value": NaN}}'
    )
    assert "NaN" in raw
    fast.put_document(JOB, raw)
    path = tmp_path / "leads.csv"
    path.write_text(LEADS)
    r = zbulk("job", "retry", JOB, "--source", str(path), "--from", str(path), "--yes")
    assert r.code == ExitCode.NETWORK, r.err  # Zoho sends JSON, and NaN is not JSON
    assert sent(fast) == []


def test_a_retry_with_a_good_document_still_works(zbulk, fast, tmp_path) -> None:
    fast.put_document(JOB, completed(character_encoding="UTF-8"))
    path = tmp_path / "leads.csv"
    path.write_text(LEADS)
    r = zbulk(
        "job", "retry", JOB, "--source", str(path), "--from", str(path), "--dry-run", "--json"
    )
    assert r.code == 0, r.err
    body = json.loads(r.out.splitlines()[-1])["body"]
    assert "character_encoding" not in body


def test_an_org_answer_of_any_shape_is_never_a_bug(zbulk, fast, tmp_path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text(LEADS)
    for answer in ('{"org": 5}', '{"org": [{"zgid": NaN}]}', "[]", '{"org": [{"zgid": "１２３"}]}'):
        fast.clear_faults()
        fast.add_fault(Fault("status", status=200, body=answer, path_prefix=ORG, times=None))
        r = zbulk("job", "import", str(path), "--module", "Leads", "--operation", "insert", "--yes")
        assert r.code not in (0, ExitCode.INTERNAL), (answer, r.err)


def test_retry_reads_the_files_in_the_jobs_encoding(zbulk, fast, tmp_path) -> None:
    fast.put_document(JOB, completed(character_encoding="UTF-16LE"))
    path = tmp_path / "leads.csv"
    path.write_bytes(codecs.BOM_UTF16_LE + LEADS.encode("utf-16-le"))
    r = zbulk(
        "job", "retry", JOB, "--source", str(path), "--from", str(path), "--dry-run", "--json"
    )
    assert r.code == 0, r.err
    lines = [json.loads(line) for line in r.out.splitlines()]
    assert lines[-1]["body"]["character_encoding"] == "UTF-16LE"
    assert lines[-2]["form"]["file"]["records"] == 2
    fast.put_document(JOB, completed(character_encoding="windows-1252"))
    latin = tmp_path / "latin.csv"
    latin.write_bytes("Last_Name,Email\nMüller,m@example.com\n".encode("cp1252"))
    r = zbulk("job", "retry", JOB, "--source", str(latin), "--from", str(latin), "--dry-run")
    assert r.code == 0, r.err
    assert '"character_encoding": "windows-1252"' in r.out


@pytest.mark.parametrize(
    ("codec", "data"), [("utf-7", b"Last_Name\nA+!-\n"), ("iso2022_jp", b"Last_Name\nx\x1b$Bxx\n")]
)
def test_bytes_a_codec_cannot_read_below_0x80_are_a_clear_error(
    zbulk, sandbox, tmp_path, codec, data
) -> None:
    path = tmp_path / "leads.csv"
    path.write_bytes(data)
    r = dry(zbulk, path, "--encoding", codec)
    assert r.code == ExitCode.USAGE, r.err
    assert "line 2 is not valid" in r.err
