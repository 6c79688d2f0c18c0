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
    # column key -> their value -> ours, for choices the vendor spells its own way (lead status)
    values: dict[str, dict[str, str]] = field(default_factory=dict)

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


@dataclass(frozen=True)
class PresetScore:
    preset: Preset
    matched: int  # the file's headers this preset knows
    vendor: int  # 1 for a vendor's preset, 0 for our template (wins a tie)


def rank_presets(headers: list[str], kind: Kind | None = None) -> list[PresetScore]:
    """Score every preset on header overlap, best first (those matching at least one)."""
    folded = {fold(header) for header in headers}
    scores = [
        PresetScore(
            preset,
            len(folded & set(preset.folded())),
            int(preset.source != "salesradar" and "external_id" in preset.headers.values()),
        )
        for preset in candidates(kind)
    ]
    scores = [score for score in scores if score.matched]
    scores.sort(key=lambda score: (-score.matched, -score.vendor))  # stable: registration order
    return scores


def detect_preset(headers: list[str], kind: Kind | None = None) -> Preset | None:
    """Return the preset whose headers best match ``headers``, or None when none fits.

    A vendor's preset with an id column wins over the template at equal matches, since its
    source tells where the external ids come from; without an id column the template wins.
    """
    ranked = rank_presets(headers, kind)
    if not ranked or ranked[0].matched < MIN_MATCHED_HEADERS:
        return None
    return ranked[0].preset


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


# --------------------------------------------------------------------------- more presets
# Header names as each vendor documents them: Salesforce Data Loader writes the objects' API
# names (Account, Contact, Lead, Opportunity, OpportunityHistory, User); HubSpot's exports
# the property labels; Pipedrive "Object - Field"; Odoo either technical field names (an
# "export all" with "I want to update data") or their labels; Zoho the field labels; the
# Chinese CRMs (纷享销客, 销售易, 简道云, 钉钉客户管理) their default field names.

SALESFORCE_LEAD_STATUSES = {
    "Open - Not Contacted": "new",
    "Working - Contacted": "contacted",
    "Closed - Converted": "converted",
    "Closed - Not Converted": "disqualified",
}
HUBSPOT_LEAD_STATUSES = {
    "NEW": "new",
    "OPEN": "assigned",
    "IN_PROGRESS": "contacted",
    "ATTEMPTED_TO_CONTACT": "contacted",
    "CONNECTED": "contacted",
    "OPEN_DEAL": "qualified",
    "UNQUALIFIED": "disqualified",
    "BAD_TIMING": "recycled",
}
ZOHO_LEAD_STATUSES = {
    "Not Contacted": "new",
    "Attempted to Contact": "contacted",
    "Contact in Future": "recycled",
    "Contacted": "contacted",
    "Pre-Qualified": "qualified",
    "Not Qualified": "disqualified",
    "Junk Lead": "disqualified",
    "Lost Lead": "disqualified",
}
PIPEDRIVE_LEAD_STATUSES = {"Open": "new", "Archived": "disqualified"}
ODOO_LEAD_STATUSES = {"New": "new", "Qualified": "qualified", "Lost": "disqualified"}
CHINESE_STAGES = {
    "初步接洽": "initial_contact",
    "验证客户": "initial_contact",
    "需求确定": "needs_confirmed",
    "需求分析": "needs_confirmed",
    "方案/报价": "proposal",
    "方案报价": "proposal",
    "谈判审核": "negotiation",
    "商务谈判": "negotiation",
    "赢单": "won",
    "输单": "lost",
    "成交": "won",
    "丢单": "lost",
}


def _preset(
    key: str,
    label: str,
    kind: str,
    source: str,
    headers: dict[str, str],
    stages: dict[str, str] | None = None,
    values: dict[str, dict[str, str]] | None = None,
) -> None:
    register_preset(Preset(key, label, kind, source, headers, stages or {}, values or {}))


_preset(
    "salesforce-api-account",
    "Salesforce Data Loader (Account)",
    "customers",
    "salesforce",
    {
        "Id": "external_id",
        "AccountNumber": "code",
        "Name": "name",
        "Industry": "industry",
        "BillingState": "region",
        "OwnerId": "owner",
        "CreatedDate": "created_at",
    },
)
_preset(
    "salesforce-api-contact",
    "Salesforce Data Loader (Contact)",
    "contacts",
    "salesforce",
    {
        "Id": "external_id",
        "AccountId": "customer",
        "Name": "name",
        "Title": "title",
        "Phone": "phone",
        "Email": "email",
        "CreatedDate": "created_at",
    },
)
_preset(
    "salesforce-api-lead",
    "Salesforce Data Loader (Lead)",
    "leads",
    "salesforce",
    {
        "Id": "external_id",
        "Company": "company_name",
        "Name": "contact_name",
        "Phone": "phone",
        "Email": "email",
        "State": "region",
        "Industry": "industry",
        "Status": "status",
        "OwnerId": "owner",
        "CreatedDate": "created_at",
    },
    values={"status": SALESFORCE_LEAD_STATUSES},
)
_preset(
    "salesforce-api-opportunity",
    "Salesforce Data Loader (Opportunity)",
    "opportunities",
    "salesforce",
    {
        "Id": "external_id",
        "Name": "name",
        "AccountId": "customer",
        "StageName": "stage",
        "Amount": "amount",
        "CurrencyIsoCode": "currency",
        "CloseDate": "expected_close_date",
        "OwnerId": "owner",
        "CreatedDate": "created_at",
    },
    SALESFORCE_STAGES,
)
_preset(
    "salesforce-api-opportunityhistory",
    "Salesforce Data Loader (OpportunityHistory)",
    "stage_history",
    "salesforce",
    {
        "Id": "external_id",
        "OpportunityId": "opportunity",
        "StageName": "to_stage",
        "CreatedDate": "changed_at",
        "CreatedById": "changed_by",
    },
    SALESFORCE_STAGES,
)
_preset(
    "salesforce-api-user",
    "Salesforce Data Loader (User)",
    "users",
    "salesforce",
    {
        "Id": "external_id",
        "Username": "username",
        "FirstName": "first_name",
        "LastName": "last_name",
        "Email": "email",
        "MobilePhone": "phone",
        "IsActive": "is_active",
        "ManagerId": "manager",
    },
)
_preset(
    "salesforce-leads",
    "Salesforce (Lead report)",
    "leads",
    "salesforce",
    {
        "Lead ID": "external_id",
        "Company / Account": "company_name",
        "Company": "company_name",
        "Lead Status": "status",
        "Lead Source": "source",
        "Lead Owner": "owner",
        "Phone": "phone",
        "Email": "email",
        "State/Province": "region",
        "Create Date": "created_at",
    },
    values={"status": SALESFORCE_LEAD_STATUSES},
)
_preset(
    "salesforce-opportunity-history",
    "Salesforce (Opportunity History report)",
    "stage_history",
    "salesforce",
    {
        "Opportunity ID": "opportunity",
        "From Stage": "from_stage",
        "To Stage": "to_stage",
        "Last Modified": "changed_at",
        "Edit Date": "changed_at",
        "Last Modified By": "changed_by",
    },
    SALESFORCE_STAGES,
)
_preset(
    "hubspot-contacts",
    "HubSpot (contacts)",
    "contacts",
    "hubspot",
    {
        "Record ID": "external_id",
        "Associated Company": "customer",
        "Company Name": "customer",
        "Job Title": "title",
        "Phone Number": "phone",
        "Email": "email",
        "Create Date": "created_at",
    },
)
_preset(
    "hubspot-leads",
    "HubSpot (contacts as leads)",
    "leads",
    "hubspot",
    {
        "Record ID": "external_id",
        "Company Name": "company_name",
        "Lead Status": "status",
        "Phone Number": "phone",
        "Email": "email",
        "Contact owner": "owner",
        "Create Date": "created_at",
        "State/Region": "region",
        "Industry": "industry",
    },
    values={"status": HUBSPOT_LEAD_STATUSES},
)
_preset(
    "hubspot-owners",
    "HubSpot (users and owners)",
    "users",
    "hubspot",
    {
        "Owner ID": "external_id",
        "User ID": "external_id",
        "First Name": "first_name",
        "Last Name": "last_name",
        "Email": "email",
        "Team": "team",
        "Teams": "team",
    },
)
_preset(
    "pipedrive-organizations",
    "Pipedrive (organizations)",
    "customers",
    "pipedrive",
    {
        "Organization - ID": "external_id",
        "Organization - Name": "name",
        "Organization - Owner": "owner",
        "Organization - Address - State/County": "region",
        "Organization - Industry": "industry",
        "Organization - Organization created": "created_at",
    },
)
_preset(
    "pipedrive-persons",
    "Pipedrive (persons)",
    "contacts",
    "pipedrive",
    {
        "Person - ID": "external_id",
        "Person - Name": "name",
        "Person - Organization": "customer",
        "Person - Job title": "title",
        "Person - Phone": "phone",
        "Person - Email": "email",
        "Person - Person created": "created_at",
    },
)
_preset(
    "odoo-crm-lead-technical",
    "Odoo CRM (crm.lead, technical names)",
    "opportunities",
    "odoo",
    {
        "id": "external_id",
        "name": "name",
        "partner_id": "customer",
        "stage_id": "stage",
        "expected_revenue": "amount",
        "company_currency": "currency",
        "user_id": "owner",
        "date_deadline": "expected_close_date",
        "create_date": "created_at",
        "lost_reason_id": "lost_reason",
    },
    ODOO_STAGES,
)
_preset(
    "odoo-res-partner",
    "Odoo (res.partner, labels)",
    "customers",
    "odoo",
    {
        "ID": "external_id",
        "Name": "name",
        "Display Name": "name",
        "Tax ID": "credit_code",
        "Industry": "industry",
        "State": "region",
        "Salesperson": "owner",
        "Created on": "created_at",
    },
)
_preset(
    "odoo-res-partner-technical",
    "Odoo (res.partner, technical names)",
    "customers",
    "odoo",
    {
        "id": "external_id",
        "name": "name",
        "vat": "credit_code",
        "industry_id": "industry",
        "state_id": "region",
        "user_id": "owner",
        "create_date": "created_at",
    },
)
_preset(
    "odoo-mail-tracking-value",
    "Odoo (mail.tracking.value, the chatter's stage changes)",
    "stage_history",
    "odoo",
    {
        "id": "external_id",
        "mail_message_id/res_id": "opportunity",
        "old_value_char": "from_stage",
        "new_value_char": "to_stage",
        "create_date": "changed_at",
        "create_uid": "changed_by",
    },
    ODOO_STAGES,
)
_preset(
    "zoho-accounts",
    "Zoho CRM (Accounts)",
    "customers",
    "zoho",
    {
        "Record Id": "external_id",
        "Account Number": "code",
        "Account Name": "name",
        "Industry": "industry",
        "Billing State": "region",
        "Account Owner": "owner",
        "Created Time": "created_at",
    },
)
_preset(
    "zoho-contacts",
    "Zoho CRM (Contacts)",
    "contacts",
    "zoho",
    {
        "Record Id": "external_id",
        "Account Name": "customer",
        "Full Name": "name",
        "Title": "title",
        "Phone": "phone",
        "Email": "email",
        "Created Time": "created_at",
    },
)
_preset(
    "zoho-leads",
    "Zoho CRM (Leads)",
    "leads",
    "zoho",
    {
        "Record Id": "external_id",
        "Company": "company_name",
        "Full Name": "contact_name",
        "Lead Status": "status",
        "Lead Source": "source",
        "Phone": "phone",
        "Email": "email",
        "Lead Owner": "owner",
        "Created Time": "created_at",
    },
    values={"status": ZOHO_LEAD_STATUSES},
)
_preset(
    "pipedrive-leads",
    "Pipedrive (leads)",
    "leads",
    "pipedrive",
    {
        "Lead - ID": "external_id",
        "Lead - Title": "company_name",
        "Lead - Organization": "company_name",
        "Lead - Owner": "owner",
        "Lead - Status": "status",
        "Lead - Lead created": "created_at",
    },
    values={"status": PIPEDRIVE_LEAD_STATUSES},
)
_preset(
    "odoo-crm-lead-leads",
    "Odoo CRM (crm.lead as leads)",
    "leads",
    "odoo",
    {
        "ID": "external_id",
        "Company Name": "company_name",
        "Contact Name": "contact_name",
        "Phone": "phone",
        "Email": "email",
        "Stage": "status",
        "Salesperson": "owner",
        "Created on": "created_at",
    },
    values={"status": ODOO_LEAD_STATUSES},
)
# 纷享销客, 销售易, 简道云 and 钉钉客户管理 export the same default field names, so one preset
# serves them (a file cannot tell which of them wrote it: give --source to say).
CHINESE_CRMS = "纷享销客 / 销售易 / 简道云 / 钉钉客户管理"
_preset(
    "chinese-crm-customers",
    f"{CHINESE_CRMS}（客户）",
    "customers",
    "chinese-crm",
    {
        "客户编号": "code",
        "客户名称": "name",
        "负责人": "owner",
        "所属行业": "industry",
        "行业": "industry",
        "省份": "region",
        "所在省份": "region",
        "地区": "region",
        "客户级别": "tier",
        "统一社会信用代码": "credit_code",
        "创建时间": "created_at",
    },
)
_preset(
    "chinese-crm-opportunities",
    f"{CHINESE_CRMS}（商机）",
    "opportunities",
    "chinese-crm",
    {
        "商机编号": "code",
        "商机名称": "name",
        "客户名称": "customer",
        "商机阶段": "stage",
        "销售阶段": "stage",
        "预计成交金额": "amount",
        "商机金额": "amount",
        "币种": "currency",
        "预计成交日期": "expected_close_date",
        "负责人": "owner",
        "创建时间": "created_at",
        "输单原因": "lost_reason",
    },
    CHINESE_STAGES,
)


HEADER_SUGGESTION_SCORE = 80


def suggest_columns(
    headers: list[str], kind: Kind, mapping: dict[str, str]
) -> dict[str, tuple[str, float]]:
    """Suggest a column for each header the mapping leaves out, by fuzzy name, in both languages.

    A header is compared with every column's English label, Chinese label and key, and with
    every preset's spelling of it ("Acct Name" -> customer, "客户名" -> name); the best match
    at or above ``HEADER_SUGGESTION_SCORE`` (rapidfuzz WRatio, 0-100) is suggested, never
    applied without the person's confirmation.
    """
    from rapidfuzz import fuzz, process

    taken = set(mapping.values())
    spellings: list[tuple[str, str]] = []
    for column in kind.columns:
        if column.key in taken:
            continue
        for spelling in (column.en, column.zh, column.key.replace("_", " ")):
            spellings.append((fold(spelling), column.key))
    for preset in candidates(kind):
        for header, key in preset.headers.items():
            if key not in taken:
                spellings.append((fold(header), key))
    if not spellings:
        return {}
    choices = [spelling for spelling, _key in spellings]
    suggestions: dict[str, tuple[str, float]] = {}
    for header in headers:
        if header in mapping:
            continue
        best = process.extractOne(
            fold(header), choices, scorer=fuzz.WRatio, score_cutoff=HEADER_SUGGESTION_SCORE
        )
        if best is not None:
            key = spellings[best[2]][1]
            if key not in {suggested for suggested, _score in suggestions.values()}:
                suggestions[header] = (key, round(best[1], 1))
    return suggestions
