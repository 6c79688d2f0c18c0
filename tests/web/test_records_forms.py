"""Create and edit forms validate at the edge and write through the record services."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from salesradar.crm.models import Contact, Customer
from salesradar.pipeline.models import Opportunity, StageChange
from tests.factories import ContactFactory, CustomerFactory, OpportunityFactory
from tests.web.records_fixtures import Org, build_org
from tests.web.support import english_client

pytestmark = pytest.mark.django_db

VALID_CREDIT_CODE = "91310000MA1FL8XQ3C"


@pytest.fixture
def org() -> Org:
    return build_org()


def test_rep_creates_a_customer_who_is_theirs_with_a_new_number(org: Org) -> None:
    response = english_client(org.rep).post(
        reverse("web:customer_create"),
        {
            "name": "上海星河机器人有限公司",
            "tier": "B",
            "lifecycle": "prospect",
            "owner": org.manager.pk,
        },
    )

    customer = Customer.objects.get(name="上海星河机器人有限公司")
    assert response.status_code == 302
    assert response["Location"] == reverse("web:customer_detail", args=[customer.pk])
    assert customer.owner == org.rep  # a rep cannot hand a customer to someone else
    assert customer.code.startswith("C") and len(customer.code) == 14


def test_manager_assigns_a_new_customer_to_a_rep_of_the_team(org: Org) -> None:
    english_client(org.manager).post(
        reverse("web:customer_create"),
        {"name": "Acme Trading", "tier": "A", "lifecycle": "prospect", "owner": org.rep.pk},
    )

    assert Customer.objects.get(name="Acme Trading").owner == org.rep


def test_manager_cannot_assign_a_customer_to_another_teams_rep(org: Org) -> None:
    response = english_client(org.manager).post(
        reverse("web:customer_create"),
        {"name": "Acme Trading", "tier": "A", "lifecycle": "prospect", "owner": org.other_rep.pk},
    )

    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not Customer.objects.filter(name="Acme Trading").exists()


def test_duplicate_customer_name_is_refused_naming_the_existing_one(org: Org) -> None:
    existing = CustomerFactory(owner=org.other_rep, name="上海星河机器人有限公司")

    response = english_client(org.rep).post(
        reverse("web:customer_create"),
        {"name": "上海星河机器人 有限公司", "tier": "B", "lifecycle": "prospect"},
    )

    assert response.status_code == 400
    assert existing.code in response.content.decode()
    assert Customer.objects.count() == 1


def test_malformed_credit_code_is_refused_and_a_valid_one_kept(org: Org) -> None:
    client = english_client(org.rep)
    data = {"name": "Acme Trading", "tier": "B", "lifecycle": "prospect"}

    bad = client.post(reverse("web:customer_create"), {**data, "credit_code": "12345"})
    good = client.post(
        reverse("web:customer_create"), {**data, "credit_code": VALID_CREDIT_CODE.lower()}
    )

    assert bad.status_code == 400
    assert "18 digits and capital letters" in bad.content.decode()
    assert good.status_code == 302
    assert Customer.objects.get().credit_code == VALID_CREDIT_CODE


def test_editing_a_customer_keeps_its_number_and_owner(org: Org) -> None:
    customer = CustomerFactory(owner=org.rep, name="Old Name", tier="C")

    english_client(org.rep).post(
        reverse("web:customer_edit", args=[customer.pk]),
        {"name": "New Name", "tier": "A", "lifecycle": "active", "owner": org.manager.pk},
    )

    customer.refresh_from_db()
    assert (customer.name, customer.tier, customer.owner) == ("New Name", "A", org.rep)


def test_contact_needs_a_phone_or_an_email(org: Org) -> None:
    customer = CustomerFactory(owner=org.rep)
    url = reverse("web:contact_create", args=[customer.pk])
    client = english_client(org.rep)

    refused = client.post(url, {"name": "Wang Fang", "decision_role": "decision_maker"})
    bad_phone = client.post(url, {"name": "Wang Fang", "phone": "call me"})
    saved = client.post(url, {"name": "Wang Fang", "phone": "+86 138 0000 0000"})

    assert refused.status_code == 400
    assert "Give a phone number or an email address." in refused.content.decode()
    assert bad_phone.status_code == 400
    assert saved.status_code == 302
    assert Contact.objects.get().customer == customer


def test_editing_a_contact_updates_it(org: Org) -> None:
    contact = ContactFactory(customer=CustomerFactory(owner=org.rep), email="a@example.com")

    english_client(org.rep).post(
        reverse("web:contact_edit", args=[contact.pk]),
        {"name": "Renamed", "email": "b@example.com", "decision_role": "finance"},
    )

    contact.refresh_from_db()
    assert (contact.name, contact.email, contact.decision_role) == (
        "Renamed",
        "b@example.com",
        "finance",
    )


def test_new_opportunity_starts_in_the_first_stage_with_its_history(
    org: Org, default_process: object
) -> None:
    customer = CustomerFactory(owner=org.rep)
    close = timezone.localdate() + dt.timedelta(days=60)

    response = english_client(org.rep).post(
        reverse("web:opportunity_create", args=[customer.pk]),
        {"name": "MES rollout", "amount": "250000", "expected_close_date": close.isoformat()},
    )

    deal = Opportunity.objects.get(name="MES rollout")
    assert response.status_code == 302
    assert (deal.owner, deal.customer, deal.stage.key) == (org.rep, customer, "initial_contact")
    assert deal.amount == Decimal("250000")
    change = StageChange.objects.get(opportunity=deal)
    assert (change.from_stage, change.to_stage, change.changed_by) == (None, deal.stage, org.rep)


def test_opportunity_with_negative_amount_or_past_close_date_is_refused(
    org: Org, default_process: object
) -> None:
    customer = CustomerFactory(owner=org.rep)
    url = reverse("web:opportunity_create", args=[customer.pk])
    client = english_client(org.rep)

    negative = client.post(url, {"name": "X", "amount": "-5"})
    past = client.post(url, {"name": "X", "amount": "5", "expected_close_date": "2020-01-01"})

    assert negative.status_code == 400 and past.status_code == 400
    assert "cannot be in the past" in past.content.decode()
    assert not Opportunity.objects.exists()


def test_editing_an_opportunity_never_changes_its_stage(org: Org, stages: dict) -> None:
    deal = OpportunityFactory(owner=org.rep)

    english_client(org.rep).post(
        reverse("web:opportunity_edit", args=[deal.pk]),
        {"name": "Renamed deal", "amount": "1000", "stage": stages["won"].pk},
    )

    deal.refresh_from_db()
    assert deal.name == "Renamed deal" and deal.amount == Decimal("1000")
    assert deal.stage.key == "initial_contact"
