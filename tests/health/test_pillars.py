"""The four pillars, worked out by hand for one customer (tests/health/builders.py)."""

from __future__ import annotations

import pytest

from salesradar.health.pillars import compute_pillars
from tests.factories import CustomerFactory, UserFactory
from tests.health.builders import AT, contract_for, on, worked_customer

pytestmark = pytest.mark.django_db


def test_pillars_of_the_worked_customer_match_the_hand_computation(stages) -> None:
    customer = worked_customer(UserFactory(), stages)

    scores = compute_pillars(AT)[customer.pk]

    # potential: 0.5 × (250,000 / 500,000 × 100) + 0.3 × 80 (large) + 0.2 × (100,000 / 500,000
    # × 100) = 25 + 24 + 4
    assert scores.potential == 53
    # depth: (428 days / 365 / 5 years × 100 = 23.45, 1 of 3 lines = 33.33, 1 of 2 renewals =
    # 50) / 3 = 35.6
    assert scores.depth == 36
    # relationship: (1 of 2 visits held = 50, 1 decision-maker touch of 2 = 50, 3 of 4 calls
    # answered = 75, 1 customer quote request of 2 = 50) / 4 = 56.25
    assert scores.relationship == 56
    # risk: 100 − 40 × (2 of 4 invoices late or unpaid) − 10 (one visit without a show in 90
    # days); last contact 7 days ago, no complaint surge
    assert scores.risk == 70
    assert scores.facts["late_invoices"] == 2
    assert scores.facts["days_since_contact"] == 6
    assert scores.weakest() == "depth"


def test_only_customers_with_a_contract_before_the_moment_are_scored(stages) -> None:
    owner = UserFactory()
    prospect = CustomerFactory(owner=owner)
    later = CustomerFactory(owner=owner)
    contract_for(later, signed_at=on(2024, 10, 1))

    assert prospect.pk not in compute_pillars(AT)
    assert later.pk not in compute_pillars(AT)
    assert later.pk in compute_pillars(on(2024, 10, 2))


def test_a_silent_customer_with_nothing_else_loses_the_silence_penalty_only(stages) -> None:
    customer = CustomerFactory(owner=UserFactory(), size="")
    contract_for(customer, signed_at=on(2024, 1, 1), amount=0)

    scores = compute_pillars(AT)[customer.pk]

    assert (scores.potential, scores.relationship, scores.risk) == (9, 0, 80)  # 0.3 × 30 = 9
