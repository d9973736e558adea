from __future__ import annotations

from pathlib import Path

import pytest

from zbulk.config import (
    DEFAULT_API_DOMAIN,
    check_api_domain,
    check_api_version,
    check_profile_name,
    config_dir,
    resolve,
)
from zbulk.errors import ExitCode, UsageError


def write_config(env: dict[str, str], text: str) -> Path:
    path = Path(env["ZBULK_CONFIG_DIR"]) / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_defaults(env: dict[str, str]) -> None:
    s = resolve()
    assert (s.profile, s.api_domain, s.api_version, s.request_timeout) == (
        "default",
        DEFAULT_API_DOMAIN,
        "v8",
        30.0,
    )


def test_precedence_flag_env_profile_default(env: dict[str, str], monkeypatch) -> None:
    write_config(
        env,
        '[profiles.default]\napi_domain = "https://www.zohoapis.eu"\n'
        'api_version = "v7"\nrequest_timeout = 12\n'
        '[profiles.other]\napi_domain = "https://www.zohoapis.in"\n',
    )
    assert resolve().api_domain == "https://www.zohoapis.eu"
    assert resolve().api_version == "v7"
    assert resolve().request_timeout == 12.0
    monkeypatch.setenv("ZBULK_API_DOMAIN", "https://www.zohoapis.jp/")
    monkeypatch.setenv("ZBULK_REQUEST_TIMEOUT", "5.5")
    assert resolve().api_domain == "https://www.zohoapis.jp"
    assert resolve().request_timeout == 5.5
    assert resolve(api_domain="https://www.zohoapis.ca").api_domain == "https://www.zohoapis.ca"
    assert resolve(request_timeout=2).request_timeout == 2
    monkeypatch.delenv("ZBULK_API_DOMAIN")
    monkeypatch.setenv("ZBULK_PROFILE", "other")
    assert resolve().api_domain == "https://www.zohoapis.in"
    assert resolve().api_version == "v8"
    assert resolve(profile="default").api_domain == "https://www.zohoapis.eu"


def test_config_dir_follows_env(env: dict[str, str]) -> None:
    assert config_dir() == Path(env["ZBULK_CONFIG_DIR"])
    assert config_dir({}).name == "zbulk"


def test_broken_config_is_a_usage_error(env: dict[str, str]) -> None:
    path = write_config(env, "[profiles.default\napi_domain=")
    with pytest.raises(UsageError, match="not valid TOML") as info:
        resolve()
    assert str(path) in info.value.message
    assert info.value.exit_code == ExitCode.USAGE


def test_bad_domain_in_config_is_rejected(env: dict[str, str]) -> None:
    write_config(env, '[profiles.default]\napi_domain = "http://evil.example"\n')
    with pytest.raises(UsageError, match="loopback"):
        resolve()


@pytest.mark.parametrize(
    "url",
    [
        "https://www.zohoapis.com",
        "https://www.zohoapis.com/",
        "http://localhost:8790",
        "http://127.0.0.1:1",
        "http://127.1.2.3",
        "http://[::1]:8080",
        "HTTPS://WWW.ZOHOAPIS.EU",
    ],
)
def test_good_domains(url: str) -> None:
    assert check_api_domain(url) == url.rstrip("/")


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://www.zohoapis.com", "scheme"),
        ("http://www.zohoapis.com", "loopback"),
        ("http://10.0.0.1", "loopback"),
        ("http://localhost.evil.com", "loopback"),
        ("www.zohoapis.com", "scheme"),
        ("https://", "host"),
        ("https://user:pw@www.zohoapis.com", "credentials"),
        ("https://www.zohoapis.com/crm", "path"),
        ("https://www.zohoapis.com?x=1", "path"),
        ("https://www.zohoapis.com:99999", "port"),
        ("", "scheme"),
    ],
)
def test_bad_domains(url: str, why: str) -> None:
    with pytest.raises(UsageError, match=why):
        check_api_domain(url)


@pytest.mark.parametrize("name", ["default", "eu-org", "acme.prod", "a_1"])
def test_good_profile_names(name: str) -> None:
    assert check_profile_name(name) == name


@pytest.mark.parametrize("name", ["", "../x", "a/b", ".hidden", "x" * 65, "a b", "é"])
def test_bad_profile_names(name: str) -> None:
    with pytest.raises(UsageError):
        check_profile_name(name)


@pytest.mark.parametrize("version", ["v2", "v2.1", "v8"])
def test_good_versions(version: str) -> None:
    assert check_api_version(version) == version


@pytest.mark.parametrize("version", ["8", "v", "v8/../x", "latest", "v9", "v10", "v2.2"])
def test_bad_versions(version: str) -> None:
    with pytest.raises(UsageError):
        check_api_version(version)


@pytest.mark.parametrize("value", ["0", "-1", "abc", "1e9", "nan"])
def test_bad_timeouts(env: dict[str, str], monkeypatch, value: str) -> None:
    monkeypatch.setenv("ZBULK_REQUEST_TIMEOUT", value)
    with pytest.raises(UsageError, match="ZBULK_REQUEST_TIMEOUT"):
        resolve()
