"""The Celery tasks run the same evaluation as the in-process scheduler (eager here; the real
workers are exercised in tests/notify/test_celery_workers.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from django.utils import timezone

from salesradar.alerts import tasks
from salesradar.alerts.models import Alert, Rule
from salesradar.config.celery import app
from tests.factories import OpportunityFactory, QuoteFactory, TeamFactory, UserFactory


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
