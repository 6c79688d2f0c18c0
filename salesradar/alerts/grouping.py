"""One alert per problem: group the live alerts of one concern about one entity, and rank them.

After a pass, ``group_alerts`` reads every live alert (firing, acknowledged, snoozed) in one
query, maps each to the entity its concern is about (a quote's alert belongs to its deal when
the concern is "deal at risk"), and keeps one ``AlertGroup`` per concern and entity: opened
with its first live member, updated with the reasons, resolved with the last. A rule outside
every concern is its own concern, so every live alert belongs to exactly one group. Writes
are bulk and touch only the groups and alerts that changed.

Priority (higher first) is ``severity × overshoot × stake × breadth``:

- severity: danger 3, warning 1 (the worst reason);
- overshoot: how far past its threshold the worst reason is, value / threshold for a rising
  threshold and threshold / value for a falling one, from 1 to 4 (1 when not a threshold);
- stake: ``1 + log10(1 + amount / 10,000)`` for the deal's amount (1 without one);
- breadth: ``1 + 0.25`` per reason beyond the first.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction

from salesradar.alerts.choices import AlertState
from salesradar.alerts.models import Alert, AlertGroup, Concern, Rule

LIVE_STATES = (AlertState.FIRING, AlertState.ACKNOWLEDGED, AlertState.SNOOZED)
SEVERITY_WEIGHT = {"danger": 3.0, "warning": 1.0}
SEVERITY_RANK = {"": 0, "warning": 1, "danger": 2}
MAX_OVERSHOOT = 4.0
STAKE_UNIT = 10_000.0
CHUNK = 2000
SAME_PROBLEM_WITHIN = dt.timedelta(days=14)
"""A problem that comes back this soon after it cleared reopens its group, not a new one:
a deal that goes quiet again between two touches is the same deal at risk."""

ENTITY_PATHS: dict[tuple[str, str], tuple[str, str]] = {
    ("quote", "opportunity"): ("pipeline.Quote", "opportunity_id"),
    ("quote", "customer"): ("pipeline.Quote", "opportunity__customer_id"),
    ("opportunity", "customer"): ("pipeline.Opportunity", "customer_id"),
    ("invoice", "customer"): ("pipeline.Invoice", "customer_id"),
    ("contract", "customer"): ("pipeline.Contract", "customer_id"),
    ("contract", "opportunity"): ("pipeline.Contract", "opportunity_id"),
}
"""How an alert about one entity is carried up to the entity its concern is about."""


def can_group(grain_entity: str, concern_entity: str) -> bool:
    """Return whether alerts about ``grain_entity`` can belong to a ``concern_entity`` concern."""
    return grain_entity == concern_entity or (grain_entity, concern_entity) in ENTITY_PATHS


@dataclass
class Problem:
    """A group being assembled from its members in this pass."""

    fingerprint: str
    concern_id: int | None
    rule_id: int | None
    entity_type: str
    entity_id: int
    members: list[dict[str, Any]] = field(default_factory=list)


def overshoot(value: float | None, threshold: float | None, op: str) -> float:
    """How far past its threshold a value is, as a factor from 1 to ``MAX_OVERSHOOT``."""
    if value is None or not threshold or op not in (">", ">=", "<", "<="):
        return 1.0
    if op in (">", ">="):
        ratio = value / threshold
    else:
        ratio = threshold / value if value > 0 else MAX_OVERSHOOT
    return max(1.0, min(MAX_OVERSHOOT, ratio))


def priority_of(
    severity: str, worst_overshoot: float, amount: Decimal | None, reasons: int
) -> float:
    """Return the priority of a problem; see the module docstring for the formula."""
    stake = 1.0 + math.log10(1.0 + float(amount or 0) / STAKE_UNIT) if amount else 1.0
    breadth = 1.0 + 0.25 * max(0, reasons - 1)
    return round(SEVERITY_WEIGHT.get(severity, 0.0) * worst_overshoot * stake * breadth, 3)


def carried_up(pairs: Iterable[tuple[str, str, int]]) -> dict[tuple[str, str, int], int | None]:
    """Map (from entity, to entity, id) to the id of the entity it belongs to, set-based."""
    from django.apps import apps

    wanted: dict[tuple[str, str], set[int]] = defaultdict(set)
    for source, target, entity_id in pairs:
        wanted[(source, target)].add(entity_id)
    found: dict[tuple[str, str, int], int | None] = {}
    for (source, target), ids in wanted.items():
        label, path = ENTITY_PATHS[(source, target)]
        model = apps.get_model(label)
        ordered = sorted(ids)
        for start in range(0, len(ordered), CHUNK):
            rows = model.objects.filter(pk__in=ordered[start : start + CHUNK])
            for pk, parent in rows.values_list("pk", path):
                found[(source, target, pk)] = parent
    return found


def amounts_of(opportunity_ids: Iterable[int]) -> dict[int, Decimal]:
    from salesradar.pipeline.models import Opportunity

    ordered = sorted(set(opportunity_ids))
    found: dict[int, Decimal] = {}
    for start in range(0, len(ordered), CHUNK):
        found.update(
            Opportunity.objects.filter(pk__in=ordered[start : start + CHUNK]).values_list(
                "pk", "amount"
            )
        )
    return found


def group_alerts(at: dt.datetime) -> int:
    """Bring every ``AlertGroup`` in line with the live alerts; return the groups changed."""
    rules = {rule.pk: rule for rule in Rule.objects.all()}
    concerns = {concern.pk: concern for concern in Concern.objects.all()}
    live = list(
        Alert.objects.filter(state__in=LIVE_STATES).values(
            "pk",
            "rule_id",
            "entity_type",
            "entity_id",
            "owner_id",
            "team_id",
            "severity",
            "value",
            "threshold",
            "message",
            "condition_since",
            "started_at",
            "group_id",
            "inhibited_by_id",
        )
    )
    hops = [
        (alert["entity_type"], concerns[concern_id].entity_type, alert["entity_id"])
        for alert in live
        if (concern_id := rules[alert["rule_id"]].concern_id) is not None
        and concerns[concern_id].entity_type != alert["entity_type"]
    ]
    parents = carried_up(hops)
    problems: dict[str, Problem] = {}
    for alert in live:
        rule = rules[alert["rule_id"]]
        concern = concerns.get(rule.concern_id) if rule.concern_id else None
        if concern is None:
            key, entity_type, entity_id = rule.key, alert["entity_type"], alert["entity_id"]
        else:
            key, entity_type = concern.key, concern.entity_type
            entity_id = alert["entity_id"]
            if entity_type != alert["entity_type"]:
                parent = parents.get((alert["entity_type"], entity_type, alert["entity_id"]))
                if parent is None:  # e.g. an invoice without a customer: stands alone
                    key, entity_type = rule.key, alert["entity_type"]
                else:
                    entity_id = parent
        fingerprint = f"{key}:{entity_type}:{entity_id}"
        problem = problems.get(fingerprint)
        if problem is None:
            problem = problems[fingerprint] = Problem(
                fingerprint,
                concern.pk if concern is not None and key == concern.key else None,
                None if concern is not None and key == concern.key else rule.pk,
                entity_type,
                entity_id,
            )
        problem.members.append(dict(alert))
    amounts = amounts_of(
        [problem.entity_id for problem in problems.values() if problem.entity_type == "opportunity"]
    )
    return write_groups(problems, rules, amounts, at)


@transaction.atomic
def write_groups(
    problems: dict[str, Problem],
    rules: dict[int, Rule],
    amounts: dict[int, Decimal],
    at: dt.datetime,
) -> int:
    existing: dict[str, AlertGroup] = {g.fingerprint: g for g in AlertGroup.objects.open()}
    fresh = sorted(set(problems) - set(existing))
    recently = {}  # a problem back within SAME_PROBLEM_WITHIN is the same problem, reopened
    for start in range(0, len(fresh), CHUNK):
        for earlier in AlertGroup.objects.filter(
            fingerprint__in=fresh[start : start + CHUNK],
            resolved_at__gte=at - SAME_PROBLEM_WITHIN,
        ).order_by("resolved_at"):
            recently[earlier.fingerprint] = earlier
    reopened: list[AlertGroup] = []
    created: list[tuple[AlertGroup, Problem]] = []
    changed: list[AlertGroup] = []
    for fingerprint, problem in problems.items():
        members = sorted(problem.members, key=lambda alert: member_order(alert, rules))
        worst = members[0]
        reasons = [
            {
                "rule": rules[alert["rule_id"]].key,
                "alert": alert["pk"],
                "severity": alert["severity"],
                "value": alert["value"],
                "threshold": alert["threshold"],
                "message": alert["message"],
            }
            for alert in members
        ]
        stretch = max(
            overshoot(
                alert["value"],
                alert["threshold"],
                str((rules[alert["rule_id"]].condition or {}).get("op", "")),
            )
            for alert in members
        )
        amount = amounts.get(problem.entity_id) if problem.entity_type == "opportunity" else None
        values = {
            "severity": worst["severity"],
            "priority": priority_of(worst["severity"], stretch, amount, len(members)),
            "amount": amount,
            "reasons": reasons,
            "since": min(alert["condition_since"] or alert["started_at"] for alert in members),
            "owner_id": worst["owner_id"],
            "team_id": worst["team_id"],
        }
        group: AlertGroup | None = existing.pop(fingerprint, None)
        if group is None and fingerprint in recently:
            group = recently[fingerprint]
            group.resolved_at = None
            reopened.append(group)
        if group is None:
            group = AlertGroup(
                fingerprint=fingerprint,
                concern_id=problem.concern_id,
                rule_id=problem.rule_id,
                entity_type=problem.entity_type,
                entity_id=problem.entity_id,
                opened_at=at,
                updated_at=at,
                **values,
            )
            created.append((group, problem))
            continue
        if group in reopened or any(
            getattr(group, name) != value for name, value in values.items()
        ):
            for name, value in values.items():
                setattr(group, name, value)
            group.updated_at = at
            changed.append(group)
        problem_group_ids(problem, group)
    for group in existing.values():  # no live member left: the problem is over
        group.resolved_at = group.updated_at = at
        changed.append(group)
    AlertGroup.objects.bulk_create([group for group, _problem in created], batch_size=CHUNK)
    for group, problem in created:
        problem_group_ids(problem, group)
    AlertGroup.objects.bulk_update(
        changed,
        [
            "severity",
            "priority",
            "amount",
            "reasons",
            "since",
            "owner",
            "team",
            "updated_at",
            "resolved_at",
        ],
        batch_size=CHUNK,
    )
    relink = [
        Alert(pk=alert["pk"], group_id=alert["group_id"])
        for problem in problems.values()
        for alert in problem.members
        if alert.get("relink")
    ]
    Alert.objects.bulk_update(relink, ["group"], batch_size=CHUNK)
    return len(created) + len(changed)


def member_order(alert: dict[str, Any], rules: dict[int, Rule]) -> tuple[int, str]:
    """Worst reason first, then by rule key."""
    return (-SEVERITY_RANK.get(alert["severity"], 0), rules[alert["rule_id"]].key)


def problem_group_ids(problem: Problem, group: AlertGroup) -> None:
    """Point the problem's members at ``group``; mark the ones whose link must be written."""
    for alert in problem.members:
        if alert["group_id"] != group.pk:
            alert["group_id"] = group.pk
            alert["relink"] = True
