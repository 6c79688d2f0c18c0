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

from salesradar.accounts.models import Team, User
from salesradar.accounts.visibility import visible
from salesradar.activities.choices import TaskOrigin, TaskStatus
from salesradar.activities.models import Task
from salesradar.alerts.models import Alert
from salesradar.alerts.wording import alert_measure, describe_alerts, format_limit, format_value
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


def visible_entities(alerts: Sequence[Alert], user: Any) -> set[tuple[str, int]]:
    """The (type, id) of the alerts' entities the user may see: one query per entity type."""
    wanted: dict[str, set[int]] = defaultdict(set)
    for alert in alerts:
        wanted[alert.entity_type].add(alert.entity_id)
    found: set[tuple[str, int]] = set()
    for entity_type, ids in wanted.items():
        model = ENTITY_MODELS.get(entity_type)
        if model is None:
            continue
        pks = visible(user, model).filter(pk__in=ids).values_list("pk", flat=True)
        found.update((entity_type, pk) for pk in pks)
    return found


def entity_labels(alerts: Sequence[Alert], user: Any) -> dict[tuple[str, int], dict[str, str]]:
    """Return {(type, id): {"label", "url"}} for the alerts' entities the user may see.

    The label is the alert's wording (``alerts.wording``) in the active language; the link
    goes to the app's page for the entity, or to the alert's own page when it has none.
    """
    seen = visible_entities(alerts, user)
    wordings = describe_alerts(
        [alert for alert in alerts if (alert.entity_type, alert.entity_id) in seen]
    )
    found: dict[tuple[str, int], dict[str, str]] = {}
    for alert in alerts:
        wording = wordings.get(alert.pk)
        if wording is not None:
            found[(alert.entity_type, alert.entity_id)] = {
                "label": wording.entity,
                "url": wording.path,
                "measure": wording.measure,
                "facts": " · ".join(wording.facts),
            }
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


def measure(alert: Alert) -> dict[str, str]:
    """The alert's value against its threshold (and reference), formatted in the metric's unit."""
    try:
        unit = get_metric(alert.rule.metric).unit
    except KeyError:
        unit = ""
    return {
        "value": format_value(alert.value, unit),
        "threshold": format_limit(alert.threshold, unit) or "—",
        "reference": format_value(alert.reference, unit) if alert.reference is not None else "",
        "op": str((alert.rule.condition or {}).get("op", "")),
        "text": alert_measure(alert),
    }


def alert_rows(alerts: Sequence[Alert], user: Any) -> list[dict[str, Any]]:
    """Pair each alert with its entity's label and link, its measure and open task count."""
    labels = entity_labels(alerts, user)
    tasks = open_task_counts(alerts)
    rows = []
    for alert in alerts:
        entity = labels.get(
            (alert.entity_type, alert.entity_id),
            {
                "label": f"{alert.entity_type} #{alert.entity_id}",
                "url": "",
                "measure": "",
                "facts": "",
            },
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
