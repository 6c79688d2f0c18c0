"""The metric registry: registration fails loudly, compute checks its input, queries stay flat."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from salesradar.crm.models import Lead
from salesradar.metrics import registry
from salesradar.metrics.registry import (
    GRAINS,
    METRICS,
    Metric,
    MetricRow,
    UnknownMetricError,
    compute,
    register,
)
from salesradar.pipeline.models import Target
from tests.factories import (
    ActivityFactory,
    ContractFactory,
    CustomerFactory,
    InvoiceFactory,
    QuoteFactory,
    TeamFactory,
)
from tests.metrics import enter, local, opportunity, rep

AT = local(6, 18, 12)
DOCS = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"


class Constant(Metric):
    """Report the same value for one entity; exists to exercise the registry."""

    key = "test_constant"
    grain = "org"
    unit = "count"

    def rows(self, *, at, scope, period, periods):
        return [MetricRow(0, float(periods), None, context={"period": period, "at": at})]


@pytest.fixture
def scratch_registry(monkeypatch: pytest.MonkeyPatch) -> dict[str, Metric]:
    """Let a test register metrics into a copy, so the real registry stays as loaded."""
    copy = dict(METRICS)
    monkeypatch.setattr(registry, "METRICS", copy)
    return copy


def test_compute_refuses_a_naive_at():
    with pytest.raises(ValueError, match="timezone-aware"):
        compute("rep_followups", at=dt.datetime(2025, 6, 18, 12))


def test_an_unknown_metric_key_names_the_known_ones():
    with pytest.raises(UnknownMetricError) as raised:
        compute("opportunity_vibes", at=AT)

    message = str(raised.value)
    assert "'opportunity_vibes'" in message
    assert "opportunity_days_in_stage" in message and "org_churn_rate" in message
    assert isinstance(raised.value, KeyError)


def test_register_adds_a_metric_that_compute_can_find_by_key(scratch_registry):
    assert register(Constant) is Constant

    [row] = compute("test_constant", at=AT, periods=0)

    assert isinstance(scratch_registry["test_constant"], Constant)
    assert row.value == 1.0  # periods is at least one
    assert row.context["period"] == "week"  # the metric's default period
    assert "test_constant" not in METRICS  # the real registry is untouched


def test_register_refuses_anything_but_a_metric_subclass(scratch_registry):
    class NotAMetric:
        key, grain, unit = "not_a_metric", "org", "count"

    with pytest.raises(TypeError, match="not a Metric subclass"):
        register(NotAMetric)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not a Metric subclass"):
        register(Constant())  # type: ignore[arg-type]
    assert "not_a_metric" not in scratch_registry


def test_register_refuses_an_unknown_grain(scratch_registry):
    class PerPlanet(Constant):
        key, grain = "per_planet", "planet"  # type: ignore[assignment]

    with pytest.raises(TypeError, match="grain 'planet' is unknown"):
        register(PerPlanet)


def test_register_refuses_a_key_registered_twice(scratch_registry):
    class AnotherDaysInStage(Constant):
        key = "opportunity_days_in_stage"

    original = scratch_registry["opportunity_days_in_stage"]
    with pytest.raises(TypeError, match="registered twice"):
        register(AnotherDaysInStage)
    assert scratch_registry["opportunity_days_in_stage"] is original


def test_compute_accepts_a_metric_instance_without_registering_it(scratch_registry):
    [row] = compute(Constant(), at=AT, period="month", periods=3)

    assert (row.value, row.context["period"]) == (3.0, "month")
    assert "test_constant" not in scratch_registry


def test_every_registered_metric_is_complete_and_documented():
    documented = DOCS.read_text(encoding="utf-8")
    assert len(METRICS) == 42  # DESIGN §5 at every grain, the lead pool's two (issue 6), risk (12)
    for key, metric in METRICS.items():
        assert metric.key == key
        assert metric.grain in GRAINS
        assert metric.unit
        assert (type(metric).__doc__ or "").strip(), key
        heading = re.compile(rf"^#+ `{key}`$", re.MULTILINE)
        assert heading.search(documented), f"docs/metrics.md has no section for {key}"


# --------------------------------------------------------------------------- query counts


def build_entities(count: int, stages) -> None:
    """Give every metric ``count`` more entities of its grain, each with the facts it reads."""
    for n in range(count):
        team = TeamFactory()
        owner = rep(team)
        customer = CustomerFactory(owner=owner, tier="A", created_at=local(5, 1))
        deal = opportunity(
            owner, created=local(5, 2), customer=customer, stage="proposal", entered=local(6, 1)
        )
        ActivityFactory(opportunity=deal, occurred_at=local(6, 10), created_at=local(6, 10))
        QuoteFactory(opportunity=deal, requested_at=local(6, 12))
        won = opportunity(owner, created=local(5, 2), customer=customer)
        QuoteFactory(opportunity=won, requested_at=local(5, 3), sent_at=local(5, 4))
        enter(won, "proposal", local(5, 10))
        enter(won, "won", local(5, 20))
        contract = ContractFactory(
            opportunity=won,
            customer=customer,
            starts_on=dt.date(2025, 1, 1),
            ends_on=dt.date(2025, 9, 30) if n % 2 else dt.date(2025, 5, 31),
        )
        InvoiceFactory(contract=contract, issued_on=dt.date(2025, 5, 1), due_on=dt.date(2025, 6, 1))
        Lead.objects.create(
            code=f"L{deal.pk:06d}",
            company_name="苏州线索",
            source="api",
            status="assigned",
            owner=owner,
            created_at=local(6, 1),
            assigned_at=local(6, 1),
        )
        Target.objects.create(
            user=owner,
            period="quarter",
            period_start=dt.date(2025, 4, 1),
            measure="won_amount",
            value=Decimal(1_000_000),
        )


def count_queries(key: str) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as context:
        result = compute(key, at=AT, periods=3)
    return len(context.captured_queries), len({row.entity_id for row in result})


@pytest.mark.parametrize("key", sorted(METRICS))
def test_query_count_does_not_grow_with_the_number_of_entities(key, stages):
    build_entities(2, stages)
    queries_for_two, entities_for_two = count_queries(key)
    build_entities(8, stages)

    queries_for_ten, entities_for_ten = count_queries(key)

    assert queries_for_ten == queries_for_two
    if METRICS[key].grain != "org":
        assert entities_for_ten > entities_for_two  # the data set did reach the metric


def test_a_window_sets_how_many_periods_a_per_period_metric_returns(db):
    rep(TeamFactory())

    by_window = compute("rep_followups", at=AT, window=dt.timedelta(weeks=4))
    by_count = compute("rep_followups", at=AT, periods=4)

    assert [row.period for row in by_window] == [row.period for row in by_count]
    assert len(by_window) == 4
