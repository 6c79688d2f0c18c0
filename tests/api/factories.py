"""Builders for the API tests: people in a small org and tokens for them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Model
from django.utils import timezone
from rest_framework.test import APIClient

from salesradar.accounts.choices import Role
from salesradar.accounts.models import Team, User
from salesradar.alerts.choices import AlertState
from salesradar.alerts.models import Alert, Rule
from salesradar.api.tokens import issue_token
from tests.factories import TeamFactory, UserFactory

# The list endpoint of every core object, as in ``/api/<name>/``.
CORE_ENDPOINTS = (
    "users",
    "teams",
    "customers",
    "contacts",
    "leads",
    "opportunities",
    "stage-changes",
    "activities",
    "tasks",
    "quotes",
    "contracts",
    "invoices",
    "targets",
    "alerts",
)


@dataclass
class Org:
    """East (managed by ``manager``) with reps ``rep`` and ``peer``; West with ``outsider``."""

    east: Team
    west: Team
    manager: User
    rep: User
    peer: User
    outsider: User
    director: User


def build_org() -> Org:
    east = TeamFactory(code="east", name="East")
    west = TeamFactory(code="west", name="West")
    manager = UserFactory(username="manager", role=Role.MANAGER, team=east)
    east.manager = manager
    east.save()
    return Org(
        east=east,
        west=west,
        manager=manager,
        rep=UserFactory(username="rep", team=east),
        peer=UserFactory(username="peer", team=east),
        outsider=UserFactory(username="outsider", team=west),
        director=UserFactory(username="director", role=Role.DIRECTOR),
    )


def client_for(user: User, scopes: tuple[str, ...] = ("read", "write")) -> APIClient:
    """Return an APIClient authenticated with a fresh token of ``scopes``."""
    issued = issue_token(user, name="tests", scopes=list(scopes))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.secret}")
    return client


def firing_alert(owner: User, *, team: Team | None = None, key: str = "stalled-deal") -> Alert:
    """Store a firing warning about an opportunity, started a day ago."""
    started = timezone.now() - dt.timedelta(days=1)
    rule, _created = Rule.objects.get_or_create(
        key=key,
        defaults={
            "names": {"en": "Stalled deal", "zh-hans": "商机停滞"},
            "metric": "days_in_stage",
            "grain": "opportunity",
            "condition": {"threshold": {"warning": 2, "danger": 7}},
        },
    )
    entity_id = Alert.objects.count() + 1
    return Alert.objects.create(
        rule=rule,
        fingerprint=Alert.fingerprint_for(rule.key, "opportunity", entity_id),
        entity_type="opportunity",
        entity_id=entity_id,
        state=AlertState.FIRING,
        severity="warning",
        value=3.0,
        started_at=started,
        firing_since=started,
        last_evaluated_at=started,
        last_true_at=started,
        owner=owner,
        team=team,
    )


def admin_samples(user: User) -> list[Model]:
    """One row of every model the api app shows in the admin, for the admin's smoke tests."""
    from salesradar.api.models import (
        InboundEvent,
        InboundSource,
        OutboundEvent,
        WebhookSubscription,
    )
    from salesradar.notify.models import Channel
    from tests.notify.servers import WEBHOOK_SECRET

    channel = Channel.objects.create(
        name="events-0001",
        kind="event_webhook",
        config={"url": "https://erp.example/0001"},
        secret=WEBHOOK_SECRET,
    )
    source = InboundSource.objects.create(
        key="crm-0001", system="salesforce", secret=WEBHOOK_SECRET, default_owner=user
    )
    return [
        issue_token(user, name="sync 0001", scopes=["read"]).token,
        WebhookSubscription.objects.create(name="erp 0001", channel=channel, events=["deal.won"]),
        OutboundEvent.objects.create(
            event_type="deal.won", occurred_at=timezone.now(), data={}, source_key="won:0001"
        ),
        source,
        InboundEvent.objects.create(
            source=source, event_id="evt-0001", event_type="customer.upserted", outcome="applied"
        ),
    ]
