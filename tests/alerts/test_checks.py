"""Alert state survives failures: one check per rule per pass, transient and rule errors apart.

Three quotes of one rep wait for an answer; the rule fires at 48 hours and escalates every
12 hours. One alert is acknowledged, one snoozed, one left to escalate; then a pass fails,
either because the database is away (transient) or because the rule itself is broken.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import OperationalError

from salesradar.accounts.choices import Role
from salesradar.alerts import engine
from salesradar.alerts.choices import AlertState, CheckOutcome, EventKind
from salesradar.alerts.lifecycle import acknowledge, snooze
from salesradar.alerts.models import Alert, AlertCheck, AlertEvent, Rule
from salesradar.metrics.registry import METRICS
from salesradar.notify.models import Delivery
from salesradar.notify.services import plan_notifications
from tests.alerts.test_engine import Org, alert_of, build_org, hours, load, run
from tests.factories import QuoteFactory, UserFactory

pytestmark = pytest.mark.django_db

ESCALATING_RULE = """
- id: quote-slow
  metric: quote_hours_unanswered
  condition: {kind: threshold, op: ">=", warning: 48, danger: 1000}
  escalate_after: 12h
"""
METRIC = "quote_hours_unanswered"


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retry at once: the waits between attempts are for a real database to come back."""
    monkeypatch.setattr(engine, "RETRY_DELAYS", (0.0, 0.0))


@pytest.fixture
def org(db: None) -> Org:
    return build_org()


def failing(error: Exception, times: int | None = None) -> Callable[..., Any]:
    """Return a replacement for the metric's ``rows`` that raises ``error`` (``times`` times)."""
    original = METRICS[METRIC].rows
    calls = {"count": 0}

    def rows(**kwargs: Any) -> Any:
        calls["count"] += 1
        if times is None or calls["count"] <= times:
            raise error
        return original(**kwargs)

    return rows


def three_alerts_in_three_states(org: Org) -> tuple[Alert, Alert, Alert]:
    """Fire three quote alerts at 50 h; acknowledge one, snooze one, let one escalate by 70 h."""
    rules = load(ESCALATING_RULE)
    second = QuoteFactory(opportunity=org.quote.opportunity, requested_at=org.quote.requested_at)
    third = QuoteFactory(opportunity=org.quote.opportunity, requested_at=org.quote.requested_at)
    run(rules, hours(50))
    plan_notifications(until=hours(50))
    acknowledge(alert_of("quote-slow", org.quote.pk), by=org.rep, note="calling", at=hours(51))
    snooze(alert_of("quote-slow", second.pk), by=org.rep, until=hours(300), at=hours(51))
    run(rules, hours(70))
    plan_notifications(until=hours(70))
    return (
        alert_of("quote-slow", org.quote.pk),
        alert_of("quote-slow", second.pk),
        alert_of("quote-slow", third.pk),
    )


def state_of(alert: Alert) -> tuple[Any, ...]:
    alert.refresh_from_db()
    return (
        alert.state,
        alert.severity,
        alert.acknowledged_by_id,
        alert.ack_note,
        alert.snoozed_until,
        alert.firing_since,
        alert.escalation_level,
    )


def test_pass_failing_with_operational_error_between_good_passes_changes_and_sends_nothing(
    org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    acknowledged, snoozed, escalated = three_alerts_in_three_states(org)
    assert escalated.escalation_level == 1
    before = [state_of(alert) for alert in (acknowledged, snoozed, escalated)]
    deliveries = Delivery.objects.count()
    rules = {"quote-slow": Rule.objects.get(key="quote-slow")}

    with monkeypatch.context() as patch:
        patch.setattr(METRICS[METRIC], "rows", failing(OperationalError("database is locked")))
        run(rules, hours(71))
    assert plan_notifications(until=hours(71)) == 0
    run(rules, hours(72))

    assert plan_notifications(until=hours(72)) == 0
    assert Delivery.objects.count() == deliveries
    assert [state_of(alert) for alert in (acknowledged, snoozed, escalated)] == before
    assert not AlertEvent.objects.filter(at__in=[hours(71), hours(72)]).exists()
    check = AlertCheck.objects.get(rule__key="quote-slow", evaluated_at=hours(71))
    assert (check.outcome, check.attempts, check.events) == (CheckOutcome.TRANSIENT, 3, 0)
    assert check.error == "OperationalError: database is locked"
    rule = Rule.objects.get(key="quote-slow")
    assert (rule.status, rule.last_evaluated_at) == ("ok", hours(72))


def test_transient_error_that_clears_on_retry_evaluates_the_rule_in_the_same_pass(
    org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    rules = load(ESCALATING_RULE)
    monkeypatch.setattr(
        METRICS[METRIC], "rows", failing(OperationalError("server closed the connection"), 1)
    )

    run(rules, hours(50))

    check = AlertCheck.objects.get(rule__key="quote-slow", evaluated_at=hours(50))
    assert (check.outcome, check.attempts, check.error) == (CheckOutcome.OK, 2, "")
    assert (check.evaluated, check.matched, check.opened, check.fired) == (1, 1, 1, 1)
    assert alert_of("quote-slow", org.quote.pk).state == AlertState.FIRING


def test_check_records_the_rule_version_condition_counts_and_duration(org: Org) -> None:
    rules = load(ESCALATING_RULE)
    run(rules, hours(50))
    org.quote.sent_at = hours(60)
    org.quote.save()

    run(rules, hours(61))

    first, second = AlertCheck.objects.filter(rule__key="quote-slow").order_by("evaluated_at")
    assert first.rule_version == Rule.objects.get(key="quote-slow").version
    assert first.condition["condition"] == {
        "kind": "threshold",
        "op": ">=",
        "warning": 48,
        "danger": 1000,
    }
    assert (first.evaluated, first.matched, first.opened, first.fired, first.resolved) == (
        1,
        1,
        1,
        1,
        0,
    )
    assert (second.matched, second.opened, second.resolved, second.events) == (0, 0, 1, 1)
    assert first.duration_ms >= 0 and first.outcome == CheckOutcome.OK


def test_broken_rule_is_marked_error_keeps_its_alerts_and_tells_ops_once(
    org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    ops = UserFactory(role=Role.OPS, language="en")
    acknowledged, snoozed, escalated = three_alerts_in_three_states(org)
    before = [state_of(alert) for alert in (acknowledged, snoozed, escalated)]
    rules = {"quote-slow": Rule.objects.get(key="quote-slow")}

    with monkeypatch.context() as patch:
        patch.setattr(METRICS[METRIC], "rows", failing(RuntimeError("warehouse offline")))
        run(rules, hours(71))
        plan_notifications(until=hours(71))
        run(rules, hours(71.5))
        plan_notifications(until=hours(71.5))

    rule = Rule.objects.get(key="quote-slow")
    assert (rule.status, rule.last_error) == ("error", "RuntimeError: warehouse offline")
    assert [state_of(alert) for alert in (acknowledged, snoozed, escalated)] == before
    checks = AlertCheck.objects.filter(rule=rule, outcome=CheckOutcome.RULE_ERROR)
    assert list(checks.order_by("evaluated_at").values_list("new_failure", flat=True)) == [
        True,
        False,
    ]
    notices = Delivery.objects.filter(recipient=ops)
    assert notices.count() == 1
    assert "warehouse offline" in notices.get().payload["text"]
    assert not Delivery.objects.filter(recipient=org.rep, evaluation_at__gte=hours(71)).exists()

    run(rules, hours(72))

    assert Rule.objects.get(key="quote-slow").status == "ok"
    assert [state_of(alert) for alert in (acknowledged, snoozed, escalated)] == before
    assert not AlertEvent.objects.filter(at=hours(72), kind=EventKind.FIRING).exists()


def test_transient_error_persisting_three_passes_is_taken_as_the_rules_fault(
    org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    rules = load(ESCALATING_RULE)
    run(rules, hours(50))
    monkeypatch.setattr(METRICS[METRIC], "rows", failing(OperationalError("no such table: x")))

    for at in (hours(51), hours(52), hours(53)):
        run(rules, at)

    outcomes = AlertCheck.objects.filter(rule__key="quote-slow", evaluated_at__gt=hours(50))
    assert list(outcomes.order_by("evaluated_at").values_list("outcome", flat=True)) == [
        CheckOutcome.TRANSIENT,
        CheckOutcome.TRANSIENT,
        CheckOutcome.RULE_ERROR,
    ]
    assert Rule.objects.get(key="quote-slow").status == "error"
    assert alert_of("quote-slow", org.quote.pk).state == AlertState.FIRING


def test_evaluating_the_same_moment_twice_keeps_one_check(org: Org) -> None:
    rules = load(ESCALATING_RULE)

    run(rules, hours(50))
    run(rules, hours(50))

    check = AlertCheck.objects.get(rule__key="quote-slow")
    assert (check.evaluated_at, check.opened, check.attempts) == (hours(50), 1, 2)


# --- Since when the problem exists ------------------------------------------------------------


def test_condition_since_is_when_the_threshold_was_crossed_not_when_the_engine_looked(
    org: Org,
) -> None:
    rules = load(ESCALATING_RULE)

    run(rules, hours(100))

    alert = alert_of("quote-slow", org.quote.pk)
    assert alert.condition_since == hours(48)
    assert alert.since == hours(48)
    assert (alert.started_at, alert.firing_since) == (hours(100), hours(100))


def test_condition_since_stays_through_the_episode_and_restarts_with_a_new_one(org: Org) -> None:
    rules = load(ESCALATING_RULE)
    run(rules, hours(60))
    run(rules, hours(70))
    assert alert_of("quote-slow", org.quote.pk).condition_since == hours(48)
    org.quote.sent_at = hours(71)
    org.quote.save()
    run(rules, hours(72))
    again = QuoteFactory(opportunity=org.quote.opportunity, requested_at=hours(80))

    run(rules, hours(140))

    assert alert_of("quote-slow", again.pk).condition_since == hours(128)
    assert alert_of("quote-slow", org.quote.pk).state == AlertState.RESOLVED


def test_condition_since_of_a_falling_threshold_is_the_first_true_evaluation(org: Org) -> None:
    rules = load(
        """
        - id: quote-young
          metric: quote_hours_unanswered
          condition: {kind: threshold, op: "<", warning: 1000}
        """
    )

    run(rules, hours(50))

    assert alert_of("quote-young", org.quote.pk).condition_since == hours(50)
