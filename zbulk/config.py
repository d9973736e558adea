"""Settings: flag, then environment, then profile config, then login, then default.

``config.toml`` in the config directory (``ZBULK_CONFIG_DIR``, else the platform's user config
dir) is the user's file: zbulk reads it with tomllib and never re-serialises it. Its layout::

    [profiles.default]              # one table per profile
    api_domain = "https://www.zohoapis.eu"
    api_version = "v8"
    request_timeout = 30
    insecure_storage_warning = true # false: no daily reminder for --insecure-storage logins

    [data_centres.lab]              # extra data centres for `auth login --dc lab`
    accounts = "https://accounts.lab.example"
    api_domain = "https://api.lab.example"
    upload = "https://upload.lab.example"  # where job import uploads for that API domain

``zbulk config set/unset`` edits it in place with tomlkit (comments, order and value types
kept). Login state (how each profile logged in, where its secrets are, the API domain Zoho
returned) lives beside it in ``logins.json``, a file zbulk owns. Nothing secret is in either.
Writes are made under one lock and atomically, through ``zbulk.files`` (the file door).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from zbulk.errors import UsageError, ZbulkError
from zbulk.files import config_dir as config_dir  # the config directory's home is there

DEFAULT_PROFILE = "default"
DEFAULT_API_DOMAIN = "https://www.zohoapis.com"
DEFAULT_API_VERSION = "v8"
DEFAULT_REQUEST_TIMEOUT = 30.0
MAX_REQUEST_TIMEOUT = 3600.0
LOCK_TIMEOUT = 30.0
LOGINS_FILE = "logins.json"

_PROFILE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
#: the bulk write API versions Zoho documents: what --api-version, ZBULK_API_VERSION and
#: the api_version setting accept (anything else is a wrong path at Zoho)
API_VERSIONS = ("v2", "v2.1", "v3", "v4", "v5", "v6", "v7", "v8")

#: the settings a profile table may hold, with their TOML types
PROFILE_SETTINGS: dict[str, type | tuple[type, ...]] = {
    "api_domain": str,
    "api_version": str,
    "request_timeout": (int, float),
    "insecure_storage_warning": bool,
    "org_id": str,  # the zgid job import uploads with (X-CRM-ORG); see zbulk.orgid
}
#: the keys of a [data_centres.NAME] table
DATA_CENTRE_SETTINGS = ("accounts", "api_domain", "upload")
#: keys an older zbulk wrote into profile tables for a login (read once, then moved)
LEGACY_LOGIN_KEYS = ("credential", "login", "storage", "client_id", "accounts_url", "dc")


class Settings(NamedTuple):
    profile: str = DEFAULT_PROFILE
    api_domain: str = DEFAULT_API_DOMAIN
    api_version: str = DEFAULT_API_VERSION
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT
    verbose: bool = False
    #: where each setting came from: (setting, source), source one of ``flag --api-domain``,
    #: ``environment ZBULK_API_DOMAIN``, ``profile NAME``, ``login of profile NAME``,
    #: ``default`` (absent: default)
    sources: tuple[tuple[str, str], ...] = ()

    def source(self, setting: str) -> str:
        return dict(self.sources).get(setting, "default")


def config_path(env: Mapping[str, str] | None = None) -> Path:
    return config_dir(env) / "config.toml"


def logins_path(env: Mapping[str, str] | None = None) -> Path:
    return config_dir(env) / LOGINS_FILE


def read_text(path: Path) -> str | None:
    """A file's text; None when there is none; a clear error when it cannot be read, or
    when its directory could have been written by someone else (it steers where the
    token goes: see ``zbulk.files.check_private``)."""
    try:
        data = path.read_bytes()
        from zbulk.files import check_private

        check_private(path.parent, reading=True)
        return data.decode("utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return None
    except UnicodeDecodeError:
        raise UsageError(
            f"the file {path} is not UTF-8 text", hint=f"fix or remove {path}"
        ) from None
    except OSError as exc:
        raise ZbulkError(f"cannot read {path}: {exc.strerror or exc}") from None


def read_config(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The whole config file as a dict, its layout checked; empty when there is none."""
    path = config_path(env)
    text = read_text(path)
    if text is None:
        return {}
    import tomllib  # only when there is a file to read

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(
            f"the config file {path} is not valid TOML: {exc}",
            hint=f"fix or remove {path}",
        ) from None
    problem = layout_problem(data)
    if problem:
        raise UsageError(
            f"the config file {path} is not as zbulk expects: {problem}",
            hint=f"fix it (see `zbulk config --help`), or remove {path}",
        )
    return data


def layout_problem(data: Mapping[str, Any]) -> str | None:
    """What is wrong with the types of the tables and settings zbulk reads, if anything.
    Unknown keys are left alone: the file is the user's."""
    for table_name, allowed in (("profiles", PROFILE_SETTINGS), ("data_centres", None)):
        tables = data.get(table_name, {})
        if not isinstance(tables, dict):
            return f"{table_name} must be a table ([{table_name}.NAME]), not {_kind(tables)}"
        for name, table in tables.items():
            if not isinstance(table, dict):
                return f"{table_name}.{name} must be a table, not {_kind(table)}"
            for key, value in table.items():
                want: Any = (
                    allowed.get(key) if allowed else (str if key in DATA_CENTRE_SETTINGS else None)
                )
                if want is None:
                    continue
                if (isinstance(value, bool) and want is not bool) or not isinstance(value, want):
                    return (
                        f"{table_name}.{name}.{key} must be {_kind_name(want)}, not {_kind(value)}"
                    )
    return None


def _kind(value: object) -> str:
    return {
        dict: "a table",
        list: "an array",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
    }.get(type(value), type(value).__name__)


def _kind_name(want: Any) -> str:
    return {str: "a string", bool: "true or false"}.get(want, "a number")


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


def data_centre_tables(env: Mapping[str, str] | None = None) -> dict[str, dict[str, Any]]:
    tables = _table(read_config(env), "data_centres")
    return {name: table for name, table in tables.items() if isinstance(table, dict)}


def read_logins(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The machine-owned login records, raw (``zbulk.auth.state`` checks them); empty when
    there are none. A damaged file reads as empty here: ``auth status`` reports it."""
    import json

    try:
        text = read_text(logins_path(env))
        data = json.loads(text) if text else {}
    except (ValueError, ZbulkError):
        return {}
    found = data.get("profiles") if isinstance(data, dict) else None
    return found if isinstance(found, dict) else {}


# --- writing: one lock, atomic replacement (zbulk.files) --------------------------------


@contextmanager
def locked(env: Mapping[str, str] | None = None, timeout: float = LOCK_TIMEOUT) -> Iterator[Path]:
    """Hold the config dir's lock (across processes) while reading, changing and writing
    ``config.toml`` or ``logins.json``; yield the dir (created private, or refused)."""
    from zbulk import files

    directory = files.private_dir(config_dir(env))
    held = ExitStack()
    try:
        # Re-entered in this thread (a login saving its record while moving keys out of
        # config.toml), the lock counts up instead of waiting on itself.
        held.enter_context(files.lock(directory / ".zbulk.lock", timeout))
    except files.LockTimeout:
        raise ZbulkError(f"another zbulk held the lock on {directory} for {timeout:g}s") from None
    with held:
        yield directory


def write_atomic(path: Path, text: str) -> None:
    """Replace zbulk's config file ``path`` with ``text`` at once (0600, fsync'd), in a
    private directory: readers see the old file or the new one."""
    from zbulk import files

    files.write_private(path, text, durable=True)


# --- zbulk config: keys, and style-preserving edits -------------------------------------


class Key(NamedTuple):
    """A key of ``zbulk config``: ``[PROFILE.]SETTING`` names ``[profiles.PROFILE] SETTING``
    (the profile in use when PROFILE is left out); ``data_centres.NAME.accounts|api_domain|upload``
    names a data centre's setting."""

    table: str  # "profiles" or "data_centres"
    name: str
    setting: str

    def __str__(self) -> str:
        if self.table == "data_centres":
            return f"data_centres.{self.name}.{self.setting}"
        return f"{self.name}.{self.setting}"


def parse_key(text: str, profile: str) -> Key:
    """The key named by ``text`` (see ``Key``), or a usage error listing the valid ones."""
    head, dot, setting = text.rpartition(".")
    if text.startswith("data_centres.") and setting in DATA_CENTRE_SETTINGS:
        name = head[len("data_centres.") :]
        if name and "." not in name:
            return Key("data_centres", check_profile_name(name), setting)
    if setting in PROFILE_SETTINGS:
        return Key("profiles", check_profile_name(head if dot else profile), setting)
    raise UsageError(
        f"unknown setting {text!r}",
        hint=f"use [PROFILE.]SETTING with SETTING one of {', '.join(PROFILE_SETTINGS)}, or "
        "data_centres.NAME.accounts / data_centres.NAME.api_domain / data_centres.NAME.upload",
    )


def parse_value(key: Key, raw: str) -> str | float | int | bool:
    """The TOML value ``zbulk config set`` writes for ``raw``, checked like at use."""
    if key.setting in ("api_domain", "accounts", "upload"):
        return check_api_domain(raw)
    if key.setting == "api_version":
        problem = api_version_problem(raw)
        if problem:
            raise UsageError(f"invalid value for {key}: {problem}")
        return raw
    if key.setting == "request_timeout":
        value = _parse_timeout(raw, f"zbulk config set {key}")
        return int(value) if value.is_integer() else value
    if key.setting == "org_id":
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 30):
            raise UsageError(
                f"invalid value {raw!r} for {key}: an org id is all digits "
                "(the zgid of GET /crm/v8/org)"
            )
        return raw
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    raise UsageError(f"invalid value {raw!r} for {key}: use one of true, false")


def get_value(key: Key, env: Mapping[str, str] | None = None) -> Any:
    """The value in config.toml, or None when it is not set there."""
    return _table(read_config(env), key.table, key.name).get(key.setting)


def list_values(env: Mapping[str, str] | None = None) -> list[tuple[str, Any]]:
    """Every setting zbulk reads from config.toml, as (key, value), in file order."""
    data = read_config(env)
    found: list[tuple[str, Any]] = []
    for name, table in _table(data, "profiles").items():
        found += [
            (str(Key("profiles", name, k)), v) for k, v in table.items() if k in PROFILE_SETTINGS
        ]
    for name, table in _table(data, "data_centres").items():
        found += [
            (str(Key("data_centres", name, k)), v)
            for k, v in table.items()
            if k in DATA_CENTRE_SETTINGS
        ]
    return found


def edit(
    env: Mapping[str, str] | None = None,
    *,
    set_values: Mapping[Key, Any] | None = None,
    unset: tuple[Key, ...] = (),
    drop: Mapping[str, tuple[str, ...]] | None = None,
) -> bool:
    """Change config.toml in place, keeping everything else byte for byte: set keys,
    unset keys, and drop keys of profile tables (``drop``: profile → keys). Tables left
    empty by an unset are removed when zbulk alone would have made them. True if changed."""
    path = config_path(env)
    with locked(env):
        text = read_text(path) or ""
        read_config(env)  # the file zbulk will edit is valid, its layout as expected
        import tomlkit

        doc = tomlkit.parse(text)
        for key, value in (set_values or {}).items():
            outer = doc.get(key.table)
            if outer is None:
                outer = tomlkit.table(is_super_table=True)
                doc[key.table] = outer
            table = outer.get(key.name)
            if table is None:  # a new table: the value, then a blank line before what follows
                table = tomlkit.table()
                table[key.setting] = value
                if doc.as_string().strip():
                    table.add(tomlkit.nl())
                outer[key.name] = table
            else:
                table[key.setting] = value
        removals: list[tuple[str, str, tuple[str, ...]]]
        removals = [(k.table, k.name, (k.setting,)) for k in unset]
        removals += [("profiles", name, keys) for name, keys in (drop or {}).items()]
        for outer_name, name, keys in removals:
            table = doc.get(outer_name, {}).get(name)
            if table is None:
                continue
            for setting in keys:
                if setting in table:
                    del table[setting]
        new = tomlkit.dumps(doc)
        if new.endswith("\n\n") and not text.endswith("\n\n"):
            new = new.rstrip("\n") + "\n"  # no blank line left at the end by a new table
        if new == text:
            return False
        import tomllib

        tomllib.loads(new)  # never write a file tomllib cannot read back
        write_atomic(path, new)
        return True


def check_profile_name(name: str) -> str:
    if not (0 < len(name) <= 64 and name[0].isalnum() and _PROFILE_CHARS.issuperset(name)):
        raise UsageError(
            f"invalid profile name {name!r}: use letters, digits, '.', '_' or '-' "
            "(at most 64, starting with a letter or digit)"
        )
    return name


def api_version_problem(version: str) -> str | None:
    """Why ``version`` is not one zbulk sends (the one check of every way to set it)."""
    if version in API_VERSIONS:
        return None
    return f"{version!r} is not a bulk write API version Zoho documents: use one of " + ", ".join(
        API_VERSIONS
    )


def check_api_version(version: str, origin: str | None = None, hint: str | None = None) -> str:
    problem = api_version_problem(version)
    if problem:
        where = f" ({origin})" if origin else ""
        raise UsageError(f"invalid API version{where}: {problem}", hint=hint)
    return version


def configured_upload(api_domain: str, env: Mapping[str, str] | None = None) -> str | None:
    """The ``upload`` of the ``[data_centres.NAME]`` table whose ``api_domain`` is this one
    (checked like an API domain: https, or http on loopback); None when there is none."""
    for name, table in data_centre_tables(env).items():
        domain, upload = table.get("api_domain"), table.get("upload")
        if not (isinstance(domain, str) and isinstance(upload, str) and upload):
            continue
        if _url_origin(domain) == _url_origin(api_domain):
            try:
                return check_api_domain(upload)
            except UsageError as exc:
                raise UsageError(
                    f"data_centres.{name}.upload in config.toml: {exc.message}",
                    hint=f"zbulk config set data_centres.{name}.upload https://<upload host>",
                ) from None
    return None


def _url_origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port or {"http": 80, "https": 443}.get(scheme)


def is_loopback_host(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    import ipaddress  # only for http:// domains

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_api_domain(url: str, origin: str | None = None) -> str:
    """Validate an API domain and return it without a trailing slash.

    ``https://`` anywhere; ``http://`` only for loopback hosts. No credentials,
    path, query or fragment; no white space or control character anywhere (never
    stripped: a value that needs cleaning is a mistake to show). ``origin`` names where
    the value came from (a flag, the environment, the profile, the login record).
    """
    problem = _api_domain_problem(url)
    if problem:
        where = f" ({origin})" if origin else ""
        raise UsageError(
            f"invalid API domain {url!r}{where}: {problem}",
            hint="use https://www.zohoapis.<dc> (or http://127.0.0.1:PORT for a local sandbox)",
        )
    return url.rstrip("/")


def _api_domain_problem(url: str) -> str | None:
    if any(c.isspace() or not c.isprintable() for c in url):
        return "it holds white space or a control character"
    try:
        parts = urlsplit(url)
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


_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*([hms]?)\s*")
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "": 1.0}


def parse_duration(text: str) -> float | None:
    """Seconds in a duration as every option, variable and setting takes it: ``90``,
    ``90s``, ``1.5m``, ``10m``, ``1h``, ``1h30m``, ``2m 30s``; None if it is not one (nan,
    inf, negative numbers, a unit twice or out of order, a bare number after a unit)."""
    text = text.strip().lower()
    if not text or len(text) > 64:
        return None
    seconds, at, units = 0.0, 0, ""
    while at < len(text):
        match = _DURATION_PART.match(text, at)
        if match is None:
            return None
        unit = match[2]
        # h before m before s, each once; a bare number only alone (``90``).
        bare_among_units = not unit and (units or match.end() < len(text))
        out_of_order = unit and (
            unit in units or any("hms".index(u) > "hms".index(unit) for u in units)
        )
        if bare_among_units or out_of_order:
            return None
        units += unit
        seconds += float(match[1]) * _UNIT_SECONDS[unit]
        at = match.end()
    return seconds if math.isfinite(seconds) else None


def _parse_timeout(raw: object, origin: str) -> float:
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        value = float(raw)
    else:
        parsed = parse_duration(str(raw))
        if parsed is None:
            raise UsageError(
                f"invalid request timeout {raw!r} ({origin}): not a duration (30, 30s, 2m, 1m30s)"
            )
        value = parsed
    if not (0 < value <= MAX_REQUEST_TIMEOUT):
        raise UsageError(
            f"invalid request timeout {raw!r} ({origin}): use a duration above 0 and "
            f"at most {MAX_REQUEST_TIMEOUT:g} seconds (30, 30s, 2m, 1m30s)"
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

    sources: dict[str, str] = {}
    if profile:
        sources["profile"] = "flag --profile"
    elif env.get("ZBULK_PROFILE"):
        sources["profile"] = "environment ZBULK_PROFILE"

    def pick(flag: Any, var: str, key: str) -> tuple[Any, str] | None:
        if flag is not None:
            sources[key] = f"flag --{key.replace('_', '-')}"
            return flag, sources[key]
        if env.get(var):
            sources[key] = f"environment {var}"
            return env[var], f"environment {var}"
        if key in stored and stored[key] not in (None, ""):
            sources[key] = f"profile {name}"
            return stored[key], f"profile {name!r} in {config_path(env)}"
        return None

    stored: dict[str, Any] = {}
    flags = (api_domain, api_version, request_timeout)
    if any(f is None for f in flags):
        stored = load_profile(name, env)

    domain = pick(api_domain, "ZBULK_API_DOMAIN", "api_domain")
    if domain is None:  # the API domain Zoho gave at login
        login = read_logins(env).get(name)
        found = login.get("api_domain") if isinstance(login, dict) else None
        if isinstance(found, str) and found:
            domain = (found, f"the login of profile {name!r}")
            sources["api_domain"] = f"login of profile {name}"
    version = pick(api_version, "ZBULK_API_VERSION", "api_version")
    timeout = pick(request_timeout, "ZBULK_REQUEST_TIMEOUT", "request_timeout")
    return Settings(
        profile=name,
        api_domain=_domain_from(str(domain[0]), domain[1], _fix(name, sources, "api_domain"))
        if domain
        else DEFAULT_API_DOMAIN,
        api_version=check_api_version(
            str(version[0]), version[1], _fix(name, sources, "api_version")
        )
        if version
        else DEFAULT_API_VERSION,
        request_timeout=_parse_timeout(*timeout) if timeout else DEFAULT_REQUEST_TIMEOUT,
        verbose=verbose,
        sources=tuple(sources.items()),
    )


def _domain_from(url: str, origin: str, hint: str | None) -> str:
    """``check_api_domain``, its hint a fix for where the domain came from."""
    try:
        return check_api_domain(url, origin)
    except UsageError as exc:
        raise UsageError(exc.message, hint=hint or exc.hint) from None


_GOOD = {"api_version": DEFAULT_API_VERSION, "api_domain": DEFAULT_API_DOMAIN}


def _fix(profile: str, sources: Mapping[str, str], setting: str) -> str | None:
    """A hint for a bad value of ``setting``, by where it came from: a command that sets a
    good one (config.toml, the flag), or how to drop the variable."""
    import shlex

    source, good = sources.get(setting, ""), _GOOD[setting]
    if source.startswith("profile "):
        key = shlex.quote(f"{profile}.{setting}")
        return f"set a good one with `zbulk config set {key} {good}`"
    if source.startswith("environment "):
        variable = source.removeprefix("environment ")
        return f"set {variable} to a good one (e.g. {good}), or run `unset {variable}`"
    if source.startswith("flag "):
        return f"give a good one: {source.removeprefix('flag ')} {good}"
    return None


def effective(
    settings: Settings, env: Mapping[str, str] | None = None
) -> list[tuple[str, str, str]]:
    """Every setting of the profile in use as zbulk will use it: (setting, value, source),
    like ``gh config list``. The value is '' where zbulk asks Zoho (org_id)."""
    env = os.environ if env is None else env
    stored = load_profile(settings.profile, env)
    rows = [
        ("profile", settings.profile, settings.source("profile")),
        ("api_domain", settings.api_domain, settings.source("api_domain")),
        ("api_version", settings.api_version, settings.source("api_version")),
        ("request_timeout", f"{settings.request_timeout:g}", settings.source("request_timeout")),
    ]
    if env.get("ZBULK_ORG_ID"):
        rows.append(("org_id", env["ZBULK_ORG_ID"], "environment ZBULK_ORG_ID"))
    elif stored.get("org_id"):
        rows.append(("org_id", str(stored["org_id"]), f"profile {settings.profile}"))
    else:
        asked = f"default: asked of Zoho (GET /crm/{settings.api_version}/org)"
        rows.append(("org_id", "", asked))
    warn = stored.get("insecure_storage_warning")
    source = f"profile {settings.profile}" if isinstance(warn, bool) else "default"
    rows.append(("insecure_storage_warning", "false" if warn is False else "true", source))
    return rows


#: the settings a hint may name by their flag, with the variable each is read from
HINTED_SETTINGS = {
    "profile": "ZBULK_PROFILE",
    "api_domain": "ZBULK_API_DOMAIN",
    "api_version": "ZBULK_API_VERSION",
    "request_timeout": "ZBULK_REQUEST_TIMEOUT",
}


def where(settings: Settings, setting: str) -> str:
    """A setting as a hint names it: by where its value came from. The flag when it was
    given (or when the default is in use: the flag is how to change it), the variable
    from the environment, the profile's config key (with the command that shows it), or
    the login that supplied it."""
    import shlex

    source = settings.source(setting)
    if source.startswith("environment "):
        return source.removeprefix("environment ")
    if source.startswith("profile "):
        key = f"{source.removeprefix('profile ')}.{setting}"
        return f"{key} in config.toml (`zbulk config get {shlex.quote(key)}`)"
    if source.startswith("login of profile "):
        name = source.removeprefix("login of profile ")
        return (
            f"the API domain Zoho gave at login of profile {name} "
            f"(`zbulk auth status --profile {shlex.quote(name)}`)"
        )
    return "--" + setting.replace("_", "-")


def name_sources(hint: str, settings: Settings) -> str:
    """``hint`` with each setting's flag replaced by where its value really came from:
    ``check --api-domain`` says ``check ZBULK_API_DOMAIN`` when the environment set it."""
    for setting in HINTED_SETTINGS:
        flag = "--" + setting.replace("_", "-")
        if flag in hint:
            named = where(settings, setting).replace("\\", "\\\\")
            hint = re.sub(re.escape(flag) + r"(?![\w-])", named, hint)
    return hint


def loopback_domain(settings: Settings) -> bool:
    host = urlsplit(settings.api_domain).hostname or ""
    return is_loopback_host(host)
