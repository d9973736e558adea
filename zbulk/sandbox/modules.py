"""The sandbox org's modules and their fields: ONE definition per module, which drives both
the answers of the three metadata endpoints (``GET /crm/{v}/settings/modules``,
``/settings/fields?module=M``, ``/settings/layouts?module=M``, see ``zbulk.sandbox.settings``)
and the row verdicts of the bulk write jobs the sandbox runs (``zbulk.sandbox.bulk_writes``), so
what the sandbox says about a field and what it does with a value cannot disagree.

Only definitions live here (names, types, lengths, flags, picklists, layouts): the verdicts
are the sandbox's own code in ``uploads``, and zbulk's pre-flight (``zbulk.preflight``) has
its own, reading these definitions only as a real org's metadata, over HTTP.

The field types are Zoho's ``data_type`` values; ``json_type`` follows Zoho's answers for each.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# data_type -> json_type, as Zoho's fields answers give them
JSON_TYPES = {
    "text": "string",
    "textarea": "string",
    "email": "string",
    "phone": "string",
    "website": "string",
    "integer": "integer",
    "bigint": "string",
    "double": "double",
    "currency": "double",
    "percent": "double",
    "decimal": "double",
    "boolean": "boolean",
    "date": "string",
    "datetime": "string",
    "picklist": "string",
    "multiselectpicklist": "jsonarray",
    "lookup": "jsonobject",
    "ownerlookup": "jsonobject",
    "autonumber": "string",
}
NUMBER_TYPES = frozenset({"integer", "bigint", "double", "currency", "percent", "decimal"})


@dataclass(frozen=True)
class Field:
    """One field of a module, as the org defines it."""

    api_name: str
    label: str
    data_type: str = "text"
    length: int = 255
    decimal_place: int | None = None
    system_mandatory: bool = False
    read_only: bool = False
    unique: bool = False
    casesensitive: bool = False  # for a unique field: are "A" and "a" different values?
    picklist: tuple[str, ...] = ()
    lookup: str | None = None  # the module a lookup points at
    custom: bool = False

    @property
    def json_type(self) -> str:
        return JSON_TYPES[self.data_type]


@dataclass(frozen=True)
class Layout:
    """A layout: its name, whether it is the module's default, and the fields it requires
    beyond the system-mandatory ones."""

    id: str
    name: str
    default: bool
    required: tuple[str, ...] = ()


@dataclass(frozen=True)
class Module:
    api_name: str
    id: str
    singular: str
    plural: str
    fields: tuple[Field, ...]
    layouts: tuple[Layout, ...] = ()
    creatable: bool = True
    api_supported: bool = True
    by_name: dict[str, Field] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {f.api_name: f for f in self.fields})

    @property
    def default_layout(self) -> Layout | None:
        return next((lay for lay in self.layouts if lay.default), None)

    def mandatory(self) -> list[str]:
        """What an insert must fill: the system-mandatory fields and those the default
        layout requires (never another layout's)."""
        names = [f.api_name for f in self.fields if f.system_mandatory]
        default = self.default_layout
        for name in default.required if default else ():
            if name not in names:
                names.append(name)
        return names


def _f(api_name: str, data_type: str = "text", **extra: object) -> Field:
    label = str(extra.pop("label", api_name.replace("_", " ")))
    return Field(api_name, label, data_type, **extra)  # type: ignore[arg-type]


_SOURCES = ("-None-", "Advertisement", "Cold Call", "Partner", "Trade Show", "Web Download")
_INDUSTRIES = ("-None-", "Healthcare", "Manufacturing", "Retail", "Technology")
_CREATED = (
    _f("Created_Time", "datetime", read_only=True),
    _f("Modified_Time", "datetime", read_only=True),
    _f("Created_By", "ownerlookup", read_only=True, lookup="users"),
)

LEADS = Module(
    "Leads",
    "4150868000000002175",
    "Lead",
    "Leads",
    (
        _f("Owner", "ownerlookup", label="Lead Owner", lookup="users"),
        _f("Company", length=200),
        _f("Salutation", "picklist", picklist=("-None-", "Mr.", "Mrs.", "Ms.", "Dr.", "Prof.")),
        _f("First_Name", length=40),
        _f("Last_Name", length=80, system_mandatory=True),
        _f("Full_Name", read_only=True),
        _f("Designation", length=100, label="Title"),
        _f("Email", "email", length=100, unique=True),
        _f("Secondary_Email", "email", length=100),
        _f("Phone", "phone", length=30),
        _f("Mobile", "phone", length=30),
        _f("Fax", "phone", length=30),
        _f("Website", "website"),
        _f("Lead_Source", "picklist", picklist=_SOURCES),
        _f(
            "Lead_Status",
            "picklist",
            picklist=("-None-", "Not Contacted", "Contacted", "Qualified", "Lost Lead"),
        ),
        _f("Industry", "picklist", picklist=_INDUSTRIES),
        _f("No_of_Employees", "integer", length=9, label="No. of Employees"),
        _f("Annual_Revenue", "currency", length=16, decimal_place=2),
        _f("Rating", "picklist", picklist=("-None-", "Acquired", "Active", "Shutdown")),
        _f("Email_Opt_Out", "boolean"),
        _f("Skype_ID", length=50),
        _f("Street", length=250),
        _f("City", length=100),
        _f("State", length=100),
        _f("Zip_Code", length=30),
        _f("Country", length=100),
        _f("Date_3", "date", label="Date of first contact", custom=True),
        _f("Follow_Up_At", "datetime", custom=True),
        _f("Visitor_Score", "bigint", length=18, custom=True),
        _f("Conversion_Rate", "double", length=16, decimal_place=4, custom=True),
        _f("Discount", "percent", length=5, decimal_place=2, custom=True),
        _f("Budget_Ratio", "decimal", length=16, decimal_place=3, custom=True),
        _f(
            "Interests",
            "multiselectpicklist",
            custom=True,
            picklist=("Analytics", "Automation", "CRM", "Support"),
        ),
        _f("Referred_Contact", "lookup", lookup="Contacts", custom=True),
        _f("Partner_Code", length=20, unique=True, casesensitive=True, custom=True),
        _f("Layout", "text", label="Layout"),
        _f("Description", "textarea", length=32000),
        _f("Lead_Conversion_Time", "integer", read_only=True),
        *_CREATED,
    ),
    (
        Layout("4150868000000091055", "Standard", True),
        # a second layout's required field must never count for imports (default only)
        Layout("4150868000000091077", "Partner Leads", False, ("Company", "Partner_Code")),
    ),
)

CONTACTS = Module(
    "Contacts",
    "4150868000000002179",
    "Contact",
    "Contacts",
    (
        _f("Owner", "ownerlookup", label="Contact Owner", lookup="users"),
        _f("First_Name", length=40),
        _f("Last_Name", length=80, system_mandatory=True),
        _f("Full_Name", read_only=True),
        _f("Email", "email", length=100, unique=True),
        _f("Phone", "phone", length=30),
        _f("Mobile", "phone", length=30),
        _f("Date_of_Birth", "date"),
        _f("Mailing_City", length=100),
        _f("Account_Name", "lookup", lookup="Accounts"),
        _f("Lead_Source", "picklist", picklist=_SOURCES),
        _f("Email_Opt_Out", "boolean"),
        _f("Description", "textarea", length=32000),
        *_CREATED,
    ),
    (Layout("4150868000000091033", "Standard", True),),
)

ACCOUNTS = Module(
    "Accounts",
    "4150868000000002177",
    "Account",
    "Accounts",
    (
        _f("Owner", "ownerlookup", label="Account Owner", lookup="users"),
        _f("Account_Name", length=200, system_mandatory=True, unique=True),
        _f("Account_Number", "bigint", length=18),
        _f("Phone", "phone", length=30),
        _f("Website", "website"),
        _f("Industry", "picklist", picklist=_INDUSTRIES),
        _f("Annual_Revenue", "currency", length=16, decimal_place=2),
        _f("Employees", "integer", length=9),
        _f("Billing_City", length=100),
        _f(
            "Account_Type",
            "picklist",
            label="Type",
            picklist=("-None-", "Customer", "Partner", "Prospect", "Vendor"),
        ),
        _f("Parent_Account", "lookup", lookup="Accounts"),
        *_CREATED,
    ),
    (Layout("4150868000000091011", "Standard", True),),
)

DEALS = Module(
    "Deals",
    "4150868000000002181",
    "Deal",
    "Deals",
    (
        _f("Owner", "ownerlookup", label="Deal Owner", lookup="users"),
        _f("Deal_Name", length=120, system_mandatory=True),
        _f(
            "Stage",
            "picklist",
            system_mandatory=True,
            picklist=(
                "Qualification",
                "Needs Analysis",
                "Proposal",
                "Negotiation",
                "Closed Won",
                "Closed Lost",
            ),
        ),
        _f("Closing_Date", "date"),
        _f("Amount", "currency", length=16, decimal_place=2),
        _f("Probability", "percent", length=3, label="Probability (%)"),
        _f("Account_Name", "lookup", lookup="Accounts"),
        _f("Contact_Name", "lookup", lookup="Contacts"),
        _f("Pipeline", "picklist", picklist=("Standard",)),
        _f("Lead_Source", "picklist", picklist=_SOURCES),
        _f("Expected_Revenue", "currency", length=16, decimal_place=2, read_only=True),
        *_CREATED,
    ),
    # the default layout requires Closing_Date, which is not system-mandatory
    (Layout("4150868000000091099", "Standard", True, ("Closing_Date",)),),
)

VISITS = Module(
    "Visits",
    "4150868000000002201",
    "Visit",
    "Visits",
    (_f("Name", length=120, system_mandatory=True), *_CREATED),
    (Layout("4150868000000091122", "Standard", True),),
    creatable=False,
)

MODULES: dict[str, Module] = {m.api_name: m for m in (LEADS, CONTACTS, ACCOUNTS, DEALS, VISITS)}
