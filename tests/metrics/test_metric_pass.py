"""One evaluation pass computes each metric once for every rule that reads it.

The three customer-tier rules read "days since last activity" and the two stale-deal rules
"hours since update"; inside ``metric_pass`` each is computed once over the wider scope and
the rows are filtered by their context, giving exactly the rows of a computation per rule.
"""

from __future__ import annotations

from typing import Any

import pytest

from salesradar.metrics.registry import METRICS, Scope, compute, metric_pass
from tests.factories import ActivityFactory, CustomerFactory
from tests.metrics import enter, local, opportunity, rep

AT = local(6, 18, 12)

pytestmark = pytest.mark.django_db


def rows_by_entity(rows: list[Any]) -> dict[int, tuple[Any, ...]]:
    return {row.entity_id: (row.value, row.owner_id, row.team_id, row.context) for row in rows}


@pytest.fixture
def customers() -> None:
    owner = rep()
    for index, tier in enumerate("AABBCC"):
        customer = CustomerFactory(owner=owner, tier=tier, created_at=local(5, 1))
        ActivityFactory(customer=customer, owner=owner, occurred_at=local(6, 1 + index))


def test_tier_rules_in_one_pass_compute_the_customer_metric_once(
    customers: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    metric = METRICS["customer_days_since_last_activity"]
    alone = {
        tier: rows_by_entity(compute(metric, at=AT, scope=Scope(tiers=(tier,)))) for tier in "ABC"
    }
    calls = []
    original = type(metric).rows
    monkeypatch.setattr(
        type(metric),
        "rows",
        lambda self, **kwargs: calls.append(kwargs) or original(self, **kwargs),
    )

    with metric_pass() as shared:
        together = {
            tier: rows_by_entity(compute(metric, at=AT, scope=Scope(tiers=(tier,))))
            for tier in "ABC"
        }

    assert together == alone
    assert all(len(rows) == 2 for rows in together.values())
    assert len(calls) == 1 and calls[0]["scope"].tiers == ()
    assert (shared.asked[metric.key], shared.computed[metric.key]) == (3, 1)


def test_stage_lists_share_one_computation_and_keep_only_their_stages(stages) -> None:
    owner = rep()
    talking = opportunity(owner, created=local(6, 1), stage="needs_confirmed", entered=local(6, 5))
    closing = opportunity(owner, created=local(6, 1), stage="negotiation", entered=local(6, 9))
    lost = opportunity(owner, created=local(6, 1))
    enter(lost, "lost", local(6, 10))
    wide = Scope(stages=("initial_contact", "needs_confirmed", "proposal", "negotiation"))
    narrow = Scope(stages=("negotiation",))
    key = "opportunity_hours_since_update"
    alone = [rows_by_entity(compute(key, at=AT, scope=scope)) for scope in (wide, narrow)]

    with metric_pass() as shared:
        together = [rows_by_entity(compute(key, at=AT, scope=scope)) for scope in (wide, narrow)]

    assert together == alone
    assert set(together[0]) == {talking.pk, closing.pk} and set(together[1]) == {closing.pk}
    assert shared.computed[key] == 1


def test_different_moments_or_teams_are_not_shared(customers: None) -> None:
    key = "customer_days_since_last_activity"
    with metric_pass() as shared:
        compute(key, at=AT, scope=Scope(tiers=("A",)))
        compute(key, at=local(6, 19), scope=Scope(tiers=("A",)))
        compute(key, at=AT, scope=Scope(owner_ids=(1,)))
    assert shared.computed[key] == 3
