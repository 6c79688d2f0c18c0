"""The hand-written reference SQL of benchmarks/reference_sql gives the metrics' own rows.

``bench evaluate --reference`` compares each metric's time with its reference, which only
means something if both do the same work: checked here on the small demo organisation
(stage history, regressions, quotes, leads, activities logged late) at two moments, on
whichever database runs the suite.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction
from pytest import approx

from salesradar.accounts.models import User
from salesradar.demo.services import build_demo
from salesradar.metrics.reference import (
    REFERENCE_DIR,
    metric_values,
    reference_metrics,
    reference_rows,
)
from salesradar.metrics.registry import METRICS
from tests.factories import OpportunityFactory, QuoteFactory
from tests.metrics import lead

TODAY = dt.date(2026, 11, 30)
MOMENTS = (
    dt.datetime(2026, 11, 30, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai")),
    dt.datetime(2026, 10, 14, 18, 0, tzinfo=ZoneInfo("Asia/Shanghai")),  # history after it
)
BUSY_METRICS = {
    "customer_days_since_last_activity",
    "opportunity_days_since_last_activity",
    "opportunity_hours_since_update",
    "opportunity_days_in_stage",
    "opportunity_stage_sla_ratio",
    "quote_hours_unanswered",
    "lead_hours_without_first_contact",
    "team_quote_response_hours",
    "team_sales_cycle_days",
    "team_followups",
    "team_days_since_activity_logged",
}

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def demo(django_db_setup: None, django_db_blocker) -> Iterator[None]:
    with django_db_blocker.unblock(), transaction.atomic():
        build_demo(seed=7, size="small", today=TODAY, truth_path=None)
        add_edge_cases()
        yield
        transaction.set_rollback(True)


def add_edge_cases() -> None:
    """What the demo lacks: leads still waiting for a first contact, a deal without history."""
    owner = User.objects.filter(role="rep").order_by("pk").first()
    for at in MOMENTS:
        for hours, contacted in ((3, None), (30, None), (50, 2), (80, None)):
            assigned = at - dt.timedelta(hours=hours)
            lead(
                owner,
                created_at=assigned,
                assigned_at=assigned,
                first_contact_at=None if contacted is None else at + dt.timedelta(contacted),
            )
    unrecorded = OpportunityFactory(
        owner=owner,
        created_at=MOMENTS[1] - dt.timedelta(days=20),
        stage_entered_at=MOMENTS[1] - dt.timedelta(days=5),
    )
    QuoteFactory(
        opportunity=unrecorded,
        requested_at=MOMENTS[1] - dt.timedelta(hours=30),
        sent_at=MOMENTS[1] + dt.timedelta(days=1),
    )


def test_every_reference_file_names_a_metric_and_exists_for_both_databases() -> None:
    stems = {path.name.split(".")[0] for path in REFERENCE_DIR.glob("*.sql")}
    assert stems == BUSY_METRICS
    assert stems <= set(METRICS)
    for stem in stems:
        for vendor in ("postgresql", "sqlite"):
            assert (REFERENCE_DIR / f"{stem}.{vendor}.sql").exists(), (stem, vendor)


@pytest.mark.parametrize("at", MOMENTS, ids=["today", "six-weeks-back"])
@pytest.mark.parametrize("metric", sorted(BUSY_METRICS))
def test_reference_sql_gives_the_metric_rows(demo: None, metric: str, at: dt.datetime) -> None:
    assert metric in reference_metrics()
    expected = metric_values(metric, at)
    got = reference_rows(metric, at)

    assert expected, f"{metric} has no rows on the demo at {at}: nothing is compared"
    assert set(got) == set(expected), (
        connection.vendor,
        sorted(set(got) ^ set(expected))[:10],
    )
    assert got == approx(expected, rel=1e-6, abs=1e-4)
