"""Opening a deal is one verb: web, API and inbound events all start its stage history."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from salesradar.core.errors import Invalid
from salesradar.pipeline.models import Opportunity, Process, StageChange
from salesradar.pipeline.services import open_opportunity
from tests.api.factories import client_for
from tests.factories import CustomerFactory, UserFactory
from tests.web.support import english_client

pytestmark = pytest.mark.django_db


def test_a_deal_opened_through_the_api_starts_its_history_in_the_first_open_stage(
    default_process: Process,
) -> None:
    rep = UserFactory()
    customer = CustomerFactory(owner=rep)

    response = client_for(rep).post(
        "/api/opportunities/",
        {"code": "O-API-1", "name": "ERP", "customer": customer.pk, "amount": "1000.00"},
        format="json",
    )

    assert response.status_code == 201, response.json()
    opportunity = Opportunity.objects.get(code="O-API-1")
    [change] = StageChange.objects.filter(opportunity=opportunity)
    assert change.from_stage is None and change.to_stage == opportunity.stage
    assert change.changed_by == rep
    assert opportunity.stage.order == min(
        stage.order for stage in default_process.stages.filter(is_won=False, is_lost=False)
    )


def test_a_deal_opened_on_the_customer_page_gets_a_number_and_its_history(
    default_process: Process,
) -> None:
    rep = UserFactory()
    customer = CustomerFactory(owner=rep)

    response = english_client(rep).post(
        reverse("web:opportunity_create", args=[customer.pk]),
        {"name": "CRM", "owner": rep.pk, "amount": "500", "product_line": ""},
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    opportunity = Opportunity.objects.get(customer=customer)
    assert opportunity.code.startswith("O")
    assert StageChange.objects.filter(opportunity=opportunity, from_stage=None).count() == 1


def test_a_deal_without_any_sales_process_is_refused_naming_the_process() -> None:
    rep = UserFactory()
    customer = CustomerFactory(owner=rep)

    with pytest.raises(Invalid) as refused:
        open_opportunity(customer, owner=rep, name="ERP", by=rep, at=timezone.now())

    assert "process" in refused.value.fields
    assert not Opportunity.objects.exists()


def test_a_deal_reported_already_won_is_closed_when_opened(default_process: Process) -> None:
    rep = UserFactory()
    won = default_process.stages.get(is_won=True)
    at = timezone.now()

    opportunity = open_opportunity(
        CustomerFactory(owner=rep), owner=rep, name="ERP", by=None, at=at, stage=won
    )

    assert opportunity.closed_at == at and opportunity.stage == won
    assert opportunity.stage_changes.get().to_stage == won
