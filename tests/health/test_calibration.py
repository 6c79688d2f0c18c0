"""Calibrating the pillar weights on renewal history, and keeping the defaults without it."""

from __future__ import annotations

import datetime as dt

import pytest

from salesradar.activities.choices import Outcome
from salesradar.health.calibration import calibrate, calibration_due, observation_time
from salesradar.health.services import DEFAULT_WEIGHTS, current_weights
from tests.factories import ActivityFactory, CustomerFactory, UserFactory
from tests.health.builders import AT, contract_for, on

pytestmark = pytest.mark.django_db


def renewal_history(renewed: int, churned: int) -> None:
    """Contracts ending 2024-06-30; the renewed customers were answering calls in the spring."""
    owner = UserFactory()
    for index in range(renewed + churned):
        customer = CustomerFactory(owner=owner)
        first = contract_for(
            customer,
            signed_at=on(2023, 7, 1),
            starts_on=dt.date(2023, 7, 1),
            ends_on=dt.date(2024, 6, 30),
        )
        if index < renewed:
            contract_for(
                customer,
                renewal_of=first,
                signed_at=on(2024, 6, 20),
                starts_on=dt.date(2024, 7, 1),
                ends_on=dt.date(2025, 6, 30),
            )
            for day in (1, 8, 15, 22):
                ActivityFactory(
                    owner=owner,
                    customer=customer,
                    occurred_at=on(2024, 3, day),
                    outcome=Outcome.POSITIVE,
                )


def test_observation_is_the_month_start_two_months_before_the_end() -> None:
    assert observation_time(dt.date(2024, 6, 30)).date() == dt.date(2024, 4, 1)
    assert observation_time(dt.date(2024, 1, 31)).date() == dt.date(2023, 11, 1)


def test_too_little_history_keeps_the_default_weights_and_says_so() -> None:
    renewal_history(renewed=5, churned=5)

    result = calibrate(at=AT)

    assert (result.samples, result.renewals, result.applied) == (10, 5, False)
    assert "Too little history" in result.note
    assert current_weights() == DEFAULT_WEIGHTS
    # the report still says how well each pillar predicted renewal: relationship (25 vs 0)
    # and risk (100 vs 80, the silence penalty) separate the outcomes, the others tie
    assert result.pillar_auc == {"potential": 0.5, "depth": 0.5, "relationship": 1.0, "risk": 1.0}
    assert not calibration_due(AT)


def test_enough_history_fits_weights_on_the_pillars_that_predicted_renewal() -> None:
    renewal_history(renewed=24, churned=24)

    result = calibrate(at=AT)

    assert (result.samples, result.renewals, result.applied) == (48, 24, True)
    assert result.model_auc == 1.0 and result.default_auc == 1.0
    assert result.weights["potential"] < 0.01 and result.weights["depth"] < 0.01
    assert result.weights["relationship"] + result.weights["risk"] == pytest.approx(1, abs=0.01)
    assert current_weights() == result.weights
