"""The forecast endpoints answer only about what the caller may see."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.api.factories import build_org, client_for
from tests.factories import OpportunityFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def org(default_process):
    org = build_org()
    close = timezone.localdate() + dt.timedelta(days=3)
    for owner in (org.rep, org.outsider):
        OpportunityFactory(owner=owner, amount=Decimal(100000), expected_close_date=close)
    return org


def test_a_rep_sees_only_their_own_forecast_and_deal_scores(org):
    client = client_for(org.rep)

    forecast = client.get("/api/forecast/?period=month").json()
    scores = client.get("/api/forecast/deal-scores/").json()

    assert [row["key"] for row in forecast["reps"]] == [f"rep:{org.rep.pk}"]
    assert forecast["org"] is None
    assert forecast["reps"][0]["stage_weighted"] == pytest.approx(10000)  # 10 % of 100,000
    assert len(scores["results"]) == 1
    assert scores["results"][0]["p_won"] == pytest.approx(0.1)  # no model: the stage's default
    assert any("salesradar model train" in note for note in scores["notes"])


def test_a_bad_period_is_refused_with_a_message(org):
    answer = client_for(org.rep).get("/api/forecast/?period=year")

    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid_period"
    assert "month, quarter" in answer.json()["message"]  # in the user's language


def test_the_calibration_report_is_empty_without_snapshots(org):
    answer = client_for(org.manager).get("/api/forecast/calibration/")

    assert answer.status_code == 200
    assert answer.json() == {"periods": [], "flagged": []}
