from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.db.models import Max, Sum

from salesradar.activities.models import Activity
from salesradar.crm.models import Customer
from salesradar.demo.services import build_demo
from salesradar.pipeline.models import Opportunity, StageChange

TODAY = dt.date(2026, 11, 30)
SMALLER = {"customers": 120, "opportunities": 300, "reps": 6, "teams": 2}


def build_snapshot(seed: int) -> tuple[object, ...]:
    """Build a demo in a transaction that is rolled back, and describe what it held."""
    with transaction.atomic():
        result = build_demo(
            seed=seed, size="small", overrides=SMALLER, today=TODAY, truth_path=None
        )
        snapshot = (
            Opportunity.objects.aggregate(total=Sum("amount"))["total"],
            Activity.objects.count(),
            Activity.objects.aggregate(last=Max("occurred_at"))["last"],
            StageChange.objects.count(),
            tuple(Customer.objects.order_by("id").values_list("name", "tier")),
            # user and team ids come from sequences that a rollback does not rewind
            tuple((t.kind, t.starts_at, t.description) for t in result.ground_truth),
        )
        transaction.set_rollback(True)
    return snapshot


@pytest.mark.django_db
def test_same_seed_builds_the_same_organisation() -> None:
    assert build_snapshot(3) == build_snapshot(3)


@pytest.mark.django_db
def test_another_seed_builds_another_organisation() -> None:
    assert build_snapshot(3) != build_snapshot(4)


@pytest.mark.django_db
def test_demo_refuses_a_database_that_already_holds_customers() -> None:
    from django.core.exceptions import ValidationError

    from tests.factories import CustomerFactory

    CustomerFactory()
    with pytest.raises(ValidationError, match="already holds customers"):
        build_demo(seed=1, size="small", today=TODAY, truth_path=None)
