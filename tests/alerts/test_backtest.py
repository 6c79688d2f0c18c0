"""Backtesting: tiny hand-built histories whose scores are worked out by hand.

The main history is one rep with three opportunities opened on Monday 2 June 2025 at 09:00
Shanghai time (day 0), replayed on days 14, 21 and 28 with a rule that flags 240 hours
without an update:

- ``lost``: untouched; 336 hours stale on day 14 (flagged), lost on day 28: a true
  positive 14 days ahead;
- ``won``: untouched; flagged on day 14, won on day 21: a false alarm;
- ``busy``: a call on days 10, 17 and 24 keeps it at 96 hours; lost on day 27 unflagged:
  a missed loss.

So precision 1/2, recall 1/2, median lead 14 days, and 1 false alarm / 1 rep / 3 weeks.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import textwrap
from dataclasses import dataclass
from decimal import Decimal
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from salesradar.accounts.models import User
from salesradar.alerts.backtest import (
    BacktestError,
    backtest,
    opportunity_facts,
    replay,
    replay_steps,
    run_backtest,
    suggest_thresholds,
)
from salesradar.alerts.engine import evaluate
from salesradar.alerts.models import Alert, AlertEvent, Rule
from salesradar.alerts.rules import load_rule_pack, parse_rule_pack
from salesradar.pipeline.models import Opportunity, Stage, StageChange, Target
from tests.factories import (
    CREATED_AT,
    ActivityFactory,
    CustomerFactory,
    InvoiceFactory,
    OpportunityFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY0 = dt.datetime(2025, 6, 2, 9, 0, tzinfo=SHANGHAI)
WEEK = dt.timedelta(days=7)

STALE_RULE = """
- id: stale-deal
  metric: opportunity_hours_since_update
  condition: {kind: threshold, op: ">=", warning: 240}
"""


def day(count: float) -> dt.datetime:
    return DAY0 + dt.timedelta(days=count)


def load(*rules: str) -> dict[str, Rule]:
    """Validate and load ``rules`` (YAML list items) as one pack; return them by key."""
    items = "".join(textwrap.indent(textwrap.dedent(rule), "  ") for rule in rules)
    load_rule_pack(parse_rule_pack(f"pack: test\nversion: 1\nrules:\n{items}"))
    return {rule.key: rule for rule in Rule.objects.all()}


def load_rule(key: str, metric: str, condition: str, *extra: str) -> Rule:
    """Load one rule; ``condition`` is a YAML flow map, ``extra`` more ``field: value`` lines."""
    lines = [f"- id: {key}", f"  metric: {metric}", f"  condition: {condition}"]
    lines += [f"  {line}" for line in extra]
    return load("\n".join(lines) + "\n")[key]


def open_opportunity(rep: User, stages: dict[str, Stage], **fields: object) -> Opportunity:
    """Open an opportunity on day 0 with its first stage in the history."""
    opportunity = OpportunityFactory(
        owner=rep, created_at=DAY0, updated_at=DAY0, stage_entered_at=DAY0, **fields
    )
    StageChange.objects.create(
        opportunity=opportunity, to_stage=stages["initial_contact"], changed_at=DAY0
    )
    return opportunity


def close(opportunity: Opportunity, stage: Stage, at: dt.datetime) -> None:
    StageChange.objects.create(
        opportunity=opportunity, from_stage=opportunity.stage, to_stage=stage, changed_at=at
    )
    Opportunity.objects.filter(pk=opportunity.pk).update(
        stage=stage, stage_entered_at=at, updated_at=at, closed_at=at
    )


@dataclass
class Deals:
    rep: User
    lost: Opportunity
    won: Opportunity
    busy: Opportunity
    rule: Rule


@pytest.fixture
def deals(stages: dict[str, Stage]) -> Deals:
    rep = UserFactory(date_joined=CREATED_AT)
    lost, won, busy = (open_opportunity(rep, stages) for _ in range(3))
    for offset in (10, 17, 24):
        ActivityFactory(opportunity=busy, occurred_at=day(offset), created_at=day(offset))
    close(lost, stages["lost"], day(28))
    close(won, stages["won"], day(21))
    close(busy, stages["lost"], day(27))
    return Deals(rep, lost, won, busy, load(STALE_RULE)["stale-deal"])


# --- scores ---------------------------------------------------------------------------------


def test_a_flag_before_a_loss_a_false_alarm_and_a_missed_loss_score_one_half(
    deals: Deals,
) -> None:
    [score] = backtest([deals.rule], start=day(14), end=day(28))

    assert (score.rule, score.entity_type) == ("stale-deal", "opportunity")
    assert (score.population, score.alerts, score.true_positives) == (3, 2, 1)
    assert (score.false_positives, score.pending, score.bad_outcomes) == (1, 0, 2)
    assert score.precision == 0.5
    assert score.recall == 0.5
    assert score.median_lead_days == 14
    assert score.outcome_kinds == {"lost": 1}
    assert score.false_alarms_per_rep_week == pytest.approx(1 / 1 / 3)


def test_replaying_writes_no_alerts(deals: Deals) -> None:
    backtest([deals.rule], start=day(14), end=day(28))

    assert not Alert.objects.exists()
    assert not AlertEvent.objects.exists()


def test_replay_flags_what_the_engine_fires_at_the_same_steps(deals: Deals) -> None:
    load_rule(
        "stale-week",
        "opportunity_hours_since_update",
        '{kind: threshold, op: ">=", warning: 240}',
        "for: 7d",
    )
    waiting = {rule.key: rule for rule in Rule.objects.all()}
    steps = replay_steps(day(14), day(28), WEEK)
    replayed = {
        key: {case[0]: flag.at for case, flag in replay(rule, steps, None).flags.items()}
        for key, rule in waiting.items()
    }
    for at in steps:
        evaluate(list(waiting.values()), at=at)

    for key in waiting:
        fired = Alert.objects.filter(rule__key=key, firing_since__isnull=False)
        assert replayed[key] == {alert.entity_id: alert.firing_since for alert in fired}
    assert replayed["stale-deal"] == {deals.lost.pk: day(14), deals.won.pk: day(14)}
    assert replayed["stale-week"] == {deals.lost.pk: day(21)}  # won left before 7 days


def test_a_flag_whose_outcome_is_not_known_yet_is_pending(deals: Deals) -> None:
    [score] = backtest([deals.rule], start=day(14), end=day(28), as_of=day(25))

    # lost is still open on day 25; won was settled on day 21, so it is a decided false alarm
    assert (score.true_positives, score.false_positives, score.pending) == (0, 1, 1)
    assert score.precision == 0.0
    assert score.bad_outcomes == 0
    assert score.recall is None


def test_only_danger_flags_count_when_asked(deals: Deals) -> None:
    rule = load_rule(
        "stale-danger",
        "opportunity_hours_since_update",
        '{kind: threshold, op: ">=", warning: 240, danger: 500}',
    )

    [score] = backtest([rule], start=day(14), end=day(28), severity="danger")

    assert (score.alerts, score.true_positives, score.median_lead_days) == (1, 1, 7)


def test_an_opportunity_open_30_days_without_a_stage_change_has_stalled(
    stages: dict[str, Stage],
) -> None:
    rep = UserFactory(date_joined=CREATED_AT)
    stuck = open_opportunity(rep, stages)

    facts = opportunity_facts([(stuck.pk, None)], day(0), day(45))

    assert [(event.kind, event.at) for event in facts.events[(stuck.pk, None)]] == [
        ("stalled", day(30))
    ]
    assert facts.settled == {}


def test_outcomes_take_the_same_queries_for_three_or_thirty_opportunities(
    stages: dict[str, Stage],
) -> None:
    rep = UserFactory(date_joined=CREATED_AT)
    opportunities = [open_opportunity(rep, stages) for _ in range(30)]
    counts = []
    for chosen in (opportunities[:3], opportunities):
        with CaptureQueriesContext(connection) as queries:
            opportunity_facts([(o.pk, None) for o in chosen], day(0), day(60))
        counts.append(len(queries))

    assert counts[0] == counts[1] == 2


def test_an_invoice_unpaid_30_days_after_its_due_date_is_a_true_positive(
    default_process: object,
) -> None:
    rule = load_rule("overdue", "invoice_days_overdue", '{kind: threshold, op: ">=", warning: 1}')
    InvoiceFactory(due_on=dt.date(2025, 6, 1), issued_on=dt.date(2025, 5, 1))  # never paid
    InvoiceFactory(  # paid on day 8: a false alarm
        due_on=dt.date(2025, 6, 1), issued_on=dt.date(2025, 5, 1), paid_at=day(8)
    )
    InvoiceFactory(due_on=dt.date(2025, 6, 20), issued_on=dt.date(2025, 5, 20))  # never paid

    [score] = backtest([rule], start=day(0), end=day(28))

    # flagged on 2 June and 23 June at 09:00; 30 days late on 1 July and 20 July at 00:00
    assert (score.alerts, score.true_positives, score.bad_outcomes) == (3, 2, 2)
    assert score.precision == pytest.approx(2 / 3)
    assert score.recall == 1.0
    assert score.median_lead_days == pytest.approx((28.625 + 26.625) / 2)


def test_a_customer_silent_for_60_days_after_the_flag_churned(default_process: object) -> None:
    rule = load_rule(
        "quiet", "customer_days_since_last_activity", '{kind: threshold, op: ">", warning: 7}'
    )
    rep = UserFactory(date_joined=CREATED_AT)
    silent, revived = CustomerFactory(owner=rep), CustomerFactory(owner=rep)
    for customer, offsets in ((silent, [-3]), (revived, [-3, 8, 40])):
        for offset in offsets:
            ActivityFactory(customer=customer, owner=rep, occurred_at=day(offset))

    [score] = backtest([rule], start=day(0), end=day(28))

    # both flagged on day 7 (10 days silent); silent's 60 days end on day 57
    assert (score.alerts, score.true_positives, score.false_positives) == (2, 1, 1)
    assert score.median_lead_days == 50
    assert score.outcome_kinds == {"silent": 1}


def test_a_rep_who_misses_the_quarter_target_counts_when_the_quarter_ends(
    stages: dict[str, Stage],
) -> None:
    rule = load_rule(
        "behind", "rep_target_attainment_projection", '{kind: threshold, op: "<", warning: 0.8}'
    )
    missed, met, ahead = (UserFactory(date_joined=CREATED_AT) for _ in range(3))
    for rep in (missed, met, ahead):
        for month in (7, 8, 9):
            Target.objects.create(
                user=rep,
                period_start=dt.date(2025, month, 1),
                measure="won_amount",
                value=Decimal("100000"),
            )
    for rep, amount, closed_at in (
        (missed, "50000", dt.datetime(2025, 7, 20, tzinfo=SHANGHAI)),
        (ahead, "400000", dt.datetime(2025, 7, 20, tzinfo=SHANGHAI)),
        (met, "350000", dt.datetime(2025, 9, 15, tzinfo=SHANGHAI)),
    ):
        OpportunityFactory(
            owner=rep, stage=stages["won"], amount=Decimal(amount), closed_at=closed_at
        )
    start = dt.datetime(2025, 8, 4, 9, 0, tzinfo=SHANGHAI)
    end = start + 3 * WEEK

    [score] = backtest([rule], start=start, end=end)
    [early] = backtest([rule], start=start, end=end, horizon=dt.timedelta(days=30))

    # missed and met are behind on 4 August; Q3 ends on 1 October 00:00
    assert (score.alerts, score.true_positives, score.false_positives) == (2, 1, 1)
    assert score.recall == 1.0
    assert score.median_lead_days == pytest.approx(57.625)
    # outcomes known only up to 24 September: the quarter has not ended, both are pending
    assert (early.true_positives, early.false_positives, early.pending) == (0, 0, 2)


def test_a_broken_rule_is_reported_and_the_others_still_scored(deals: Deals) -> None:
    broken = Rule(key="a-broken", metric="no_such_metric", grain="opportunity")

    scores = backtest([deals.rule, broken], start=day(14), end=day(28))

    assert [score.rule for score in scores] == ["a-broken", "stale-deal"]
    assert "no_such_metric" in scores[0].error
    assert scores[1].true_positives == 1


def test_an_end_before_the_start_is_refused(deals: Deals) -> None:
    with pytest.raises(BacktestError, match="comes before the start"):
        backtest([deals.rule], start=day(28), end=day(14))


# --- threshold suggestions ------------------------------------------------------------------


def levels(suggestions: list) -> dict[float, tuple]:
    return {s.threshold: (s.alerts, s.precision, s.recall) for s in suggestions}


def test_suggestions_score_each_quantile_and_recommend_the_loosest_precise_level(
    deals: Deals,
) -> None:
    # the values seen: busy 96 and 96, lost 336 and 504, won 336
    suggestions = suggest_thresholds(deals.rule, start=day(14), end=day(28), step=WEEK)

    assert [s.threshold for s in suggestions] == [96, 240, 336, 504]
    assert levels(suggestions) == {
        96: (3, pytest.approx(2 / 3), 1.0),
        240: (2, 0.5, 0.5),
        336: (2, 0.5, 0.5),
        504: (1, 1.0, 0.5),
    }
    assert [s.current for s in suggestions] == ["", "warning", "", ""]
    assert [s.threshold for s in suggestions if s.recommended] == [504]


def test_a_lower_target_precision_recommends_the_level_that_catches_more(deals: Deals) -> None:
    suggestions = suggest_thresholds(deals.rule, start=day(14), end=day(28), target_precision=0.6)

    assert [s.threshold for s in suggestions if s.recommended] == [96]


def test_suggestions_are_refused_for_a_condition_without_a_single_level(deals: Deals) -> None:
    rule = load_rule("fewer-calls", "rep_followups", "{kind: baseline, window: 4, warning_pct: 30}")

    with pytest.raises(BacktestError, match="baseline condition; threshold suggestions work"):
        suggest_thresholds(rule, start=day(14), end=day(28))


# --- command line ---------------------------------------------------------------------------

FROM, TO = day(14).isoformat(), day(28).isoformat()


def test_the_backtest_command_prints_a_row_per_rule(deals: Deals) -> None:
    out = StringIO()
    call_command("backtest", "--from", FROM, "--to", TO, stdout=out)

    lines = out.getvalue().splitlines()
    enabled = list(Rule.objects.filter(enabled=True).values_list("key", flat=True))
    assert len(enabled) > 1  # the default pack was loaded next to the test rule
    assert re.split(r"\s{2,}", lines[0])[:7] == [
        "rule",
        "alerts",
        "TP",
        "late",
        "pending",
        "outcomes",
        "base rate",
    ]
    for key in enabled:
        assert sum(line.startswith(f"{key} ") for line in lines) == 1
    [stale] = [re.split(r"\s{2,}", line) for line in lines if line.startswith("stale-deal ")]
    # base rate 2/3 (lost and busy met the outcome); lift 0.5 / (2/3); rotting > 14 days flags
    # lost and busy on day 21, both right: the rule is 0.50 less precise at its recall
    assert stale == [
        "stale-deal",
        "2",
        "1",
        "0",
        "0",
        "2",
        "0.67",
        "0.50",
        "0.50",
        "0.75",
        "rotting>14",
        "1.00",
        "-0.50",
        "14.0/14.0/14.0",
        "0.667",
    ]
    assert any(line.startswith("baseline:flag_all ") for line in lines)
    assert any(line.startswith("pack:test ") for line in lines)


def test_the_backtest_command_writes_json(deals: Deals) -> None:
    out = StringIO()
    call_command(
        "backtest",
        "--from",
        FROM,
        "--to",
        TO,
        "--step",
        "1w",
        "--horizon",
        "60d",
        "--rule",
        "stale-deal",
        "--format",
        "json",
        stdout=out,
    )

    [row] = json.loads(out.getvalue())
    assert row["rule"] == "stale-deal"
    assert (row["precision"], row["recall"], row["median_lead_days"]) == (0.5, 0.5, 14.0)


def test_the_backtest_command_refuses_an_unknown_rule_a_bad_step_and_a_reversed_window(
    deals: Deals,
) -> None:
    with pytest.raises(CommandError, match="no rule with key nope"):
        call_command("backtest", "--from", FROM, "--to", TO, "--rule", "nope")
    with pytest.raises(CommandError, match="7d"):
        call_command("backtest", "--from", FROM, "--to", TO, "--step", "weekly")
    with pytest.raises(CommandError, match="comes before the start"):
        call_command("backtest", "--from", TO, "--to", FROM)


def test_rules_suggest_prints_the_levels_and_the_recommendation(deals: Deals) -> None:
    out = StringIO()
    call_command("rules", "suggest", "stale-deal", "--from", FROM, "--to", TO, stdout=out)

    text = out.getvalue()
    assert ">= 504" in text and "recommended" in text and "current warning" in text
    assert "Recommended for stale-deal: >= 504 (precision 100%, recall 50%)" in text


def test_rules_suggest_refuses_a_baseline_rule(deals: Deals) -> None:
    call_command("rules", "load", "salesradar/alerts/packs/default.yaml", stdout=StringIO())

    with pytest.raises(CommandError, match="baseline condition"):
        call_command("rules", "suggest", "followups-declining", "--from", FROM, "--to", TO)


# --- honest scoring (issue 11 §1) -----------------------------------------------------------


def test_a_deal_rule_is_reported_with_base_rate_lift_and_the_best_baseline_at_its_recall(
    deals: Deals,
) -> None:
    report = run_backtest([deals.rule], start=day(14), end=day(28))

    [score] = report.scores
    assert score.base_rate == pytest.approx(2 / 3)
    assert score.lift == pytest.approx(0.75)
    assert (score.best_baseline, score.best_baseline_precision) == ("rotting>14", 1.0)
    assert score.precision_over_baseline == pytest.approx(-0.5)
    assert [point["level"] for point in score.curve] == [96, 240, 336, 504]
    baselines = {row.rule: row for row in report.baselines}
    assert set(baselines) == {
        "baseline:rotting>7",
        "baseline:rotting>14",
        "baseline:rotting>30",
        "baseline:stage_median_dwell>1",
        "baseline:idle>7",
        "baseline:idle>14",
        "baseline:idle>30",
        "baseline:flag_all",
    }
    flag_all = baselines["baseline:flag_all"]
    assert (flag_all.alerts, flag_all.precision, flag_all.lift) == (3, pytest.approx(2 / 3), 1.0)
    assert [pack.rule for pack in report.packs] == ["pack:test"]


def test_a_window_without_closed_deals_answers_with_a_message_not_zeros(
    stages: dict[str, Stage],
) -> None:
    rep = UserFactory(date_joined=CREATED_AT)
    open_opportunity(rep, stages)  # never closes
    load(STALE_RULE)

    with pytest.raises(CommandError, match="no closed outcomes"):
        call_command("backtest", "--from", FROM, "--to", TO, "--rule", "stale-deal")


def test_a_horizon_longer_than_the_history_answers_with_a_message(deals: Deals) -> None:
    with pytest.raises(CommandError, match="horizon of 90 days is longer than the history"):
        call_command(
            "backtest",
            "--from",
            FROM,
            "--to",
            TO,
            "--horizon",
            "90d",
            "--as-of",
            day(20).isoformat(),
            "--rule",
            "stale-deal",
        )


def test_a_rule_whose_metric_has_no_history_is_named_not_scored(deals: Deals) -> None:
    load_rule(
        "negotiating",
        "opportunity_hours_since_update",
        '{kind: threshold, op: ">=", warning: 1}',
        "scope: {stages: [negotiation]}",
    )
    out = StringIO()
    call_command(
        "backtest", "--from", FROM, "--to", TO, "--rule", "negotiating", "stale-deal", stdout=out
    )

    assert "negotiating: the metric opportunity_hours_since_update has no history" in (
        out.getvalue()
    )
    with pytest.raises(CommandError, match="has no history in the rule's scope"):
        call_command("backtest", "--from", FROM, "--to", TO, "--rule", "negotiating")


def test_the_backtest_command_prints_curves_and_the_whole_report_as_json(deals: Deals) -> None:
    out = StringIO()
    call_command(
        "backtest", "--from", FROM, "--to", TO, "--rule", "stale-deal", "--curves", stdout=out
    )
    assert "precision/recall of stale-deal by level" in out.getvalue()
    assert "precision/recall of baseline:rotting by level" in out.getvalue()

    out = StringIO()
    call_command(
        "backtest",
        "--from",
        FROM,
        "--to",
        TO,
        "--rule",
        "stale-deal",
        "--format",
        "json",
        "--report",
        stdout=out,
    )
    report = json.loads(out.getvalue())
    assert report["horizon_days"] == 60
    assert [row["rule"] for row in report["rules"]] == ["stale-deal"]
    assert report["rules"][0]["best_baseline"] == "rotting>14"
    assert len(report["baselines"]) == 8


def test_suggestions_at_a_recall_take_the_level_with_the_highest_lift(deals: Deals) -> None:
    suggestions = suggest_thresholds(deals.rule, start=day(14), end=day(28), target_recall=0.5)

    # every level catches at least half; 504 is right on its one alert: lift 1.0 / (2/3)
    [chosen] = [s for s in suggestions if s.recommended]
    assert chosen.threshold == 504
    assert chosen.lift == pytest.approx(1.5)
    assert chosen.base_rate == pytest.approx(2 / 3)


def test_rules_suggest_says_when_no_level_beats_the_best_baseline(deals: Deals) -> None:
    out = StringIO()
    call_command(
        "rules", "suggest", "stale-deal", "--from", FROM, "--to", TO, "--recall", "1", stdout=out
    )

    # rotting > 14 days flags lost and busy on day 21, both right: precision 1.00 at recall 1
    text = out.getvalue()
    assert "Recommended for stale-deal: >= 96 (precision 67%, recall 100%)" in text
    assert "No level of stale-deal beats the best baseline at the same recall" in text
    assert "rotting>14" in text


def test_the_rules_of_one_concern_are_also_scored_together(deals: Deals) -> None:
    from salesradar.alerts.models import Concern

    other = load_rule(
        "stale-month", "opportunity_hours_since_update", '{kind: threshold, op: ">=", warning: 500}'
    )
    concern = Concern.objects.create(key="deal-at-risk", entity_type="opportunity")
    Rule.objects.filter(pk__in=[deals.rule.pk, other.pk]).update(concern=concern)
    rules = list(Rule.objects.filter(pk__in=[deals.rule.pk, other.pk]))

    report = run_backtest(rules, start=day(14), end=day(28))

    groups = {row.rule: row for row in report.packs}
    assert set(groups) == {"pack:test", "group:deal-at-risk"}
    # one alert per deal however many of the concern's rules flagged it: lost and won
    assert (groups["group:deal-at-risk"].alerts, groups["group:deal-at-risk"].kind) == (2, "group")
