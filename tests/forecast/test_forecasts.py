"""Forecasts per rep, team and period and the credibility index, worked out by hand.

No model is trained here, so P(won) is each stage's default probability (the documented
fallback). ``AT`` is Wednesday 2025-06-18 12:00 in Asia/Shanghai, in Q2 2025.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from pytest import approx

from salesradar.forecast.forecasts import forecast_period, take_snapshots
from salesradar.forecast.models import ForecastSnapshot
from tests.factories import ActivityFactory, EvidenceFactory, QuoteFactory, TeamFactory
from tests.metrics import enter, local, monthly_targets, opportunity, rep, won

pytestmark = pytest.mark.django_db

AT = local(6, 18, 12)


@pytest.fixture
def pipeline(stages):
    team = TeamFactory()
    owner = rep(team)
    evidenced = opportunity(
        owner,
        created=local(5, 1),
        stage="proposal",
        amount=Decimal(100000),
        expected_close_date=dt.date(2025, 6, 25),
    )
    EvidenceFactory(opportunity=evidenced, kind="pain_points", added_at=local(5, 2))
    QuoteFactory(opportunity=evidenced, version=1, requested_at=local(6, 10))
    ActivityFactory(opportunity=evidenced, occurred_at=local(6, 1), decision_maker_present=True)
    bare = opportunity(
        owner,
        created=local(5, 1),
        stage="negotiation",
        amount=Decimal(200000),
        expected_close_date=dt.date(2025, 6, 28),
    )
    opportunity(  # expected to close in Q3: not in this quarter's forecast
        owner,
        created=local(5, 1),
        stage="proposal",
        amount=Decimal(50000),
        expected_close_date=dt.date(2025, 8, 1),
    )
    won(owner, 30000, local(5, 10))
    lost = opportunity(owner, created=local(3, 1), stage="proposal", entered=local(4, 1))
    enter(lost, "lost", local(5, 1))
    monthly_targets(owner, 100000)
    return {"team": team, "owner": owner, "evidenced": evidenced, "bare": bare}


def test_quarter_forecast_of_a_rep_by_every_method(pipeline):
    forecasts = forecast_period(at=AT, period="quarter")

    forecast = forecasts.reps[pipeline["owner"].pk]
    assert forecast.won_so_far == approx(30000)
    assert forecast.commit == approx(30000 + 200000)  # the negotiation deal
    assert forecast.stage_weighted == approx(30000 + 100000 * 0.5 + 200000 * 0.75)
    # proposal: one deal passed it and was lost, smoothed toward 50 %: (0 + 1) / (1 + 2)
    assert forecast.historical == approx(30000 + 100000 / 3 + 200000 * 0.75)
    # the bare deal has little evidence (7.5 points): its part is discounted to 70 %
    assert forecast.expected == approx(30000 + 100000 * 0.5 + 200000 * 0.75 * 0.7)
    # totals 30k / 130k / 170k / 270k with P .125 / .125 / .375 / .375
    assert (forecast.low, forecast.high) == (approx(30000), approx(270000))
    assert forecast.target == approx(300000)
    assert forecast.coverage == approx(300000 / 270000)
    assert any("salesradar model train" in note for note in forecasts.notes)


def test_credibility_index_weighs_the_evidence_of_each_deal(pipeline):
    forecast = forecast_period(at=AT, period="quarter").reps[pipeline["owner"].pk]

    points = {line.opportunity_id: line.credibility for line in forecast.deals}
    # customer asked for a quote (25), decision maker met (25), one quote (5), the gate's
    # pain-point list (20), no invoices yet (7.5)
    assert points[pipeline["evidenced"].pk] == approx(82.5)
    assert points[pipeline["bare"].pk] == approx(7.5)
    discounted = {line.opportunity_id: line.discounted for line in forecast.deals}
    assert discounted == {pipeline["evidenced"].pk: False, pipeline["bare"].pk: True}


def test_team_and_org_forecasts_add_up_their_reps(pipeline):
    other = rep(pipeline["team"])
    won(other, 10000, local(6, 5))

    forecasts = forecast_period(at=AT, period="month")

    team = forecasts.teams[pipeline["team"].pk]
    assert team.won_so_far == approx(10000)  # the May win is not in June
    assert team.expected == approx(10000 + 50000 + 105000)
    assert forecasts.org.expected == approx(team.expected)
    assert team.low <= team.expected <= team.high


def test_the_discount_is_configurable(pipeline, monkeypatch):
    monkeypatch.setenv("SALESRADAR_FORECAST_DISCOUNT", "0.5")

    forecast = forecast_period(at=AT, period="quarter").reps[pipeline["owner"].pk]

    assert forecast.expected == approx(30000 + 50000 + 200000 * 0.75 * 0.5)


def test_snapshots_keep_each_reps_forecast_and_deals_for_the_month_and_quarter(pipeline):
    assert take_snapshots(at=AT) == 2

    quarter = ForecastSnapshot.objects.get(period="quarter", owner=pipeline["owner"])
    assert quarter.period_start == dt.date(2025, 4, 1)
    assert float(quarter.expected) == approx(185000)
    assert sorted(deal[0] for deal in quarter.deals) == sorted(
        [pipeline["evidenced"].pk, pipeline["bare"].pk]
    )
    assert take_snapshots(at=AT) == 2  # taking it again replaces, never duplicates
    assert ForecastSnapshot.objects.count() == 2
