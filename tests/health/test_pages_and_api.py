"""The health pages and API: what a rep and a manager see, and clearing a block."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from salesradar.health.brief import health_trend
from salesradar.health.services import open_block, refresh_health
from tests.factories import CustomerFactory, UserFactory
from tests.health.builders import AT, red_customer, worked_customer
from tests.web.support import english_client

pytestmark = pytest.mark.django_db


def test_list_shows_own_customers_weakest_first_with_tier_counts(org, stages) -> None:
    yellow = worked_customer(org["rep"], stages)
    red = red_customer(org["rep"])
    hidden = red_customer(UserFactory())
    refresh_health(at=AT)
    client = english_client(org["rep"])

    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("health:list"))

    names = [row.customer.name for row in response.context["page"]]
    assert names == [red.name, yellow.name] and hidden.name not in names
    counts = {item["key"]: item["count"] for item in response.context["tiers"]}
    assert counts == {"blue": 0, "yellow": 1, "red": 1}
    assert len(queries) <= 12
    only_red = client.get(reverse("health:list"), {"tier": "red"})
    assert [row.customer.name for row in only_red.context["page"]] == [red.name]


def test_brief_shows_the_block_and_three_actions_and_the_manager_clears_it(org, stages) -> None:
    customer = red_customer(org["rep"])
    refresh_health(at=AT)

    rep_page = english_client(org["rep"]).get(reverse("health:brief", args=[customer.pk]))
    assert rep_page.status_code == 200
    assert len(rep_page.context["brief"].next_actions) == 3
    assert not rep_page.context["may_clear"]
    assert str(org["manager"]) in rep_page.content.decode()
    chart = rep_page.context["chart"]
    assert len(chart["dates"]) == 12 and set(chart["series"]) == {
        "Commercial potential",
        "Depth",
        "Relationship",
        "Risk signals (100 = none)",
    }

    manager = english_client(org["manager"])
    block = open_block(customer)
    response = manager.post(
        reverse("health:block_clear", args=[block.pk]), {"note": "Payment plan agreed"}
    )
    assert response.status_code == 302
    assert open_block(customer) is None


def test_api_lists_health_and_refuses_a_new_deal_for_a_blocked_customer(org, stages) -> None:
    customer = red_customer(org["rep"])
    refresh_health(at=AT)
    client = english_client(org["rep"])

    listed = client.get("/api/health/customers/").json()
    assert [row["customer"] for row in listed["results"]] == [customer.pk]
    brief = client.get(f"/api/health/customers/{customer.pk}/brief/").json()
    assert brief["block"]["clearable_by"] == str(org["manager"])
    refused = client.post(
        "/api/opportunities/",
        {"code": "API-1", "name": "new", "customer": customer.pk, "owner": org["rep"].pk},
        content_type="application/json",
    )
    assert refused.status_code == 409
    assert "can clear the block" in json.dumps(refused.json())
    assert customer.opportunities.count() == 0

    not_allowed = client.post(
        f"/api/health/blocks/{brief['block']['id']}/clear/",
        {"note": "me"},
        content_type="application/json",
    )
    assert not_allowed.status_code == 403
    cleared = english_client(org["manager"]).post(
        f"/api/health/blocks/{brief['block']['id']}/clear/",
        {"note": "visited"},
        content_type="application/json",
    )
    assert cleared.status_code == 204


def test_trend_has_one_point_per_month_since_the_first_contract(org) -> None:
    customer = red_customer(org["rep"])  # contract signed 2024-01-01 10:00

    trend = health_trend(customer, AT)

    assert [point["date"] for point in trend] == [
        "2024-02-01",
        "2024-03-01",
        "2024-04-01",
        "2024-05-01",
        "2024-06-01",
        "2024-07-01",
        "2024-08-01",
        "2024-09-01",
    ]
    assert trend[-1]["score"] == 23  # (9 + 3 + 0 + 80) / 4
    assert trend[0]["risk"] == 80 and trend[0]["tier"] == "red"


def test_a_customer_nobody_scored_yet_gets_a_brief_with_first_steps(org) -> None:
    customer = CustomerFactory(owner=org["rep"])

    page = english_client(org["rep"]).get(reverse("health:brief", args=[customer.pk]))

    assert page.status_code == 200 and page.context["brief"].health is None
    assert len(page.context["brief"].next_actions) == 3
