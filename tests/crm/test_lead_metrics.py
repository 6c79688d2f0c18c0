"""The engine's metrics that read the lead pool: recalls per rep and the tier cadence."""

from __future__ import annotations

import datetime as dt

import pytest

from salesradar.alerts.conditions import Cadence
from salesradar.crm.models import TierPolicy
from salesradar.crm.periodic import recall_overdue_leads
from salesradar.crm.pool import claim
from salesradar.metrics.registry import compute
from tests.crm.factories import LeadFactory
from tests.factories import ActivityFactory, CustomerFactory, UserFactory, days_after_creation

pytestmark = pytest.mark.django_db


def test_recalls_are_counted_per_rep_and_week():
    at = days_after_creation(31)
    joined = days_after_creation(-1)
    lapsing, careful = UserFactory(date_joined=joined), UserFactory(date_joined=joined)
    for _ in range(2):
        lead = LeadFactory()
        claim(lead, by=lapsing, at=at - dt.timedelta(days=9))
    recall_overdue_leads(at=at - dt.timedelta(days=7))

    rows = compute("rep_lead_recalls", at=at, periods=3)

    totals = {
        rep.pk: sum(r.value for r in rows if r.entity_id == rep.pk) for rep in (lapsing, careful)
    }
    assert totals == {lapsing.pk: 2.0, careful.pk: 0.0}


def test_tier_cadence_counts_only_the_kinds_the_tier_asks_for(default_process):
    TierPolicy.objects.create(tier="A", cadence_days=7, cadence_kinds=["visit", "meeting"])
    at = days_after_creation(20)
    customer = CustomerFactory(tier="A")
    ActivityFactory(
        customer=customer, owner=customer.owner, kind="call", occurred_at=at - dt.timedelta(days=1)
    )
    ActivityFactory(
        customer=customer,
        owner=customer.owner,
        kind="visit",
        occurred_at=at - dt.timedelta(days=10),
    )

    [row] = compute("customer_followups_in_tier_cadence", at=at)

    assert row.value == 0.0
    assert row.context["kinds"] == ["visit", "meeting"]
    assert row.context["days_since_last"] == pytest.approx(10.0)
    verdict = Cadence(required=(("A", 1),)).judge(row.value, [], row.context)
    assert verdict.severity == "warning"
