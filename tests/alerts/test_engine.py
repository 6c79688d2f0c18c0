"""The engine: rules evaluated over a small organisation at fixed times.

One team with two reps; one rep owns a customer whose opportunity waits for a quote that was
requested on 2 June 2025 at 09:00 Shanghai time. Rules come from YAML through the same
validation and loading as a real pack, and each test evaluates them at a few hours after
the request.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.forms.models import model_to_dict

from salesradar.accounts.models import Team, User
from salesradar.alerts.choices import AlertState, EventKind
from salesradar.alerts.engine import evaluate
from salesradar.alerts.lifecycle import acknowledge
from salesradar.alerts.models import Alert, AlertEvent, Rule
from salesradar.alerts.rules import load_rule_pack, parse_rule_pack
from salesradar.metrics.registry import METRICS
from salesradar.pipeline.choices import QuoteStatus
from salesradar.pipeline.models import Quote
from tests.factories import (
    CREATED_AT,
    ActivityFactory,
    CustomerFactory,
    OpportunityFactory,
    QuoteFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
REQUESTED = dt.datetime(2025, 6, 2, 9, 0, tzinfo=SHANGHAI)

QUOTE_RULE = """
- id: quote-slow
  metric: quote_hours_unanswered
  condition: {kind: threshold, op: ">=", warning: 48, danger: 72}
"""
TEAM_SILENT_RULE = """
- id: team-silent
  metric: team_days_since_activity_logged
  condition: {kind: threshold, op: ">=", warning: 3}
"""


def hours(count: float) -> dt.datetime:
    """Return ``count`` hours after the quote was requested."""
    return REQUESTED + dt.timedelta(hours=count)


@dataclass
class Org:
    team: Team
    rep: User
    colleague: User
    quote: Quote


def build_org(code: str = "east") -> Org:
    """Build one team of two reps; the rep's A-tier customer waits for a quote."""
    team = TeamFactory(code=code)
    rep = UserFactory(team=team, date_joined=CREATED_AT)
    colleague = UserFactory(team=team, date_joined=CREATED_AT)
    customer = CustomerFactory(owner=rep, tier="A")
    opportunity = OpportunityFactory(owner=rep, customer=customer)
    quote = QuoteFactory(opportunity=opportunity, requested_at=REQUESTED)
    return Org(team, rep, colleague, quote)


def load(*rules: str) -> dict[str, Rule]:
    """Validate and load ``rules`` (YAML list items) as one pack; return them by key."""
    items = "".join(textwrap.indent(textwrap.dedent(rule), "  ") for rule in rules)
    load_rule_pack(parse_rule_pack(f"pack: test\nversion: 1\nrules:\n{items}"))
    return {rule.key: rule for rule in Rule.objects.all()}


def run(rules: dict[str, Rule], at: dt.datetime) -> None:
    """Evaluate ``rules`` as freshly read from the database, as a scheduled pass would."""
    evaluate(list(Rule.objects.filter(key__in=rules)), at=at)


def alert_of(rule_key: str, entity_id: int) -> Alert:
    return Alert.objects.get(rule__key=rule_key, entity_id=entity_id)


def kinds_at(alert: Alert, at: dt.datetime) -> list[str]:
    return list(alert.events.filter(at=at).order_by("id").values_list("kind", flat=True))


@pytest.fixture
def org(db: None) -> Org:
    return build_org()


# --- One alert through its episode ------------------------------------------------------------


def test_unanswered_quote_past_the_warning_level_opens_a_firing_alert(org: Org) -> None:
    rules = load(QUOTE_RULE)

    run(rules, hours(50))

    alert = alert_of("quote-slow", org.quote.pk)
    assert (alert.entity_type, alert.state, alert.severity) == ("quote", "firing", "warning")
    assert alert.value == pytest.approx(50)
    assert alert.threshold == 48
    assert (alert.owner, alert.team) == (org.rep, org.team)
    assert (alert.started_at, alert.firing_since) == (hours(50), hours(50))
    assert kinds_at(alert, hours(50)) == [EventKind.OPENED, EventKind.FIRING]
    assert Rule.objects.get(key="quote-slow").status == "ok"


def test_quote_waiting_past_the_danger_level_records_the_severity_change(org: Org) -> None:
    rules = load(QUOTE_RULE)
    run(rules, hours(50))

    run(rules, hours(80))

    alert = alert_of("quote-slow", org.quote.pk)
    assert (alert.state, alert.severity, alert.threshold) == ("firing", "danger", 72)
    assert alert.value == pytest.approx(80)
    change = alert.events.get(at=hours(80))
    assert change.kind == EventKind.SEVERITY_CHANGED
    assert (change.from_severity, change.to_severity) == ("warning", "danger")


def test_sending_the_quote_resolves_the_alert_at_the_next_evaluation(org: Org) -> None:
    rules = load(QUOTE_RULE)
    run(rules, hours(50))
    run(rules, hours(80))
    Quote.objects.filter(pk=org.quote.pk).update(sent_at=hours(90), status=QuoteStatus.SENT)

    run(rules, hours(100))

    alert = alert_of("quote-slow", org.quote.pk)
    assert (alert.state, alert.resolved_at) == (AlertState.RESOLVED, hours(100))
    assert kinds_at(alert, hours(100)) == [EventKind.RESOLVED]


@pytest.mark.parametrize("second", [50, 80], ids=["after-opening", "after-rising"])
def test_evaluating_twice_at_the_same_moment_changes_nothing(org: Org, second: int) -> None:
    rules = load(QUOTE_RULE)
    run(rules, hours(50))
    run(rules, hours(second))
    alert_before = model_to_dict(alert_of("quote-slow", org.quote.pk))
    events_before = AlertEvent.objects.count()

    report = evaluate(list(Rule.objects.all()), at=hours(second))

    assert report.events == 0
    assert AlertEvent.objects.count() == events_before
    assert model_to_dict(alert_of("quote-slow", org.quote.pk)) == alert_before


def test_duration_for_clause_keeps_the_alert_pending_until_it_held_that_long(org: Org) -> None:
    rules = load(QUOTE_RULE.replace("  condition:", "  for: 48h\n  condition:"))

    run(rules, hours(50))
    run(rules, hours(97))
    alert = alert_of("quote-slow", org.quote.pk)
    assert (alert.state, alert.firing_since) == (AlertState.PENDING, None)
    assert kinds_at(alert, hours(50)) == [EventKind.OPENED, EventKind.PENDING]

    run(rules, hours(98))

    alert = alert_of("quote-slow", org.quote.pk)
    assert (alert.state, alert.firing_since) == (AlertState.FIRING, hours(98))
    assert kinds_at(alert, hours(98)) == [EventKind.FIRING]


def test_baseline_with_too_little_history_opens_a_no_data_alert(org: Org) -> None:
    rules = load(
        """
        - id: win-rate-drop
          metric: team_win_rate
          period: month
          history: 3
          condition: {kind: baseline, window: 3, direction: below, warning_pct: 20}
        """
    )

    run(rules, hours(50))

    alert = alert_of("win-rate-drop", org.team.pk)
    assert (alert.entity_type, alert.state, alert.severity) == ("team", "no_data", "")
    assert "only 0 of the 3 periods" in alert.message
    assert kinds_at(alert, hours(50)) == [EventKind.OPENED, EventKind.NO_DATA]


# --- A broken rule ----------------------------------------------------------------------------


def test_rule_whose_metric_fails_is_marked_error_and_the_others_still_run(
    org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    rules = load(QUOTE_RULE, TEAM_SILENT_RULE)
    run(rules, hours(50))

    def offline(**kwargs: Any) -> None:
        raise RuntimeError("warehouse offline")

    monkeypatch.setattr(METRICS["quote_hours_unanswered"], "rows", offline)
    run(rules, hours(80))

    broken = Rule.objects.get(key="quote-slow")
    assert (broken.status, broken.last_evaluated_at) == ("error", hours(80))
    assert broken.last_error == "RuntimeError: warehouse offline"
    alert = alert_of("quote-slow", org.quote.pk)
    # the rule's fault is not the quote's: its alert keeps its state and says nothing new
    assert (alert.state, alert.severity) == (AlertState.FIRING, "warning")
    assert kinds_at(alert, hours(80)) == []
    healthy = Rule.objects.get(key="team-silent")
    assert (healthy.status, healthy.last_evaluated_at) == ("ok", hours(80))
    assert alert_of("team-silent", org.team.pk).last_evaluated_at == hours(80)


def test_rule_that_works_again_leaves_the_error_state(
    org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    rules = load(QUOTE_RULE)
    run(rules, hours(50))
    with monkeypatch.context() as patch:
        patch.setattr(METRICS["quote_hours_unanswered"], "rows", lambda **kwargs: 1 / 0)
        run(rules, hours(60))

    run(rules, hours(80))

    assert Rule.objects.get(key="quote-slow").status == "ok"
    alert = alert_of("quote-slow", org.quote.pk)
    assert (alert.state, alert.severity) == (AlertState.FIRING, "danger")


# --- Inhibition -------------------------------------------------------------------------------


def test_alert_depending_on_a_silent_team_is_inhibited_until_the_team_logs_again(
    org: Org,
) -> None:
    rules = load(
        TEAM_SILENT_RULE,
        QUOTE_RULE.replace("  condition:", "  depends_on: [team-silent]\n  condition:"),
    )

    run(rules, hours(50))

    cause = alert_of("team-silent", org.team.pk)
    dependent = alert_of("quote-slow", org.quote.pk)
    assert cause.state == AlertState.FIRING
    assert dependent.inhibited_by == cause
    inhibited = dependent.events.get(kind=EventKind.INHIBITED)
    assert (inhibited.at, inhibited.reason) == (hours(50), cause.fingerprint)

    ActivityFactory(owner=org.colleague, occurred_at=hours(60), created_at=hours(60))
    run(rules, hours(80))

    assert alert_of("team-silent", org.team.pk).state == AlertState.RESOLVED
    dependent = alert_of("quote-slow", org.quote.pk)
    assert (dependent.state, dependent.inhibited_by) == (AlertState.FIRING, None)
    assert EventKind.UNINHIBITED in kinds_at(dependent, hours(80))


def test_team_rule_inhibits_the_deal_alerts_of_its_own_team_only(db: None) -> None:
    east, west = build_org("east"), build_org("west")
    ActivityFactory(owner=west.colleague, occurred_at=hours(40), created_at=hours(40))
    rules = load(
        TEAM_SILENT_RULE.replace("  condition:", "  inhibits: [quote-slow]\n  condition:"),
        QUOTE_RULE,
    )

    run(rules, hours(50))

    cause = alert_of("team-silent", east.team.pk)
    assert not Alert.objects.filter(rule__key="team-silent", entity_id=west.team.pk).exists()
    assert alert_of("quote-slow", east.quote.pk).inhibited_by == cause
    west_alert = alert_of("quote-slow", west.quote.pk)
    assert (west_alert.state, west_alert.inhibited_by) == (AlertState.FIRING, None)
    assert not west_alert.events.filter(kind=EventKind.INHIBITED).exists()


# --- Reopening and refusals ---------------------------------------------------------------


def test_reopened_alert_forgets_the_previous_acknowledgement(org: Org) -> None:
    rules = load(TEAM_SILENT_RULE)
    run(rules, hours(50))
    acknowledge(alert_of("team-silent", org.team.pk), by=org.rep, note="on it", at=hours(51))
    ActivityFactory(owner=org.colleague, occurred_at=hours(60), created_at=hours(60))
    run(rules, hours(80))

    run(rules, hours(60 + 4 * 24))

    alert = alert_of("team-silent", org.team.pk)
    assert alert.state == AlertState.FIRING
    assert kinds_at(alert, hours(60 + 4 * 24)) == [EventKind.REOPENED, EventKind.FIRING]
    assert (alert.acknowledged_at, alert.acknowledged_by, alert.ack_note) == (None, None, "")


def test_evaluate_refuses_a_naive_moment(db: None) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        evaluate([], at=dt.datetime(2025, 6, 4, 9, 0))


# --- Review findings: time, ownership, switched-off rules -------------------------------------


def test_evaluating_at_an_earlier_moment_is_refused_and_writes_nothing(org: Org) -> None:
    rules = load(QUOTE_RULE)
    run(rules, hours(80))
    events_before = AlertEvent.objects.count()

    with pytest.raises(ValueError, match="already evaluated"):
        run(rules, hours(60))

    assert AlertEvent.objects.count() == events_before


def test_an_alert_follows_its_entity_to_the_new_owner(org: Org) -> None:
    rules = load(QUOTE_RULE)
    run(rules, hours(50))
    opportunity = org.quote.opportunity
    opportunity.owner = org.colleague
    opportunity.save()

    run(rules, hours(51))

    assert alert_of("quote-slow", org.quote.pk).owner == org.colleague


def test_switching_a_rule_off_resolves_its_open_alerts(org: Org) -> None:
    rules = load(QUOTE_RULE)
    run(rules, hours(50))
    Rule.objects.filter(key="quote-slow").update(enabled=False)

    evaluate(at=hours(51))

    alert = alert_of("quote-slow", org.quote.pk)
    assert alert.state == "resolved"
    assert kinds_at(alert, hours(51)) == ["resolved"]
