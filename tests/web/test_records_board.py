"""The deal board: columns with totals, filters, moves by drop or menu, and the gate refusal
that opens the missing-evidence form in place."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from salesradar.crm.choices import DecisionRole
from tests.factories import ActivityFactory, ContactFactory, OpportunityFactory
from tests.web.records_fixtures import Org, build_org, firing_alert, make_rule
from tests.web.support import english_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def org() -> Org:
    return build_org()


def test_columns_total_count_amount_and_weighted_amount_and_cards_show_the_essentials(
    org: Org,
) -> None:
    big = OpportunityFactory(owner=org.rep, name="Cloud ERP", amount=Decimal("200000"))
    OpportunityFactory(owner=org.rep, amount=Decimal("100000"))
    OpportunityFactory(owner=org.other_rep, amount=Decimal("999999"))  # not visible to the rep
    ActivityFactory(opportunity=big, next_step="Send the demo recording")
    firing_alert(make_rule(), "opportunity", big.pk, owner=org.rep)

    html = english_client(org.rep).get(reverse("web:deal_board")).content.decode()

    first = html.split('data-column="initial_contact"', 1)[1].split("</section>", 1)[0]
    assert "2 deals · ¥300,000 · weighted ¥30,000" in first  # initial contact: 10 %
    assert "Cloud ERP" in first and "Send the demo recording" in first
    assert "Danger" in first  # the risk badge carries a word
    assert "999,999" not in html


def test_the_board_reads_with_a_fixed_number_of_queries(org: Org) -> None:
    client = english_client(org.manager)
    OpportunityFactory(owner=org.rep)
    client.get(reverse("web:deal_board"))
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("web:deal_board"))
    for _ in range(15):
        OpportunityFactory(owner=org.rep)
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("web:deal_board"))
    assert len(many) == len(few)


def test_filters_narrow_the_board_by_owner_amount_and_close_date(org: Org) -> None:
    soon = timezone.localdate() + dt.timedelta(days=10)
    OpportunityFactory(owner=org.rep, name="Small soon", amount=10, expected_close_date=soon)
    OpportunityFactory(owner=org.rep, name="Big later", amount=90000)

    html = (
        english_client(org.manager)
        .get(
            reverse("web:deal_board"),
            {"owner": org.rep.pk, "max_amount": "1000", "close_to": soon.isoformat()},
        )
        .content.decode()
    )

    assert "Small soon" in html and "Big later" not in html


def test_a_drop_refused_by_the_gate_opens_the_evidence_form_and_adding_it_moves_the_deal(
    org: Org,
) -> None:
    deal = OpportunityFactory(owner=org.rep)
    ContactFactory(customer=deal.customer, decision_role=DecisionRole.DECISION_MAKER)
    client = english_client(org.manager)

    refused = client.post(
        reverse("web:board_move", args=[deal.pk]),
        {"to_stage": "needs_confirmed"},
        HTTP_HX_REQUEST="true",
    )
    moved = client.post(
        reverse("web:board_evidence", args=[deal.pk]),
        {"to_stage": "needs_confirmed", "kind": "pain_points", "title": "Workshop notes"},
        HTTP_HX_REQUEST="true",
    )

    html = refused.content.decode()
    assert refused["HX-Retarget"] == f"#card-{deal.pk}"
    assert "Pain-point list" in html and 'name="title"' in html
    assert moved.status_code == 204
    deal.refresh_from_db()
    assert deal.stage.key == "needs_confirmed"


def test_another_reps_deal_cannot_be_moved_from_the_board(org: Org) -> None:
    deal = OpportunityFactory(owner=org.other_rep)

    response = english_client(org.rep).post(
        reverse("web:board_move", args=[deal.pk]), {"to_stage": "needs_confirmed"}
    )

    assert response.status_code == 404


def test_new_deal_picks_a_customer_then_opens_the_deal_form(org: Org) -> None:
    deal = OpportunityFactory(owner=org.rep)
    client = english_client(org.rep)

    listing = client.get(reverse("web:opportunity_list")).content.decode()
    picker = client.get(reverse("web:opportunity_new")).content.decode()
    chosen = client.get(reverse("web:opportunity_new"), {"customer": deal.customer_id})

    assert reverse("web:opportunity_new") in listing
    assert deal.customer.name in picker
    assert chosen["Location"] == reverse("web:opportunity_create", args=[deal.customer_id])
