"""Builders for the notification tests: a small organisation, rules and alert events."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from salesradar.accounts.choices import Role
from salesradar.alerts.choices import AlertState, EventKind
from salesradar.alerts.models import Alert, AlertEvent, Rule
from tests.factories import TeamFactory, UserFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2025, 6, 2, 10, 0, tzinfo=SHANGHAI)  # a Monday morning


@pytest.fixture
def org(db: None) -> dict[str, Any]:
    root = TeamFactory(code="sales")
    east = TeamFactory(code="east", parent=root)
    director = UserFactory(username="director", role=Role.DIRECTOR, team=root)
    manager = UserFactory(username="manager", role=Role.MANAGER, team=east)
    rep = UserFactory(username="rep", role=Role.REP, team=east, language="en")
    root.manager, east.manager = director, manager
    root.save()
    east.save()
    return {"root": root, "east": east, "director": director, "manager": manager, "rep": rep}


def make_rule(key: str = "quote-unanswered", to: list[str] | None = None) -> Rule:
    return Rule.objects.create(
        key=key,
        names={"en": "Quote request not answered", "zh-hans": "报价请求未回复"},
        metric="quote_hours_unanswered",
        grain="quote",
        routing={"to": to or ["owner", "manager"]},
    )


def fire(
    rule: Rule,
    org: dict[str, Any],
    entity_id: int,
    *,
    severity: str = "warning",
    kind: str = EventKind.FIRING,
    at: dt.datetime = T0,
    level: int = 0,
) -> AlertEvent:
    alert, _created = Alert.objects.get_or_create(
        fingerprint=Alert.fingerprint_for(rule.key, "quote", entity_id),
        defaults={
            "rule": rule,
            "entity_type": "quote",
            "entity_id": entity_id,
            "state": AlertState.FIRING,
            "severity": severity,
            "message": f"{entity_id * 10} hours without reply",
            "owner": org["rep"],
            "team": org["east"],
            "started_at": at,
            "firing_since": at,
            "last_evaluated_at": at,
            "escalation_level": level,
        },
    )
    return AlertEvent.objects.create(
        alert=alert,
        at=at,
        kind=kind,
        from_state="pending",
        to_state="firing",
        to_severity=severity,
        reason=alert.message,
    )
