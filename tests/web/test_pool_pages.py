"""The lead pool on screen: limits explained and enforced, the previous owner's wait, release
with a reason, assignment by managers, the ownership countdown and nurture."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from salesradar.crm.choices import AssignmentKind, LeadStatus
from salesradar.crm.models import Assignment, Customer, Lead
from salesradar.crm.pool import default_pool
from tests.factories import CustomerFactory
from tests.web.records_fixtures import Org, build_org
from tests.web.support import english_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def org() -> Org:
    return build_org()


def pool_lead(n: int) -> Lead:
    return Lead.objects.create(
        code=f"L-{n}", company_name=f"Pool company {n}", source="web", status=LeadStatus.NEW
    )


def test_a_rep_claims_up_to_the_daily_limit_and_is_refused_beyond_it(org: Org) -> None:
    pool = default_pool()
    pool.claims_per_day = 2
    pool.save()
    leads = [pool_lead(n) for n in range(3)]
    client = english_client(org.rep)

    page = client.get(reverse("web:pool")).content.decode()
    answers = [
        client.post(reverse("web:pool_claim", args=["lead", lead.pk]), follow=True)
        for lead in leads
    ]
    refused = answers[-1].content.decode()

    assert "the pool allows 2 claims a day" in page
    assert Lead.objects.filter(owner=org.rep).count() == 2
    assert "allows 2 a day" in refused  # the pool service's refusal, shown as it words it
    assert Lead.objects.get(pk=leads[2].pk).owner is None


def test_the_previous_owner_sees_when_they_may_claim_again_and_is_refused_before(
    org: Org,
) -> None:
    customer = CustomerFactory(owner=None)
    client = english_client(org.rep)
    client.post(reverse("web:pool_claim", args=["customer", customer.pk]))
    client.post(
        reverse("web:pool_release", args=["customer", customer.pk]), {"reason": "Wrong region"}
    )

    page = client.get(reverse("web:pool")).content.decode()
    client.post(reverse("web:pool_claim", args=["customer", customer.pk]))

    assert "you may claim it again from" in page
    assert Customer.objects.get(pk=customer.pk).owner is None
    released = Assignment.objects.get(customer=customer, kind=AssignmentKind.RELEASED)
    assert released.note == "Wrong region"


def test_a_release_without_a_reason_is_refused_and_changes_nothing(org: Org) -> None:
    customer = CustomerFactory(owner=None)
    client = english_client(org.rep)
    client.post(reverse("web:pool_claim", args=["customer", customer.pk]))

    response = client.post(
        reverse("web:pool_release", args=["customer", customer.pk]), {}, follow=True
    )

    assert "goes back to the pool" in response.content.decode()
    assert Customer.objects.get(pk=customer.pk).owner == org.rep


def test_managers_assign_from_the_pool_and_reps_may_not(org: Org) -> None:
    lead = pool_lead(1)

    forbidden = english_client(org.rep).post(
        reverse("web:pool_assign", args=["lead", lead.pk]), {"to": org.rep.pk}
    )
    english_client(org.manager).post(
        reverse("web:pool_assign", args=["lead", lead.pk]), {"to": org.rep.pk}
    )

    assert forbidden.status_code == 403
    assert Lead.objects.get(pk=lead.pk).owner == org.rep


def test_the_ownership_countdown_turns_red_under_three_days_on_the_customer_page(org: Org) -> None:
    customer = CustomerFactory(owner=None, tier="B")  # tier B: 30 days of ownership
    client = english_client(org.rep)
    client.post(reverse("web:pool_claim", args=["customer", customer.pk]))
    Customer.objects.filter(pk=customer.pk).update(
        owned_since=timezone.now() - dt.timedelta(days=28)
    )

    html = client.get(reverse("web:customer_detail", args=[customer.pk])).content.decode()

    assert 'id="ownership-countdown"' in html and "text-danger" in html
    assert "returns to the pool in 1 day" in html


def test_a_not_now_lead_starts_and_stops_its_nurture(org: Org) -> None:
    lead = pool_lead(1)
    client = english_client(org.rep)
    client.post(reverse("web:pool_claim", args=["lead", lead.pk]))

    client.post(reverse("web:pool_nurture", args=[lead.pk]))
    nurturing = Lead.objects.get(pk=lead.pk).status
    client.post(reverse("web:pool_nurture", args=[lead.pk]), {"action": "stop"})

    assert nurturing == LeadStatus.NURTURING
    assert Lead.objects.get(pk=lead.pk).status == LeadStatus.CONTACTED
