"""The hand-worked customer of the health tests: every fact dated against AT."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from salesradar.accounts.models import User
from salesradar.activities.choices import ActivityKind, Outcome
from salesradar.crm.models import Customer
from salesradar.pipeline.models import Contract, Opportunity, Stage
from tests.factories import (
    SHANGHAI,
    ActivityFactory,
    ContractFactory,
    CustomerFactory,
    InvoiceFactory,
    OpportunityFactory,
    QuoteFactory,
)

AT = dt.datetime(2024, 9, 1, 0, 0, tzinfo=SHANGHAI)


def on(year: int, month: int, day: int) -> dt.datetime:
    return dt.datetime(year, month, day, 10, 0, tzinfo=SHANGHAI)


def worked_customer(owner: User, stages: dict[str, Stage]) -> Customer:
    """Build the customer whose pillars the tests work out by hand (see test_pillars)."""
    customer = CustomerFactory(owner=owner, size="large", created_at=on(2023, 5, 1))
    won = OpportunityFactory(
        owner=owner,
        customer=customer,
        stage=stages["won"],
        product_line="ERP",
        created_at=on(2023, 5, 2),
        closed_at=on(2024, 6, 15),
    )
    first = ContractFactory(
        opportunity=None,
        customer=customer,
        signed_at=on(2023, 6, 1),
        starts_on=dt.date(2023, 7, 1),
        ends_on=dt.date(2024, 6, 30),
        amount=Decimal("100000"),
    )
    renewal = ContractFactory(
        opportunity=won,
        customer=customer,
        renewal_of=first,
        signed_at=on(2024, 6, 15),
        starts_on=dt.date(2024, 7, 1),
        ends_on=dt.date(2025, 6, 30),
        amount=Decimal("250000"),
    )
    open_deal = OpportunityFactory(
        owner=owner, customer=customer, amount=Decimal("100000"), created_at=on(2024, 8, 1)
    )
    QuoteFactory(opportunity=open_deal, requested_at=on(2024, 8, 5))
    visits = [
        (on(2024, 7, 10), Outcome.POSITIVE, True),
        (on(2024, 8, 20), Outcome.NO_RESPONSE, False),
    ]
    for when, outcome, decision_maker in visits:
        ActivityFactory(
            owner=owner,
            customer=customer,
            kind=ActivityKind.VISIT,
            occurred_at=when,
            outcome=outcome,
            decision_maker_present=decision_maker,
        )
    calls = [Outcome.POSITIVE, Outcome.POSITIVE, Outcome.POSITIVE, Outcome.NO_RESPONSE]
    for day, outcome in zip((1, 5, 15, 25), calls, strict=True):
        ActivityFactory(
            owner=owner,
            customer=customer,
            kind=ActivityKind.CALL,
            occurred_at=on(2024, 8, day),
            outcome=outcome,
            summary=f"call {day}",
        )
    # an activity after AT must not count
    ActivityFactory(owner=owner, customer=customer, occurred_at=on(2024, 9, 2), outcome="negative")
    invoices = [
        (dt.date(2024, 2, 1), on(2024, 1, 20)),  # on time
        (dt.date(2024, 5, 1), on(2024, 5, 20)),  # late
        (dt.date(2024, 8, 1), None),  # unpaid
        (dt.date(2024, 8, 15), on(2024, 8, 10)),  # on time
    ]
    for due, paid in invoices:
        InvoiceFactory(
            contract=renewal,
            issued_on=due - dt.timedelta(days=30),
            due_on=due,
            amount=Decimal("50000"),
            paid_amount=Decimal("50000") if paid else Decimal("0"),
            paid_at=paid,
        )
    return customer


def contract_for(customer: Customer, **fields: object) -> Contract:
    return ContractFactory(opportunity=None, customer=customer, **fields)


def opportunities_of(customer: Customer) -> int:
    return Opportunity.objects.filter(customer=customer).count()


def red_customer(owner: User) -> Customer:
    """A customer with only an old zero-value contract and no contact: score (9+3+0+80)/4."""
    customer = CustomerFactory(owner=owner, size="")
    contract_for(customer, signed_at=on(2024, 1, 1), amount=Decimal("0"))
    return customer
