"""The note parser behind the API and the follow-up form: proposes, never saves, sees only
what the user may see."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from salesradar.activities.models import Activity
from salesradar.capture.models import Competitor
from tests.api.factories import Org, build_org, client_for
from tests.factories import ContactFactory, CustomerFactory, OpportunityFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def org() -> Org:
    return build_org()


@pytest.fixture
def customers(org: Org) -> dict[str, object]:
    own = CustomerFactory(name="华东精工机械有限公司", owner=org.rep)
    ContactFactory(customer=own, name="王建国", title="总经理")
    deal = OpportunityFactory(
        customer=own, owner=org.rep, name="华东精工 MES 项目", product_line="MES"
    )
    hidden = CustomerFactory(name="北方重工集团", owner=org.outsider)
    Competitor.objects.create(name="竞品A", aliases="Competitor A")
    return {"own": own, "deal": deal, "hidden": hidden}


NOTE = "今天拜访华东精工王总,反馈竞品A价格低15%,已承诺周三前提供定制化TCO分析"


def test_api_proposes_fields_with_names_and_saves_nothing(
    org: Org, customers: dict[str, object]
) -> None:
    response = client_for(org.rep, scopes=("read",)).post(
        "/api/capture/parse/",
        {"note": NOTE, "occurred_at": "2026-12-07T10:00:00+08:00"},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["customer"]["value"] == customers["own"].pk  # type: ignore[attr-defined]
    assert body["customer"]["label"] == "华东精工机械有限公司"
    assert body["contact"]["label"] == "王建国"
    assert body["opportunity"]["value"] == customers["deal"].pk  # type: ignore[attr-defined]
    assert body["kind"]["value"] == "visit"
    assert body["next_step"]["value"] == "提供定制化TCO分析"
    assert body["next_step_due"]["value"] == "2026-12-09"
    assert body["competitors"] == ["竞品A"]
    assert {o["kind"] for o in body["objections"]} == {"competitor", "price"}
    assert Activity.objects.count() == 0


def test_a_customer_the_rep_cannot_see_is_never_proposed(
    org: Org, customers: dict[str, object]
) -> None:
    response = client_for(org.rep).post(
        "/api/capture/parse/", {"note": "北方重工钱部长来电，明天发报价"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["customer"] is None
    director = client_for(org.director).post(
        "/api/capture/parse/", {"note": "北方重工钱部长来电，明天发报价"}, format="json"
    )
    assert director.json()["customer"]["value"] == customers["hidden"].pk  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [({"note": "   "}, "note"), ({"note": "x" * 2001}, "2000")],
)
def test_an_empty_or_overlong_note_is_refused_with_the_reason(
    org: Org, payload: dict[str, str], fragment: str
) -> None:
    response = client_for(org.rep).post("/api/capture/parse/", payload, format="json")
    assert response.status_code == 400
    assert fragment in response.content.decode()


def test_form_is_filled_from_the_note_for_confirmation_and_nothing_is_saved(
    org: Org, customers: dict[str, object]
) -> None:
    client = Client()
    client.force_login(org.rep)
    response = client.post(
        reverse("capture:followup"), {"summary": NOTE}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    form = response.context["form"]
    assert form.initial["customer"] == customers["own"].pk  # type: ignore[attr-defined]
    assert form.initial["opportunity"] == customers["deal"].pk  # type: ignore[attr-defined]
    assert form.initial["kind"] == "visit"
    assert form.initial["next_step"] == "提供定制化TCO分析"
    assert form.initial["summary"] == NOTE
    assert 'data-testid="note-proposal"' in html
    assert "华东精工机械有限公司" in html
    assert Activity.objects.count() == 0


def test_form_says_why_an_empty_note_cannot_be_read_in_the_reps_language(org: Org) -> None:
    client = Client()
    client.force_login(org.rep)
    response = client.post(
        reverse("capture:followup"), {"summary": ""}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert "笔记为空" in response.content.decode()  # the rep's language is zh-Hans
    assert Activity.objects.count() == 0
