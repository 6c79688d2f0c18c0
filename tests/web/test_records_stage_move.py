"""Stage moves from the opportunity page go through move_stage and show what a gate misses."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from salesradar.crm.choices import DecisionRole
from salesradar.pipeline.models import StageChange
from tests.factories import ContactFactory, EvidenceFactory, OpportunityFactory
from tests.web.records_fixtures import Org, build_org
from tests.web.support import english_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def org() -> Org:
    return build_org()


def test_refused_move_lists_the_missing_gate_items_and_changes_nothing(org: Org) -> None:
    deal = OpportunityFactory(owner=org.rep)

    response = english_client(org.rep).post(
        reverse("web:opportunity_move", args=[deal.pk]),
        {"to_stage": "needs_confirmed"},
        HTTP_HX_REQUEST="true",
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="stage-move-refused"' in html
    assert "Cannot move to Needs confirmed" in html
    assert "evidence “Pain-point list”" in html
    assert "a contact who is Decision maker" in html
    deal.refresh_from_db()
    assert deal.stage.key == "initial_contact"
    assert not StageChange.objects.filter(opportunity=deal).exists()


def test_refused_move_without_htmx_renders_the_whole_page_with_the_message(org: Org) -> None:
    deal = OpportunityFactory(owner=org.rep)

    response = english_client(org.rep).post(
        reverse("web:opportunity_move", args=[deal.pk]), {"to_stage": "proposal"}
    )

    html = response.content.decode()
    assert response.status_code == 400
    assert "<html" in html and "Still missing:" in html
    assert "the field “expected close date”" in html


def test_move_that_meets_the_gate_is_recorded_and_redirects(org: Org) -> None:
    deal = OpportunityFactory(owner=org.rep)
    EvidenceFactory(opportunity=deal, kind="pain_points")
    ContactFactory(customer=deal.customer, decision_role=DecisionRole.DECISION_MAKER)

    response = english_client(org.rep).post(
        reverse("web:opportunity_move", args=[deal.pk]),
        {"to_stage": "needs_confirmed", "note": "Budget confirmed"},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 204
    assert response["HX-Redirect"] == reverse("web:opportunity_detail", args=[deal.pk])
    deal.refresh_from_db()
    assert deal.stage.key == "needs_confirmed"
    change = StageChange.objects.get(opportunity=deal)
    assert (change.changed_by, change.note) == (org.rep, "Budget confirmed")


def test_moving_to_lost_needs_a_reason_and_takes_it_from_the_form(org: Org) -> None:
    deal = OpportunityFactory(owner=org.rep)
    client = english_client(org.rep)
    url = reverse("web:opportunity_move", args=[deal.pk])

    refused = client.post(url, {"to_stage": "lost"}, HTTP_HX_REQUEST="true")
    moved = client.post(url, {"to_stage": "lost", "lost_reason": "price"}, HTTP_HX_REQUEST="true")

    assert "the field “lost reason”" in refused.content.decode()
    assert moved.status_code == 204
    deal.refresh_from_db()
    assert (deal.stage.key, deal.lost_reason) == ("lost", "price")
    assert deal.closed_at is not None


def test_unknown_target_stage_is_a_form_error(org: Org) -> None:
    deal = OpportunityFactory(owner=org.rep)

    response = english_client(org.rep).post(
        reverse("web:opportunity_move", args=[deal.pk]),
        {"to_stage": "heaven"},
        HTTP_HX_REQUEST="true",
    )

    assert "Select a valid choice" in response.content.decode()
    deal.refresh_from_db()
    assert deal.stage.key == "initial_contact"


def test_moving_someone_elses_opportunity_answers_404(org: Org) -> None:
    deal = OpportunityFactory(owner=org.other_rep)

    response = english_client(org.rep).post(
        reverse("web:opportunity_move", args=[deal.pk]),
        {"to_stage": "lost", "lost_reason": "price"},
    )

    assert response.status_code == 404
    deal.refresh_from_db()
    assert deal.stage.key == "initial_contact"


def test_refusal_is_shown_in_chinese_when_chinese_is_chosen(org: Org) -> None:
    deal = OpportunityFactory(owner=org.rep)
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(org.rep)

    response = client.post(
        reverse("web:opportunity_move", args=[deal.pk]),
        {"to_stage": "needs_confirmed"},
        HTTP_HX_REQUEST="true",
    )

    html = response.content.decode()
    assert "需求确认" in html
    assert "一位角色为“决策人”的联系人" in html
    assert "Still missing" not in html


def test_evidence_added_on_the_page_lets_the_gate_pass(org: Org) -> None:
    deal = OpportunityFactory(owner=org.rep)
    ContactFactory(customer=deal.customer, decision_role=DecisionRole.DECISION_MAKER)
    client = english_client(org.rep)

    page = client.get(reverse("web:opportunity_detail", args=[deal.pk]))
    added = client.post(
        reverse("web:opportunity_evidence", args=[deal.pk]),
        {
            "kind": "pain_points",
            "title": "Pain points from the workshop",
            "url": "wiki.example.com/acme",
        },
    )
    moved = client.post(
        reverse("web:opportunity_move", args=[deal.pk]),
        {"to_stage": "needs_confirmed"},
        HTTP_HX_REQUEST="true",
    )

    assert '<option value="pain_points">' in page.content.decode()  # the gate's kinds offered
    assert added.status_code == 302
    evidence = deal.evidence.get()
    assert (evidence.kind, evidence.url, evidence.added_by) == (
        "pain_points",
        "https://wiki.example.com/acme",
        org.rep,
    )
    assert moved.status_code == 204
    deal.refresh_from_db()
    assert deal.stage.key == "needs_confirmed"


def test_evidence_with_a_malformed_kind_is_refused(org: Org) -> None:
    deal = OpportunityFactory(owner=org.rep)

    response = english_client(org.rep).post(
        reverse("web:opportunity_evidence", args=[deal.pk]),
        {"kind": "pain points!", "title": "x"},
    )

    assert response.status_code == 400
    assert not deal.evidence.exists()


def test_evidence_on_someone_elses_opportunity_answers_404(org: Org) -> None:
    deal = OpportunityFactory(owner=org.other_rep)

    response = english_client(org.rep).post(
        reverse("web:opportunity_evidence", args=[deal.pk]), {"kind": "nda", "title": "NDA"}
    )

    assert response.status_code == 404
    assert not deal.evidence.exists()
