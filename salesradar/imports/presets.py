"""Column-mapping presets for the exports of the CRMs teams already use.

A preset maps an export's header names to our column keys and names the source system, so
external ids land in ``ExternalRef`` under that source. It is chosen when enough of its
headers appear in the file. Header names are the ones the vendors' exports and reports
write in English (their field labels): Salesforce report columns ("Opportunity Name",
"Account Name", "Stage", "Close Date", "Opportunity Owner"), HubSpot's export ("Record ID",
"Deal Name", "Deal Stage", "Deal owner", "Associated Company"), Pipedrive's
"Object - Field" headers ("Deal - Title", "Deal - Value", "Deal - Stage"), Odoo's field
labels on crm.lead ("Opportunity", "Expected Revenue", "Salesperson", "Expected Closing")
and Zoho's Deals module ("Record Id", "Deal Name", "Closing Date", "Deal Owner").

More presets register at ``AppConfig.ready()`` time through :func:`register_preset`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from salesradar.imports.parsing import normalize_text
from salesradar.imports.schema import KINDS, Kind, template_headers

MIN_MATCHED_HEADERS = 2


@dataclass(frozen=True)
class Preset:
    key: str
    label: str
    kind: str
    source: str
    headers: dict[str, str]  # header as the vendor writes it -> our column key
    stage_suggestions: dict[str, str] = field(default_factory=dict)  # their stage -> our key

    def folded(self) -> dict[str, str]:
        return {fold(header): key for header, key in self.headers.items()}


PRESETS: dict[str, Preset] = {}


def fold(header: str) -> str:
    return normalize_text(header).casefold()


def register_preset(preset: Preset) -> Preset:
    if not isinstance(preset, Preset):
        raise TypeError(f"{preset!r} is not an import Preset")
    kind = KINDS.get(preset.kind)
    if kind is None:
        raise ValueError(f"preset {preset.key}: unknown kind {preset.kind}")
    unknown = set(preset.headers.values()) - set(kind.keys)
    if unknown:
        raise ValueError(f"preset {preset.key}: {preset.kind} has no columns {sorted(unknown)}")
    PRESETS[preset.key] = preset
    return preset


# The default playbook's stage keys; a vendor's standard stage names suggest one of them.
SALESFORCE_STAGES = {
    "Prospecting": "initial_contact",
    "Qualification": "initial_contact",
    "Needs Analysis": "needs_confirmed",
    "Value Proposition": "needs_confirmed",
    "Id. Decision Makers": "needs_confirmed",
    "Perception Analysis": "needs_confirmed",
    "Proposal/Price Quote": "proposal",
    "Negotiation/Review": "negotiation",
    "Closed Won": "won",
    "Closed Lost": "lost",
}
HUBSPOT_STAGES = {
    "Appointment Scheduled": "initial_contact",
    "appointmentscheduled": "initial_contact",
    "Qualified To Buy": "needs_confirmed",
    "qualifiedtobuy": "needs_confirmed",
    "Presentation Scheduled": "needs_confirmed",
    "presentationscheduled": "needs_confirmed",
    "Decision Maker Bought-In": "proposal",
    "decisionmakerboughtin": "proposal",
    "Contract Sent": "negotiation",
    "contractsent": "negotiation",
    "Closed Won": "won",
    "closedwon": "won",
    "Closed Lost": "lost",
    "closedlost": "lost",
}
PIPEDRIVE_STAGES = {
    "Lead In": "initial_contact",
    "Contact Made": "initial_contact",
    "Qualified": "needs_confirmed",
    "Needs Defined": "needs_confirmed",
    "Demo Scheduled": "needs_confirmed",
    "Proposal Made": "proposal",
    "Negotiations Started": "negotiation",
}
ODOO_STAGES = {"New": "initial_contact", "Qualified": "needs_confirmed", "Proposition": "proposal"}
ODOO_STAGES["Won"] = "won"
ZOHO_STAGES = {
    "Qualification": "initial_contact",
    "Needs Analysis": "needs_confirmed",
    "Value Proposition": "needs_confirmed",
    "Identify Decision Makers": "needs_confirmed",
    "Id. Decision Makers": "needs_confirmed",
    "Perception Analysis": "needs_confirmed",
    "Proposal/Price Quote": "proposal",
    "Negotiation/Review": "negotiation",
    "Closed Won": "won",
    "Closed Lost": "lost",
    "Closed-Lost to Competition": "lost",
}

register_preset(
    Preset(
        "salesforce-opportunities",
        "Salesforce (Opportunity report)",
        "opportunities",
        "salesforce",
        {
            "Opportunity ID": "external_id",
            "Opportunity Name": "name",
            "Account Name": "customer",
            "Stage": "stage",
            "Amount": "amount",
            "Opportunity Currency": "currency",
            "Close Date": "expected_close_date",
            "Opportunity Owner": "owner",
            "Created Date": "created_at",
            "Product Family": "product_line",
        },
        SALESFORCE_STAGES,
    )
)
register_preset(
    Preset(
        "salesforce-accounts",
        "Salesforce (Account report)",
        "customers",
        "salesforce",
        {
            "Account ID": "external_id",
            "Account Number": "code",
            "Account Name": "name",
            "Industry": "industry",
            "Billing State/Province": "region",
            "Account Owner": "owner",
            "Created Date": "created_at",
        },
    )
)
register_preset(
    Preset(
        "hubspot-deals",
        "HubSpot (deals)",
        "opportunities",
        "hubspot",
        {
            "Record ID": "external_id",
            "Deal Name": "name",
            "Deal Stage": "stage",
            "Amount": "amount",
            "Currency": "currency",
            "Close Date": "expected_close_date",
            "Deal owner": "owner",
            "Create Date": "created_at",
            "Associated Company": "customer",
            "Associated Company (Primary)": "customer",
        },
        HUBSPOT_STAGES,
    )
)
register_preset(
    Preset(
        "hubspot-companies",
        "HubSpot (companies)",
        "customers",
        "hubspot",
        {
            "Record ID": "external_id",
            "Company name": "name",
            "Industry": "industry",
            "State/Region": "region",
            "Company owner": "owner",
            "Create Date": "created_at",
        },
    )
)
register_preset(
    Preset(
        "pipedrive-deals",
        "Pipedrive (deals)",
        "opportunities",
        "pipedrive",
        {
            "Deal - ID": "external_id",
            "Deal - Title": "name",
            "Deal - Value": "amount",
            "Deal - Currency": "currency",
            "Deal - Currency of value": "currency",
            "Deal - Stage": "stage",
            "Deal - Status": "status",
            "Deal - Owner": "owner",
            "Deal - Organization": "customer",
            "Deal - Expected close date": "expected_close_date",
            "Deal - Deal created": "created_at",
        },
        PIPEDRIVE_STAGES,
    )
)
register_preset(
    Preset(
        "odoo-crm-lead",
        "Odoo CRM (crm.lead)",
        "opportunities",
        "odoo",
        {
            "ID": "external_id",
            "Opportunity": "name",
            "Customer": "customer",
            "Stage": "stage",
            "Expected Revenue": "amount",
            "Currency": "currency",
            "Salesperson": "owner",
            "Expected Closing": "expected_close_date",
            "Created on": "created_at",
        },
        ODOO_STAGES,
    )
)
register_preset(
    Preset(
        "zoho-deals",
        "Zoho CRM (Deals)",
        "opportunities",
        "zoho",
        {
            "Record Id": "external_id",
            "Deal Name": "name",
            "Account Name": "customer",
            "Stage": "stage",
            "Amount": "amount",
            "Currency": "currency",
            "Closing Date": "expected_close_date",
            "Deal Owner": "owner",
            "Created Time": "created_at",
        },
        ZOHO_STAGES,
    )
)


def template_preset(kind: Kind, language: str) -> Preset:
    """The SalesRadar template for ``kind`` in ``language``: our own column names."""
    headers = dict(zip(template_headers(kind, language), kind.keys, strict=True))
    # the column keys themselves are accepted too (scripts write them)
    for key in kind.keys:
        headers.setdefault(key, key)
    return Preset(
        f"salesradar-{kind.key}-{language}",
        "SalesRadar template" + (" (中文)" if language.startswith("zh") else " (English)"),
        kind.key,
        "salesradar",
        headers,
    )


def candidates(kind: Kind | None = None) -> list[Preset]:
    kinds = [kind] if kind is not None else list(KINDS.values())
    found = [preset for preset in PRESETS.values() if kind is None or preset.kind == kind.key]
    for each in kinds:
        found += [template_preset(each, "en"), template_preset(each, "zh-hans")]
    return found


def known_header_names(kind: Kind | None = None) -> frozenset[str]:
    """Every header name some preset understands, folded, to help find the header row."""
    return frozenset(fold(header) for preset in candidates(kind) for header in preset.headers)


def detect_preset(headers: list[str], kind: Kind | None = None) -> Preset | None:
    """Return the preset whose headers best match ``headers``, or None when none fits.

    A vendor's preset wins over the template at equal matches, since its source tells where
    the external ids come from.
    """
    folded = {fold(header) for header in headers}
    best: tuple[int, int, Preset] | None = None
    for preset in candidates(kind):
        matched = len(folded & set(preset.folded()))
        vendor = 0 if preset.source == "salesradar" else 1
        if matched >= MIN_MATCHED_HEADERS and (best is None or (matched, vendor) > best[:2]):
            best = (matched, vendor, preset)
    return best[2] if best else None


def mapping_from_preset(headers: list[str], preset: Preset | None) -> dict[str, str]:
    """Map each file header to a column key by the preset; headers it does not know stay out.

    When two headers map to the same column (HubSpot's "Associated Company" and its
    "(Primary)" variant), the first one in the file is used.
    """
    if preset is None:
        return {}
    known = preset.folded()
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for header in headers:
        key = known.get(fold(header))
        if key and key not in used:
            mapping[header] = key
            used.add(key)
    return mapping
