"""A pass writes only the alerts whose state changed; "last evaluated" is the rule's check.

Rewriting every open alert on every pass (only to stamp when it was evaluated) cost 81 of
the 88 seconds of a steady pass at 100,000 deals. An alert stepped without change keeps its
row; the rule's check records the pass, and reminders still count from it.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from salesradar.alerts.choices import AlertState
from salesradar.alerts.engine import last_good_check
from salesradar.alerts.models import Alert, AlertCheck, Rule
from tests.alerts.test_engine import Org, alert_of, build_org, hours, kinds_at, load, run

pytestmark = pytest.mark.django_db

NO_DATA_RULE = """
- id: followups-falling
  metric: rep_followups
  period: week
  history: 8
  condition: {kind: baseline, window: 8, method: mean, direction: below, warning_pct: 30}
"""
REMINDING_RULE = """
- id: quote-slow
  metric: quote_hours_unanswered
  condition: {kind: threshold, op: ">=", warning: 48, danger: 720}
  repeat_interval: 24h
"""


def alert_updates(queries: CaptureQueriesContext) -> list[str]:
    statement = f"UPDATE {connection.ops.quote_name(Alert._meta.db_table)} "
    return [q["sql"] for q in queries if q["sql"].startswith(statement)]


@pytest.fixture
def org(db: None) -> Org:
    return build_org()


def test_an_alert_stepped_without_change_is_not_rewritten(org: Org) -> None:
    rules = load(NO_DATA_RULE)
    run(rules, hours(50))
    alert = alert_of("followups-falling", org.rep.pk)
    assert alert.state == AlertState.NO_DATA  # too little history, and stays so

    with CaptureQueriesContext(connection) as queries:
        run(rules, hours(50.25))

    assert alert_updates(queries) == []
    assert alert_of("followups-falling", org.rep.pk).last_evaluated_at == hours(50)
    rule = Rule.objects.get(key="followups-falling")
    assert rule.last_evaluated_at == hours(50.25)
    assert last_good_check(rule, hours(50.25)) == hours(50.25)
    assert AlertCheck.objects.filter(rule=rule).count() == 2


def test_a_changed_alert_is_written_set_based_with_the_pass_time(org: Org) -> None:
    rules = load(REMINDING_RULE)
    run(rules, hours(50))

    with CaptureQueriesContext(connection) as queries:
        run(rules, hours(51))

    alert = alert_of("quote-slow", org.quote.pk)
    assert alert.value == pytest.approx(51)
    assert alert.last_evaluated_at == hours(51)
    updates = alert_updates(queries)
    assert len(updates) == 1 and "CASE" not in updates[0]


def test_a_reminder_falls_due_once_whether_or_not_the_alert_was_rewritten(org: Org) -> None:
    rules = load(REMINDING_RULE)
    run(rules, hours(50))
    Alert.objects.update(last_notified_at=hours(50))
    reminders = []
    # due 24 h after the notification (hours 74) and again at 98; the pass run a second
    # time at 74 leaves the alert unchanged, so only the rule's check says it was evaluated
    for at in (hours(60), hours(73), hours(74), hours(74), hours(97), hours(98)):
        run(rules, at)
        reminders.append(kinds_at(alert_of("quote-slow", org.quote.pk), at).count("reminded"))

    assert reminders == [0, 0, 1, 1, 0, 1]
