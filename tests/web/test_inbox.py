"""The in-app inbox and the failed deliveries page with its retry."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from salesradar.accounts.models import User
from salesradar.notify.choices import DeliveryStatus
from salesradar.notify.models import Delivery, InboxMessage
from salesradar.notify.services import default_inbox, unread_count
from tests.web.support import Company, build_company, english_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def company() -> Company:
    return build_company()


def delivery(recipient: User | None, **fields: Any) -> Delivery:
    values: dict[str, Any] = {
        "channel": default_inbox(),
        "recipient": recipient,
        "evaluation_at": timezone.now() - dt.timedelta(hours=1),
        "payload": {"subject": "SalesRadar: 1 alert"},
    }
    return Delivery.objects.create(**{**values, **fields})


def message(user: User, subject: str, *, read: bool = False) -> InboxMessage:
    return InboxMessage.objects.create(
        user=user,
        delivery=delivery(user, status=DeliveryStatus.SENT),
        subject=subject,
        body=f"{subject}\nDanger · Quote request not answered",
        items=[
            {
                "severity": "danger",
                "severity_label": "Danger",
                "title": "Quote request not answered",
                "entity": "quote 7",
                "detail": "72 hours without a quote",
                "link": "http://127.0.0.1:8000/",
                "transition": "firing",
            }
        ],
        read_at=timezone.now() if read else None,
    )


def test_inbox_lists_only_my_messages_with_the_unread_count(company: Company) -> None:
    message(company.manager, "Two new alerts")
    message(company.manager, "Yesterday's digest", read=True)
    message(company.east_rep, "Someone else's digest")

    response = english_client(company.manager).get(reverse("web:inbox"))

    html = response.content.decode()
    assert "Two new alerts" in html
    assert "Yesterday&#x27;s digest" in html
    assert "Someone else" not in html
    assert "1 unread" in html
    assert 'id="inbox-unread">1<' in html  # the navbar badge


def test_unread_filter_hides_read_messages(company: Company) -> None:
    message(company.manager, "Two new alerts")
    message(company.manager, "Yesterday's digest", read=True)

    response = english_client(company.manager).get(reverse("web:inbox"), {"show": "unread"})

    assert [m.subject for m in response.context["page"]] == ["Two new alerts"]


def test_opening_a_message_marks_it_read_and_shows_its_items(company: Company) -> None:
    inbox_message = message(company.manager, "Two new alerts")

    response = english_client(company.manager).get(
        reverse("web:inbox_message", args=[inbox_message.pk])
    )

    html = response.content.decode()
    assert "Quote request not answered" in html
    assert "72 hours without a quote" in html
    assert "Danger" in html
    assert unread_count(company.manager) == 0


def test_someone_elses_message_answers_404_and_stays_unread(company: Company) -> None:
    other = message(company.east_rep, "Not yours")
    client = english_client(company.manager)

    assert client.get(reverse("web:inbox_message", args=[other.pk])).status_code == 404
    client.post(reverse("web:inbox_mark_read"), {"message": [other.pk]})

    assert unread_count(company.east_rep) == 1


def test_mark_one_read(company: Company) -> None:
    first = message(company.manager, "First")
    message(company.manager, "Second")

    response = english_client(company.manager).post(
        reverse("web:inbox_mark_read"), {"message": [first.pk]}, follow=True
    )

    assert "1 message marked read." in response.content.decode()
    assert unread_count(company.manager) == 1
    first.refresh_from_db()
    assert first.read_at is not None


def test_mark_all_read(company: Company) -> None:
    for subject in ("First", "Second", "Third"):
        message(company.manager, subject)
    message(company.east_rep, "The rep's own")

    response = english_client(company.manager).post(
        reverse("web:inbox_mark_read"), {"all": "1"}, follow=True
    )

    assert "3 messages marked read." in response.content.decode()
    assert unread_count(company.manager) == 0
    assert unread_count(company.east_rep) == 1


@pytest.mark.parametrize("who", ["east_rep", "manager", "director"])
def test_deliveries_are_forbidden_to_everyone_but_admins_and_ops(
    company: Company, who: str
) -> None:
    failed = delivery(company.manager, status=DeliveryStatus.FAILED, attempts=8)
    client = english_client(getattr(company, who))

    assert client.get(reverse("web:deliveries")).status_code == 403
    assert client.post(reverse("web:delivery_retry", args=[failed.pk])).status_code == 403
    assert Delivery.objects.get(pk=failed.pk).status == DeliveryStatus.FAILED


def test_failed_deliveries_are_listed_with_the_providers_answer(company: Company) -> None:
    delivery(
        company.manager,
        status=DeliveryStatus.FAILED,
        attempts=8,
        last_status=500,
        last_response="upstream exploded",
    )
    delivery(company.manager, status=DeliveryStatus.SENT)

    response = english_client(company.ops).get(reverse("web:deliveries"))

    html = response.content.decode()
    assert "upstream exploded" in html
    assert "8 / 8" in html
    assert len(response.context["page"]) == 1


def test_retry_queues_a_failed_delivery_again(company: Company) -> None:
    failed = delivery(company.manager, status=DeliveryStatus.FAILED, attempts=8)

    response = english_client(company.admin).post(
        reverse("web:delivery_retry", args=[failed.pk]), follow=True
    )

    failed.refresh_from_db()
    assert "queued again" in response.content.decode()
    assert (failed.status, failed.attempts) == (DeliveryStatus.PENDING, 0)


def test_retry_of_a_sent_delivery_changes_nothing(company: Company) -> None:
    sent = delivery(company.manager, status=DeliveryStatus.SENT, attempts=1)

    response = english_client(company.admin).post(
        reverse("web:delivery_retry", args=[sent.pk]), follow=True
    )

    sent.refresh_from_db()
    assert "Only a failed delivery can be retried." in response.content.decode()
    assert (sent.status, sent.attempts) == (DeliveryStatus.SENT, 1)


def test_mark_read_never_redirects_to_another_site(company: Company) -> None:
    message(company.manager, "First")

    response = english_client(company.manager).post(
        reverse("web:inbox_mark_read"), {"all": "1", "next": "https://evil.example/"}
    )

    assert response["Location"] == reverse("web:inbox")
