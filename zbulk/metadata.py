"""The org's modules and fields, for checking an import before anything is sent.

Read through ``ZohoClient`` from the three settings endpoints (``GET /crm/{v}/settings/modules``,
``/settings/fields?module=M``, ``/settings/layouts?module=M``) and cached in the state
directory per org (its id when known, else the profile), API domain and module, for a day
(``TTL``); ``refresh`` reads them again. Only what the checks use is kept (``FieldInfo``),
each value checked for its type and bounded.

- A token without a settings scope (``OAUTH_SCOPE_MISMATCH``) or an endpoint that answers
  404: ``Unavailable`` naming the scope to add (no token refresh); the caller warns once and
  checks the file alone.
- A 5xx or network failure: the cached copy (however old) with a warning, else a
  NetworkError naming ``--no-metadata`` (exit 5).
- An unknown module: a UsageError with "did you mean" (exit 2).

Prints nothing.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zbulk.errors import ApiError, NetworkError, UsageError

if TYPE_CHECKING:
    from zbulk.client import ZohoClient

TTL = 24 * 3600.0
VERSION = 1
MAX_FIELDS = 2000
MAX_TEXT = 300
MAX_PICKLIST = 5000
SCOPES = {
    "modules": "ZohoCRM.settings.modules.READ",
    "fields": "ZohoCRM.settings.fields.READ",
    "layouts": "ZohoCRM.settings.layouts.READ",
}


class NotKept(Exception):
    """No client to ask (``--dry-run`` sends nothing) and no copy kept."""


class Unavailable(Exception):
    """The metadata cannot be read with this token: ``scope`` is the one to add."""

    def __init__(self, endpoint: str, why: str) -> None:
        super().__init__(why)
        self.endpoint, self.why = endpoint, why
        self.scope = SCOPES[endpoint]

    def warning(self) -> str:
        others = [s for s in SCOPES.values() if s != self.scope]
        return (
            f"the org's {self.endpoint} could not be read ({self.why}): only the file itself "
            f"is checked. To check the values against the org's fields, give the token the "
            f"scope {self.scope} (the check also reads {others[0]} and {others[1]}; "
            "ZohoCRM.settings.ALL covers all three) and log in again; --no-metadata skips "
            "the check without this warning"
        )


@dataclass(frozen=True)
class FieldInfo:
    api_name: str
    label: str
    data_type: str
    length: int | None = None
    decimal_place: int | None = None
    system_mandatory: bool = False
    read_only: bool = False
    unique: bool = False
    casesensitive: bool = False
    picklist: tuple[str, ...] = ()
    lookup: str | None = None

    @classmethod
    def read(cls, doc: Mapping[str, Any]) -> FieldInfo | None:
        api_name = _text(doc.get("api_name"))
        if not api_name:
            return None
        unique = doc.get("unique")
        is_unique = (isinstance(unique, dict) and bool(unique)) or unique is True
        case = unique.get("casesensitive") if isinstance(unique, dict) else None
        picks = doc.get("pick_list_values")
        values: list[str] = []
        if isinstance(picks, list):
            for p in picks[:MAX_PICKLIST]:
                if isinstance(p, dict):
                    value = _text(p.get("actual_value")) or _text(p.get("display_value"))
                    if value:
                        values.append(value)
        lookup = doc.get("lookup")
        target = lookup.get("module") if isinstance(lookup, dict) else None
        target_name = _text(target.get("api_name")) if isinstance(target, dict) else None
        return cls(
            api_name,
            _text(doc.get("display_label")) or _text(doc.get("field_label")) or api_name,
            (_text(doc.get("data_type")) or "text").lower(),
            _int(doc.get("length")),
            _int(doc.get("decimal_place")),
            doc.get("system_mandatory") is True,
            doc.get("read_only") is True or doc.get("field_read_only") is True,
            is_unique,
            str(case).lower() == "true",
            tuple(values),
            target_name,
        )

    @classmethod
    def kept(cls, doc: Any) -> FieldInfo | None:
        """A field as the cache keeps it (``as_json``); None for anything else."""
        if not isinstance(doc, dict):
            return None
        values: dict[str, Any] = {k: tuple(v) if k == "picklist" else v for k, v in doc.items()}
        try:
            info = cls(**values)
        except TypeError:
            return None
        ok = isinstance(info.api_name, str) and isinstance(info.data_type, str)
        return info if ok and all(isinstance(v, str) for v in info.picklist) else None

    def as_json(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.__dict__.items()}


@dataclass
class Metadata:
    """One module of the org: its fields, and what an insert must fill (system-mandatory
    fields and those the default layout requires)."""

    module: str
    fields: dict[str, FieldInfo]
    layout_required: list[str] = field(default_factory=list)
    fetched: float = 0.0
    from_cache: bool = False

    def mandatory(self) -> list[str]:
        names = [f.api_name for f in self.fields.values() if f.system_mandatory]
        names += [n for n in self.layout_required if n not in names and n in self.fields]
        return names


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value and len(value) <= MAX_TEXT:
        return value
    return None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and 0 <= value <= 10**9:
        return value
    return None


# -- the module's name -------------------------------------------------------------------


def resolve_module(given: str, modules: list[dict[str, Any]]) -> str:
    """``given`` if it is a module's API name; else a UsageError saying which one was
    meant (case-insensitively, singular or plural, or the closest)."""
    names = {m["api_name"]: m for m in modules}
    if given in names:
        module = names[given]
        if module.get("creatable") is False or module.get("api_supported") is False:
            raise UsageError(
                f"--module {given}: the org does not let the API create {given} records",
                hint="choose a module that takes imports (Leads, Contacts, Accounts, Deals…)",
            )
        return given
    key = given.lower()
    for m in modules:
        spellings = {
            str(m.get(k) or "").lower()
            for k in ("api_name", "singular_label", "plural_label", "module_name")
        }
        if key in spellings or key + "s" in spellings or key.removesuffix("s") in spellings:
            raise unknown_module(given, m["api_name"])
    close = difflib.get_close_matches(given, list(names), n=1, cutoff=0.6)
    raise unknown_module(given, close[0] if close else None, list(names))


def unknown_module(given: str, meant: str | None, known: list[str] | None = None) -> UsageError:
    if meant:
        return UsageError(
            f"--module {given}: the org has no module {given}; did you mean {meant}?",
            hint=f"run the command again with --module {meant} (module API names are exact)",
        )
    listed = ", ".join(sorted(known or [])[:30])
    return UsageError(
        f"--module {given}: the org has no such module",
        hint=f"its modules: {listed}" if listed else None,
    )


# -- the cache ------------------------------------------------------------------------------


def cache_path(org: str, api_domain: str, name: str, env: Mapping[str, str] | None = None) -> Path:
    from zbulk.files import state_dir

    key = f"{org} {api_domain.rstrip('/').lower()} {name}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return state_dir(env) / "metadata" / f"{digest}.json"


def _read_cache(path: Path, key: str) -> tuple[float, Any] | None:
    try:
        with path.open("rb") as fh:
            raw = fh.read(32 << 20)
        doc = json.loads(raw)
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("version") != VERSION or doc.get("key") != key:
        return None
    fetched = doc.get("fetched")
    if isinstance(fetched, bool) or not isinstance(fetched, int | float):
        return None
    return float(fetched), doc.get("data")


def _write_cache(path: Path, key: str, data: Any) -> None:
    """Keep ``data``: atomically, readable only by the user. A cache: failing to write it
    never fails the command."""
    from zbulk.errors import ZbulkError
    from zbulk.files import write_private

    text = json.dumps({"version": VERSION, "key": key, "fetched": time.time(), "data": data})
    with contextlib.suppress(ZbulkError):
        write_private(path, text)  # a cache: not fsync'd (see zbulk.files)


@dataclass
class Loader:
    """Reads (or finds cached) the metadata of one org and API domain."""

    client: ZohoClient | None  # None: read only what is kept (--dry-run)
    org: str
    api_domain: str
    refresh: bool = False
    warn: Callable[[str], None] = lambda message: None
    env: Mapping[str, str] | None = None
    now: Callable[[], float] = time.time
    modules_from_cache: bool = False

    def _cached(self, endpoint: str, name: str, fetch: Callable[[], Any]) -> tuple[Any, bool]:
        """(data, from the cache): fresh within TTL unless ``refresh``; a failing server
        falls back to any cached copy."""
        key = f"{self.org} {self.api_domain} {name}"
        path = cache_path(self.org, self.api_domain, name, self.env)
        cached = _read_cache(path, key)
        if cached is not None and not self.refresh and 0 <= self.now() - cached[0] < TTL:
            return cached[1], True
        if self.client is None:  # --dry-run: sends nothing, so only a kept copy will do
            if cached is not None:
                return cached[1], True
            raise NotKept()
        try:
            data = fetch()
        except ApiError as exc:
            if exc.code == "OAUTH_SCOPE_MISMATCH" or exc.status in (401, 403, 404):
                raise Unavailable(endpoint, exc.code or f"HTTP {exc.status}") from None
            raise
        except NetworkError as exc:
            if cached is not None:
                hours = max(0.0, self.now() - cached[0]) / 3600
                self.warn(
                    f"the org's {endpoint} could not be read ({exc.message}); using the copy "
                    f"kept {hours:.1f} hours ago"
                )
                return cached[1], True
            raise NetworkError(
                f"the org's {endpoint} could not be read: {exc.message}",
                hint="try again later, or pass --no-metadata to import with the file's own "
                "checks only",
            ) from None
        _write_cache(path, key, data)
        return data, False

    def modules(self) -> list[dict[str, Any]]:
        def fetch() -> list[dict[str, Any]]:
            assert self.client is not None
            doc = self.client.get_settings("modules").doc
            found = doc.get("modules")
            out = []
            for m in found if isinstance(found, list) else []:
                if isinstance(m, dict) and _text(m.get("api_name")):
                    out.append(
                        {
                            k: m.get(k) if k in ("creatable", "api_supported") else _text(m.get(k))
                            for k in (
                                "api_name",
                                "singular_label",
                                "plural_label",
                                "module_name",
                                "creatable",
                                "api_supported",
                            )
                        }
                    )
            return out

        data, self.modules_from_cache = self._cached("modules", "modules", fetch)
        return [m for m in data if isinstance(m, dict) and isinstance(m.get("api_name"), str)]

    def module(self, module: str) -> Metadata:
        def fetch() -> dict[str, Any]:
            assert self.client is not None
            try:
                fields_doc = self.client.get_settings("fields", module).doc
            except ApiError as exc:
                if exc.code == "INVALID_MODULE":
                    raise unknown_module(module, None) from None
                raise
            fields = []
            raw_fields = fields_doc.get("fields")
            for doc in (raw_fields if isinstance(raw_fields, list) else [])[:MAX_FIELDS]:
                info = FieldInfo.read(doc) if isinstance(doc, dict) else None
                if info is not None:
                    fields.append(info.as_json())
            try:
                layouts_doc = self.client.get_settings("layouts", module).doc
            except ApiError as exc:
                if exc.code == "OAUTH_SCOPE_MISMATCH" or exc.status in (401, 403, 404):
                    raise Unavailable("layouts", exc.code or f"HTTP {exc.status}") from None
                raise
            return {"fields": fields, "layout_required": default_layout_required(layouts_doc)}

        data, from_cache = self._cached("fields", f"module {module}", fetch)
        fields = {}
        for doc in data.get("fields") or [] if isinstance(data, dict) else []:
            info = FieldInfo.kept(doc)
            if info is not None:
                fields[info.api_name] = info
        kept = data.get("layout_required") if isinstance(data, dict) else None
        required = [n for n in kept or [] if isinstance(n, str)]
        return Metadata(module, fields, required, 0.0, from_cache)


def default_layout_required(doc: Mapping[str, Any]) -> list[str]:
    """The fields the module's default layout requires: the layout Zoho generated as the
    default (``generated_type`` "default"), else the one a profile has as its default,
    else the only one. Never the union of all layouts."""
    layouts = [lay for lay in doc.get("layouts") or [] if isinstance(lay, dict)]
    chosen = next((lay for lay in layouts if lay.get("generated_type") == "default"), None)
    if chosen is None:
        for lay in layouts:
            profiles = lay.get("profiles") or []
            if any(isinstance(p, dict) and p.get("default") is True for p in profiles):
                chosen = lay
                break
    if chosen is None and len(layouts) == 1:
        chosen = layouts[0]
    names: list[str] = []
    for section in (chosen or {}).get("sections") or []:
        for f in section.get("fields") or [] if isinstance(section, dict) else []:
            if isinstance(f, dict) and f.get("required") is True and _text(f.get("api_name")):
                names.append(f["api_name"])
    return names


def load(
    client: ZohoClient | None,
    org: str,
    api_domain: str,
    module: str,
    *,
    refresh: bool = False,
    warn: Callable[[str], None],
) -> Metadata | None:
    """The module's metadata, checking ``module`` against the org's modules first; None
    (after one warning) when the token cannot read it."""
    loader = Loader(client, org, api_domain, refresh, warn)
    try:
        try:
            resolve_module(module, loader.modules())
        except UsageError:
            if not (loader.modules_from_cache and client is not None):
                raise
            loader.refresh = True  # a refusal on the kept list: read it again, once
            resolve_module(module, loader.modules())
        return loader.module(module)
    except Unavailable as exc:
        warn(exc.warning())
        return None
    except NotKept:
        warn(
            "--dry-run sends nothing and no copy of the org's fields is kept yet: only the "
            "file itself is checked (an import without --dry-run reads them, and keeps them "
            "a day for later dry runs)"
        )
        return None
