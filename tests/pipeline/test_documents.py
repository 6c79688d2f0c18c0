"""Quotes, contracts, invoices and payments: the verbs that let a deal pass its gates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from salesradar.core.errors import DomainError, Invalid
from salesradar.pipeline.choices import QuoteStatus
from salesradar.pipeline.services import (
    create_quote,
    issue_invoice,
    move_stage,
    record_payment,
    send_quote,
    sign_contract,
    update_quote,
)
from tests.factories import OpportunityFactory

pytestmark = pytest.mark.django_db


def now() -> dt.datetime:
    return timezone.now()


@pytest.fixture
def deal(default_process):
    return OpportunityFactory(amount=Decimal("500000"))


def test_a_new_quote_version_supersedes_the_earlier_ones_and_touches_the_deal(deal):
    first = create_quote(deal, amount=480000, by=deal.owner, at=now())
    send_quote(first, by=deal.owner, at=now())
    second = create_quote(deal, amount=450000, by=deal.owner, at=now())

    first.refresh_from_db()
    deal.refresh_from_db()
    assert (first.version, second.version) == (1, 2)
    assert first.status == QuoteStatus.SUPERSEDED
    assert second.status == QuoteStatus.REQUESTED and second.amount == Decimal("450000")
    assert deal.updated_at >= second.requested_at


def test_a_sent_quote_cannot_be_changed_or_sent_twice(deal):
    quote = create_quote(deal, amount=100, by=deal.owner, at=now())
    update_quote(quote, amount=120, by=deal.owner, at=now())
    send_quote(quote, by=deal.owner, at=now())

    with pytest.raises(DomainError, match="sent already"):
        update_quote(quote, amount=130, by=deal.owner, at=now())
    with pytest.raises(DomainError, match="sent already"):
        send_quote(quote, by=deal.owner, at=now())
    quote.refresh_from_db()
    assert quote.amount == Decimal("120")


def test_negative_amounts_and_inverted_terms_are_refused_naming_the_field(deal):
    with pytest.raises(Invalid) as negative:
        create_quote(deal, amount=-1, by=deal.owner, at=now())
    with pytest.raises(Invalid) as inverted:
        sign_contract(
            deal,
            amount=1,
            signed_at=now(),
            starts_on=dt.date(2026, 5, 1),
            ends_on=dt.date(2026, 4, 1),
            by=deal.owner,
            at=now(),
        )
    assert list(negative.value.fields) == ["amount"]
    assert list(inverted.value.fields) == ["ends_on"]
    assert deal.quotes.count() == 0 and deal.contracts.count() == 0


def test_invoices_cannot_exceed_the_contract_and_payments_cannot_exceed_the_invoice(deal):
    contract = sign_contract(
        deal,
        amount=Decimal("100000"),
        signed_at=now(),
        starts_on=dt.date(2026, 1, 1),
        ends_on=dt.date(2026, 12, 31),
        by=deal.owner,
        at=now(),
    )
    invoice = issue_invoice(
        contract,
        amount=Decimal("60000"),
        issued_on=dt.date(2026, 1, 5),
        due_on=dt.date(2026, 2, 4),
        by=deal.owner,
        at=now(),
    )
    with pytest.raises(Invalid, match="more than the contract"):
        issue_invoice(
            contract,
            amount=Decimal("50000"),
            issued_on=dt.date(2026, 1, 5),
            due_on=dt.date(2026, 2, 4),
            by=deal.owner,
            at=now(),
        )
    record_payment(invoice, amount=Decimal("20000"), paid_at=now(), by=deal.owner)
    invoice.refresh_from_db()
    assert invoice.paid_amount == Decimal("20000") and invoice.paid_at is None
    with pytest.raises(Invalid, match=r"Only 40000\.00 is outstanding"):
        record_payment(invoice, amount=Decimal("50000"), paid_at=now(), by=deal.owner)
    paid = record_payment(invoice, amount=Decimal("40000"), paid_at=now(), by=deal.owner)
    assert paid.paid_amount == Decimal("60000") and paid.paid_at is not None
    assert contract.code.startswith("HT") and invoice.code.startswith("FP")


def test_a_sent_quote_and_a_signed_contract_open_the_won_gate(deal, stages):
    from tests.factories import ContactFactory, EvidenceFactory

    EvidenceFactory(opportunity=deal, kind="pain_points")
    EvidenceFactory(opportunity=deal, kind="nda")
    ContactFactory(customer=deal.customer, decision_role="decision_maker")
    deal.expected_close_date = timezone.localdate() + dt.timedelta(days=30)
    deal.save()
    send_quote(create_quote(deal, amount=500000, by=deal.owner, at=now()), by=deal.owner, at=now())
    sign_contract(
        deal,
        amount=500000,
        signed_at=now(),
        starts_on=timezone.localdate(),
        ends_on=timezone.localdate() + dt.timedelta(days=364),
        by=deal.owner,
        at=now(),
    )

    move_stage(deal, "won", by=deal.owner, at=now())

    deal.refresh_from_db()
    assert deal.stage.is_won and deal.closed_at is not None
    with pytest.raises(DomainError, match="closed"):
        create_quote(deal, amount=1, by=deal.owner, at=now())
