"""Alerts as the web shows them: what each is about, a link to it, and what was done.

An alert names its entity by type and id; ``alert_rows`` resolves the names of a whole page
of alerts with one query per entity type (never one per alert) and counts the tasks assigned
from them in one more.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from django.db.models import Case, Count, IntegerField, QuerySet, Value, When
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from salesradar.accounts.models import Team, User
from salesradar.accounts.visibility import visible
from salesradar.activities.choices import TaskOrigin, TaskStatus
from salesradar.activities.models import Task
from salesradar.alerts.models import Alert
from salesradar.crm.models import Customer, Lead
from salesradar.metrics.registry import get_metric
from salesradar.pipeline.models import Contract, Invoice, Opportunity, Quote

ENTITY_MODELS: dict[str, Any] = {
    "opportunity": Opportunity,
    "customer": Customer,
    "quote": Quote,
    "lead": Lead,
    "invoice": Invoice,
    "contract": Contract,
    "user": User,
    "team": Team,
}
ENTITY_DETAIL_URLS = {
    # entity type -> URL name of its web page (pages other helpers add are looked up by name)
    "opportunity": "web:opportunity_detail",
    "customer": "web:customer_detail",
}


def by_urgency(alerts: QuerySet[Alert]) -> QuerySet[Alert]:
    """Danger before warning, then the longest-firing first."""
    rank = Case(
        When(severity="danger", then=Value(0)),
        When(severity="warning", then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    return alerts.annotate(severity_rank=rank).order_by(
        "severity_rank", "firing_since", "started_at", "pk"
    )


LIST_DEFERRED = (
    # JSON a list never shows; decoding it for every row of a page dominated the render time
    "labels",
    "rule__descriptions",
    "rule__scope",
    "rule__routing",
    "rule__notify",
    "rule__labels",
    "rule__inhibits",
    "rule__depends_on",
    "rule__source",
)


def for_listing(alerts: QuerySet[Alert]) -> QuerySet[Alert]:
    """Join what a list of alerts shows (rule, owner, team) and leave out what it does not."""
    return alerts.select_related("rule", "owner", "team").defer(*LIST_DEFERRED)


def _label(entity_type: str, obj: Any) -> str:
    if entity_type == "quote":
        return f"{obj.opportunity.code} {obj.opportunity.name} · v{obj.version}"
    if entity_type == "lead":
        return f"{obj.code} {obj.company_name}"
    if entity_type == "customer":
        return str(obj.name)
    return str(obj)


def entity_labels(alerts: Sequence[Alert], user: Any) -> dict[tuple[str, int], dict[str, str]]:
    """Return {(type, id): {"label", "url"}} for the alerts' entities the user may see."""
    wanted: dict[str, set[int]] = defaultdict(set)
    for alert in alerts:
        wanted[alert.entity_type].add(alert.entity_id)
    found: dict[tuple[str, int], dict[str, str]] = {}
    for entity_type, ids in wanted.items():
        model = ENTITY_MODELS.get(entity_type)
        if model is None:
            continue
        queryset = visible(user, model).filter(pk__in=ids)
        if entity_type == "quote":
            queryset = queryset.select_related("opportunity")
        for obj in queryset:
            url = ""
            if entity_type in ENTITY_DETAIL_URLS:
                try:
                    url = reverse(ENTITY_DETAIL_URLS[entity_type], args=[obj.pk])
                except NoReverseMatch:
                    url = ""
            found[(entity_type, obj.pk)] = {"label": _label(entity_type, obj), "url": url}
    return found


def open_task_counts(alerts: Sequence[Alert]) -> dict[int, int]:
    """Open tasks assigned from each alert."""
    refs = [str(alert.pk) for alert in alerts]
    rows = (
        Task.objects.filter(origin=TaskOrigin.ALERT, origin_ref__in=refs, status=TaskStatus.OPEN)
        .values("origin_ref")
        .annotate(n=Count("pk"))
    )
    return {int(row["origin_ref"]): row["n"] for row in rows}


UNIT_SUFFIX: dict[str, Any] = {
    "hours": _("h"),
    "days": _("d"),
    "ratio": "%",
    "count": "",
    "amount": "",
}


def format_measure(value: float | None, unit: str) -> str:
    """Show a metric value in its unit: ratios as percent, hours and days with a suffix."""
    if value is None:
        return "—"
    if unit == "ratio":
        return f"{value * 100:.0f}%"
    number = f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.1f}".removesuffix(".0")
    suffix = str(UNIT_SUFFIX.get(unit, ""))
    return f"{number}{' ' if suffix else ''}{suffix}"


def measure(alert: Alert) -> dict[str, str]:
    """The alert's value against its threshold (and reference), formatted in the metric's unit."""
    try:
        unit = get_metric(alert.rule.metric).unit
    except KeyError:
        unit = ""
    return {
        "value": format_measure(alert.value, unit),
        "threshold": format_measure(alert.threshold, unit),
        "reference": format_measure(alert.reference, unit) if alert.reference is not None else "",
        "op": str((alert.rule.condition or {}).get("op", "")),
    }


def alert_rows(alerts: Sequence[Alert], user: Any) -> list[dict[str, Any]]:
    """Pair each alert with its entity's label and link, its measure and open task count."""
    labels = entity_labels(alerts, user)
    tasks = open_task_counts(alerts)
    rows = []
    for alert in alerts:
        entity = labels.get(
            (alert.entity_type, alert.entity_id),
            {"label": f"{alert.entity_type} #{alert.entity_id}", "url": ""},
        )
        rows.append(
            {
                "alert": alert,
                "entity": entity,
                "measure": measure(alert),
                "open_tasks": tasks.get(alert.pk, 0),
            }
        )
    return rows


def alert_row(alert: Alert, user: Any) -> dict[str, Any]:
    return alert_rows([alert], user)[0]
