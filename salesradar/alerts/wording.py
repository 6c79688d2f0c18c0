"""How an alert reads to a person: what it is about, its value with units, where to open it.

``describe_alerts(alerts, language)`` is the one description every surface uses: the rep's
"my alerts", the cockpit board, the alert list, the inbox, email and IM digests. It names the
entity in words (deal and customer, the rep, the stage, the amount), gives the value in the
metric's unit ("46.8 天未跟进" / "46.8 days without follow-up") against its limit, and the
path of the app's own page for that entity (never the Django admin, which refuses reps and
managers). Everything is rendered in ``language`` (the reader's), with thousands separators
and, in Chinese, 万/亿 for large amounts. The stored ``Alert.message`` is in the language the
evaluation ran in, so it is not what a reader sees.

Entities are loaded with one query per entity type for the whole set of alerts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.urls import NoReverseMatch, reverse
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from salesradar.alerts.models import Alert
from salesradar.metrics.registry import get_metric

HOURS_SHOWN_AS_DAYS = 72.0
"""Beyond three days a count of hours reads better in days ("27.7 days", not "665.56 h")."""

METRIC_PHRASES: dict[str, Promise] = {
    # metric key -> what its value means, with the value in its unit
    "customer_days_since_last_activity": gettext_lazy("{value} days without follow-up"),
    "opportunity_days_since_last_activity": gettext_lazy("{value} days without follow-up"),
    "opportunity_hours_since_update": gettext_lazy("{value} without an update"),
    "opportunity_days_in_stage": gettext_lazy("{value} days in this stage"),
    "opportunity_stage_sla_ratio": gettext_lazy("{value} of the stage's time limit used"),
    "quote_hours_unanswered": gettext_lazy("quote request unanswered for {value}"),
    "lead_hours_without_first_contact": gettext_lazy("{value} without a first contact"),
    "invoice_days_overdue": gettext_lazy("{value} days overdue"),
    "contract_days_to_end_without_renewal": gettext_lazy("ends in {value} days, not renewed"),
    "customer_followups_in_cadence": gettext_lazy("{value} follow-ups in the tier's cadence"),
    "customer_followups_in_tier_cadence": gettext_lazy("{value} follow-ups in the tier's cadence"),
    "rep_followups": gettext_lazy("{value} follow-ups in the period"),
    "team_followups": gettext_lazy("{value} follow-ups in the period"),
    "rep_new_customers": gettext_lazy("{value} new customers in the period"),
    "team_new_customers": gettext_lazy("{value} new customers in the period"),
    "rep_new_pipeline": gettext_lazy("{value} new pipeline in the period"),
    "team_new_pipeline": gettext_lazy("{value} new pipeline in the period"),
    "team_stage_conversion": gettext_lazy("stage conversion {value}"),
    "rep_stage_conversion": gettext_lazy("stage conversion {value}"),
    "org_stage_conversion": gettext_lazy("stage conversion {value}"),
    "team_stage_regression_rate": gettext_lazy("{value} of stage moves went backwards"),
    "rep_stage_regression_rate": gettext_lazy("{value} of stage moves went backwards"),
    "org_stage_regression_rate": gettext_lazy("{value} of stage moves went backwards"),
    "team_win_rate": gettext_lazy("win rate {value}"),
    "rep_win_rate": gettext_lazy("win rate {value}"),
    "org_win_rate": gettext_lazy("win rate {value}"),
    "team_quote_hit_rate": gettext_lazy("quote hit rate {value}"),
    "rep_quote_hit_rate": gettext_lazy("quote hit rate {value}"),
    "org_quote_hit_rate": gettext_lazy("quote hit rate {value}"),
    "team_sales_cycle_days": gettext_lazy("sales cycle {value} days"),
    "rep_sales_cycle_days": gettext_lazy("sales cycle {value} days"),
    "org_sales_cycle_days": gettext_lazy("sales cycle {value} days"),
    "team_quote_response_hours": gettext_lazy("quotes answered in {value} on average"),
    "rep_quote_response_hours": gettext_lazy("quotes answered in {value} on average"),
    "rep_lead_first_response_hours": gettext_lazy("leads first contacted after {value}"),
    "rep_target_attainment_projection": gettext_lazy("projected to reach {value} of the target"),
    "rep_pipeline_coverage": gettext_lazy("pipeline covers {value} of the remaining target"),
    "team_high_value_touch_density": gettext_lazy("{value} touches per high-value customer"),
    "team_days_since_activity_logged": gettext_lazy("{value} days since anyone logged a follow-up"),
    "org_churn_rate": gettext_lazy("churn rate {value}"),
    "rep_lead_recalls": gettext_lazy("{value} leads recalled to the pool"),
}
UNIT_PHRASES: dict[str, Promise] = {
    # fallback when a metric has no phrase of its own
    "days": gettext_lazy("{value} days"),
}
ENTITY_KINDS: dict[str, Promise] = {
    "opportunity": gettext_lazy("Deal"),
    "customer": gettext_lazy("Customer"),
    "quote": gettext_lazy("Quote"),
    "invoice": gettext_lazy("Invoice"),
    "contract": gettext_lazy("Contract"),
    "lead": gettext_lazy("Lead"),
    "user": gettext_lazy("Rep"),
    "team": gettext_lazy("Team"),
}
CURRENCY_SYMBOLS = {"CNY": "¥", "RMB": "¥", "USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}


def is_chinese(language: str | None = None) -> bool:
    return (language or translation.get_language() or "").lower().startswith("zh")


def format_number(value: float | Decimal, *, decimals: int = 1) -> str:
    """Group thousands and drop a trailing ``.0``: 12,345.6, 46.8, 3."""
    number = float(value)
    text = f"{number:,.{decimals}f}" if decimals else f"{number:,.0f}"
    if decimals and text.endswith("." + "0" * decimals):
        text = text[: -(decimals + 1)]
    return text


def format_amount(amount: float | Decimal | None, currency: str = "CNY") -> str:
    """Show money as a person writes it in the active language: ¥12.3万 / ¥123,456."""
    if amount is None:
        return "—"
    value = float(amount)
    symbol = CURRENCY_SYMBOLS.get(currency.upper(), "")
    prefix = symbol or f"{currency.upper()} "
    if is_chinese() and abs(value) >= 100_000_000:
        return f"{prefix}{format_number(value / 1e8)}亿"
    if is_chinese() and abs(value) >= 10_000:
        return f"{prefix}{format_number(value / 1e4)}万"
    return f"{prefix}{format_number(value, decimals=0)}"


def format_value(value: float | None, unit: str) -> str:
    """A metric value in its unit: 46.8 / 27.7 days / 18 hours / 85%."""
    if value is None:
        return "—"
    if unit == "ratio":
        return f"{format_number(value * 100, decimals=0)}%"
    if unit == "hours":
        if abs(value) >= HOURS_SHOWN_AS_DAYS:
            return _("{days} days").format(days=format_number(value / 24))
        return _("{hours} hours").format(hours=format_number(value))
    if unit == "amount":
        return format_amount(value)
    return format_number(value)


def format_limit(value: float | None, unit: str) -> str:
    """The rule's limit in the same words as the value, with the unit: "30 days", "80%"."""
    if value is None:
        return ""
    if unit == "days":
        return _("{days} days").format(days=format_number(value))
    return format_value(value, unit)


def measure_text(metric_key: str, value: float | None, threshold: float | None) -> str:
    """The value with its meaning and unit, and the limit it crossed, in the active language."""
    try:
        unit = get_metric(metric_key).unit
    except KeyError:
        unit = ""
    phrase = METRIC_PHRASES.get(metric_key) or UNIT_PHRASES.get(unit)
    shown = format_value(value, unit)
    text = str(phrase).format(value=shown) if phrase else shown
    if threshold is not None:
        text = _("{measure} (limit {limit})").format(
            measure=text, limit=format_limit(threshold, unit)
        )
    return text


def alert_measure(alert: Alert) -> str:
    """The alert's value in words and units; without a value (no data, error) its message."""
    if alert.value is None:
        return alert.message or "—"
    return measure_text(alert.rule.metric, alert.value, alert.threshold)


@dataclass(frozen=True)
class AlertWording:
    """One alert as a reader sees it; every string already in the reader's language."""

    title: str  # the rule's name
    entity: str  # "Deal O0001 ERP upgrade · 上海某某科技"
    measure: str  # "46.8 days without follow-up (limit 30 days)"
    facts: tuple[str, ...] = field(default=())  # ("Owner 王芳", "Stage Proposal", "Amount ¥12万")
    path: str = ""  # the app's page for the entity (or the alert's own page)

    @property
    def detail(self) -> str:
        """The measure followed by the facts, for one-line channels."""
        return " · ".join((self.measure, *self.facts))


def _path(name: str, pk: int) -> str:
    try:
        return reverse(name, args=[pk])
    except NoReverseMatch:
        return ""


def _fact(label: str, value: Any) -> str:
    return _("{label} {value}").format(label=label, value=value)


def _load(entity_type: str, ids: set[int]) -> dict[int, Any]:
    from salesradar.accounts.models import Team, User
    from salesradar.crm.models import Customer, Lead
    from salesradar.pipeline.models import Contract, Invoice, Opportunity, Quote

    querysets: dict[str, Any] = {
        "opportunity": Opportunity.objects.select_related("customer", "owner", "stage"),
        "customer": Customer.objects.select_related("owner"),
        "quote": Quote.objects.select_related(
            "opportunity__customer", "opportunity__owner", "opportunity__stage"
        ),
        "invoice": Invoice.objects.select_related("customer__owner"),
        "contract": Contract.objects.select_related("customer__owner"),
        "lead": Lead.objects.select_related("owner"),
        "user": User.objects.select_related("team"),
        "team": Team.objects.all(),
    }
    queryset = querysets.get(entity_type)
    if queryset is None:
        return {}
    return queryset.in_bulk(list(ids))


def _describe_entity(entity_type: str, obj: Any) -> tuple[str, list[str], str]:
    """Return (name in words, facts, page path) for one loaded entity."""
    kind = str(ENTITY_KINDS.get(entity_type, entity_type))
    if entity_type == "opportunity":
        facts = [
            _fact(_("Owner"), obj.owner),
            _fact(_("Stage"), obj.stage),
            _fact(_("Amount"), format_amount(obj.amount, obj.currency)),
        ]
        name = f"{kind} {obj.code} {obj.name} · {obj.customer.name}"
        return name, facts, _path("web:opportunity_detail", obj.pk)
    if entity_type == "customer":
        facts = [_fact(_("Owner"), obj.owner or _("public pool")), _fact(_("Tier"), obj.tier)]
        return f"{kind} {obj.name}", facts, _path("web:customer_detail", obj.pk)
    if entity_type == "quote":
        deal = obj.opportunity
        facts = [
            _fact(_("Owner"), deal.owner),
            _fact(_("Stage"), deal.stage),
            _fact(_("Amount"), format_amount(obj.amount, obj.currency)),
        ]
        name = f"{kind} v{obj.version} · {deal.code} {deal.name} · {deal.customer.name}"
        return name, facts, _path("web:opportunity_detail", deal.pk)
    if entity_type in ("invoice", "contract"):
        facts = [
            _fact(_("Owner"), obj.customer.owner or _("public pool")),
            _fact(_("Amount"), format_amount(obj.amount, obj.currency)),
        ]
        name = f"{kind} {obj.code} · {obj.customer.name}"
        return name, facts, _path("web:customer_detail", obj.customer_id)
    if entity_type == "lead":
        facts = [_fact(_("Owner"), obj.owner or _("public pool"))]
        return f"{kind} {obj.code} {obj.company_name}", facts, _path("web:lead_detail", obj.pk)
    if entity_type == "user":
        facts = [_fact(_("Team"), obj.team)] if obj.team_id else []
        return f"{kind} {obj}", facts, ""
    return f"{kind} {obj}", [], ""


def describe_alerts(
    alerts: Sequence[Alert], language: str | None = None
) -> dict[int, AlertWording]:
    """Describe each alert (keyed by its id) for a reader of ``language`` (default: active)."""
    wanted: dict[str, set[int]] = defaultdict(set)
    for alert in alerts:
        wanted[alert.entity_type].add(alert.entity_id)
    with translation.override(language or translation.get_language()):
        loaded = {kind: _load(kind, ids) for kind, ids in wanted.items()}
        described: dict[int, AlertWording] = {}
        for alert in alerts:
            obj = loaded.get(alert.entity_type, {}).get(alert.entity_id)
            facts: list[str]
            if obj is None:
                kind = str(ENTITY_KINDS.get(alert.entity_type, alert.entity_type))
                name, facts, path = f"{kind} #{alert.entity_id}", [], ""
            else:
                name, facts, path = _describe_entity(alert.entity_type, obj)
            described[alert.pk] = AlertWording(
                title=str(alert.rule),
                entity=name,
                measure=alert_measure(alert),
                facts=tuple(facts),
                path=path or _path("web:alert_detail", alert.pk),
            )
    return described


def describe_alert(alert: Alert, language: str | None = None) -> AlertWording:
    return describe_alerts([alert], language)[alert.pk]


def absolute(path: str, base_url: str) -> str:
    """Join the app's base address and a path for links inside messages."""
    return f"{base_url.rstrip('/')}{path}" if path else f"{base_url.rstrip('/')}/"


def alerts_of(rows: Iterable[tuple[Any, Alert]]) -> list[Alert]:
    """The distinct alerts of (event, alert) pairs, in order."""
    seen: dict[int, Alert] = {}
    for _event, alert in rows:
        seen.setdefault(alert.pk, alert)
    return list(seen.values())
