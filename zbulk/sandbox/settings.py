"""The sandbox's metadata endpoints, answered from ``zbulk.sandbox.modules`` (the same
definitions that decide its row verdicts):

- ``GET /crm/{v}/settings/modules`` → ``{"modules": [...]}``;
- ``GET /crm/{v}/settings/fields?module=M`` → ``{"fields": [...]}`` (every layout's fields;
  like Zoho's, without the layouts' own required flags);
- ``GET /crm/{v}/settings/layouts?module=M`` → ``{"layouts": [...]}`` with each layout's
  sections, its fields and their ``required`` flag.

A missing ``module`` parameter answers 400 ``REQUIRED_PARAM_MISSING``; an unknown module 400
``INVALID_MODULE`` (``details.api_name`` "module"), both as Zoho's OpenAPI files describe. The
server checks the token's scope first (``SCOPES``): without it, 401 ``OAUTH_SCOPE_MISMATCH``.
Keys are those the OpenAPI files document, with the types they give.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from zbulk.sandbox.jobs import _CREATED_BY, VERSION_PATTERN, Answer, compact
from zbulk.sandbox.modules import MODULES, Field, Layout, Module

if TYPE_CHECKING:
    from zbulk.sandbox.messages import Request

MODULES_ROUTE = rf"/crm/(?P<version>{VERSION_PATTERN})/settings/modules"
FIELDS_ROUTE = rf"/crm/(?P<version>{VERSION_PATTERN})/settings/fields"
LAYOUTS_ROUTE = rf"/crm/(?P<version>{VERSION_PATTERN})/settings/layouts"
# The scopes each endpoint takes (any one of them), as Zoho's pages list them.
SCOPES = {
    MODULES_ROUTE: (
        "ZohoCRM.settings.modules.READ",
        "ZohoCRM.settings.modules.ALL",
        "ZohoCRM.settings.ALL",
        "ZohoCRM.ALL",
    ),
    FIELDS_ROUTE: (
        "ZohoCRM.settings.fields.READ",
        "ZohoCRM.settings.fields.ALL",
        "ZohoCRM.settings.ALL",
        "ZohoCRM.ALL",
    ),
    LAYOUTS_ROUTE: (
        "ZohoCRM.settings.layouts.READ",
        "ZohoCRM.settings.layouts.ALL",
        "ZohoCRM.settings.ALL",
        "ZohoCRM.ALL",
    ),
}
_TIME = "2024-03-04T10:15:30+05:30"
_ERROR_TYPE = "application/json;charset=utf-8"
_UI_TYPES = {
    "text": 1,
    "textarea": 3,
    "email": 25,
    "phone": 33,
    "website": 21,
    "integer": 32,
    "bigint": 36,
    "double": 37,
    "currency": 36,
    "percent": 38,
    "decimal": 39,
    "boolean": 301,
    "date": 24,
    "datetime": 333,
    "picklist": 2,
    "multiselectpicklist": 100,
    "lookup": 133,
    "ownerlookup": 8,
}


def _error(code: str, message: str, details: dict[str, Any]) -> Answer:
    body = {"code": code, "details": details, "message": message, "status": "error"}
    return 400, compact(body), _ERROR_TYPE, {}


def _module_param(request: Request, param_key: str) -> tuple[Module | None, Answer | None]:
    values = parse_qs(request.query).get("module") or []
    name = values[-1] if values else ""
    if not name:
        return None, _error(
            "REQUIRED_PARAM_MISSING",
            "One of the expected parameter is missing",
            {param_key: "module"},  # fields.json says param_name, layouts.json param
        )
    module = MODULES.get(name)
    if module is None:
        return None, _error(
            "INVALID_MODULE", "the module name given seems to be invalid", {"api_name": "module"}
        )
    return module, None


def modules_answer(request: Request) -> Answer:
    return (
        200,
        compact({"modules": [module_doc(m) for m in MODULES.values()]}),
        "application/json",
        {},
    )


def fields_answer(request: Request) -> Answer:
    module, refused = _module_param(request, "param_name")
    if refused is not None or module is None:
        return refused or _error("INVALID_MODULE", "invalid module", {"api_name": "module"})
    docs = [field_doc(module, f, i) for i, f in enumerate(module.fields)]
    return 200, compact({"fields": docs}), "application/json", {}


def layouts_answer(request: Request) -> Answer:
    module, refused = _module_param(request, "param")
    if refused is not None or module is None:
        return refused or _error("INVALID_MODULE", "invalid module", {"api_name": "module"})
    docs = [layout_doc(module, lay) for lay in module.layouts]
    return 200, compact({"layouts": docs}), "application/json", {}


def module_doc(m: Module) -> dict[str, Any]:
    return {
        "api_name": m.api_name,
        "module_name": m.plural,
        "singular_label": m.singular,
        "plural_label": m.plural,
        "id": m.id,
        "creatable": m.creatable,
        "editable": m.creatable,
        "deletable": m.creatable,
        "viewable": True,
        "api_supported": m.api_supported,
        "generated_type": "custom" if not m.creatable else "default",
        "visible": True,
        "show_as_tab": True,
        "sequence_number": list(MODULES).index(m.api_name) + 2,
        "visibility": 1,
        "convertable": m.api_name == "Leads",
        "quick_create": True,
        "modified_time": _TIME,
        "description": None,
        "web_link": None,
        "profiles": [],
        "arguments": [],
        "parent_module": {},
        "status": "visible",
    }


def _picklist(values: tuple[str, ...], prefix: str) -> list[dict[str, Any]]:
    return [
        {
            "display_value": value,
            "actual_value": value,
            "sequence_number": n + 1,
            "type": "used",
            "id": f"{prefix}{n + 1:03d}",
            "colour_code": None,
        }
        for n, value in enumerate(values)
    ]


def field_doc(module: Module, f: Field, n: int) -> dict[str, Any]:
    """One field as ``GET /settings/fields`` answers it."""
    field_id = f"{module.id[:-3]}{500 + n:03d}"
    lookup: dict[str, Any] | None = None
    if f.data_type in ("lookup", "ownerlookup") and f.lookup:
        target = MODULES.get(f.lookup)
        lookup = {
            "display_label": f.label,
            "api_name": f.lookup,
            "module": {"api_name": f.lookup, "id": target.id if target else ""},
            "id": field_id,
            "revalidate_filter_during_edit": False,
            "show_fields": [],
            "query_details": {},
        }
    return {
        "api_name": f.api_name,
        "display_label": f.label,
        "field_label": f.label,
        "column_name": f.api_name.upper(),
        "id": field_id,
        "data_type": f.data_type,
        "json_type": f.json_type,
        "ui_type": _UI_TYPES.get(f.data_type, 1),
        "length": f.length,
        "decimal_place": f.decimal_place,
        "system_mandatory": f.system_mandatory,
        "read_only": f.read_only,
        "field_read_only": f.read_only,
        "custom_field": f.custom,
        "visible": True,
        "unique": {"casesensitive": "true" if f.casesensitive else "false"} if f.unique else {},
        "pick_list_values": _picklist(f.picklist, field_id[:-3]),
        "pick_list_values_sorted_lexically": False,
        "lookup": lookup or {},
        "currency": {"rounding_option": "normal", "precision": f.decimal_place or 2}
        if f.data_type == "currency"
        else {},
        "multiselectlookup": {},
        "formula": {},
        "auto_number": {},
        "subform": None,
        "sortable": True,
        "filterable": True,
        "searchable": True,
        "mass_update": not f.read_only,
        "type": "used",
        "created_source": "default" if not f.custom else "crm",
        "display_type": -1,
        "show_type": 7,
        "category": 0,
        "quick_sequence_number": str(n + 1),
        "created_time": None if not f.custom else _TIME,
        "modified_time": None if not f.custom else _TIME,
        "webhook": True,
        "virtual_field": False,
        "blueprint_supported": False,
        "businesscard_supported": True,
        "available_in_user_layout": True,
        "display_field": f.api_name in ("Last_Name", "Deal_Name", "Account_Name", "Name"),
        "separator": False,
        "enable_colour_code": False,
        "colour_code_enabled_by_system": False,
        "number_separator": f.data_type in ("currency", "integer", "bigint", "double"),
        "static_field": False,
        "_update_existing_records": False,
        "customizable_properties": [],
        "layout_associations": [
            {"api_name": lay.name.replace(" ", "_"), "name": lay.name, "id": lay.id}
            for lay in module.layouts
        ],
        "profiles": [],
        "view_type": {
            "view": True,
            "edit": not f.read_only,
            "quick_create": not f.read_only,
            "create": not f.read_only,
        },
        "operation_type": {
            "web_update": not f.read_only,
            "api_create": not f.read_only,
            "web_create": not f.read_only,
            "api_update": not f.read_only,
        },
        "email_parser": {"fields_update_supported": False, "record_operations_supported": False},
        "refer_from_field": {"id": None, "api_name": None},
        "external": {"show": False, "type": None},
        "hipaa_compliance_enabled": False,
        "hipaa_compliance": {"restricted_in_export": False, "restricted": False},
        "multi_module_lookup": {},
        "rollup_summary": {},
        "additional_column": None,
        "common.picklist": None,
    }


def layout_doc(module: Module, lay: Layout) -> dict[str, Any]:
    """One layout as ``GET /settings/layouts`` answers it: its one section holds every
    field, each with ``required`` (system-mandatory, or required by this layout)."""
    fields = []
    for n, f in enumerate(module.fields):
        doc = field_doc(module, f, n)
        keep = (
            "api_name",
            "id",
            "data_type",
            "json_type",
            "length",
            "decimal_place",
            "display_label",
            "field_label",
            "system_mandatory",
            "read_only",
            "field_read_only",
            "pick_list_values",
            "lookup",
            "visible",
            "ui_type",
            "custom_field",
            "column_name",
            "unique",
        )
        out = {k: doc[k] for k in keep}
        out["required"] = f.system_mandatory or f.api_name in lay.required
        out["sequence_number"] = n + 1
        fields.append(out)
    user = dict(_CREATED_BY)
    return {
        "id": lay.id,
        "name": lay.name,
        "display_label": lay.name,
        "api_name": lay.name.replace(" ", "_"),
        "status": "active",
        "visible": True,
        "source": "crm",
        "mode": None,
        "generated_type": "default" if lay.default else "custom",
        "has_more_profiles": False,
        "show_business_card": False,
        "created_time": _TIME,
        "modified_time": _TIME,
        "created_by": user,
        "modified_by": user,
        "profiles": [
            {
                "default": lay.default,
                "name": "Administrator",
                "id": "4150868000000026011",
                "_default_view": {"name": "Standard", "id": lay.id, "type": "layout"},
            }
        ],
        "sections": [
            {
                "display_label": f"{module.singular} Information",
                "sequence_number": 1,
                "isSubformSection": False,
                "tab_traversal": "left_to_right",
                "api_name": f"{module.singular}_Information",
                "column_count": 2,
                "name": f"{module.singular} Information",
                "generated_type": "default",
                "id": f"{lay.id[:-3]}201",
                "type": "used",
                "fields": fields,
            }
        ],
    }
