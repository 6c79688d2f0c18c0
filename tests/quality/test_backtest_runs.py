"""A saved backtest shows on its web page (table and ECharts curves), in the API and admin."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from salesradar.accounts.choices import Role
from salesradar.quality.models import BacktestRun
from tests.alerts.test_backtest import FROM, TO, Deals, deals  # noqa: F401  (fixture)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def saved(deals: Deals) -> BacktestRun:  # noqa: F811
    call_command(
        "backtest",
        "--from",
        FROM,
        "--to",
        TO,
        "--rule",
        "stale-deal",
        "--save",
        "June deals",
        stdout=StringIO(),
        stderr=StringIO(),
    )
    return BacktestRun.objects.get()


def signed_in(role: str) -> Client:
    client = Client()
    client.force_login(UserFactory(role=role))
    return client


def test_backtest_save_keeps_the_whole_report(saved: BacktestRun) -> None:
    assert saved.label == "June deals"
    assert saved.horizon_days == 60
    [rule] = saved.result["rules"]
    assert (rule["rule"], rule["best_baseline"]) == ("stale-deal", "rotting>14")
    assert len(saved.result["baselines"]) == 8


def test_the_page_shows_each_rule_beside_its_base_rate_and_draws_the_curves(
    saved: BacktestRun,
) -> None:
    response = signed_in(Role.MANAGER).get(f"/quality/backtests/{saved.pk}/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "stale-deal" in html and "rotting&gt;14" in html
    assert 'id="pr-curves"' in html
    curves = response.context["curves"]
    names = [curve["name"] for curve in curves]
    assert names[0] == "stale-deal" and "baseline:rotting" in names
    stale = curves[0]
    assert [point[2] for point in stale["points"]] == [96, 240, 336, 504]
    listing = signed_in(Role.MANAGER).get("/quality/backtests/")
    assert "June deals" in listing.content.decode()


def test_reps_cannot_read_backtests(saved: BacktestRun) -> None:
    assert signed_in(Role.REP).get(f"/quality/backtests/{saved.pk}/").status_code == 403
    assert signed_in(Role.REP).get("/api/quality/backtests/").status_code == 403


def test_the_api_returns_the_saved_report(saved: BacktestRun) -> None:
    response = signed_in(Role.DIRECTOR).get(f"/api/quality/backtests/{saved.pk}/")

    assert response.status_code == 200
    body = json.loads(response.content)
    assert body["label"] == "June deals"
    assert body["result"]["rules"][0]["base_rate"] == pytest.approx(0.6667, abs=1e-4)
