"""Quotes, contracts, invoices and payments from the deal page; the stage-move form's defaults."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from salesradar.crm.choices import DecisionRole
from salesradar.pipeline.models import Opportunity
from tests.factories import ContactFactory, EvidenceFactory, OpportunityFactory
from tests.web.records_fixtures import Org, build_org
from tests.web.support import english_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def org() -> Org:
    return build_org()


def ready_for_negotiation(owner) -> Opportunity:
    deal = OpportunityFactory(
        owner=owner,
        amount=Decimal("300000"),
        expected_close_date=timezone.localdate() + dt.timedelta(days=20),
    )
    EvidenceFactory(opportunity=deal, kind="pain_points")
    EvidenceFactory(opportunity=deal, kind="nda")
    ContactFactory(customer=deal.customer, decision_role=DecisionRole.DECISION_MAKER)
    return deal


def test_a_rep_creates_and_sends_a_quote_records_a_contract_and_wins_the_deal(org: Org) -> None:
    deal = ready_for_negotiation(org.rep)
    client = english_client(org.rep)
    today = timezone.localdate()

    created = client.post(reverse("web:quote_create", args=[deal.pk]), {"amount": "290000"})
    quote = deal.quotes.get()
    sent = client.post(reverse("web:quote_send", args=[quote.pk]))
    signed = client.post(
        reverse("web:contract_create", args=[deal.pk]),
        {
            "amount": "290000",
            "signed_on": today.isoformat(),
            "starts_on": today.isoformat(),
            "ends_on": (today + dt.timedelta(days=364)).isoformat(),
        },
    )
    won = client.post(reverse("web:opportunity_move", args=[deal.pk]), {"to_stage": "won"})
    page = client.get(reverse("web:opportunity_detail", args=[deal.pk])).content.decode()

    assert [r.status_code for r in (created, sent, signed, won)] == [302, 302, 302, 302]
    deal.refresh_from_db()
    assert deal.stage.is_won
    contract = deal.contracts.get()
    assert contract.amount == Decimal("290000") and contract.code in page
    assert "Sent" in page and "v1" in page


def test_a_refused_invoice_keeps_what_was_typed_and_names_the_problem(org: Org) -> None:
    deal = ready_for_negotiation(org.rep)
    client = english_client(org.rep)
    today = timezone.localdate()
    client.post(
        reverse("web:contract_create", args=[deal.pk]),
        {
            "amount": "1000",
            "signed_on": today.isoformat(),
            "starts_on": today.isoformat(),
            "ends_on": today.isoformat(),
        },
    )
    contract = deal.contracts.get()

    refused = client.post(
        reverse("web:invoice_create", args=[contract.pk]),
        {"amount": "1500", "issued_on": today.isoformat(), "due_on": today.isoformat()},
    )

    html = refused.content.decode()
    assert refused.status_code == 400
    assert "more than the contract" in html
    assert 'value="1500"' in html
    assert not contract.invoices.exists()


def test_payments_are_recorded_against_an_invoice_until_it_is_paid(org: Org) -> None:
    deal = ready_for_negotiation(org.rep)
    client = english_client(org.rep)
    today = timezone.localdate().isoformat()
    client.post(
        reverse("web:contract_create", args=[deal.pk]),
        {"amount": "1000", "signed_on": today, "starts_on": today, "ends_on": today},
    )
    contract = deal.contracts.get()
    client.post(
        reverse("web:invoice_create", args=[contract.pk]),
        {"amount": "1000", "issued_on": today, "due_on": today},
    )
    invoice = contract.invoices.get()

    client.post(
        reverse("web:payment_create", args=[invoice.pk]), {"amount": "400", "paid_on": today}
    )
    client.post(
        reverse("web:payment_create", args=[invoice.pk]), {"amount": "600", "paid_on": today}
    )

    invoice.refresh_from_db()
    assert invoice.paid_amount == Decimal("1000") and invoice.paid_at is not None


def test_another_reps_deal_documents_answer_404(org: Org) -> None:
    deal = OpportunityFactory(owner=org.other_rep)

    response = english_client(org.rep).post(
        reverse("web:quote_create", args=[deal.pk]), {"amount": "1"}
    )

    assert response.status_code == 404
    assert not deal.quotes.exists()


def test_the_move_form_offers_the_next_stage_and_a_regression_asks_for_a_reason(org: Org) -> None:
    deal = ready_for_negotiation(org.rep)
    client = english_client(org.rep)
    client.post(reverse("web:opportunity_move", args=[deal.pk]), {"to_stage": "proposal"})

    page = client.get(reverse("web:opportunity_detail", args=[deal.pk])).content.decode()
    back = client.post(
        reverse("web:opportunity_move", args=[deal.pk]), {"to_stage": "initial_contact"}
    )
    back_with_reason = client.post(
        reverse("web:opportunity_move", args=[deal.pk]),
        {"to_stage": "initial_contact", "note": "Budget frozen until Q3"},
    )

    assert '<option value="negotiation" selected>' in page
    assert "?move_to=won#stage-move" in page  # the steps are links to the move form
    assert back.status_code == 400 and "Say why the deal goes back" in back.content.decode()
    assert back_with_reason.status_code == 302
    deal.refresh_from_db()
    assert deal.stage.key == "initial_contact"


def test_evidence_kinds_are_offered_by_their_label_in_the_readers_language(org: Org) -> None:
    deal = OpportunityFactory(owner=org.rep)
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(org.rep)

    html = client.get(reverse("web:opportunity_detail", args=[deal.pk])).content.decode()

    assert '<option value="pain_points">痛点清单</option>' in html
    assert '<option value="nda">保密协议（NDA）</option>' in html
