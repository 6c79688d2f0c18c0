"""The evaluation shared among Celery workers (by rule and team, then one finishing task) gives
exactly the single pass's alerts, states and events (eager here; real workers drain the outbox
in tests/notify/test_celery_workers.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.utils import timezone

from salesradar.accounts.models import Team, User
from salesradar.alerts import tasks
from salesradar.alerts.engine import evaluate, owners_outside, rule_chunks, top_level_teams
from salesradar.alerts.models import Alert, AlertEvent, Rule
from salesradar.alerts.rules import ensure_default_rules
from salesradar.config.celery import app
from salesradar.demo.services import build_demo
from salesradar.notify.models import NotificationBatch
from salesradar.pipeline.models import Opportunity
from tests.factories import OpportunityFactory, QuoteFactory, TeamFactory, UserFactory

TODAY = dt.date(2026, 11, 30)
AT = dt.datetime(2026, 11, 30, 9, tzinfo=ZoneInfo("Asia/Shanghai"))
LATER = AT + dt.timedelta(days=3)


@pytest.fixture
def eager() -> Iterator[None]:
    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


@pytest.mark.django_db
def test_the_fanned_out_evaluation_opens_the_same_alerts_and_stamps_every_rule(eager) -> None:
    rep = UserFactory(team=TeamFactory(), date_joined=timezone.now() - dt.timedelta(days=30))
    QuoteFactory(
        opportunity=OpportunityFactory(owner=rep),
        requested_at=timezone.now() - dt.timedelta(days=4),
    )
    at = timezone.now().isoformat()

    tasks.evaluate_all.apply(kwargs={"at": at})

    alert = Alert.objects.get(rule__key="quote-unanswered")
    assert (alert.state, alert.severity, alert.owner) == ("firing", "danger", rep)
    stamped = set(Rule.objects.filter(enabled=True).values_list("last_evaluated_at", flat=True))
    assert stamped == {dt.datetime.fromisoformat(at)}


def snapshot() -> dict[str, Any]:
    """Everything an evaluation decides, keyed by fingerprint so row ids do not matter."""
    fingerprints = dict(Alert.objects.values_list("pk", "fingerprint"))
    alerts = {
        row["fingerprint"]: {
            **{key: value for key, value in row.items() if key not in ("id", "inhibited_by")},
            "inhibited_by": fingerprints.get(row["inhibited_by"]),
        }
        for row in Alert.objects.values(
            "id",
            "fingerprint",
            "state",
            "severity",
            "value",
            "threshold",
            "reference",
            "message",
            "owner",
            "team",
            "started_at",
            "firing_since",
            "resolved_at",
            "last_evaluated_at",
            "escalation_level",
            "inhibited_by",
        )
    }
    events = sorted(
        (fingerprints[alert_id], at, kind, states, severities, reason, value)
        for alert_id, at, kind, *rest in AlertEvent.objects.values_list(
            "alert_id",
            "at",
            "kind",
            "from_state",
            "to_state",
            "from_severity",
            "to_severity",
            "reason",
            "value",
        )
        for states, severities, reason, value in [
            ((rest[0], rest[1]), (rest[2], rest[3]), rest[4], rest[5])
        ]
    )
    rules = {
        key: (status, error, evaluated)
        for key, status, error, evaluated in Rule.objects.values_list(
            "key", "status", "last_error", "last_evaluated_at"
        )
    }
    return {"alerts": alerts, "events": events, "rules": rules}


def change_hands_and_close_deals() -> None:
    """Between the two passes, deals move to another top-level team and some with alerts close,
    so their alerts are observed by another chunk, or by none."""
    alerted = Alert.objects.filter(entity_type="opportunity").exclude(state="resolved")
    closing = list(alerted.order_by("entity_id").values_list("entity_id", flat=True)[:20])
    Opportunity.objects.filter(pk__in=closing).update(closed_at=AT + dt.timedelta(days=1))
    first, second = top_level_teams()[:2]
    receiver = (
        User.objects.filter(team__path__startswith=second.path, role="rep").order_by("pk").first()
    )
    moved = Opportunity.objects.filter(owner__team__path__startswith=first.path).order_by("pk")
    Opportunity.objects.filter(pk__in=list(moved.values_list("pk", flat=True)[:40])).update(
        owner=receiver
    )


def two_passes(run: Any) -> dict[str, Any]:
    with transaction.atomic():
        run(AT)
        change_hands_and_close_deals()
        run(LATER)
        result = snapshot()
        transaction.set_rollback(True)
    return result


@pytest.mark.django_db
def test_a_pass_shared_by_team_and_rule_equals_the_single_pass_on_the_demo(eager) -> None:
    build_demo(seed=7, size="small", today=TODAY, truth_path=None)
    ensure_default_rules()
    director = User.objects.filter(team__parent__isnull=True).first()
    assert director is not None  # owners outside the regional teams form a chunk of their own
    top_teams = top_level_teams()
    outside = owners_outside(top_teams)
    chunks = [
        chunk for rule in Rule.objects.all() for chunk in rule_chunks(rule, top_teams, outside)
    ]
    assert len(top_teams) >= 2 and len(chunks) > 2 * Rule.objects.count()

    single = two_passes(lambda at: evaluate(at=at))
    shared = two_passes(lambda at: tasks.evaluate_all.apply(kwargs={"at": at.isoformat()}))

    assert len(single["alerts"]) > 50 and len(single["events"]) > 100
    assert {alert["state"] for alert in single["alerts"].values()} >= {"firing", "resolved"}
    assert shared["rules"] == single["rules"]
    assert shared["alerts"] == single["alerts"]
    assert shared["events"] == single["events"]


@pytest.mark.django_db
def test_the_finishing_task_plans_the_pass_once_after_the_last_chunk(eager) -> None:
    root = TeamFactory(code="sales")
    east, west = TeamFactory(code="east", parent=root), TeamFactory(code="west", parent=root)
    for team in (east, west):
        rep = UserFactory(team=team, date_joined=AT - dt.timedelta(days=90))
        QuoteFactory(
            opportunity=OpportunityFactory(owner=rep), requested_at=AT - dt.timedelta(days=4)
        )

    tasks.evaluate_all.apply(kwargs={"at": AT.isoformat()})
    again = tasks.evaluate_all.apply(kwargs={"at": AT.isoformat()})

    batch = NotificationBatch.objects.get(evaluation_at=AT)
    assert batch.state == "planned" and batch.deliveries >= 2
    assert len(batch.chunks_done) == batch.chunks
    assert {key.split(":")[1] for key in batch.chunks_done} >= {
        f"team-{east.pk}",
        f"team-{west.pk}",
    }
    assert again.result == 0  # the same moment is not evaluated twice
    assert Team.objects.count() == 3
