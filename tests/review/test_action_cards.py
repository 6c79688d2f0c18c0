"""Action cards: written, delivered, verified; reminded before and flagged after the deadline."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from salesradar.activities.choices import ActionCardOrigin, ActionCardStatus
from salesradar.notify.models import Delivery
from salesradar.review.services import (
    card_from_alert,
    create_action_card,
    deliver_card,
    remind_and_flag_overdue,
    verify_card,
)
from tests.factories import CustomerFactory
from tests.web.support import alert_on, default_rule, english_client

pytestmark = pytest.mark.django_db

AT = dt.datetime(2024, 6, 3, 9, 0, tzinfo=dt.UTC)


def card(team: dict, **fields):
    values = {
        "owner": team["rep"],
        "what": "Visit the CFO",
        "deliverable": "Signed meeting minutes",
        "due_at": AT + dt.timedelta(days=3),
        "by": team["manager"],
        "at": AT,
    }
    return create_action_card(**{**values, **fields})


def test_a_manager_writes_a_card_and_a_colleague_or_outsider_cannot(team) -> None:
    written = card(team)

    assert (written.created_by, written.status) == (team["manager"], ActionCardStatus.OPEN)
    for stranger in (team["colleague"], team["outsider"]):
        with pytest.raises(ValidationError, match="manager"):
            card(team, by=stranger)


def test_a_card_needs_what_a_deliverable_and_a_future_deadline(team) -> None:
    with pytest.raises(ValidationError) as refused:
        card(team, what=" ", deliverable="", due_at=AT)

    assert set(refused.value.fields) == {"what", "deliverable", "due_at"}


def test_owner_delivers_and_only_the_manager_verifies_or_sends_back(team) -> None:
    written = card(team)
    with pytest.raises(ValidationError):
        deliver_card(written, by=team["colleague"], note="done", at=AT)
    delivered = deliver_card(written, by=team["rep"], note="Minutes attached", at=AT)
    assert delivered.status == ActionCardStatus.DELIVERED

    with pytest.raises(ValidationError):
        verify_card(delivered, by=team["rep"], accepted=True, note="", at=AT)
    with pytest.raises(ValidationError, match="missing"):
        verify_card(delivered, by=team["manager"], accepted=False, note="", at=AT)
    back = verify_card(delivered, by=team["manager"], accepted=False, note="No signature", at=AT)
    assert back.status == ActionCardStatus.OPEN
    deliver_card(back, by=team["rep"], note="Signed now", at=AT)
    verified = verify_card(back, by=team["manager"], accepted=True, note="", at=AT)
    assert (verified.status, verified.verified_by) == (ActionCardStatus.VERIFIED, team["manager"])


def test_a_card_from_an_alert_names_it_and_its_customer(team) -> None:
    customer = CustomerFactory(owner=team["rep"])
    alert = alert_on(default_rule(), owner=team["rep"], entity_id=customer.pk)

    made = card_from_alert(
        alert,
        what="Call",
        deliverable="Notes",
        due_at=AT + dt.timedelta(days=1),
        by=team["manager"],
        at=AT,
    )

    assert (made.origin, made.origin_ref, made.customer) == (
        ActionCardOrigin.ALERT,
        f"alert:{alert.pk}",
        customer,
    )


def test_reminder_a_day_before_then_overdue_alert_to_owner_and_manager_once(team) -> None:
    written = card(team, due_at=AT + dt.timedelta(hours=20))

    first = remind_and_flag_overdue(at=AT)
    assert (first["reminded"], first["overdue"]) == (1, 0)
    assert remind_and_flag_overdue(at=AT + dt.timedelta(hours=1))["reminded"] == 0
    late = remind_and_flag_overdue(at=AT + dt.timedelta(hours=21))
    assert late["overdue"] == 1
    written.refresh_from_db()
    assert written.status == ActionCardStatus.MISSED
    told = set(Delivery.objects.filter(channel__kind="inapp").values_list("recipient", flat=True))
    assert told == {team["rep"].pk, team["manager"].pk}
    assert remind_and_flag_overdue(at=AT + dt.timedelta(hours=30))["overdue"] == 0
    assert deliver_card(written, by=team["rep"], note="late", at=AT).status == "delivered"


def test_board_page_writes_and_lists_cards_and_api_verifies(team) -> None:
    manager = english_client(team["manager"])
    response = manager.post(
        reverse("review:cards"),
        {
            "owner": team["rep"].pk,
            "what": "Send proposal",
            "deliverable": "Proposal PDF",
            "due_on": "2099-01-01",
        },
    )
    assert response.status_code == 302
    rep = english_client(team["rep"])
    page = rep.get(reverse("review:cards"))
    assert [c.what for c in page.context["mine"]] == ["Send proposal"]
    card_id = page.context["mine"][0].pk

    delivered = rep.post(
        f"/api/review/cards/{card_id}/deliver/", {"note": "sent"}, content_type="application/json"
    )
    assert delivered.status_code == 200 and delivered.json()["status"] == "delivered"
    refused = rep.post(
        f"/api/review/cards/{card_id}/verify/", {"accepted": True}, content_type="application/json"
    )
    assert refused.status_code == 403
    verified = manager.post(
        f"/api/review/cards/{card_id}/verify/", {"accepted": True}, content_type="application/json"
    )
    assert verified.json()["status"] == "verified"
    listed = manager.get("/api/review/cards/").json()
    assert [row["id"] for row in listed["results"]] == [card_id]
