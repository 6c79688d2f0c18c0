from __future__ import annotations

import datetime as dt
import time

import pytest
from django.utils import timezone

from salesradar.alerts.models import Alert
from salesradar.config import jobs
from salesradar.core.scheduler import Job, Scheduler
from salesradar.notify.models import InboxMessage
from tests.factories import OpportunityFactory, QuoteFactory, TeamFactory, UserFactory


def test_jobs_run_on_their_interval_and_a_failing_job_does_not_stop_the_others() -> None:
    ticks: list[float] = []

    def broken() -> None:
        raise RuntimeError("boom")

    scheduler = Scheduler(
        jobs=[Job("often", 0.05, lambda: ticks.append(time.monotonic())), Job("bad", 0.05, broken)],
        tick=0.01,
    )
    scheduler.start()
    time.sleep(0.4)
    started = time.monotonic()
    scheduler.stop()

    assert time.monotonic() - started < 1  # stops promptly
    assert len(ticks) >= 3
    good, bad = scheduler.jobs
    assert good.runs == len(ticks) and good.failures == 0
    assert bad.failures >= 3 and bad.runs == 0


def test_a_long_interval_job_runs_once_at_start_and_waits() -> None:
    calls: list[int] = []
    scheduler = Scheduler(jobs=[Job("daily", 86400, lambda: calls.append(1))], tick=0.01)
    scheduler.start()
    time.sleep(0.2)
    scheduler.stop()

    assert calls == [1]


@pytest.mark.django_db
def test_the_scheduled_jobs_evaluate_the_rules_and_deliver_to_the_inbox() -> None:
    team = TeamFactory()
    rep = UserFactory(team=team, date_joined=timezone.now() - dt.timedelta(days=30))
    opportunity = OpportunityFactory(owner=rep)
    QuoteFactory(opportunity=opportunity, requested_at=timezone.now() - dt.timedelta(days=4))

    jobs.evaluate_rules()
    jobs.send_notifications()

    alert = Alert.objects.get(rule__key="quote-unanswered")
    assert (alert.state, alert.severity, alert.owner) == ("firing", "danger", rep)
    assert InboxMessage.objects.filter(user=rep).count() == 1
