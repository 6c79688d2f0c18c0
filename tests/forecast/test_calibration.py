"""The calibration report: the forecast made 30 days before the period's end against the actual."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from pytest import approx

from salesradar.activities.models import Task
from salesradar.forecast.calibration import calibration_report, tell_managers
from salesradar.forecast.models import ForecastSnapshot
from tests.factories import TeamFactory, UserFactory
from tests.metrics import enter, local, opportunity, rep, won

pytestmark = pytest.mark.django_db


def snapshot(owner, start: dt.date, taken: dt.datetime, expected: float, deals=()) -> None:
    ForecastSnapshot.objects.create(
        taken_at=taken,
        period="quarter",
        period_start=start,
        owner=owner,
        expected=Decimal(expected),
        deals=[list(deal) for deal in deals],
    )


def test_a_quarter_is_scored_on_the_forecast_made_thirty_days_before_its_end(stages):
    owner = rep()
    will_win = opportunity(owner, created=local(4, 1), amount=Decimal(100000))
    slips = opportunity(owner, created=local(4, 1), amount=Decimal(200000))
    deals = [(will_win.pk, 0.5, 100000, 80), (slips.pk, 0.75, 200000, 7.5)]
    snapshot(owner, dt.date(2025, 4, 1), local(5, 1), 999)  # too early to be the one tested
    snapshot(owner, dt.date(2025, 4, 1), local(6, 1), 185000, deals)  # 30 days before 07-01
    enter(will_win, "won", local(6, 20))
    won(owner, 50000, local(6, 25))  # never in the forecast: it appeared

    report = calibration_report(at=local(7, 2))

    [quarter] = report.periods
    assert quarter.snapshot_at == local(6, 1)
    assert (quarter.forecast, quarter.actual) == (approx(185000), approx(150000))
    assert quarter.mape == approx(35000 / 150000)
    assert quarter.bias == approx(35000 / 150000)
    assert quarter.brier == approx((0.5**2 + 0.75**2) / 2)  # won at .5, not won at .75
    assert quarter.deals == 2
    assert [reason["reason"] for reason in quarter.reasons] == ["slipped", "appeared", "lost"]
    assert quarter.reasons[0]["amount"] == approx(200000 * 0.75)
    assert quarter.reasons[1]["amount"] == approx(50000)


def test_a_period_not_over_yet_is_not_reported(stages):
    owner = rep()
    snapshot(owner, dt.date(2025, 4, 1), local(6, 1), 1000)

    assert calibration_report(at=local(6, 20)).periods == []


def test_reps_missing_by_a_quarter_two_quarters_running_are_flagged_and_managers_told(stages):
    manager = UserFactory(role="manager")
    team = TeamFactory(manager=manager)
    misses, fine = rep(team), rep(team)
    for start, taken, closed in (
        (dt.date(2025, 1, 1), local(3, 2), local(3, 20)),
        (dt.date(2025, 4, 1), local(6, 1), local(6, 20)),
    ):
        won(misses, 100000, closed)
        won(fine, 100000, closed)
        snapshot(misses, start, taken, 200000)  # 100 % over
        snapshot(fine, start, taken, 110000)  # 10 % over

    report = calibration_report(at=local(7, 2))

    assert [item["rep"] for item in report.flagged] == [misses.pk]
    assert tell_managers(report.flagged, at=local(7, 2)) == 1
    assert tell_managers(report.flagged, at=local(7, 3)) == 0  # told once
    task = Task.objects.get()
    assert task.assignee == manager
    assert "two quarters running" in task.title
