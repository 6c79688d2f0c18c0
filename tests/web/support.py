"""Builders shared by the cockpit, alert, rule, inbox and auth page tests."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.test import Client
from django.utils import timezone

from salesradar.accounts.choices import Role
from salesradar.accounts.models import Team, User
from salesradar.alerts.choices import AlertState
from salesradar.alerts.models import Alert, Rule
from salesradar.alerts.rules import ensure_default_rules
from tests.factories import TeamFactory, UserFactory


def english_client(user: User | None = None, **defaults: Any) -> Client:
    """Return a test client that asks for English pages, signed in as ``user`` if given."""
    client = Client(HTTP_ACCEPT_LANGUAGE="en", **defaults)
    if user is not None:
        client.force_login(user)
    return client


def htmx_headers() -> dict[str, str]:
    return {"HX-Request": "true"}


@dataclass
class Company:
    """A root department with an east and a west team, each with a rep; east has a manager."""

    root: Team
    east: Team
    west: Team
    manager: User
    east_rep: User
    west_rep: User
    director: User
    ops: User
    admin: User


def build_company() -> Company:
    root = TeamFactory(code="sales", name="Sales")
    east = TeamFactory(code="east", name="East", parent=root)
    west = TeamFactory(code="west", name="West", parent=root)
    manager = UserFactory(username="mgr-east", role=Role.MANAGER, team=east)
    east.manager = manager
    east.save()
    return Company(
        root=root,
        east=east,
        west=west,
        manager=manager,
        east_rep=UserFactory(username="rep-east", role=Role.REP, team=east),
        west_rep=UserFactory(username="rep-west", role=Role.REP, team=west),
        director=UserFactory(username="director", role=Role.DIRECTOR, team=root),
        ops=UserFactory(username="ops", role=Role.OPS, team=root),
        admin=UserFactory(username="boss", role=Role.ADMIN, is_staff=True, is_superuser=True),
    )


def default_rule(key: str = "customer-a-not-followed") -> Rule:
    """Return a rule of the shipped pack (loading the pack and the default process once)."""
    ensure_default_rules()
    return Rule.objects.get(key=key)


def alert_on(
    rule: Rule,
    *,
    owner: User | None,
    entity_type: str = "customer",
    entity_id: int = 1,
    state: AlertState = AlertState.FIRING,
    severity: str = "danger",
    age: dt.timedelta = dt.timedelta(days=2),
    **fields: Any,
) -> Alert:
    """Store an alert of ``rule`` about one entity as the engine would have left it."""
    start = timezone.now() - age
    values: dict[str, Any] = {
        "rule": rule,
        "fingerprint": Alert.fingerprint_for(rule.key, entity_type, entity_id),
        "entity_type": entity_type,
        "entity_id": entity_id,
        "state": state,
        "severity": severity,
        "value": 9.0,
        "threshold": 7.0,
        "owner": owner,
        "team": owner.team if owner is not None else None,
        "started_at": start,
        "firing_since": start if state == AlertState.FIRING else None,
        "last_evaluated_at": start,
        "last_true_at": start,
        "message": "9 days without a follow-up",
    }
    if state == AlertState.ACKNOWLEDGED:
        values["acknowledged_at"] = start
    if state == AlertState.SNOOZED:
        values["snoozed_until"] = timezone.now() + dt.timedelta(hours=4)
    if state == AlertState.RESOLVED:
        values["resolved_at"] = start
    return Alert.objects.create(**{**values, **fields})
