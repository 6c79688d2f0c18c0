"""List and detail pages: visibility, search, filters, sorting, pagination, timelines."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from salesradar.activities.models import Task
from salesradar.crm.choices import Tier
from salesradar.pipeline.models import StageChange
from salesradar.web.records.views import PER_PAGE
from tests.factories import (
    ActivityFactory,
    ContactFactory,
    CustomerFactory,
    OpportunityFactory,
    QuoteFactory,
)
from tests.web.records_fixtures import Org, build_org, firing_alert, make_rule
from tests.web.support import english_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def org() -> Org:
    return build_org()


def listed(response: object, context_key: str = "page") -> list:
    return list(response.context[context_key].rows)  # type: ignore[attr-defined]


def test_rep_lists_only_own_customers_and_manager_the_team(org: Org) -> None:
    mine = CustomerFactory(owner=org.rep)
    managers_own = CustomerFactory(owner=org.manager)
    west = CustomerFactory(owner=org.other_rep)
    pool = CustomerFactory(owner=None)

    as_rep = listed(english_client(org.rep).get(reverse("web:customer_list")))
    as_manager = listed(english_client(org.manager).get(reverse("web:customer_list")))
    as_director = listed(english_client(org.director).get(reverse("web:customer_list")))

    assert as_rep == [mine]
    assert set(as_manager) == {mine, managers_own}
    assert set(as_director) == {mine, managers_own, west, pool}


def test_customer_search_filter_and_sort(org: Org) -> None:
    alpha = CustomerFactory(owner=org.rep, name="Alpha Robotics", tier=Tier.A)
    beta = CustomerFactory(owner=org.rep, name="Beta Robotics", tier=Tier.B)
    CustomerFactory(owner=org.rep, name="Gamma Foods", tier=Tier.A)
    client = english_client(org.rep)

    by_name = listed(client.get(reverse("web:customer_list"), {"q": "robot", "sort": "name"}))
    tier_a = listed(client.get(reverse("web:customer_list"), {"q": "robot", "tier": "A"}))
    by_code = listed(client.get(reverse("web:customer_list"), {"q": beta.code}))

    assert by_name == [alpha, beta]
    assert tier_a == [alpha]
    assert by_code == [beta]


def test_customer_list_pages_without_counting_the_whole_set(org: Org) -> None:
    CustomerFactory.create_batch(PER_PAGE + 3, owner=org.rep)
    client = english_client(org.rep)
    client.get(reverse("web:customer_list"))

    with CaptureQueriesContext(connection) as first_queries:
        first = client.get(reverse("web:customer_list"), {"sort": "name"})
    second = client.get(reverse("web:customer_list"), {"sort": "name", "page": 2})

    assert len(listed(first)) == PER_PAGE and first.context["page"].has_next
    assert len(listed(second)) == 3 and not second.context["page"].has_next
    assert set(listed(first)).isdisjoint(listed(second))
    assert 'rel="next"' in first.content.decode() and "sort=name" in first.content.decode()
    assert not any("COUNT(" in query["sql"].upper() for query in first_queries.captured_queries)


def test_list_pages_use_a_fixed_number_of_queries_whatever_the_rows(org: Org) -> None:
    client = english_client(org.manager)
    for name in ("web:customer_list", "web:opportunity_list", "web:contact_list"):
        client.get(reverse(name))
    OpportunityFactory(owner=org.rep)
    ContactFactory(customer=CustomerFactory(owner=org.rep))
    counts_before = {}
    for name in ("web:customer_list", "web:opportunity_list", "web:contact_list"):
        with CaptureQueriesContext(connection) as queries:
            client.get(reverse(name))
        counts_before[name] = len(queries.captured_queries)
    for _ in range(12):
        deal = OpportunityFactory(owner=org.rep)
        ContactFactory(customer=deal.customer)
        ActivityFactory(opportunity=deal)
    for name, before in counts_before.items():
        with CaptureQueriesContext(connection) as queries:
            client.get(reverse(name))
        assert len(queries.captured_queries) == before, name


def test_htmx_search_returns_only_the_rows_fragment(org: Org) -> None:
    CustomerFactory(owner=org.rep, name="Alpha Robotics")

    response = english_client(org.rep).get(
        reverse("web:customer_list"), {"q": "alpha"}, HTTP_HX_REQUEST="true"
    )

    html = response.content.decode()
    assert "Alpha Robotics" in html
    assert "<html" not in html


def test_opportunity_list_filters_by_status_stage_and_tier(org: Org, stages: dict) -> None:
    open_deal = OpportunityFactory(owner=org.rep, customer__tier=Tier.A)
    proposal = OpportunityFactory(owner=org.rep, stage=stages["proposal"])
    won = OpportunityFactory(owner=org.rep, stage=stages["won"], closed_at=timezone.now())
    client = english_client(org.rep)
    url = reverse("web:opportunity_list")

    assert set(listed(client.get(url, {"status": "open"}))) == {open_deal, proposal}
    assert listed(client.get(url, {"status": "won"})) == [won]
    assert listed(client.get(url, {"stage": "proposal"})) == [proposal]
    assert listed(client.get(url, {"tier": "A"})) == [open_deal]
    assert listed(client.get(url, {"q": open_deal.code})) == [open_deal]


def test_contact_list_searches_names_and_filters_by_role(org: Org) -> None:
    customer = CustomerFactory(owner=org.rep)
    boss = ContactFactory(customer=customer, name="Zhang Wei", decision_role="decision_maker")
    ContactFactory(customer=customer, name="Li Na", decision_role="user")
    ContactFactory(customer=CustomerFactory(owner=org.other_rep), name="Zhang Hidden")
    client = english_client(org.rep)

    assert listed(client.get(reverse("web:contact_list"), {"q": "zhang"})) == [boss]
    by_role = client.get(reverse("web:contact_list"), {"decision_role": "decision_maker"})
    assert listed(by_role) == [boss]


@pytest.mark.parametrize(
    "page_name",
    ["web:customer_detail", "web:customer_edit", "web:contact_create", "web:opportunity_create"],
)
def test_customer_pages_of_another_team_answer_404(org: Org, page_name: str) -> None:
    west = CustomerFactory(owner=org.other_rep)

    response = english_client(org.manager).get(reverse(page_name, args=[west.pk]))

    assert response.status_code == 404


@pytest.mark.parametrize(
    "page_name", ["web:opportunity_detail", "web:opportunity_edit", "web:contact_detail"]
)
def test_opportunity_and_contact_pages_of_another_rep_answer_404(org: Org, page_name: str) -> None:
    deal = OpportunityFactory(owner=org.other_rep)
    contact = ContactFactory(customer=deal.customer)
    target = contact if page_name == "web:contact_detail" else deal

    as_rep = english_client(org.rep).get(reverse(page_name, args=[target.pk]))
    as_director = english_client(org.director).get(reverse(page_name, args=[target.pk]))

    assert as_rep.status_code == 404
    assert as_director.status_code == 200


def test_anonymous_visitors_are_sent_to_sign_in(org: Org) -> None:
    response = english_client().get(reverse("web:customer_list"))

    assert response.status_code == 302
    assert reverse("web:login") in response["Location"]


def test_opportunity_timeline_holds_activities_stage_changes_quotes_alerts_and_tasks(
    org: Org, stages: dict
) -> None:
    deal = OpportunityFactory(owner=org.rep)
    now = timezone.now()
    StageChange.objects.create(
        opportunity=deal, to_stage=stages["initial_contact"], changed_at=now - dt.timedelta(days=5)
    )
    ActivityFactory(opportunity=deal, summary="Demo for the plant manager", occurred_at=now)
    QuoteFactory(opportunity=deal, version=3, requested_at=now - dt.timedelta(days=1))
    firing_alert(make_rule(), "opportunity", deal.pk, owner=org.rep, message="Quiet for 9 days")
    Task.objects.create(title="Chase the NDA", assignee=org.rep, due_at=now, opportunity=deal)

    response = english_client(org.rep).get(reverse("web:opportunity_detail", args=[deal.pk]))

    kinds = {entry.kind for entry in response.context["timeline"]}
    assert kinds == {"activity", "stage", "quote", "alert", "task"}
    html = response.content.decode()
    for text in (
        "Demo for the plant manager",
        "Quote v3 requested",
        "Quiet for 9 days",
        "Chase the NDA",
    ):
        assert text in html
    times = [entry.at for entry in response.context["timeline"]]
    assert times == sorted(times, reverse=True)


def test_customer_timeline_includes_its_opportunities_history(org: Org, stages: dict) -> None:
    deal = OpportunityFactory(owner=org.rep)
    StageChange.objects.create(
        opportunity=deal, to_stage=stages["initial_contact"], changed_at=timezone.now()
    )
    ActivityFactory(owner=org.rep, customer=deal.customer, summary="Coffee with the buyer")
    firing_alert(make_rule("quiet", "customer"), "customer", deal.customer_id, owner=org.rep)

    response = english_client(org.rep).get(reverse("web:customer_detail", args=[deal.customer_id]))

    html = response.content.decode()
    assert "Coffee with the buyer" in html
    assert f"{deal.code} · Opened in Initial contact" in html
    assert {entry.kind for entry in response.context["timeline"]} >= {"activity", "stage", "alert"}
    assert deal.name in html
