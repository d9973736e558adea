"""Property test: whatever the CSV bytes, the mapping file, the org's answer and the job
document, `job import` and `job retry` (sending, and `--dry-run` in both forms) end with an
exit code of the contract, never 70 (a bug) and never a traceback. Against the sandbox."""

from __future__ import annotations

import codecs
import json
from itertools import count

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zbulk.errors import ExitCode
from zbulk.sandbox import Fault

ORG = "/crm/v8/org"
JOB = "4150868000000888001"
EXAMPLES = settings(
    max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
)
_names = count()

# -- the CSV ---------------------------------------------------------------------------

cells = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            "Lovelace",
            "ada@example.com",
            '"',
            '""',
            "a,b",
            "x\ny",
            "\r",
            "=1+1",
            "\x00",
            "\udcff",
            "名前",
            "é",
            "\u202e",
            "1e309",
            "NaN",
        ]
    ),
    st.text(max_size=6),
)
headers = st.lists(
    st.sampled_from(["Last_Name", "Email", "Company", "", "STATUS", "RECORD_ID", "ERRORS", "名"]),
    min_size=1,
    max_size=5,
)


@st.composite
def csv_bytes(draw: st.DrawFn) -> bytes:
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=200))
    delimiter = draw(st.sampled_from([",", ";", "|", ":", "\t"]))
    end = draw(st.sampled_from(["\n", "\r\n", "\r", "\n\n"]))
    rows = [draw(headers), *draw(st.lists(st.lists(cells, max_size=5), max_size=6))]
    text = end.join(delimiter.join(row) for row in rows) + draw(st.sampled_from(["", end, "\n\n"]))
    codec = draw(st.sampled_from(["utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "cp1252"]))
    data = text.encode(codec, "surrogateescape" if codec == "utf-8" else "replace")
    bom = {
        "utf-8": codecs.BOM_UTF8,
        "utf-16-le": codecs.BOM_UTF16_LE,
        "utf-16-be": codecs.BOM_UTF16_BE,
        "utf-32-le": codecs.BOM_UTF32_LE,
    }
    if draw(st.booleans()):
        data = bom.get(codec, b"") + data
    if draw(st.integers(0, 5)) == 0:
        data = data[: draw(st.integers(0, len(data)))]  # cut anywhere, a character too
    return data


# -- the mapping file, the org's answer, the job document ------------------------------

toml_values = st.sampled_from(
    [
        '"x"',
        "1",
        "-2",
        "1.5",
        "nan",
        "-inf",
        "+inf",
        "true",
        "1979-05-27",
        "07:32:00",
        "1979-05-27T07:32:00Z",
        "1979-05-27T07:32:00",
        "[1, 2]",
        '{ name = "Zylker" }',
        "{ a = nan }",
        "{ a = { b = 1 } }",
        "{}",
        '""',
        "0x10",
        "1e400",
    ]
)
mapping_keys = st.sampled_from(["api_name", "format", "find_by", "module", "default", "skip"])


@st.composite
def mapping_file(draw: st.DrawFn) -> bytes:
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=60))
    lines = []
    for column in draw(st.lists(st.sampled_from(["Last_Name", "Email", "Nope", "名"]), max_size=3)):
        lines.append(f'[columns."{column}"]')
        for key in draw(st.lists(mapping_keys, max_size=3, unique=True)):
            lines.append(f"{key} = {draw(toml_values)}")
    return "\n".join(lines).encode()


json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.floats(),
        st.text(max_size=8),
        st.sampled_from(["１２３", "4150868000000000001", "rot13", "UTF-16", "utf-8", "Leads"]),
    ),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


targeted = st.sampled_from(
    [
        "rot13",
        "utf-16",
        "undefined",
        5,
        [],
        {},
        "x",
        -1,
        10**20,
        True,
        {"value": float("nan")},
        {"value": {"a": 1}},
        [{"api_name": 5}],
        [5],
        "update",
        "Leads",
        None,
    ]
)
encodings = st.sampled_from(
    [
        None,
        None,
        None,
        "utf-16",
        "utf-32",
        "utf-8",
        "cp1252",
        "rot13",
        "idna",
        "undefined",
        "base64",
        "utf-16-be",
        "shift_jis",
        "utf-7",
        "iso2022_jp",
    ]
)


def dumps(value: object) -> str:
    return json.dumps(value)  # NaN and Infinity as Python writes them: not JSON


@st.composite
def org_answer(draw: st.DrawFn) -> str:
    zgid = draw(st.one_of(json_values, st.sampled_from(["１２３", "123", 123, "", "12a"])))
    shape = draw(st.integers(0, 3))
    if shape == 0:
        return dumps({"org": [{"zgid": zgid, "company_name": draw(json_values)}]})
    if shape == 1:
        return dumps({"org": zgid})
    if shape == 2:
        return dumps(zgid)
    return draw(st.text(max_size=20))


def completed_job() -> dict:
    return {
        "id": JOB,
        "status": "COMPLETED",
        "operation": "insert",
        "character_encoding": "UTF-8",
        "ignore_empty": False,
        "resource": [
            {
                "status": "COMPLETED",
                "type": "data",
                "module": {"api_name": "Leads"},
                "find_by": None,
                "field_mappings": [
                    {"api_name": "Last_Name", "index": 0, "default_value": None},
                    {"api_name": "Email", "index": 1},
                ],
                "file": {
                    "status": "COMPLETED",
                    "name": "leads.csv",
                    "added_count": 1,
                    "skipped_count": 0,
                    "updated_count": 0,
                    "total_count": 1,
                },
            }
        ],
        "result": {"download_url": "https://download-accl.zoho.com/x.zip"},
    }


@st.composite
def job_document(draw: st.DrawFn) -> str:
    doc = completed_job()
    resource = doc["resource"][0]
    mapping = resource["field_mappings"][0]
    places = [
        (doc, "operation"),
        (doc, "character_encoding"),
        (doc, "resource"),
        (doc, "ignore_empty"),
        (resource, "module"),
        (resource, "field_mappings"),
        (resource, "find_by"),
        (mapping, "api_name"),
        (mapping, "index"),
        (mapping, "default_value"),
        (mapping, "format"),
    ]
    for where, key in draw(st.lists(st.sampled_from(places), max_size=3)):
        where[key] = draw(st.one_of(targeted, json_values))
    return dumps(doc)


# -- the runs -----------------------------------------------------------------------------


def check(r) -> None:  # type: ignore[no-untyped-def]
    assert r.code != ExitCode.INTERNAL, r.err
    assert "Traceback" not in r.err
    assert r.code in {int(c) for c in ExitCode}, (r.code, r.err)


@EXAMPLES
@given(
    data=csv_bytes(),
    mapping=mapping_file(),
    org=org_answer(),
    encoding=encodings,
    form=st.integers(0, 2),
)
def test_import_never_exits_70(
    zbulk, sandbox, tmp_path, data, mapping, org, encoding, form
) -> None:
    sandbox.import_duration = 0
    n = next(_names)
    path = tmp_path / f"leads{n}.csv"
    path.write_bytes(data)
    options = ["--module", "Leads", "--operation", "insert"]
    if encoding is not None:
        options += ["--encoding", encoding]
    if mapping:
        mapping_path = tmp_path / f"map{n}.toml"
        mapping_path.write_bytes(mapping)
        options += ["--mapping", str(mapping_path)]
    sandbox.clear_faults()
    sandbox.add_fault(Fault("status", status=200, body=org, path_prefix=ORG, times=None))
    extra = (["--dry-run"], ["--dry-run", "--json"], ["--yes"])[form]
    check(zbulk("job", "import", str(path), *options, *extra))


@EXAMPLES
@given(doc=job_document(), data=csv_bytes(), org=org_answer(), form=st.integers(0, 2))
def test_retry_never_exits_70(zbulk, sandbox, tmp_path, doc, data, org, form) -> None:
    sandbox.import_duration = 0
    n = next(_names)
    sandbox.put_document(JOB, doc)
    source = tmp_path / f"source{n}.csv"
    source.write_text("Last_Name,Email\nLovelace,ada@example.com\n")
    fixed = tmp_path / f"fixed{n}.csv"
    fixed.write_bytes(data)
    sandbox.clear_faults()
    sandbox.add_fault(Fault("status", status=200, body=org, path_prefix=ORG, times=None))
    extra = (["--dry-run"], ["--dry-run", "--json"], ["--yes"])[form]
    check(zbulk("job", "retry", JOB, "--source", str(source), "--from", str(fixed), *extra))
