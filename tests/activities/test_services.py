"""Logging a follow-up is one verb: the web form, the API and the pool all get its rules."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from salesradar.activities.models import Activity
from salesradar.activities.services import SUMMARY_LIMIT, log_followup
from salesradar.core.errors import Invalid
from salesradar.crm.choices import LeadStatus
from salesradar.crm.models import Lead
from salesradar.pipeline.models import Opportunity
from tests.api.factories import client_for
from tests.factories import CustomerFactory, OpportunityFactory, UserFactory
from tests.web.support import english_client

pytestmark = pytest.mark.django_db


def assigned_lead_of(customer, owner, *, hours_ago: float = 3) -> Lead:  # type: ignore[no-untyped-def]
    at = timezone.now() - dt.timedelta(hours=hours_ago)
    return Lead.objects.create(
        code=f"L-{customer.pk}",
        company_name=customer.name,
        source="web_form",
        owner=owner,
        customer=customer,
        status=LeadStatus.ASSIGNED,
        created_at=at,
        assigned_at=at,
        response_due_at=at + dt.timedelta(hours=24),
    )


def test_a_follow_up_from_the_web_form_stops_the_leads_response_clock() -> None:
    rep = UserFactory()
    customer = CustomerFactory(owner=rep)
    lead = assigned_lead_of(customer, rep)

    response = english_client(rep).post(
        reverse("web:followup"), {"customer": customer.pk, "kind": "call", "outcome": "neutral"}
    )

    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.first_contact_at is not None
    assert lead.last_followup_at == lead.first_contact_at
    assert lead.status == LeadStatus.CONTACTED


def test_a_follow_up_through_the_api_counts_as_an_update_of_the_deal() -> None:
    rep = UserFactory()
    opportunity = OpportunityFactory(owner=rep)
    occurred = timezone.now() - dt.timedelta(minutes=10)
    assert opportunity.updated_at < occurred

    response = client_for(rep).post(
        "/api/activities/",
        {
            "kind": "visit",
            "customer": opportunity.customer_id,
            "opportunity": opportunity.pk,
            "occurred_at": occurred.isoformat(),
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert Opportunity.objects.get(pk=opportunity.pk).updated_at == occurred


def test_a_summary_over_the_limit_is_refused_naming_the_limit_and_nothing_is_stored() -> None:
    rep = UserFactory()
    customer = CustomerFactory(owner=rep)
    long_summary = "很" * (SUMMARY_LIMIT + 1)

    with pytest.raises(Invalid) as refused:
        log_followup(
            customer, by=rep, kind="call", occurred_at=timezone.now(), summary=long_summary
        )
    api = client_for(rep).post(
        "/api/activities/",
        {
            "kind": "call",
            "customer": customer.pk,
            "occurred_at": timezone.now().isoformat(),
            "summary": long_summary,
        },
        format="json",
    )

    assert str(SUMMARY_LIMIT) in refused.value.fields["summary"][0]
    assert api.status_code == 400
    assert str(SUMMARY_LIMIT) in api.json()["fields"]["summary"][0]
    assert not Activity.objects.exists()


def test_a_note_to_oneself_does_not_count_as_contacting_the_lead() -> None:
    rep = UserFactory()
    customer = CustomerFactory(owner=rep)
    lead = assigned_lead_of(customer, rep)

    log_followup(customer, by=rep, kind="note", occurred_at=timezone.now())

    lead.refresh_from_db()
    assert lead.first_contact_at is None and lead.status == LeadStatus.ASSIGNED


def test_a_late_follow_up_never_moves_the_deals_update_time_backwards() -> None:
    rep = UserFactory()
    opportunity = OpportunityFactory(owner=rep)
    later = timezone.now() - dt.timedelta(hours=1)
    Opportunity.objects.filter(pk=opportunity.pk).update(updated_at=later)

    log_followup(
        opportunity.customer,
        by=rep,
        kind="call",
        opportunity=opportunity,
        occurred_at=later - dt.timedelta(days=2),
    )

    assert Opportunity.objects.get(pk=opportunity.pk).updated_at == later


def test_the_follow_up_form_never_redirects_off_site() -> None:
    rep = UserFactory()
    customer = CustomerFactory(owner=rep)
    client = english_client(rep)

    for target in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)"):
        response = client.post(
            reverse("web:followup"),
            {"customer": customer.pk, "kind": "call", "outcome": "neutral", "next": target},
        )
        assert response.status_code == 302
        assert response["Location"] == reverse("web:workspace"), target
    on_site = client.post(
        reverse("web:followup"),
        {"customer": customer.pk, "kind": "call", "outcome": "neutral", "next": "/customers/"},
    )
    assert on_site["Location"] == "/customers/"
