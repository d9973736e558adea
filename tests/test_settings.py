"""config.toml is the user's: zbulk reads it with tomllib, edits it in place with
``zbulk config`` (comments, order and types kept) and keeps login state beside it."""

from __future__ import annotations

import datetime
import json
import tomllib
from pathlib import Path

import pytest

from zbulk import config
from zbulk.auth import state
from zbulk.auth.model import LoginMode, LoginRecord, Storage
from zbulk.errors import ExitCode

HAND_WRITTEN = """\
# My zbulk settings — hand written ✓ 😀
title = "Zoho 😀 admin"   # a top-level key zbulk does not read
tags = ["a", "b", 3]     # an array
since = 2024-05-01       # a date
when = 2024-05-01T10:20:30+02:00
inline = { x = 1, y = "ü" }

[profiles.default]
# the EU org
api_domain = "https://www.zohoapis.eu"  # chosen by hand
request_timeout = 12

[profiles."acme.prod"]
api_version = "v2.1"
notes = \"\"\"multi
line 𝄞\"\"\"

[[jobs_i_care_about]]
id = "4150868000006801001"

[data_centres.lab]
accounts = "https://accounts.lab.example"
api_domain = "https://api.lab.example"
"""


@pytest.fixture
def path(env) -> Path:
    p = Path(env["ZBULK_CONFIG_DIR"]) / "config.toml"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(HAND_WRITTEN, encoding="utf-8")
    return p


def test_toml_round_trip_keeps_everything(run, path: Path) -> None:
    """Comments, arrays, tables, arrays of tables, dates, inline tables and unicode (also
    outside the BMP) survive set then unset byte for byte, and parse to the same data."""
    before = tomllib.loads(HAND_WRITTEN)
    assert run("config", "set", "default.api_version", "v7").code == 0
    after = path.read_text(encoding="utf-8")
    added = [line for line in after.splitlines() if line not in HAND_WRITTEN.splitlines()]
    assert added == ['api_version = "v7"']
    data = tomllib.loads(after)
    assert data["profiles"]["default"]["api_version"] == "v7"
    data["profiles"]["default"].pop("api_version")
    assert data == before
    assert isinstance(data["since"], datetime.date) and data["tags"] == ["a", "b", 3]
    assert run("config", "unset", "default.api_version").code == 0
    assert path.read_text(encoding="utf-8") == HAND_WRITTEN


def test_set_keeps_types_and_validates(run, path: Path) -> None:
    assert run("config", "set", "default.request_timeout", "2.5").code == 0
    assert "request_timeout = 2.5\n" in path.read_text()
    assert run("config", "set", "request_timeout", "40").code == 0  # the profile in use
    assert config.load_profile("default")["request_timeout"] == 40
    assert run("config", "set", "default.insecure_storage_warning", "false").code == 0
    assert config.load_profile("default")["insecure_storage_warning"] is False
    for key, value in [
        ("default.api_version", "latest"),
        ("default.api_domain", "http://evil.example"),
        ("default.request_timeout", "nan"),
        ("default.insecure_storage_warning", "maybe"),
    ]:
        text = path.read_text()
        r = run("config", "set", key, value)
        assert r.code == ExitCode.USAGE and "Traceback" not in r.err, (key, r.err)
        assert path.read_text() == text


def test_keys_profiles_with_dots_and_data_centres(run, path: Path) -> None:
    r = run("config", "get", "acme.prod.api_version")
    assert (r.code, r.out) == (0, "v2.1\n")
    assert run("--profile", "acme.prod", "config", "get", "api_version").out == "v2.1\n"
    r = run("config", "set", "data_centres.lab.api_domain", "https://api2.lab.example")
    assert r.code == 0
    assert config.data_centre_tables()["lab"]["api_domain"] == "https://api2.lab.example"
    r = run("config", "set", "new-one.api_version", "v8")
    assert r.code == 0 and config.load_profile("new-one") == {"api_version": "v8"}
    tomllib.loads(path.read_text())
    for bad in ("default.colour", "title", "../../x.api_version", "data_centres.lab.colour"):
        r = run("config", "set", bad, "v8")
        assert r.code == ExitCode.USAGE and "Traceback" not in r.err, bad


def test_list_get_unset_path(run, path: Path) -> None:
    r = run("config", "list")
    assert r.code == 0
    assert r.out.splitlines()[-5:] == [
        "default.api_domain=https://www.zohoapis.eu",
        "default.request_timeout=12",
        "acme.prod.api_version=v2.1",
        "data_centres.lab.accounts=https://accounts.lab.example",
        "data_centres.lab.api_domain=https://api.lab.example",
    ]
    r = run("config", "list", "--json")
    assert json.loads(r.out)["config"]["default.request_timeout"] == 12
    r = run("config", "get", "default.api_version")
    assert (r.code, r.out) == (ExitCode.ERROR, "") and "not set" in r.err
    r = run("config", "unset", "default.api_version")
    assert r.code == 0 and "was not set" in r.err
    assert path.read_text() == HAND_WRITTEN
    assert run("config", "path").out == f"{path}\n"


def test_set_creates_the_file(run, env) -> None:
    assert run("config", "set", "default.api_version", "v7").code == 0
    p = Path(env["ZBULK_CONFIG_DIR"]) / "config.toml"
    assert p.read_text() == '[profiles.default]\napi_version = "v7"\n'
    assert config.resolve().api_version == "v7"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("profiles = 5\n", "profiles must be a table"),
        ('[profiles]\ndefault = "x"\n', "profiles.default must be a table"),
        ("[profiles.default]\napi_domain = 5\n", "profiles.default.api_domain must be a string"),
        ('[profiles.default]\nrequest_timeout = "x"\n', "must be a number"),
        ("[profiles.default]\nrequest_timeout = true\n", "must be a number"),
        ('[profiles.default]\ninsecure_storage_warning = "no"\n', "true or false"),
        ("data_centres = []\n", "data_centres must be a table"),
        ("[data_centres.lab]\naccounts = 1\n", "data_centres.lab.accounts must be a string"),
    ],
)
def test_wrong_types_are_found_before_anything(run, env, text: str, why: str) -> None:
    p = Path(env["ZBULK_CONFIG_DIR"]) / "config.toml"
    p.parent.mkdir(parents=True)
    p.write_text(text)
    for args in (["job", "show", "1"], ["auth", "status"], ["config", "list"]):
        r = run(*args, ZBULK_TOKEN="t")
        assert r.code == ExitCode.USAGE and why in r.err and "Traceback" not in r.err, args
    r = run("config", "set", "default.api_version", "v7")
    assert r.code == ExitCode.USAGE and p.read_text() == text


def test_non_bmp_characters_never_corrupt_anything(run, env, path: Path) -> None:
    record = LoginRecord(
        mode=LoginMode.SELF_CLIENT,
        storage=Storage.FILE,
        dc="eu",
        api_domain="https://www.zohoapis.eu",
        client_id="cid😀\ud83d",
    )
    with pytest.raises(UnicodeEncodeError):
        "\ud83d".encode()
    record = LoginRecord(**{**record.__dict__, "client_id": "cid😀𝄞"})
    state.save("default", record)
    assert state.load("default") == record
    assert path.read_text(encoding="utf-8") == HAND_WRITTEN  # the user's file untouched
    assert config.resolve().api_domain == "https://www.zohoapis.eu"


def test_resolve_uses_the_login_api_domain_after_config(env) -> None:
    record = LoginRecord(
        mode=LoginMode.TOKEN, storage=Storage.KEYRING, dc="in", api_domain="https://www.zohoapis.in"
    )
    state.save("default", record)
    assert config.resolve().api_domain == "https://www.zohoapis.in"
    p = Path(env["ZBULK_CONFIG_DIR"]) / "config.toml"
    p.write_text('[profiles.default]\napi_domain = "https://www.zohoapis.jp"\n')
    assert config.resolve().api_domain == "https://www.zohoapis.jp"  # the user's file wins


def test_damaged_login_records(run, env) -> None:
    p = Path(env["ZBULK_CONFIG_DIR"]) / "logins.json"
    p.parent.mkdir(parents=True)
    p.write_text('{"version": 1, "profiles": {"default": {"mode": "x"}, "ok": 5}}')
    r = run("auth", "status")
    assert r.code == ExitCode.CREDENTIALS and "damaged" in r.out and "Traceback" not in r.err
    p.write_text("{not json")
    assert config.read_logins() == {}
    assert run("auth", "status").code == ExitCode.CREDENTIALS


@pytest.mark.parametrize("name", ["secrets", "locks"])
def test_a_file_in_the_way_in_the_config_dir(run, env, sandbox, name: str) -> None:
    directory = Path(env["ZBULK_CONFIG_DIR"])
    directory.mkdir(parents=True)
    (directory / name).write_text("not a directory")
    (directory / "config.toml").write_text(
        f'[data_centres.sb]\naccounts = "{sandbox.url}"\napi_domain = "{sandbox.url}"\n'
    )
    code = sandbox.issue_grant_code()
    client = {"ZBULK_CLIENT_ID": sandbox.client_id, "ZBULK_CLIENT_SECRET": sandbox.client_secret}
    r = run(
        "auth",
        "login",
        "--self-client",
        "--dc",
        "sb",
        "--code",
        code,
        "--insecure-storage",
        **client,
    )
    if name == "secrets":
        assert r.code == ExitCode.ERROR and "not a directory" in r.err
        assert sandbox.token_requests == 0  # found before the grant code was spent
        return
    assert r.code == 0, r.err
    # an expired token needs the refresh lock in locks/: a clear error, no traceback
    secrets = directory / "secrets" / "default.json"
    data = json.loads(secrets.read_text())
    secrets.write_text(json.dumps({**data, "expires_at": 0}))
    r = run("job", "show", "1")
    assert r.code == ExitCode.ERROR and "locks" in r.err and "Traceback" not in r.err


def test_config_dir_in_proc(run, monkeypatch) -> None:
    monkeypatch.setenv("ZBULK_CONFIG_DIR", "/proc")
    r = run("config", "set", "default.api_version", "v7")
    assert r.code == ExitCode.ERROR and "/proc" in r.err and "Traceback" not in r.err
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("tok"))
    r = run("auth", "login", "--with-token", "--insecure-storage")
    assert r.code == ExitCode.ERROR and "/proc" in r.err and "Traceback" not in r.err
    r = run("auth", "status")
    assert r.code == ExitCode.CREDENTIALS and "Traceback" not in r.err


def test_config_sets_a_data_centres_upload_host_checked_as_a_url(run, path: Path) -> None:
    """``data_centres.NAME.upload`` names where job import uploads for that API domain; it is
    checked as the API domain is (https, or http on loopback) before anything is written."""
    r = run("config", "set", "data_centres.lab.upload", "https://files.lab.example/")
    assert r.code == 0, r.err
    assert config.data_centre_tables()["lab"]["upload"] == "https://files.lab.example"
    assert "data_centres.lab.upload=https://files.lab.example" in run("config", "list").out
    before = path.read_text()
    for bad in ("http://files.lab.example", "ftp://files.lab.example", "https://u:p@x.example"):
        r = run("config", "set", "data_centres.lab.upload", bad)
        assert r.code == ExitCode.USAGE and "Traceback" not in r.err, bad
    assert path.read_text() == before
    assert run("config", "set", "data_centres.sb.upload", "http://127.0.0.1:8791").code == 0
    assert "data_centres.NAME.upload" in run("config", "--help").out
