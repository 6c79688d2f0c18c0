"""update_from_values writes exactly the named columns of many rows in one statement per batch."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from salesradar.core import bulk
from salesradar.core.bulk import update_from_values
from salesradar.crm.models import Customer
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 12, 7, 9, 30, tzinfo=dt.UTC)


def test_named_columns_of_every_row_are_written_and_the_others_left_alone() -> None:
    owner = UserFactory()
    customers = [CustomerFactory(tier="C", industry="制造", owner=None) for _ in range(7)]
    for index, customer in enumerate(customers):
        customer.tier = "A" if index % 2 else "B"
        customer.owner = owner if index % 3 == 0 else None
        customer.released_at = NOW if index == 4 else None
        customer.industry = "changed but not named"

    with CaptureQueriesContext(connection) as queries:
        updated = update_from_values(Customer, customers, ["tier", "owner", "released_at"])

    assert updated == 7
    assert len([q for q in queries if q["sql"].startswith("UPDATE")]) == 1
    stored = {c.pk: c for c in Customer.objects.all()}
    for index, customer in enumerate(customers):
        row = stored[customer.pk]
        assert row.tier == ("A" if index % 2 else "B")
        assert row.owner_id == (owner.pk if index % 3 == 0 else None)
        assert row.released_at == (NOW if index == 4 else None)
        assert row.industry == "制造"


def test_many_rows_are_cut_into_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    customers = [CustomerFactory(tier="C") for _ in range(5)]
    for customer in customers:
        customer.tier = "A"
    monkeypatch.setattr(bulk, "POSTGRES_BATCH", 2)
    monkeypatch.setattr(connection.features, "max_query_params", 4)  # 2 columns: 2 rows

    assert update_from_values(Customer, customers, ["tier"]) == 5
    assert set(Customer.objects.values_list("tier", flat=True)) == {"A"}


def test_nothing_to_write_sends_no_statement() -> None:
    with CaptureQueriesContext(connection) as queries:
        assert update_from_values(Customer, [], ["tier"]) == 0
    assert len(queries) == 0
