"""The problem board and what people do to many problems at once.

``problem_board`` takes the open alert groups a person may see (one per problem, see
``grouping``) and returns the top few per rep by priority, and the rest summed per concern
(or lone rule) with counts, so a manager reads 3 items per rep and a line per kind of
problem instead of hundreds of rows. ``acknowledge_groups`` and ``snooze_groups`` act on the
live member alerts of the chosen groups through the lifecycle's own verbs, one by one, so
each transition is recorded exactly as a single acknowledgement or snooze would be.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from salesradar.alerts.choices import AlertState
from salesradar.alerts.lifecycle import TransitionRefused, acknowledge, snooze
from salesradar.alerts.models import Alert, AlertGroup

TOP_PER_REP = 3


@dataclass
class BoardPile:
    """The groups of one concern (or lone rule) beyond each rep's top items."""

    key: str
    label: str
    count: int = 0
    danger: int = 0
    group_ids: list[int] = field(default_factory=list)


@dataclass
class ProblemBoard:
    top: dict[int | None, list[AlertGroup]]  # owner id -> their highest-priority groups
    piles: list[BoardPile]
    total: int


def problem_board(groups: Iterable[AlertGroup], *, top: int = TOP_PER_REP) -> ProblemBoard:
    """Split open groups into each owner's ``top`` by priority and piles of the rest."""
    ordered = sorted(groups, key=lambda group: (-group.priority, group.opened_at, group.pk))
    per_owner: dict[int | None, list[AlertGroup]] = defaultdict(list)
    piles: dict[str, BoardPile] = {}
    for group in ordered:
        shelf = per_owner[group.owner_id]
        if len(shelf) < top:
            shelf.append(group)
            continue
        key, label = pile_of(group)
        pile = piles.setdefault(key, BoardPile(key, label))
        pile.count += 1
        pile.danger += group.severity == "danger"
        pile.group_ids.append(group.pk)
    return ProblemBoard(
        dict(per_owner),
        sorted(piles.values(), key=lambda pile: (-pile.danger, -pile.count, pile.key)),
        len(ordered),
    )


def pile_of(group: AlertGroup) -> tuple[str, str]:
    """The concern a group is about, or its lone rule: the key and the label to show."""
    if group.concern is not None:
        return group.concern.key, str(group.concern)
    if group.rule is not None:
        return group.rule.key, str(group.rule)
    return group.fingerprint, group.fingerprint


@dataclass
class BulkResult:
    done: int = 0
    refused: list[tuple[int, str]] = field(default_factory=list)  # (alert id, why)


def live_members(groups: Iterable[AlertGroup], states: Iterable[str]) -> list[Alert]:
    ids = [group.pk for group in groups]
    return list(
        Alert.objects.filter(group_id__in=ids, state__in=list(states))
        .select_related("rule")
        .order_by("pk")
    )


def acknowledge_groups(
    groups: Iterable[AlertGroup], *, by: Any, note: str = "", at: dt.datetime
) -> BulkResult:
    """Acknowledge every firing or snoozed alert of ``groups`` with one note."""
    result = BulkResult()
    for alert in live_members(groups, (AlertState.FIRING, AlertState.SNOOZED)):
        try:
            acknowledge(alert, by=by, note=note, at=at)
        except TransitionRefused as refusal:
            result.refused.append((alert.pk, " ".join(refusal.messages)))
        else:
            result.done += 1
    return result


def snooze_groups(
    groups: Iterable[AlertGroup],
    *,
    by: Any,
    until: dt.datetime,
    note: str = "",
    at: dt.datetime,
) -> BulkResult:
    """Snooze every live alert of ``groups`` until ``until``."""
    result = BulkResult()
    states = (AlertState.FIRING, AlertState.ACKNOWLEDGED, AlertState.SNOOZED)
    for alert in live_members(groups, states):
        try:
            snooze(alert, by=by, until=until, note=note, at=at)
        except TransitionRefused as refusal:
            result.refused.append((alert.pk, " ".join(refusal.messages)))
        else:
            result.done += 1
    return result
