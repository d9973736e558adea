"""``job import``'s check against the org's modules and fields (issue 24), through the CLI
against the sandbox, whose metadata endpoints and row verdicts come from one definition of
each module (``zbulk.sandbox.modules``); and the checkers themselves."""

from __future__ import annotations

import codecs
import json
import os
import stat
from pathlib import Path

import pytest

from zbulk.errors import ExitCode
from zbulk.sandbox import Fault
from zbulk.sandbox.jobs import ORG_ID

UPLOAD = "/crm/v8/upload"
CREATE = "/crm/bulk/v8/write"
SETTINGS = "/crm/v8/settings/"
NO_SETTINGS = "ZohoCRM.bulk.ALL,ZohoCRM.modules.ALL,ZohoFiles.files.ALL,ZohoCRM.org.READ"
GOOD = "First_Name,Last_Name,Email,Company\nAda,Lovelace,ada@example.com,Engines\n"


def write(tmp_path: Path, text: str, name: str = "leads.csv", **kw: object) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(str(kw.get("encoding", "utf-8"))))
    return path


def imp(zbulk, path: Path, *extra: str, module: str = "Leads", operation: str = "insert"):
    return zbulk(
        "job",
        "import",
        str(path),
        "--module",
        module,
        "--operation",
        operation,
        "--yes",
        "--org",
        ORG_ID,
        *extra,
    )


def sent(sandbox, prefix: str) -> int:
    return sandbox.request_count(prefix)


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rejected rows go to the current directory by default: the test's own."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def fast(sandbox):
    sandbox.import_duration = 0
    return sandbox


def test_label_headers_suggest_the_api_names_and_nothing_is_sent(zbulk, fast, tmp_path) -> None:
    path = write(tmp_path, "First Name,Last Name,Email\nAda,Lovelace,ada@example.com\n")
    r = imp(zbulk, path)
    assert r.code == ExitCode.USAGE, r.err
    assert "did you mean First_Name? rename the header to First_Name, or pass --map " in r.err
    assert "'First Name'=First_Name" in r.err and "did you mean Last_Name?" in r.err
    assert "nothing was sent" in r.err
    assert sent(fast, UPLOAD) == sent(fast, CREATE) == 0


@pytest.mark.parametrize("given", ["leads", "Lead", "lead", "LEADS"])
def test_a_module_in_another_case_or_number_says_did_you_mean(zbulk, fast, tmp_path, given):
    r = imp(zbulk, write(tmp_path, GOOD), module=given)
    assert r.code == ExitCode.USAGE
    assert f"--module {given}: the org has no module {given}; did you mean Leads?" in r.err
    assert "--module Leads" in r.err and sent(fast, UPLOAD) == 0


def test_an_unknown_module_lists_the_modules(zbulk, fast, tmp_path) -> None:
    r = imp(zbulk, write(tmp_path, GOOD), module="Zzyzx")
    assert r.code == ExitCode.USAGE and "no such module" in r.err and "Contacts" in r.err


def test_a_module_that_takes_no_imports_is_refused(zbulk, fast, tmp_path) -> None:
    r = imp(zbulk, write(tmp_path, "Name\nA visit\n"), module="Visits")
    assert r.code == ExitCode.USAGE and "does not let the API create" in r.err


def test_find_by_is_matched_case_insensitively(zbulk, fast, tmp_path) -> None:
    path = write(tmp_path, "Last_Name,Email\nLovelace,ada@example.com\n", "contacts.csv")
    r = imp(zbulk, path, "--find-by", "email", module="Contacts", operation="upsert")
    assert r.code == 0, r.err
    assert "--find-by email: the field Email" in r.err
    job = fast.records["Contacts"]
    assert [rec["Email"] for rec in job.values()] == ["ada@example.com"]


def test_find_by_must_be_unique(zbulk, fast, tmp_path) -> None:
    path = write(tmp_path, "Last_Name,Phone\nLovelace,123\n", "contacts.csv")
    r = imp(zbulk, path, "--find-by", "phone", module="Contacts", operation="upsert")
    assert r.code == ExitCode.USAGE and "--find-by takes id or a unique field: id, Email" in r.err


BAD = (
    "First_Name;Last_Name;Email;No_of_Employees;Annual_Revenue;Date_3;Referred_Contact\r\n"
    "Ada;Lovelace;ada@example.com;10;1000.50;2024-01-31;4150868000020000001\r\n"  # 1 ok
    "Bob;;bob@example.com;1;2;2024-01-01;\r\n"  # 2 mandatory empty
    "Cy;Young;cy-at-example.com;1;2;;\r\n"  # 3 email
    "Di;Ross;di@example.com;ten;2;;\r\n"  # 4 integer
    "Ed;Wood;ed@example.com;1;12k;;\r\n"  # 5 currency
    "Flo;Jo;flo@example.com;1;2;31/01/2024;\r\n"  # 6 date
    "Gus;Grissom;gus@example.com;1;2;;Jane Doe\r\n"  # 7 lookup id
    "Hal;Clement;ADA@example.com;1;2;;\r\n"  # 8 duplicate (emails are not case-sensitive)
    f"{'I' * 41};Lee;ike@example.com;1;2;;\r\n"  # 9 too long
    "Jo;March;jo@example.com;1;2;2024-02-29;\r\n"  # 10 ok
)


def test_bad_values_are_refused_with_row_column_and_fix(zbulk, fast, tmp_path, monkeypatch):
    path = tmp_path / "leads.csv"
    path.write_bytes(codecs.BOM_UTF8 + BAD.encode())
    out = tmp_path / "out"
    r = imp(zbulk, path, "--output-dir", str(out))
    assert r.code == ExitCode.USAGE, r.err
    assert sent(fast, UPLOAD) == sent(fast, CREATE) == 0
    for line in (
        "MANDATORY_NOT_FOUND (refused): column Last_Name: 1 row (rows 2)",
        "INVALID_EMAIL (refused): column Email: 1 row (rows 3)",
        "NOT_A_NUMBER (refused): column No_of_Employees: 1 row (rows 4)",
        "NOT_A_NUMBER (refused): column Annual_Revenue: 1 row (rows 5)",
        "INVALID_DATE (refused): column Date_3: 1 row (rows 6)",
        "INVALID_LOOKUP_ID (refused): column Referred_Contact: 1 row (rows 7)",
        "DUPLICATE_DATA (refused): column Email: 1 row (rows 8)",
        "TOO_LONG (refused): column First_Name: 1 row (rows 9)",
    ):
        assert line in r.err
    assert "shorten it to 40 characters" in r.err and "write it as yyyy-MM-dd" in r.err
    assert "8 of 10 rows would be rejected by the fields of Leads; nothing was sent" in r.err
    assert "add --skip-invalid to upload only the 2 rows that pass (8 stay in " in r.err
    rejected = out / "leads-rejected.csv"
    lines = BAD.split("\r\n")
    expected = codecs.BOM_UTF8 + "\r\n".join([lines[0], *lines[2:10]]).encode() + b"\r\n"
    assert rejected.read_bytes() == expected  # whole rows: delimiter, BOM, line ends kept
    assert stat.S_IMODE(rejected.stat().st_mode) == 0o600
    again = imp(zbulk, path, "--output-dir", str(out))
    assert again.code == ExitCode.ERROR and "already exists" in again.err
    assert imp(zbulk, path, "--output-dir", str(out), "--force").code == ExitCode.USAGE


def test_skip_invalid_sends_only_the_rows_that_pass(zbulk, fast, tmp_path) -> None:
    path = tmp_path / "leads.csv"
    path.write_bytes(BAD.encode())
    r = imp(zbulk, path, "--skip-invalid", "--output-dir", str(tmp_path))
    assert r.code == 0, r.err
    assert "--skip-invalid: 2 rows go, 8 stay" in r.err
    names = sorted(rec["First_Name"] for rec in fast.records["Leads"].values())
    assert names == ["Ada", "Jo"]
    assert (tmp_path / "leads-rejected.csv").read_bytes().count(b"\r\n") == 9


def test_json_prints_the_report_when_it_stops(zbulk, fast, tmp_path) -> None:
    path = write(tmp_path, BAD)
    r = imp(zbulk, path, "--json", "--output-dir", str(tmp_path))
    assert r.code == ExitCode.USAGE
    doc = json.loads(r.out)["preflight"]
    assert (doc["records"], doc["rejected"], doc["passing"]) == (10, 8, 2)
    codes = {(g["code"], g["column"]): g["first_rows"] for g in doc["rows"]}
    assert codes[("INVALID_EMAIL", "Email")] == [3]


def test_warnings_never_hold_a_row_back(zbulk, fast, tmp_path) -> None:
    text = (
        "Last_Name,Phone,Email_Opt_Out,Follow_Up_At,Lead_Source,Interests\n"
        "Lovelace,call me,yes,tomorrow,Billboard,CRM;Telepathy\n"
    )
    r = imp(zbulk, write(tmp_path, text))
    assert "PHONE_FORMAT (warning)" in r.err and "BOOLEAN (warning)" in r.err
    assert "DATETIME (warning)" in r.err and "PICKLIST (warning)" in r.err
    assert "MULTISELECT (warning)" in r.err
    assert sent(fast, UPLOAD) == 1  # sent: Zoho decides (here the sandbox skips the row)


def test_read_only_and_unknown_fields_are_refused(zbulk, fast, tmp_path) -> None:
    r = imp(zbulk, write(tmp_path, "Last_Name,Full_Name,Emial\nL,Full,x@y.zz\n"))
    assert r.code == ExitCode.USAGE
    assert "READ_ONLY: column Full_Name" in r.err and "--map Full_Name=" in r.err
    assert "UNKNOWN_FIELD: column Emial" in r.err and "did you mean Email?" in r.err


def test_mandatory_fields_come_from_the_default_layout_only(zbulk, fast, tmp_path) -> None:
    # Leads' second layout requires Company and Partner_Code: the default one does not
    assert imp(zbulk, write(tmp_path, "Last_Name\nLovelace\n")).code == 0
    # Deals' default layout requires Closing_Date, which is not system-mandatory
    deals = write(tmp_path, "Deal_Name,Stage\nBig one,Proposal\n", "deals.csv")
    r = imp(zbulk, deals, module="Deals")
    assert r.code == ExitCode.USAGE and "MANDATORY_NOT_MAPPED: column Closing_Date" in r.err


def test_lookup_headers_name_the_field_and_its_find_by(zbulk, fast, tmp_path) -> None:
    text = "Last_Name,Account_Name.id\nLovelace,4150868000000000001\nHopper,Navy\n"
    r = imp(zbulk, write(tmp_path, text, "contacts.csv"), "--skip-invalid", module="Contacts")
    assert r.code == 0, r.err
    assert "INVALID_LOOKUP_ID (refused): column Account_Name.id (Account_Name)" in r.err
    body = json.loads(_last_create_body(fast))
    assert {"api_name": "Account_Name", "index": 1, "find_by": "id"} in body
    text = "Last_Name,Account_Name.Account_Name\nLovelace,Zylker\n"
    assert imp(zbulk, write(tmp_path, text, "c2.csv"), module="Contacts").code == 0


def _last_create_body(sandbox) -> str:
    job_id = max(sandbox._imports._jobs)
    return json.dumps(sandbox._imports._jobs[job_id].body["resource"][0]["field_mappings"])


def test_too_many_columns_are_refused(zbulk, fast, tmp_path) -> None:
    header = ",".join(["Last_Name", *(f"C{i}" for i in range(200))])
    r = imp(zbulk, write(tmp_path, header + "\n" + ",".join(["x"] * 201) + "\n"))
    assert r.code == ExitCode.USAGE and "TOO_MANY_COLUMNS" in r.err


def test_metadata_is_kept_a_day_and_refresh_reads_it_again(zbulk, fast, tmp_path, env):
    path = write(tmp_path, GOOD)
    assert imp(zbulk, path).code == 0
    reads = sent(fast, SETTINGS)
    assert reads == 3  # modules, fields, layouts
    kept = list((Path(env["ZBULK_STATE_DIR"]) / "metadata").iterdir())
    assert kept and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in kept)
    assert imp(zbulk, path).code == 0
    assert sent(fast, SETTINGS) == reads
    assert imp(zbulk, path, "--refresh-metadata").code == 0
    assert sent(fast, SETTINGS) == 2 * reads
    for p in kept:  # a day later
        doc = json.loads(p.read_text())
        doc["fetched"] -= 24 * 3600 + 1
        p.write_text(json.dumps(doc))
    assert imp(zbulk, path).code == 0
    assert sent(fast, SETTINGS) == 3 * reads


def test_no_metadata_reads_nothing(zbulk, fast, tmp_path) -> None:
    assert imp(zbulk, write(tmp_path, BAD), "--no-metadata").code == 0
    assert sent(fast, SETTINGS) == 0


def test_a_refusal_on_kept_metadata_reads_it_again_once(zbulk, fast, tmp_path, env) -> None:
    path = write(tmp_path, GOOD)
    assert imp(zbulk, path).code == 0
    for p in (Path(env["ZBULK_STATE_DIR"]) / "metadata").iterdir():
        doc = json.loads(p.read_text())
        if isinstance(doc["data"], dict):  # the module's fields: as if Email were new since
            doc["data"]["fields"] = [f for f in doc["data"]["fields"] if f["api_name"] != "Email"]
            p.write_text(json.dumps(doc))
    reads = sent(fast, SETTINGS)
    r = imp(zbulk, path)
    assert r.code == 0, r.err
    assert sent(fast, SETTINGS) == reads + 3


def test_an_unknown_module_on_the_kept_list_reads_it_again(zbulk, fast, tmp_path, env):
    assert imp(zbulk, write(tmp_path, GOOD)).code == 0
    for p in (Path(env["ZBULK_STATE_DIR"]) / "metadata").iterdir():
        doc = json.loads(p.read_text())
        if isinstance(doc["data"], list):  # the modules: as if Contacts were new since
            doc["data"] = [m for m in doc["data"] if m["api_name"] != "Contacts"]
            p.write_text(json.dumps(doc))
    path = write(tmp_path, "Last_Name\nLovelace\n", "contacts.csv")
    r = imp(zbulk, path, module="Contacts")
    assert r.code == 0, r.err


def test_an_endpoint_answering_404_warns_once_and_checks_the_file(zbulk, fast, tmp_path):
    fast.add_fault(Fault("status", status=404, times=None, path_prefix=SETTINGS + "fields"))
    r = imp(zbulk, write(tmp_path, GOOD))
    assert r.code == 0, r.err
    assert r.err.count("warning:") == 1 and "ZohoCRM.settings.fields.READ" in r.err


def test_a_server_error_uses_the_kept_copy_else_exits_5(zbulk, fast, tmp_path) -> None:
    path = write(tmp_path, GOOD)
    fast.add_fault(Fault("status", status=500, times=None, path_prefix=SETTINGS))
    r = imp(zbulk, path)
    assert r.code == ExitCode.NETWORK and "--no-metadata" in r.err
    assert sent(fast, UPLOAD) == 0
    fast.clear_faults()
    assert imp(zbulk, path).code == 0
    fast.add_fault(Fault("status", status=500, times=None, path_prefix=SETTINGS))
    r = imp(zbulk, path, "--refresh-metadata")
    assert r.code == 0, r.err
    assert "using the copy kept 0.0 hours ago" in r.err


def test_a_token_without_the_settings_scopes_warns_once_and_checks_the_file(
    zbulk_at, make_sandbox, tmp_path
) -> None:
    server = make_sandbox(token_scopes=NO_SETTINGS)
    server.import_duration = 0
    zbulk = zbulk_at(server)
    r = imp(zbulk, write(tmp_path, GOOD))
    assert r.code == 0, r.err
    assert r.err.count("warning:") == 1
    assert "give the token the scope ZohoCRM.settings.modules.READ" in r.err
    assert "ZohoCRM.settings.ALL covers all three" in r.err
    assert server.request_count(SETTINGS) == 1  # asked once, never again after the 401
    r = imp(zbulk, write(tmp_path, "First Name,Last_Name\nA,B\n"))
    assert r.code == ExitCode.USAGE and "(the file alone)" in r.err
    assert "NOT_AN_API_NAME: column First Name" in r.err and "did you mean First_Name?" in r.err


def test_a_scope_mismatch_never_refreshes_the_token(
    run, make_sandbox, tmp_path, memory_keyring, monkeypatch
) -> None:
    server = make_sandbox()
    server.import_duration = 0
    config = Path(os.environ["ZBULK_CONFIG_DIR"]) / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        f'[data_centres.sandbox]\naccounts = "{server.url}"\napi_domain = "{server.url}"\n'
    )
    client = {"ZBULK_CLIENT_ID": server.client_id, "ZBULK_CLIENT_SECRET": server.client_secret}
    code = server.issue_grant_code(NO_SETTINGS)
    login = run("auth", "login", "--self-client", "--dc", "sandbox", "--code", code, **client)
    assert login.code == 0, login.err
    before = server.token_requests
    r = run(
        "job",
        "import",
        str(write(tmp_path, GOOD)),
        "--module",
        "Leads",
        "--operation",
        "insert",
        "--yes",
        "--org",
        ORG_ID,
        **client,
    )
    assert r.code == 0, r.err
    assert server.token_requests == before and "OAUTH_SCOPE_MISMATCH" in r.err


def test_dry_run_sends_nothing_and_uses_kept_metadata(zbulk, fast, tmp_path) -> None:
    labels = write(tmp_path, "First Name,Last_Name\nA,B\n", "labels.csv")
    r = zbulk(
        "job",
        "import",
        str(labels),
        "--module",
        "Leads",
        "--operation",
        "insert",
        "--dry-run",
        "--map",
        "First Name=First_Nme",
    )
    assert r.code == 0 and "no copy of the org's fields is kept yet" in r.err
    assert fast.requests == []
    assert imp(zbulk, write(tmp_path, GOOD)).code == 0
    count = len(fast.requests)
    r = zbulk(
        "job",
        "import",
        str(labels),
        "--module",
        "Leads",
        "--operation",
        "insert",
        "--dry-run",
        "--map",
        "First Name=First_Nme",
        "--org",
        ORG_ID,
    )
    assert r.code == ExitCode.USAGE and "did you mean First_Name?" in r.err
    assert len(fast.requests) == count


# -- the checkers, directly ------------------------------------------------------------


def _meta(**fields):
    from zbulk.metadata import FieldInfo, Metadata

    infos = {name: FieldInfo(name, name, **spec) for name, spec in fields.items()}
    return Metadata("Leads", infos)


def _plan(headers, operation="insert", find_by=None, formats=None):
    from zbulk.import_plan import FieldMap, Plan
    from zbulk.user_file import UserFile

    source = UserFile(Path("x.csv"), "x.csv", False, 0, header=headers)
    maps = [FieldMap(h, i, h, (formats or {}).get(h)) for i, h in enumerate(headers)]
    return Plan(source, "Leads", operation, maps, find_by)


def _codes(meta, plan, rows):
    from zbulk.preflight import Report, run

    report = run(plan, meta, iter(rows), Report("Leads"))
    return {(g.code, g.column): g.rows for g in report.groups.values()}, report


def test_numbers_by_type() -> None:
    meta = _meta(
        I={"data_type": "integer", "length": 9},
        B={"data_type": "bigint", "length": 18},
        D={"data_type": "double", "length": 16, "decimal_place": 2},
        P={"data_type": "percent", "length": 5},
        C={"data_type": "currency", "length": 16, "decimal_place": 2},
    )
    plan = _plan(["I", "B", "D", "P", "C"])
    rows = [
        ["12", "123456789012345678", "1,234.5", "99.5", "-3"],
        ["1.5", "12a", "abc", "5%", "$3"],
        ["2147483648", "", ".", "", "1.234"],
    ]
    codes, report = _codes(meta, plan, rows)
    assert codes[("NOT_A_NUMBER", "I")] == [2, 3]  # 2147483648: past Zoho's integers
    assert codes[("NOT_A_NUMBER", "B")] == [2]
    assert codes[("NOT_A_NUMBER", "D")] == [2, 3]
    assert codes[("NOT_A_NUMBER", "P")] == [2]
    assert codes[("NOT_A_NUMBER", "C")] == [2]
    assert codes[("DECIMALS", "C")] == [3]  # a warning: Zoho rounds
    assert report.rejected == {2, 3}


def test_dates_follow_the_mapping_format() -> None:
    meta = _meta(D={"data_type": "date"}, E={"data_type": "date"})
    plan = _plan(["D", "E"], formats={"E": "MM/dd/yyyy"})
    rows = [["2024-02-29", "12/31/2024"], ["2023-02-29", "31/12/2024"], ["2024-1-5", "1/5/2024"]]
    codes, _ = _codes(meta, plan, rows)
    assert codes[("INVALID_DATE", "D")] == [2, 3]
    assert codes[("INVALID_DATE", "E")] == [2, 3]


def test_duplicates_follow_casesensitive_across_the_whole_file() -> None:
    meta = _meta(
        Email={"data_type": "email", "unique": True},
        Code={"data_type": "text", "unique": True, "casesensitive": True, "length": 20},
    )
    rows = [["a@b.cc", "X1"], ["A@B.CC", "x1"], ["c@d.ee", "X1"], ["bad", "Z"], ["e@f.gg", "Z"]]
    codes, _ = _codes(meta, _plan(["Email", "Code"]), rows)
    assert codes[("DUPLICATE_DATA", "Email")] == [2]
    assert codes[("DUPLICATE_DATA", "Code")] == [3]  # "x1" differs from "X1"
    # row 4 is refused for its email, so its Code "Z" is not taken: row 5 keeps it
    assert ("DUPLICATE_DATA", "Code") in codes and 5 not in codes[("DUPLICATE_DATA", "Code")]


def test_find_by_duplicates_are_refused_for_update() -> None:
    meta = _meta(Email={"data_type": "email", "unique": True}, N={"data_type": "text"})
    rows = [["a@b.cc", "1"], ["A@b.cc", "2"]]
    codes, _ = _codes(meta, _plan(["Email", "N"], "update", "Email"), rows)
    assert codes[("DUPLICATE_FIND_BY", "Email")] == [2]


def test_emails() -> None:
    meta = _meta(E={"data_type": "email", "length": 100})
    good = ["a@b.co", "first.last+tag@sub.example.com", "o'neil@example.ie"]
    bad = ["a@b", "a b@c.de", "@c.de", "a@@c.de", "a@c..de", "cy-at-example.com"]
    codes, _ = _codes(meta, _plan(["E"]), [[v] for v in good + bad])
    assert codes[("INVALID_EMAIL", "E")] == list(range(4, 9))
    assert len(good) + 5 < len(good) + len(bad)  # the shown rows stop at five


def test_label_suggestions() -> None:
    from zbulk.preflight import suggest

    meta = _meta(First_Name={"data_type": "text"}, No_of_Employees={"data_type": "integer"})
    assert suggest("First Name", meta) == "First_Name"
    assert suggest("first_name", meta) == "First_Name"
    assert suggest("No_of_Employes", meta) == "No_of_Employees"
    assert suggest("Colour", meta) is None


def test_resolve_module() -> None:
    from zbulk.errors import UsageError
    from zbulk.metadata import resolve_module

    modules = [
        {"api_name": "Leads", "singular_label": "Lead", "plural_label": "Leads"},
        {"api_name": "Deals", "singular_label": "Deal", "plural_label": "Deals"},
    ]
    assert resolve_module("Leads", modules) == "Leads"
    for given in ("leads", "Lead", "deal"):
        with pytest.raises(UsageError, match="did you mean"):
            resolve_module(given, modules)


def test_the_default_layout_is_the_one_zoho_generated() -> None:
    from zbulk.metadata import default_layout_required

    def layout(kind: str, *required: str) -> dict:
        fields = [{"api_name": n, "required": True} for n in required]
        return {"generated_type": kind, "sections": [{"fields": fields}]}

    doc = {"layouts": [layout("custom", "Company"), layout("default", "Closing_Date")]}
    assert default_layout_required(doc) == ["Closing_Date"]


def test_the_pre_flight_and_the_sandbox_share_no_code() -> None:
    """The accuracy benchmark is honest only if the pre-flight and the sandbox's verdicts
    are written separately: neither side imports the other, directly or not (the import
    graph read from the source by grimp, import-linter's; pyproject.toml's contracts say
    the same for `lint-imports`)."""
    import grimp

    graph = grimp.build_graph("zbulk", exclude_type_checking_imports=True)
    for mine in ("zbulk.preflight", "zbulk.metadata", "zbulk.commands.preflight"):
        assert not graph.chain_exists(mine, "zbulk.sandbox", as_packages=True), mine
        assert not graph.chain_exists("zbulk.sandbox", mine, as_packages=True), mine
