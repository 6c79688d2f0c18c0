"""Customer lifecycle moved by contract events, with history that can be read as of a day."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from salesradar.crm.choices import Lifecycle, LifecycleEvent
from salesradar.crm.lifecycle import advance_lifecycle, apply_tier_rules, lifecycle_as_of
from salesradar.crm.models import Customer, LifecycleChange, TierPolicy
from tests.factories import CREATED_AT, ContractFactory, CustomerFactory

pytestmark = pytest.mark.django_db


def contract(customer: Customer, signed: dt.datetime, months: int = 12) -> None:
    start = signed.date()
    ContractFactory(
        customer=customer,
        opportunity=None,
        signed_at=signed,
        starts_on=start,
        ends_on=start + dt.timedelta(days=30 * months),
        amount=Decimal("100000"),
    )


def day(days: int) -> dt.datetime:
    return CREATED_AT + dt.timedelta(days=days)


def stage(customer: Customer) -> str:
    return Customer.objects.get(pk=customer.pk).lifecycle


def test_first_contract_makes_a_prospect_new_and_a_second_makes_it_active(default_process):
    customer = CustomerFactory()
    contract(customer, day(10))
    advance_lifecycle(at=day(20))
    assert stage(customer) == Lifecycle.NEW

    contract(customer, day(200))
    advance_lifecycle(at=day(210))

    assert stage(customer) == Lifecycle.ACTIVE
    events = list(customer.lifecycle_changes.order_by("at").values_list("event", "at"))
    assert events == [
        (LifecycleEvent.FIRST_CONTRACT, day(10)),
        (LifecycleEvent.REPEAT_CONTRACT, day(200)),
    ]


def test_missed_renewal_puts_a_customer_at_risk_then_churned_then_won_back(default_process):
    customer = CustomerFactory()
    contract(customer, day(0), months=6)
    advance_lifecycle(at=day(10))

    advance_lifecycle(at=day(180 + 31))
    assert stage(customer) == Lifecycle.AT_RISK
    advance_lifecycle(at=day(30 * 18 + 5))
    assert stage(customer) == Lifecycle.CHURNED
    contract(customer, day(600))
    advance_lifecycle(at=day(601))

    assert stage(customer) == Lifecycle.ACTIVE
    assert list(customer.lifecycle_changes.order_by("at").values_list("event", flat=True)) == [
        LifecycleEvent.FIRST_CONTRACT,
        LifecycleEvent.RENEWAL_MISSED,
        LifecycleEvent.CHURNED,
        LifecycleEvent.WON_BACK,
    ]


def test_lifecycle_as_of_reads_the_stage_on_a_past_day(default_process):
    customer = CustomerFactory()
    contract(customer, day(10), months=6)
    advance_lifecycle(at=day(20))
    advance_lifecycle(at=day(250))

    def as_of(moment: dt.datetime) -> str:
        return Customer.objects.annotate(s=lifecycle_as_of(moment)).get(pk=customer.pk).s

    assert [as_of(day(5)), as_of(day(100)), as_of(day(300))] == [
        Lifecycle.PROSPECT,
        Lifecycle.NEW,
        Lifecycle.AT_RISK,
    ]


def test_lifecycle_history_is_append_only():
    change = LifecycleChange.objects.create(
        customer=CustomerFactory(), from_stage="prospect", to_stage="new", event="manual", at=day(1)
    )

    with pytest.raises(TypeError, match="append-only"):
        change.save()


def test_tier_rules_set_tiers_from_last_years_contracts_but_leave_manual_tiers(default_process):
    TierPolicy.objects.create(tier="A", min_contract_amount=Decimal("500000"))
    TierPolicy.objects.create(tier="B", min_contract_amount=Decimal("50000"))
    big, small, manual = (
        CustomerFactory(tier="C"),
        CustomerFactory(tier="A"),
        CustomerFactory(tier="A", tier_is_manual=True),
    )
    for _ in range(6):
        contract(big, day(100))
    for customer in (small, manual):
        contract(customer, day(100))

    apply_tier_rules(at=day(120))

    assert [Customer.objects.get(pk=c.pk).tier for c in (big, small, manual)] == ["A", "B", "A"]
