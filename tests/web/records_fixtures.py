"""Builders for the record page tests: a small organisation with two teams and an alert."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from salesradar.accounts.choices import Role
from salesradar.accounts.models import Team, User
from salesradar.alerts.choices import AlertState
from salesradar.alerts.models import Alert, Rule
from tests.factories import TeamFactory, UserFactory


@dataclass
class Org:
    """Two teams under one root; a manager leading the east team, a rep in each team."""

    east: Team
    west: Team
    manager: User
    rep: User
    other_rep: User
    director: User


def build_org() -> Org:
    root = TeamFactory(code="root", name="Sales")
    east = TeamFactory(code="east", name="East", parent=root)
    west = TeamFactory(code="west", name="West", parent=root)
    manager = UserFactory(username="manager", role=Role.MANAGER, team=east)
    east.manager = manager
    east.save()
    rep = UserFactory(username="rep", role=Role.REP, team=east)
    other_rep = UserFactory(username="other", role=Role.REP, team=west)
    director = UserFactory(username="director", role=Role.DIRECTOR, team=root)
    return Org(east, west, manager, rep, other_rep, director)


def make_rule(key: str = "stalled-deal", grain: str = "opportunity") -> Rule:
    return Rule.objects.create(
        key=key,
        names={"en": "Stalled deal", "zh-hans": "商机停滞"},
        metric="days_in_stage",
        grain=grain,
    )


def firing_alert(rule: Rule, entity_type: str, entity_id: int, **fields: Any) -> Alert:
    start = timezone.now() - dt.timedelta(days=2)
    values: dict[str, Any] = {
        "rule": rule,
        "fingerprint": Alert.fingerprint_for(rule.key, entity_type, entity_id),
        "entity_type": entity_type,
        "entity_id": entity_id,
        "state": AlertState.FIRING,
        "severity": "danger",
        "started_at": start,
        "firing_since": start,
        "last_evaluated_at": start,
        "message": "No update for 9 days",
    }
    return Alert.objects.create(**{**values, **fields})
