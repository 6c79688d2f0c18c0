"""An alert's metric over recent periods, next to the levels it is judged against."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from salesradar.alerts.engine import entity_type_for, rule_scope
from salesradar.alerts.models import Alert
from salesradar.metrics.registry import Metric, Scope, compute, get_metric

SNAPSHOT_POINTS = 8  # weekly points for metrics that have no periods of their own
MAX_PERIODS = 24


def _entity_scope(alert: Alert, metric: Metric) -> Scope:
    """Narrow the rule's scope to the alert's entity, so only its rows are computed."""
    try:
        scope = rule_scope(alert.rule)
    except ValueError:  # a team named in the rule is gone; the entity filter still applies
        scope = Scope()
    if metric.grain == "team":
        return dataclasses.replace(scope, team_ids=(alert.entity_id,))
    if metric.grain == "rep":
        return dataclasses.replace(scope, owner_ids=(alert.entity_id,))
    if metric.grain != "org" and alert.owner_id is not None:
        return dataclasses.replace(scope, owner_ids=(alert.owner_id,))
    return scope


def _levels(alert: Alert) -> list[dict[str, Any]]:
    """The constant lines to draw: warning and danger levels, or the level the alert crossed."""
    condition = alert.rule.condition or {}
    levels = [
        {"name": name, "value": condition[name]}
        for name in ("warning", "danger")
        if condition.get("kind") == "threshold" and isinstance(condition.get(name), int | float)
    ]
    if not levels and alert.threshold is not None:
        levels.append({"name": "threshold", "value": alert.threshold})
    if alert.reference is not None:
        levels.append({"name": "reference", "value": alert.reference})
    return levels


def metric_history(alert: Alert, *, at: dt.datetime) -> dict[str, Any]:
    """Return the metric's recent values for the alert's entity and the levels to compare.

    Per-period metrics give their own periods (as many as the rule looks back, at most 24);
    snapshot metrics are computed at weekly points over the last eight weeks. Ratios are
    shown in percent.
    """
    try:
        metric = get_metric(alert.rule.metric)
    except KeyError:
        return {"labels": [], "values": [], "levels": [], "unit": ""}
    entity_type = entity_type_for(metric.grain)
    if entity_type != alert.entity_type and metric.grain != "org":
        return {"labels": [], "values": [], "levels": [], "unit": metric.unit}
    scope = _entity_scope(alert, metric)
    entity_id = 0 if metric.grain == "org" else alert.entity_id
    labels: list[str] = []
    values: list[float | None] = []
    if metric.per_period:
        params = (alert.rule.scope or {}).get("params") or {}
        period = params.get("period", metric.default_period)
        periods = min(int(params.get("history", 12)) + 1, MAX_PERIODS)
        for row in compute(metric, at=at, scope=scope, period=period, periods=periods):
            if row.entity_id == entity_id and row.period is not None:
                labels.append(row.period.isoformat())
                values.append(row.value)
    else:
        for weeks_ago in range(SNAPSHOT_POINTS - 1, -1, -1):
            moment = at - dt.timedelta(weeks=weeks_ago)
            value = next(
                (
                    row.value
                    for row in compute(metric, at=moment, scope=scope)
                    if row.entity_id == entity_id
                ),
                None,
            )
            labels.append(moment.date().isoformat())
            values.append(value)
    scale = 100.0 if metric.unit == "ratio" else 1.0
    shown = [None if value is None else round(value * scale, 2) for value in values]
    levels = [
        {"name": level["name"], "value": round(float(level["value"]) * scale, 2)}
        for level in _levels(alert)
    ]
    return {
        "labels": labels,
        "values": shown,
        "points": list(zip(labels, shown, strict=True)),
        "levels": levels,
        "unit": "%" if metric.unit == "ratio" else metric.unit,
    }
