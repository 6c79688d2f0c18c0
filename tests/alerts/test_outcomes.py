"""Deal outcomes after a snapshot, and flags scored against them (salesradar.alerts.outcomes).

Day 0 is Monday 2 June 2025 09:00 Shanghai time; every deal opens on day 0 in
initial_contact unless a test says otherwise. The horizon is 30 days.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from salesradar.accounts.models import User
from salesradar.alerts import outcomes
from salesradar.alerts.baselines import best_at_recall, score_baselines
from salesradar.pipeline.models import Opportunity, Stage, StageChange
from tests.factories import CREATED_AT, OpportunityFactory, UserFactory

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY0 = dt.datetime(2025, 6, 2, 9, 0, tzinfo=SHANGHAI)
HORIZON = dt.timedelta(days=30)


def day(count: float) -> dt.datetime:
    return DAY0 + dt.timedelta(days=count)


def deal(rep: User, stages: dict[str, Stage], opened: float = 0) -> Opportunity:
    at = day(opened)
    opportunity = OpportunityFactory(owner=rep, created_at=at, updated_at=at, stage_entered_at=at)
    StageChange.objects.create(
        opportunity=opportunity, to_stage=stages["initial_contact"], changed_at=at
    )
    return opportunity


def move(opportunity: Opportunity, stage: Stage, on: float) -> None:
    at = day(on)
    opportunity.refresh_from_db()
    StageChange.objects.create(
        opportunity=opportunity,
        from_stage=opportunity.stage,
        to_stage=stage,
        changed_at=at,
        is_regression=stage.order < opportunity.stage.order and not stage.is_terminal,
    )
    Opportunity.objects.filter(pk=opportunity.pk).update(
        stage=stage,
        stage_entered_at=at,
        updated_at=at,
        closed_at=at if stage.is_terminal else None,
    )


def labels(frame: pd.DataFrame, snapshot: float) -> dict[int, tuple[float | None, str]]:
    rows = frame.loc[frame["snapshot"] == pd.Timestamp(day(snapshot))]
    return {
        int(row.entity): (None if pd.isna(row.label) else row.label, row.outcome_kind)
        for row in rows.itertuples()
    }


@pytest.fixture
def rep(db: None) -> User:
    return UserFactory(date_joined=CREATED_AT)


def test_a_deal_is_bad_when_lost_or_not_moving_forward_within_the_horizon(rep, stages):
    stuck = deal(rep, stages)
    moves_on = deal(rep, stages)
    move(moves_on, stages["needs_confirmed"], 10)
    lost = deal(rep, stages)
    move(lost, stages["lost"], 5)
    moves_back = deal(rep, stages, opened=-5)
    move(moves_back, stages["needs_confirmed"], -1)  # in needs_confirmed on day 0
    move(moves_back, stages["initial_contact"], 12)  # a regression is no progress

    frame = outcomes.opportunity_labels([day(0)], horizon=HORIZON, observed_until=day(90))

    assert labels(frame, 0) == {
        stuck.pk: (1.0, "stalled"),
        moves_on.pk: (0.0, ""),
        lost.pk: (1.0, "lost"),
        moves_back.pk: (1.0, "stalled"),
    }
    at = frame.set_index("entity")["outcome_at"]
    assert at[stuck.pk] == pd.Timestamp(day(30))  # the stall is certain once H days passed
    assert at[lost.pk] == pd.Timestamp(day(5))


def test_a_long_rotting_deal_that_moves_next_week_is_a_good_outcome(rep, stages):
    rotting = deal(rep, stages, opened=-40)  # 40 days in initial_contact on day 0
    move(rotting, stages["needs_confirmed"], 6)

    frame = outcomes.opportunity_labels([day(0)], horizon=HORIZON, observed_until=day(90))

    # "days in stage > 30" flags it, and the definition gives it no help: it moved on.
    assert labels(frame, 0) == {rotting.pk: (0.0, "")}
    assert frame.loc[0, "days_in_stage"] == pytest.approx(40)


def test_an_outcome_not_decided_by_the_last_known_moment_is_unknown(rep, stages):
    young = deal(rep, stages)

    frame = outcomes.opportunity_labels([day(0)], horizon=HORIZON, observed_until=day(20))

    assert labels(frame, 0) == {young.pk: (None, "")}


def test_closed_deals_are_out_of_scope_at_later_snapshots(rep, stages):
    won = deal(rep, stages)
    move(won, stages["won"], 3)
    later = deal(rep, stages, opened=10)

    frame = outcomes.opportunity_labels(
        [day(0), day(7), day(14)], horizon=HORIZON, observed_until=day(90)
    )

    assert set(labels(frame, 0)) == {won.pk}
    assert labels(frame, 7) == {}
    assert set(labels(frame, 14)) == {later.pk}


def test_flags_score_base_rate_precision_recall_lift_and_lead_time(rep, stages):
    # Snapshots on days 0 and 7. Outcomes: a lost on day 10, b stalls, c and d progress.
    a, b, c, d = (deal(rep, stages) for _ in range(4))
    move(a, stages["lost"], 10)
    move(c, stages["needs_confirmed"], 20)
    move(d, stages["needs_confirmed"], 3)
    move(d, stages["proposal"], 12)  # progress after both snapshots
    frame = outcomes.opportunity_labels([day(0), day(7)], horizon=HORIZON, observed_until=day(90))
    # b is flagged on day 0 and 7 (one alert), a on day 7, c on day 0: a false alarm.
    flags = outcomes.flags_frame([(b.pk, day(0)), (b.pk, day(7)), (a.pk, day(7)), (c.pk, day(0))])

    score = outcomes.score_flags(flags, frame, weeks=2)

    assert (score.in_scope, score.met_outcome) == (4, 2)  # a and b met the outcome
    assert score.base_rate == 0.5
    assert (score.alerts, score.hits, score.false_positives, score.late) == (3, 2, 1, 0)
    assert score.precision == pytest.approx(2 / 3)
    assert score.recall == 1.0
    assert score.lift == pytest.approx(4 / 3)
    # a: lost on day 10, flagged on day 7 -> 3 days; b: stalls from day 0, certain on day 30
    assert (score.lead_days_p25, score.median_lead_days, score.lead_days_p75) == (
        pytest.approx(9.75),
        pytest.approx(16.5),
        pytest.approx(23.25),
    )
    assert score.alerts_per_rep_week == pytest.approx(3 / 1 / 2)
    assert score.outcome_kinds == {"lost": 1, "stalled": 1}


def test_an_alert_after_the_outcome_happened_is_late_not_a_hit(rep, stages):
    stuck = deal(rep, stages)
    frame = outcomes.opportunity_labels([day(0), day(35)], horizon=HORIZON, observed_until=day(90))
    # stalled from day 0, certain on day 30; the first flag comes on day 35.
    flags = outcomes.flags_frame([(stuck.pk, day(35))])

    score = outcomes.score_flags(flags, frame, weeks=2)

    assert (score.alerts, score.hits, score.late) == (1, 0, 1)
    assert score.precision == 0.0
    assert score.recall == 0.0


def test_the_denominator_counts_deals_no_flag_looked_at(rep, stages):
    for _ in range(3):
        deal(rep, stages)  # all three stall
    frame = outcomes.opportunity_labels([day(0)], horizon=HORIZON, observed_until=day(90))

    score = outcomes.score_flags(outcomes.flags_frame([]), frame, weeks=1)

    assert (score.met_outcome, score.alerts, score.recall, score.precision) == (3, 0, 0.0, None)


def test_baselines_are_scored_on_the_same_snapshots_and_matched_at_recall(rep, stages):
    # Two deals rotting since day -20 (one moves on day 5), two fresh ones (one stalls).
    old_moves, old_stalls = deal(rep, stages, opened=-20), deal(rep, stages, opened=-20)
    fresh_moves, fresh_stalls = deal(rep, stages), deal(rep, stages)
    move(old_moves, stages["needs_confirmed"], 5)
    move(fresh_moves, stages["needs_confirmed"], 5)
    frame = outcomes.opportunity_labels([day(0)], horizon=HORIZON, observed_until=day(90))

    baselines = {baseline.key: baseline for baseline in score_baselines(frame, weeks=1)}

    flag_all = baselines["flag_all"].curve[0].score
    assert (flag_all.alerts, flag_all.precision, flag_all.recall) == (4, 0.5, 1.0)
    rotting_14 = baselines["rotting"].point(14).score
    assert (rotting_14.alerts, rotting_14.precision, rotting_14.recall) == (2, 0.5, 0.5)
    match = best_at_recall(list(baselines.values()), 0.5)
    assert match is not None and match.precision == 0.5
    assert best_at_recall(list(baselines.values()), None) is None
    assert {old_stalls.pk, fresh_stalls.pk} == set(
        frame.loc[frame["label"] == 1.0, "entity"].tolist()
    )


def test_labels_take_one_query_per_snapshot_for_three_or_thirty_deals(rep, stages):
    deals = [deal(rep, stages) for _ in range(30)]
    counts = []
    for chosen in (deals[:3], deals):
        Opportunity.objects.exclude(pk__in=[d.pk for d in chosen]).update(created_at=day(100))
        with CaptureQueriesContext(connection) as queries:
            outcomes.opportunity_labels([day(0), day(7)], horizon=HORIZON, observed_until=day(90))
        counts.append(len(queries))

    assert counts[0] == counts[1] == 2


def test_a_window_without_closed_outcomes_is_refused_naming_it(rep, stages):
    deal(rep, stages)
    frame = outcomes.opportunity_labels([day(0)], horizon=HORIZON, observed_until=day(90))

    with pytest.raises(outcomes.OutcomeError, match="was won or lost by 2025-08-31"):
        outcomes.check_scorable(
            frame, start=day(0), end=day(0), horizon=HORIZON, observed_until=day(90)
        )


def test_a_horizon_longer_than_the_history_is_refused_naming_it(rep, stages):
    lost = deal(rep, stages)
    move(lost, stages["lost"], 40)
    frame = outcomes.opportunity_labels([day(0)], horizon=HORIZON * 3, observed_until=day(30))

    with pytest.raises(outcomes.OutcomeError, match="horizon of 90 days is longer than"):
        outcomes.check_scorable(
            frame, start=day(0), end=day(0), horizon=HORIZON * 3, observed_until=day(30)
        )
