"""The core records through the API: the web's visibility, pagination, filters, writes."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from salesradar.activities.models import Task
from salesradar.crm.choices import LeadStatus
from salesradar.crm.models import Customer, Lead
from salesradar.pipeline.models import Opportunity, Process, StageChange, Target
from tests.api.factories import CORE_ENDPOINTS, Org, client_for
from tests.factories import (
    ActivityFactory,
    ContactFactory,
    CustomerFactory,
    OpportunityFactory,
)

pytestmark = pytest.mark.django_db


def ids(response: object) -> set[int]:
    return {row["id"] for row in response.json()["results"]}  # type: ignore[attr-defined]


def test_rep_sees_own_customers_and_manager_sees_the_team(org: Org) -> None:
    own = CustomerFactory(owner=org.rep)
    peers = CustomerFactory(owner=org.peer)
    west = CustomerFactory(owner=org.outsider)

    assert ids(client_for(org.rep).get("/api/customers/")) == {own.pk}
    assert ids(client_for(org.manager).get("/api/customers/")) == {own.pk, peers.pk}
    assert ids(client_for(org.director).get("/api/customers/")) == {own.pk, peers.pk, west.pk}


def test_a_row_the_caller_cannot_see_answers_404(rep_client: APIClient, org: Org) -> None:
    hidden = CustomerFactory(owner=org.outsider)

    read = rep_client.get(f"/api/customers/{hidden.pk}/")
    write = rep_client.patch(f"/api/customers/{hidden.pk}/", {"name": "x"}, format="json")

    assert read.status_code == 404
    assert read.json()["code"] == "not_found"
    assert write.status_code == 404
    assert Customer.objects.get(pk=hidden.pk).name != "x"


def test_contacts_follow_their_customers_visibility(rep_client: APIClient, org: Org) -> None:
    mine = ContactFactory(customer=CustomerFactory(owner=org.rep))
    ContactFactory(customer=CustomerFactory(owner=org.outsider))

    assert ids(rep_client.get("/api/contacts/")) == {mine.pk}


def test_list_is_paginated(org: Org) -> None:
    CustomerFactory.create_batch(7, owner=org.rep)
    client = client_for(org.rep)

    first = client.get("/api/customers/?page_size=5").json()
    second = client.get("/api/customers/?page_size=5&page=2").json()

    assert first["count"] == 7
    assert len(first["results"]) == 5
    assert len(second["results"]) == 2
    assert first["next"] and second["next"] is None


def test_list_filters_and_orders(rep_client: APIClient, org: Org) -> None:
    a = CustomerFactory(owner=org.rep, tier="A", name="甲")
    CustomerFactory(owner=org.rep, tier="C", name="乙")
    a2 = CustomerFactory(owner=org.rep, tier="A", name="丙")

    response = rep_client.get("/api/customers/?tier=A&ordering=-id")

    assert [row["id"] for row in response.json()["results"]] == [a2.pk, a.pk]


def test_a_filter_on_an_invalid_value_is_a_clear_400(rep_client: APIClient) -> None:
    response = rep_client.get("/api/customers/?created_at_after=not-a-date")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "created_at_after" in response.json()["fields"]


def test_list_query_count_does_not_grow_with_rows(org: Org) -> None:
    client = client_for(org.director)
    client.get("/api/users/")  # the token's first use records its time once
    OpportunityFactory.create_batch(3, owner=org.rep)
    with CaptureQueriesContext(connection) as few:
        assert client.get("/api/opportunities/").status_code == 200
    OpportunityFactory.create_batch(12, owner=org.peer)
    with CaptureQueriesContext(connection) as many:
        assert client.get("/api/opportunities/").status_code == 200

    # the token, the count, the page
    assert len(few.captured_queries) == len(many.captured_queries) == 3


def test_created_customer_belongs_to_the_caller_by_default(rep_client: APIClient, org: Org) -> None:
    response = rep_client.post(
        "/api/customers/",
        {"code": "C900", "name": "杭州某某贸易有限公司", "tier": "B"},
        format="json",
    )

    assert response.status_code == 201, response.json()
    customer = Customer.objects.get(code="C900")
    assert customer.owner == org.rep
    assert customer.normalized_name


def test_a_rep_cannot_give_a_customer_to_someone_they_cannot_see(
    rep_client: APIClient, org: Org
) -> None:
    response = rep_client.post(
        "/api/customers/",
        {"code": "C901", "name": "某公司", "owner": org.outsider.pk},
        format="json",
    )

    assert response.status_code == 400
    assert "owner" in response.json()["fields"]
    assert not Customer.objects.filter(code="C901").exists()


def test_a_duplicate_code_is_refused_naming_the_field(rep_client: APIClient, org: Org) -> None:
    CustomerFactory(code="C777", owner=org.rep)

    response = rep_client.post("/api/customers/", {"code": "C777", "name": "重复"}, format="json")

    assert response.status_code == 400
    assert "code" in response.json()["fields"]


def test_new_opportunity_starts_in_the_first_stage_with_history(
    rep_client: APIClient, org: Org, default_process: Process
) -> None:
    customer = CustomerFactory(owner=org.rep)

    response = rep_client.post(
        "/api/opportunities/",
        {"code": "O900", "name": "ERP", "customer": customer.pk, "amount": "250000.00"},
        format="json",
    )

    assert response.status_code == 201, response.json()
    opportunity = Opportunity.objects.get(code="O900")
    assert response.json()["stage_key"] == "initial_contact"
    assert opportunity.owner == org.rep
    assert opportunity.stage_changes.count() == 1


def test_the_stage_cannot_be_changed_by_a_plain_update(
    rep_client: APIClient, org: Org, default_process: Process
) -> None:
    opportunity = OpportunityFactory(owner=org.rep)
    other = default_process.stages.get(key="won")

    response = rep_client.patch(
        f"/api/opportunities/{opportunity.pk}/", {"stage": other.pk}, format="json"
    )

    assert response.status_code == 200  # stage is read-only: ignored, the move is an action
    opportunity.refresh_from_db()
    assert opportunity.stage.key == "initial_contact"


def test_logging_an_activity_marks_the_customers_lead_contacted(
    rep_client: APIClient, org: Org
) -> None:
    customer = CustomerFactory(owner=org.rep)
    lead = Lead.objects.create(
        code="L1", company_name=customer.name, source="web_form", owner=org.rep, customer=customer
    )

    lead.created_at = timezone.now() - dt.timedelta(hours=2)
    lead.save()

    response = rep_client.post(
        "/api/activities/",
        {
            "kind": "call",
            "customer": customer.pk,
            "occurred_at": (timezone.now() - dt.timedelta(hours=1)).isoformat(),
            "summary": "电话沟通",
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert response.json()["owner"] == org.rep.pk
    lead.refresh_from_db()
    assert lead.first_contact_at is not None


def test_an_activity_with_another_customers_opportunity_is_refused(
    rep_client: APIClient, org: Org
) -> None:
    customer = CustomerFactory(owner=org.rep)
    opportunity = OpportunityFactory(owner=org.rep)

    response = rep_client.post(
        "/api/activities/",
        {
            "kind": "visit",
            "customer": customer.pk,
            "opportunity": opportunity.pk,
            "occurred_at": "2026-01-05T10:00:00+08:00",
        },
        format="json",
    )

    assert response.status_code == 400
    assert "opportunity" in response.json()["fields"]


def test_assigning_a_lead_sets_status_and_time_and_unassigning_recycles(
    org: Org,
) -> None:
    client = client_for(org.manager)
    lead = Lead.objects.create(code="L2", company_name="某公司", source="web_form")
    # a manager cannot see an unowned lead, so the director hands it over first
    director = client_for(org.director)
    assert (
        director.patch(f"/api/leads/{lead.pk}/", {"owner": org.rep.pk}, format="json").status_code
        == 200
    )
    lead.refresh_from_db()
    assert lead.status == LeadStatus.ASSIGNED and lead.assigned_at is not None

    response = client.patch(f"/api/leads/{lead.pk}/", {"owner": None}, format="json")

    assert response.status_code == 200, response.json()
    lead.refresh_from_db()
    assert lead.status == LeadStatus.RECYCLED
    assert lead.recycle_count == 1


def test_users_and_teams_are_read_only(org: Org) -> None:
    client = client_for(org.director)

    assert client.get("/api/users/").status_code == 200
    assert client.post("/api/users/", {"username": "x"}, format="json").status_code == 405
    assert (
        client.patch(f"/api/teams/{org.east.pk}/", {"name": "x"}, format="json").status_code == 405
    )


def test_a_rep_sees_only_themself_among_users(rep_client: APIClient, org: Org) -> None:
    assert ids(rep_client.get("/api/users/")) == {org.rep.pk}


def test_stage_history_is_listed_and_read_only(org: Org, rep_client: APIClient) -> None:
    ActivityFactory(owner=org.rep)
    response = rep_client.post("/api/stage-changes/", {}, format="json")

    assert response.status_code == 405


def test_a_manager_sets_a_team_target_and_a_rep_cannot(org: Org) -> None:
    body = {
        "team": org.east.pk,
        "period": "month",
        "period_start": "2026-03-01",
        "measure": "won_amount",
        "value": "500000.00",
    }

    refused = client_for(org.rep).post("/api/targets/", body, format="json")
    created = client_for(org.manager).post("/api/targets/", body, format="json")
    twice = client_for(org.manager).post("/api/targets/", body, format="json")

    assert refused.status_code == 403
    assert created.status_code == 201, created.json()
    assert twice.status_code == 400  # one target per team, period and measure


def seed_rows(org: Org) -> None:
    from tests.api.factories import firing_alert
    from tests.factories import ContractFactory, InvoiceFactory, QuoteFactory

    for owner in (org.rep, org.peer):
        opportunity = OpportunityFactory(owner=owner)
        StageChange.objects.create(
            opportunity=opportunity,
            to_stage=opportunity.stage,
            changed_at=opportunity.stage_entered_at,
            changed_by=owner,
        )
        ContactFactory(customer=opportunity.customer)
        ActivityFactory(opportunity=opportunity)
        QuoteFactory(opportunity=opportunity)
        InvoiceFactory(contract=ContractFactory(opportunity=opportunity))
        Lead.objects.create(
            code=f"L-{opportunity.code}", company_name="某公司", source="api", owner=owner
        )
        Task.objects.create(title="回电", assignee=owner, due_at=timezone.now())
        Target.objects.create(
            user=owner,
            period_start=dt.date(2026, 1, 1) + dt.timedelta(days=Target.objects.count()),
            measure="won_amount",
            value=1,
        )
        firing_alert(owner, key=f"rule-{opportunity.code}")


@pytest.mark.parametrize("name", CORE_ENDPOINTS)
def test_list_queries_do_not_grow_with_rows(org: Org, default_process: Process, name: str) -> None:
    client = client_for(org.director)
    client.get("/api/users/")  # the token's first use records its time once
    seed_rows(org)
    with CaptureQueriesContext(connection) as few:
        assert client.get(f"/api/{name}/").status_code == 200
    seed_rows(org)
    seed_rows(org)
    with CaptureQueriesContext(connection) as many:
        response = client.get(f"/api/{name}/")

    assert response.json()["count"] > 0
    assert len(many.captured_queries) == len(few.captured_queries) <= 3


def test_a_lead_whose_phone_is_already_known_is_refused_with_409_naming_the_lead(
    rep_client: APIClient,
) -> None:
    first = rep_client.post(
        "/api/leads/",
        {"code": "L10", "company_name": "甲公司", "phone": "138 0013 8000", "source": "web_form"},
        format="json",
    )
    assert first.status_code == 201, first.json()

    again = rep_client.post(
        "/api/leads/",
        {"code": "L11", "company_name": "乙公司", "phone": "+8613800138000", "source": "web_form"},
        format="json",
    )

    assert again.status_code == 409
    body = again.json()
    assert body["code"] == "duplicate" and "L10" in body["message"]
    assert "phone" in body["fields"]
    assert list(Lead.objects.values_list("code", flat=True)) == ["L10"]
    assert Lead.objects.get().phone_key == "+8613800138000"
