"""What each kind of import holds: its columns, their types and the model they fill.

One declaration per kind serves the importer (which columns exist, how to read them), the
SalesRadar template in English and Chinese (the headers ``en`` and ``zh``), the web form's
column choices and the exporter, so an exported file re-imports without mapping.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field

from django.apps import apps
from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from salesradar.accounts.choices import Role
from salesradar.activities.choices import ActivityKind, Outcome
from salesradar.crm.choices import (
    CompanySize,
    DecisionRole,
    LeadSource,
    LeadStatus,
    Lifecycle,
    Tier,
)
from salesradar.pipeline.choices import LostReason, QuoteStatus, TargetMeasure, TargetPeriod

# Column types. References (user, team, customer, opportunity, contract, stage) are resolved
# against the database in batches; the others are read cell by cell.
TEXT = "text"
EMAIL = "email"
CHOICE = "choice"
DATE = "date"
DATETIME = "datetime"
AMOUNT = "amount"
INTEGER = "integer"
BOOLEAN = "boolean"
CURRENCY = "currency"
EXTERNAL_ID = "external_id"
USER = "user"
TEAM = "team"
CUSTOMER = "customer"
OPPORTUNITY = "opportunity"
CONTRACT = "contract"
STAGE = "stage"
REFERENCE_TYPES = frozenset({USER, TEAM, CUSTOMER, OPPORTUNITY, CONTRACT, STAGE})


@dataclass(frozen=True)
class Column:
    key: str
    label: Promise | str
    zh: str
    type: str
    attname: str | None = None
    required: bool = False
    max_length: int | None = None
    # TRICKY: the field "type" above shadows the builtin inside this class body
    choices: builtins.type[models.TextChoices] | None = None
    aliases: tuple[str, ...] = ()

    @property
    def en(self) -> str:
        from django.utils import translation

        with translation.override("en"):
            return str(self.label)


@dataclass(frozen=True)
class Kind:
    key: str
    label: Promise | str
    model_label: str
    columns: tuple[Column, ...]
    natural_key: tuple[str, ...] = ()  # column keys identifying a row when no external id
    code_prefix: str = ""  # for generated numbers when the file has none
    append_only: bool = False
    export_related: tuple[str, ...] = field(default=())

    @property
    def model(self) -> type[models.Model]:
        return apps.get_model(self.model_label)

    def column(self, key: str) -> Column:
        for column in self.columns:
            if column.key == key:
                return column
        raise KeyError(key)

    def key_of(self, attname: str) -> str | None:
        """Return the column key that fills ``attname``, None for a derived field."""
        for column in self.columns:
            if column.attname == attname:
                return column.key
        return None

    @property
    def keys(self) -> list[str]:
        return [column.key for column in self.columns]


def external_id() -> Column:
    return Column("external_id", _("External ID"), "外部编号", EXTERNAL_ID, max_length=255)


def owner(required: bool = False) -> Column:
    return Column("owner", _("Owner"), "负责人", USER, "owner_id", required=required)


def created_at() -> Column:
    return Column("created_at", _("Created at"), "创建时间", DATETIME, "created_at")


KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    if not isinstance(kind, Kind):
        raise TypeError(f"{kind!r} is not an import Kind")
    KINDS[kind.key] = kind
    return kind


register(
    Kind(
        "customers",
        _("Customers"),
        "crm.Customer",
        (
            external_id(),
            Column("code", _("Customer number"), "客户编号", TEXT, "code", max_length=32),
            Column("name", _("Customer name"), "客户名称", TEXT, "name", True, 200),
            Column(
                "credit_code",
                _("Unified social credit code"),
                "统一社会信用代码",
                TEXT,
                "credit_code",
                max_length=18,
            ),
            Column("industry", _("Industry"), "行业", TEXT, "industry", max_length=60),
            Column("region", _("Region"), "地区", TEXT, "region", max_length=60),
            Column("size", _("Size"), "规模", CHOICE, "size", choices=CompanySize),
            Column("tier", _("Tier"), "客户等级", CHOICE, "tier", choices=Tier),
            Column("lifecycle", _("Lifecycle"), "生命周期", CHOICE, "lifecycle", choices=Lifecycle),
            owner(),
            created_at(),
        ),
        natural_key=("code",),
        code_prefix="C",
    )
)
register(
    Kind(
        "contacts",
        _("Contacts"),
        "crm.Contact",
        (
            external_id(),
            Column("customer", _("Customer"), "客户", CUSTOMER, "customer_id", True),
            Column("name", _("Contact name"), "联系人姓名", TEXT, "name", True, 100),
            Column("title", _("Job title"), "职位", TEXT, "title", max_length=100),
            Column(
                "decision_role",
                _("Role in the decision"),
                "决策角色",
                CHOICE,
                "decision_role",
                choices=DecisionRole,
            ),
            Column("phone", _("Phone"), "电话", TEXT, "phone", max_length=32),
            Column("email", _("Email"), "邮箱", EMAIL, "email", max_length=254),
            created_at(),
        ),
    )
)
register(
    Kind(
        "leads",
        _("Leads"),
        "crm.Lead",
        (
            external_id(),
            Column("code", _("Lead number"), "线索编号", TEXT, "code", max_length=32),
            Column("company_name", _("Company"), "公司名称", TEXT, "company_name", True, 200),
            Column(
                "contact_name", _("Contact name"), "联系人", TEXT, "contact_name", max_length=100
            ),
            Column("phone", _("Phone"), "电话", TEXT, "phone", max_length=32),
            Column("email", _("Email"), "邮箱", EMAIL, "email", max_length=254),
            Column("region", _("Region"), "地区", TEXT, "region", max_length=60),
            Column("industry", _("Industry"), "行业", TEXT, "industry", max_length=60),
            Column("source", _("Lead source"), "线索来源", CHOICE, "source", choices=LeadSource),
            Column("status", _("Lead status"), "线索状态", CHOICE, "status", choices=LeadStatus),
            owner(),
            created_at(),
        ),
        natural_key=("code",),
        code_prefix="L",
    )
)
register(
    Kind(
        "opportunities",
        _("Opportunities"),
        "pipeline.Opportunity",
        (
            external_id(),
            Column("code", _("Opportunity number"), "商机编号", TEXT, "code", max_length=32),
            Column("name", _("Opportunity name"), "商机名称", TEXT, "name", True, 200),
            Column("customer", _("Customer"), "客户", CUSTOMER, "customer_id", True),
            Column("stage", _("Stage"), "阶段", STAGE, "stage_id", True),
            # won/lost/open as a separate column (Pipedrive keeps the last stage of a won deal)
            Column("status", _("Deal status"), "商机状态", TEXT, None),
            Column("amount", _("Amount"), "金额", AMOUNT, "amount"),
            Column("currency", _("Currency"), "币种", CURRENCY, "currency"),
            Column(
                "product_line", _("Product line"), "产品线", TEXT, "product_line", max_length=60
            ),
            Column(
                "expected_close_date",
                _("Expected close date"),
                "预计成交日期",
                DATE,
                "expected_close_date",
            ),
            owner(required=True),
            created_at(),
            Column("closed_at", _("Closed at"), "关闭时间", DATETIME, "closed_at"),
            Column(
                "lost_reason",
                _("Lost reason"),
                "输单原因",
                CHOICE,
                "lost_reason",
                choices=LostReason,
            ),
        ),
        natural_key=("code",),
        code_prefix="O",
    )
)
register(
    Kind(
        "activities",
        _("Activities"),
        "activities.Activity",
        (
            external_id(),
            Column(
                "kind", _("Activity type"), "跟进方式", CHOICE, "kind", True, choices=ActivityKind
            ),
            Column("customer", _("Customer"), "客户", CUSTOMER, "customer_id", True),
            Column("opportunity", _("Opportunity"), "商机", OPPORTUNITY, "opportunity_id"),
            owner(required=True),
            Column("occurred_at", _("Occurred at"), "跟进时间", DATETIME, "occurred_at", True),
            Column(
                "duration_minutes",
                _("Duration (minutes)"),
                "时长（分钟）",
                INTEGER,
                "duration_minutes",
            ),
            Column("outcome", _("Outcome"), "结果", CHOICE, "outcome", choices=Outcome),
            Column("summary", _("Summary"), "跟进内容", TEXT, "summary"),
            Column(
                "decision_maker_present",
                _("Decision maker present"),
                "决策人在场",
                BOOLEAN,
                "decision_maker_present",
            ),
            Column("next_step", _("Next step"), "下一步", TEXT, "next_step", max_length=200),
        ),
    )
)
register(
    Kind(
        "stage_history",
        _("Stage history"),
        "pipeline.StageChange",
        (
            external_id(),
            Column("opportunity", _("Opportunity"), "商机", OPPORTUNITY, "opportunity_id", True),
            Column("from_stage", _("From stage"), "原阶段", STAGE, "from_stage_id"),
            Column("to_stage", _("To stage"), "新阶段", STAGE, "to_stage_id", True),
            Column("changed_at", _("Changed at"), "变更时间", DATETIME, "changed_at", True),
            Column("changed_by", _("Changed by"), "变更人", USER, "changed_by_id"),
            Column("note", _("Note"), "备注", TEXT, "note"),
        ),
        append_only=True,
    )
)
register(
    Kind(
        "quotes",
        _("Quotes"),
        "pipeline.Quote",
        (
            external_id(),
            Column("opportunity", _("Opportunity"), "商机", OPPORTUNITY, "opportunity_id", True),
            Column("version", _("Version"), "版本", INTEGER, "version"),
            Column("status", _("Quote status"), "报价状态", CHOICE, "status", choices=QuoteStatus),
            Column(
                "requested_at",
                _("Requested at"),
                "客户要求报价时间",
                DATETIME,
                "requested_at",
                True,
            ),
            Column("sent_at", _("Sent at"), "报价发出时间", DATETIME, "sent_at"),
            Column("amount", _("Amount"), "金额", AMOUNT, "amount"),
            Column("currency", _("Currency"), "币种", CURRENCY, "currency"),
        ),
        natural_key=("opportunity", "version"),
    )
)
register(
    Kind(
        "invoices",
        _("Invoices"),
        "pipeline.Invoice",
        (
            external_id(),
            Column("code", _("Invoice number"), "发票编号", TEXT, "code", True, 32),
            Column("contract", _("Contract"), "合同", CONTRACT, "contract_id", True),
            Column("issued_on", _("Issued on"), "开票日期", DATE, "issued_on", True),
            Column("due_on", _("Due on"), "应收日期", DATE, "due_on", True),
            Column("amount", _("Amount"), "金额", AMOUNT, "amount", True),
            Column("currency", _("Currency"), "币种", CURRENCY, "currency"),
            Column("paid_amount", _("Paid amount"), "已回款金额", AMOUNT, "paid_amount"),
            Column("paid_at", _("Paid at"), "回款时间", DATETIME, "paid_at"),
        ),
        natural_key=("code",),
    )
)
register(
    Kind(
        "targets",
        _("Targets"),
        "pipeline.Target",
        (
            external_id(),
            Column("user", _("Rep"), "销售", USER, "user_id"),
            Column("team", _("Team"), "团队", TEAM, "team_id"),
            Column("period", _("Period"), "周期", CHOICE, "period", choices=TargetPeriod),
            Column(
                "period_start", _("Period starts on"), "周期开始日期", DATE, "period_start", True
            ),
            Column("measure", _("Measure"), "指标", CHOICE, "measure", True, choices=TargetMeasure),
            Column("value", _("Target value"), "目标值", AMOUNT, "value", True),
            Column("currency", _("Currency"), "币种", CURRENCY, "currency"),
        ),
        natural_key=("user", "team", "period", "period_start", "measure"),
    )
)


register(
    Kind(
        "users",
        _("Users"),
        "accounts.User",
        (
            external_id(),
            Column("username", _("User name"), "用户名", TEXT, "username", max_length=150),
            Column("name", _("Name"), "姓名", TEXT, None, max_length=150),
            Column("first_name", _("First name"), "名", TEXT, "first_name", max_length=150),
            Column("last_name", _("Last name"), "姓", TEXT, "last_name", max_length=150),
            Column("email", _("Email"), "邮箱", EMAIL, "email", max_length=254),
            Column("team", _("Team"), "团队", TEAM, "team_id"),
            Column("role", _("Role"), "角色", CHOICE, "role", choices=Role),
            # the manager of the user's team; may be a user further down the same file
            Column("manager", _("Manager"), "上级", TEXT, None, max_length=254),
            Column("hired_on", _("Joined on"), "入职日期", DATE, "hired_on"),
            Column("phone", _("Mobile phone"), "手机", TEXT, "phone", max_length=32),
            Column("is_active", _("Active"), "在职", BOOLEAN, "is_active"),
        ),
        natural_key=("username",),
    )
)


def kind_named(key: str) -> Kind:
    try:
        return KINDS[key]
    except KeyError:
        raise KeyError(
            _("Unknown kind {kind}; choose one of: {known}.").format(
                kind=key, known=", ".join(KINDS)
            )
        ) from None


def template_headers(kind: Kind, language: str) -> list[str]:
    """Return the SalesRadar template's headers for ``kind`` in ``language`` (en or zh-hans)."""
    return [column.zh if language.startswith("zh") else column.en for column in kind.columns]


def choice_lookup(choices: type[models.TextChoices]) -> dict[str, str]:
    """Map every spelling of a choice (value, English and Chinese label) to its value."""
    from django.utils import translation

    from salesradar.imports.parsing import normalize_text

    lookup: dict[str, str] = {}
    for language in ("en", "zh-hans"):
        with translation.override(language):
            for value, label in choices.choices:
                lookup[normalize_text(label).casefold()] = str(value)
    for value in choices.values:
        lookup[normalize_text(value).casefold()] = str(value)
    return lookup
