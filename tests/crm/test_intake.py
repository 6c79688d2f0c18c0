"""Every way in: validation, duplicate policy, pool placement, routing, review."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from salesradar.crm.choices import DuplicatePolicy, LeadSource, LeadStatus
from salesradar.crm.intake import LeadInput, intake_leads
from salesradar.crm.models import Assignment, DuplicateReview, Lead
from tests.crm.factories import LeadFactory, routing_rule
from tests.factories import UserFactory, days_after_creation

pytestmark = pytest.mark.django_db
AT = days_after_creation(10)


def test_bad_rows_are_refused_with_messages_and_the_good_rows_go_in():
    outcomes = intake_leads(
        [
            LeadInput("好公司", phone="13800138000", region="上海"),
            LeadInput("坏公司", phone="not a phone", email="x@", region="火星"),
            LeadInput(""),
        ],
        source=LeadSource.IMPORT,
        at=AT,
    )

    assert [o.status for o in outcomes] == ["created", "invalid", "invalid"]
    assert set(outcomes[1].errors) == {"phone", "email", "region"}
    assert "火星" in outcomes[1].errors["region"][0]
    assert "company_name" in outcomes[2].errors
    assert list(Lead.objects.values_list("company_name", flat=True)) == ["好公司"]


def test_unknown_source_is_refused():
    with pytest.raises(Exception, match="not a lead source"):
        intake_leads([LeadInput("某公司")], source="carrier-pigeon", at=AT)


def test_exact_duplicate_is_refused_by_default_naming_the_record():
    existing = LeadFactory(company_name="已有公司", email="sales@example.com")

    [outcome] = intake_leads([LeadInput("新公司", email="SALES@example.com")], source="api", at=AT)

    assert outcome.status == "duplicate"
    assert existing.code in outcome.messages[0]
    assert Lead.objects.count() == 1


def test_exact_duplicate_is_merged_when_configured_filling_blank_fields():
    existing = LeadFactory(company_name="已有公司", email="sales@example.com", industry="")

    [outcome] = intake_leads(
        [LeadInput("新公司", email="sales@example.com", industry="retail")],
        source="api",
        at=AT,
        policy=DuplicatePolicy.MERGE,
    )

    assert outcome.status == "merged"
    assert outcome.lead_id == existing.pk
    existing.refresh_from_db()
    assert existing.industry == "retail"
    assert Lead.objects.count() == 1


def test_similar_name_creates_the_lead_and_opens_a_review():
    LeadFactory(company_name="上海云帆网络科技有限公司")

    [outcome] = intake_leads([LeadInput("云帆网络科技（上海）")], source="manual", at=AT)

    assert outcome.status == "created"
    review = DuplicateReview.objects.get(pk=outcome.review_id)
    assert review.best_score == pytest.approx(0.95)
    assert review.candidates[0]["name"] == "上海云帆网络科技有限公司"


def test_new_lead_is_routed_and_the_assignment_names_its_rule():
    rep = UserFactory()
    rule = routing_rule("East web leads", [rep], regions=["上海"], sources=["web_form"])

    [outcome] = intake_leads([LeadInput("路由公司", region="上海")], source="web_form", at=AT)

    lead = Lead.objects.get(pk=outcome.lead_id)
    assert (lead.owner, lead.status, lead.routing_rule) == (rep, LeadStatus.ASSIGNED, rule)
    assert lead.response_due_at == AT + __import__("datetime").timedelta(hours=24)
    assert Assignment.objects.get(lead=lead).rule == rule


def test_web_form_creates_a_lead_from_json(client):
    response = client.post(
        reverse("leads:web-form"),
        data=json.dumps({"company_name": "表单公司", "phone": "13600136000"}),
        content_type="application/json",
    )

    assert response.status_code == 201
    lead = Lead.objects.get(code=response.json()["code"])
    assert (lead.source, lead.phone_key) == (LeadSource.WEB_FORM, "+8613600136000")


def test_web_form_refuses_bad_input_field_by_field(client):
    response = client.post(reverse("leads:web-form"), {"company_name": "x", "email": "nope"})

    assert response.status_code == 400
    assert "email" in response.json()["errors"]
    assert not Lead.objects.exists()


def test_web_form_duplicate_names_the_field_but_not_the_existing_record(client):
    LeadFactory(company_name="保密客户有限公司", phone="13500135000")

    response = client.post(reverse("leads:web-form"), {"company_name": "x", "phone": "13500135000"})

    assert response.status_code == 409
    assert "phone" in response.json()["errors"]
    assert "保密客户" not in response.content.decode()


def test_web_form_only_accepts_post(client):
    assert client.get(reverse("leads:web-form")).status_code == 405
