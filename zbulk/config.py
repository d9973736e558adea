"""Settings: flag, then environment, then profile config, then default.

The profile config is ``config.toml`` in the config directory (``ZBULK_CONFIG_DIR``,
else the platform's user config dir), one table per profile::

    [profiles.default]
    api_domain = "https://www.zohoapis.eu"

Nothing secret is ever stored here.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from zbulk.errors import UsageError

DEFAULT_PROFILE = "default"
DEFAULT_API_DOMAIN = "https://www.zohoapis.com"
DEFAULT_API_VERSION = "v8"
DEFAULT_REQUEST_TIMEOUT = 30.0
MAX_REQUEST_TIMEOUT = 3600.0

_PROFILE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
_VERSION = r"v\d{1,2}(\.\d{1,2})?"


class Settings(NamedTuple):
    profile: str = DEFAULT_PROFILE
    api_domain: str = DEFAULT_API_DOMAIN
    api_version: str = DEFAULT_API_VERSION
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT
    verbose: bool = False


def config_dir(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    override = env.get("ZBULK_CONFIG_DIR")
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir("zbulk", appauthor=False))


def config_path(env: Mapping[str, str] | None = None) -> Path:
    return config_dir(env) / "config.toml"


def read_config(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The whole config file as a dict; empty when there is none."""
    path = config_path(env)
    try:
        with path.open("rb") as fh:
            import tomllib  # only when there is a file to read

            return tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except ValueError as exc:  # tomllib.TOMLDecodeError, or not UTF-8
        raise UsageError(
            f"the config file {path} is not valid TOML: {exc}",
            hint=f"fix or remove {path}",
        ) from None
    except OSError as exc:
        raise UsageError(f"cannot read the config file {path}: {exc.strerror}") from None


def _table(data: dict[str, Any], *keys: str) -> dict[str, Any]:
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None  # type: ignore[assignment]
    return data if isinstance(data, dict) else {}


def load_profile(name: str, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The profile's table from config.toml; empty when the file or table is absent."""
    return _table(read_config(env), "profiles", name)


def profiles(env: Mapping[str, str] | None = None) -> dict[str, dict[str, Any]]:
    tables = _table(read_config(env), "profiles")
    return {name: table for name, table in tables.items() if isinstance(table, dict)}


def update_profile(
    name: str,
    values: Mapping[str, Any],
    remove: tuple[str, ...] = (),
    env: Mapping[str, str] | None = None,
) -> Path:
    """Set (and remove) keys of one profile, keeping the rest of the file. Nothing secret
    may be passed here: this file is plain text."""
    data = read_config(env)
    tables = data.setdefault("profiles", {})
    table = tables.setdefault(check_profile_name(name), {})
    table.update(values)
    for key in remove:
        table.pop(key, None)
    if not table:
        del tables[name]
    return _write(data, config_path(env))


def _write(data: dict[str, Any], path: Path) -> Path:
    """Write ``data`` as TOML atomically (tables of scalars, as this file holds)."""
    import json
    import tempfile

    lines: list[str] = []

    def scalar(value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return repr(value)
        return json.dumps(str(value))  # a TOML basic string: same escapes as JSON

    def key(name: str) -> str:
        bare = name and all(c.isascii() and (c.isalnum() or c in "_-") for c in name)
        return name if bare else json.dumps(name)

    def emit(prefix: str, table: dict[str, Any]) -> None:
        plain = {k: v for k, v in table.items() if not isinstance(v, dict)}
        if prefix and (plain or not table):
            lines.append(f"\n[{prefix}]")
        lines.extend(f"{key(k)} = {scalar(v)}" for k, v in plain.items())
        for name, value in table.items():
            if isinstance(value, dict):
                emit(f"{prefix}.{key(name)}" if prefix else key(name), value)

    emit("", data)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".config-", suffix=".toml")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines).lstrip("\n") + "\n")
    os.replace(tmp, path)
    return path


def data_centre_overrides(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Extra or replaced data centres from ``[data_centres.NAME]`` tables
    (``accounts`` and ``api_domain``), e.g. a private deployment or the sandbox."""
    from zbulk.oauth import DataCentre

    found: dict[str, Any] = {}
    for name, table in _table(read_config(env), "data_centres").items():
        if isinstance(table, dict) and table.get("accounts") and table.get("api_domain"):
            found[name.lower()] = DataCentre(
                name.lower(),
                check_api_domain(str(table["accounts"])),
                check_api_domain(str(table["api_domain"])),
            )
    return found


def check_profile_name(name: str) -> str:
    if not (0 < len(name) <= 64 and name[0].isalnum() and _PROFILE_CHARS.issuperset(name)):
        raise UsageError(
            f"invalid profile name {name!r}: use letters, digits, '.', '_' or '-' "
            "(at most 64, starting with a letter or digit)"
        )
    return name


def check_api_version(version: str) -> str:
    if not re.fullmatch(_VERSION, version):
        raise UsageError(
            f"invalid API version {version!r}: expected a form like v8 or v2.1",
        )
    return version


def is_loopback_host(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    import ipaddress  # only for http:// domains

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_api_domain(url: str) -> str:
    """Validate an API domain and return it without a trailing slash.

    ``https://`` anywhere; ``http://`` only for loopback hosts. No credentials,
    path, query or fragment.
    """
    problem = _api_domain_problem(url)
    if problem:
        raise UsageError(
            f"invalid API domain {url!r}: {problem}",
            hint="use https://www.zohoapis.<dc> (or http://127.0.0.1:PORT for a local sandbox)",
        )
    return url.rstrip("/")


def _api_domain_problem(url: str) -> str | None:
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError as exc:
        return f"not a valid URL ({str(exc).lower()})"
    if parts.scheme not in ("https", "http"):
        return "the scheme must be https://"
    if not host:
        return "no host name"
    if parts.username is not None or parts.password is not None:
        return "credentials in the URL are not allowed"
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return "give the domain only, without a path, query or fragment"
    if parts.scheme == "http" and not is_loopback_host(host):
        return "plain http:// is allowed only for loopback hosts (localhost, 127.0.0.0/8, [::1])"
    return None


def _parse_timeout(raw: object, origin: str) -> float:
    try:
        value = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise UsageError(f"invalid request timeout {raw!r} ({origin}): not a number") from None
    if not (0 < value <= MAX_REQUEST_TIMEOUT):
        raise UsageError(
            f"invalid request timeout {raw!r} ({origin}): must be above 0 and "
            f"at most {MAX_REQUEST_TIMEOUT:g} seconds"
        )
    return value


def resolve(
    *,
    profile: str | None = None,
    api_domain: str | None = None,
    api_version: str | None = None,
    request_timeout: float | None = None,
    verbose: bool = False,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Resolve every setting: flag, then environment, then profile config, then default."""
    env = os.environ if env is None else env
    name = check_profile_name(profile or env.get("ZBULK_PROFILE") or DEFAULT_PROFILE)

    def pick(flag: Any, var: str, key: str) -> tuple[Any, str] | None:
        if flag is not None:
            return flag, "flag"
        if env.get(var):
            return env[var], f"environment {var}"
        if key in stored and stored[key] not in (None, ""):
            return stored[key], f"profile {name!r} in {config_path(env)}"
        return None

    stored: dict[str, Any] = {}
    flags = (api_domain, api_version, request_timeout)
    if any(f is None for f in flags):
        stored = load_profile(name, env)

    domain = pick(api_domain, "ZBULK_API_DOMAIN", "api_domain")
    version = pick(api_version, "ZBULK_API_VERSION", "api_version")
    timeout = pick(request_timeout, "ZBULK_REQUEST_TIMEOUT", "request_timeout")
    return Settings(
        profile=name,
        api_domain=check_api_domain(str(domain[0])) if domain else DEFAULT_API_DOMAIN,
        api_version=check_api_version(str(version[0])) if version else DEFAULT_API_VERSION,
        request_timeout=_parse_timeout(*timeout) if timeout else DEFAULT_REQUEST_TIMEOUT,
        verbose=verbose,
    )
