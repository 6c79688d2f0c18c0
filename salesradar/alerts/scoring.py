"""Score the open alerts against a ground truth such as the demo's ``ground_truth.json``.

Recall: a planted problem is caught when its entity has an open warning or danger alert.
Danger precision: a danger alert is justified when its entity is in the ground truth
(planted, or a recorded consequence of a plant), or when it is genuinely abnormal: its value
lies in the most extreme ``tail`` share of that rule's metric across every entity the rule
covered at the same moment. The second test needs no knowledge of how problems were planted;
it asks only whether the entity stands out from its peers on the rule's own measure.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from salesradar.alerts.choices import AlertState
from salesradar.alerts.engine import rule_scope
from salesradar.alerts.models import Alert, Rule
from salesradar.metrics.registry import compute, get_metric

LIVE_STATES = (AlertState.PENDING, AlertState.FIRING, AlertState.ACKNOWLEDGED, AlertState.SNOOZED)
LOWER_IS_WORSE = ("<", "<=")


@dataclass
class Score:
    planted: int = 0
    caught: int = 0
    missed: list[dict[str, Any]] = field(default_factory=list)
    recall_by_kind: dict[str, tuple[int, int]] = field(default_factory=dict)
    danger_alerts: int = 0
    danger_in_truth: int = 0
    danger_abnormal: int = 0
    unjustified: list[tuple[str, str, int]] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.caught / self.planted if self.planted else 1.0

    @property
    def danger_precision_strict(self) -> float:
        return self.danger_in_truth / self.danger_alerts if self.danger_alerts else 1.0

    @property
    def danger_precision(self) -> float:
        justified = self.danger_in_truth + self.danger_abnormal
        return justified / self.danger_alerts if self.danger_alerts else 1.0


def worse_direction(rule: Rule) -> int:
    """Return +1 when larger values are worse for this rule, -1 when smaller ones are."""
    condition = rule.condition or {}
    if condition.get("kind") == "threshold":
        return -1 if condition.get("op") in LOWER_IS_WORSE else 1
    if condition.get("direction") in ("below", "drop", "down"):
        return -1
    return 1


def abnormal_entities(rule: Rule, at: dt.datetime, tail: float) -> set[int]:
    """Entities whose latest value is within the worst ``tail`` share of the rule's metric."""
    metric = get_metric(rule.metric)
    scope = rule_scope(rule)
    rows = compute(metric, at=at, scope=scope, period=scope.params.get("period"), periods=1)
    values = [(row.entity_id, row.value) for row in rows if row.value is not None]
    if not values:
        return set()
    sign = worse_direction(rule)
    ranked = sorted(values, key=lambda item: sign * item[1], reverse=True)
    cut = max(1, int(len(ranked) * tail))
    return {entity for entity, _value in ranked[:cut]}


def score(truth: Iterable[Mapping[str, Any]], *, at: dt.datetime, tail: float = 0.05) -> Score:
    """Compare the alerts open now with ``truth`` (entries with kind, entity_type, entity_id)."""
    entries = list(truth)
    result = Score()
    alerts = list(
        Alert.objects.filter(
            state__in=LIVE_STATES, severity__in=("warning", "danger")
        ).select_related("rule")
    )
    flagged = {(alert.entity_type, alert.entity_id) for alert in alerts}
    known = {(entry["entity_type"], entry["entity_id"]) for entry in entries}
    per_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for entry in entries:
        if not entry.get("planted", True):
            continue
        result.planted += 1
        per_kind[entry["kind"]][1] += 1
        if (entry["entity_type"], entry["entity_id"]) in flagged:
            result.caught += 1
            per_kind[entry["kind"]][0] += 1
        else:
            result.missed.append(dict(entry))
    result.recall_by_kind = {kind: (hit, total) for kind, (hit, total) in per_kind.items()}
    abnormal_cache: dict[int, set[int]] = {}
    for alert in alerts:
        if alert.severity != "danger":
            continue
        result.danger_alerts += 1
        if (alert.entity_type, alert.entity_id) in known:
            result.danger_in_truth += 1
            continue
        if alert.rule_id not in abnormal_cache:
            abnormal_cache[alert.rule_id] = abnormal_entities(alert.rule, at, tail)
        if alert.entity_id in abnormal_cache[alert.rule_id]:
            result.danger_abnormal += 1
        else:
            result.unjustified.append((alert.rule.key, alert.entity_type, alert.entity_id))
    return result
