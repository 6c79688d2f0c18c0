"""Saving a customer is one verb: the duplicate guard holds on the web, the API and inbound."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from salesradar.api.models import InboundSource
from salesradar.core.errors import Conflict
from salesradar.crm.models import Customer
from salesradar.crm.services import save_customer
from tests.api.factories import Org, client_for
from tests.api.test_inbound_webhooks import send, source  # noqa: F401  (fixture)
from tests.factories import CustomerFactory, UserFactory
from tests.web.support import english_client

pytestmark = pytest.mark.django_db


def test_the_api_refuses_a_customer_whose_name_is_already_a_customer(org: Org) -> None:
    existing = CustomerFactory(name="上海某某科技有限公司", owner=org.rep)

    response = client_for(org.rep).post(
        "/api/customers/", {"code": "C-API-1", "name": "上海某某科技有限公司 "}, format="json"
    )

    assert response.status_code == 409, response.json()
    assert response.json()["code"] == "duplicate"
    assert existing.code in response.json()["fields"]["name"][0]
    assert Customer.objects.count() == 1


def test_the_api_refuses_renaming_a_customer_into_another(org: Org) -> None:
    CustomerFactory(name="甲公司", owner=org.rep)
    other = CustomerFactory(name="乙公司", owner=org.rep)

    response = client_for(org.rep).patch(
        f"/api/customers/{other.pk}/", {"name": "甲公司"}, format="json"
    )

    assert response.status_code == 409
    other.refresh_from_db()
    assert other.name == "乙公司"


def test_an_inbound_event_naming_a_known_company_is_refused_not_duplicated(
    source: InboundSource,  # noqa: F811
) -> None:
    CustomerFactory(name="上海某某科技有限公司")

    response = send(
        "evt-dup",
        {"type": "customer.upserted", "data": {"id": "001Z", "name": "上海某某科技有限公司"}},
    )

    assert response.status_code == 422, response.json()
    assert response.json()["outcome"] == "refused"
    assert Customer.objects.count() == 1


def test_the_web_form_and_the_verb_give_the_same_refusal() -> None:
    rep = UserFactory()
    existing = CustomerFactory(name="甲公司", owner=rep)

    with pytest.raises(Conflict) as refused:
        save_customer(Customer(name="甲公司"), at=timezone.now())
    page = english_client(rep).post(
        reverse("web:customer_create"), {"name": "甲公司", "tier": "B", "lifecycle": "prospect"}
    )

    assert existing.code in refused.value.fields["name"][0]
    assert page.status_code == 400
    assert existing.code in page.content.decode()
