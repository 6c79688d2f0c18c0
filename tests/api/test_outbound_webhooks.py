"""Domain events reach subscribers through the notification outbox, signed, with retries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from rest_framework.test import APIClient

from salesradar.alerts import lifecycle
from salesradar.alerts.choices import EventKind
from salesradar.alerts.models import AlertEvent
from salesradar.api.events import emit_alert_events
from salesradar.api.models import OutboundEvent, WebhookSubscription
from salesradar.crm import pool
from salesradar.crm.intake import LeadInput, create_lead
from salesradar.crm.models import Lead
from salesradar.notify.choices import DeliveryStatus
from salesradar.notify.dispatch import dispatch_due
from salesradar.notify.models import Channel, Delivery
from salesradar.pipeline.models import Process
from salesradar.pipeline.services import move_stage
from tests.api.factories import Org, firing_alert
from tests.api.receivers import EventReceiver
from tests.factories import OpportunityFactory, QuoteFactory, TeamFactory, UserFactory
from tests.notify.servers import WEBHOOK_SECRET

pytestmark = pytest.mark.django_db


def subscribe(events: list[str], url: str = "http://127.0.0.1:9/hook") -> WebhookSubscription:
    channel = Channel.objects.create(
        name=f"events-{Channel.objects.count()}",
        kind="event_webhook",
        config={"url": url},
        secret=WEBHOOK_SECRET,
    )
    subscription = WebhookSubscription(name="erp", channel=channel, events=events)
    subscription.full_clean()
    subscription.save()
    return subscription


def test_a_lead_created_through_the_api_is_delivered_signed(
    rep_client: APIClient, org: Org, event_receiver: EventReceiver
) -> None:
    subscribe(["lead.created"], url=f"{event_receiver.base_url}/hooks")

    response = rep_client.post(
        "/api/leads/",
        {"code": "L100", "company_name": "苏州某某制造", "source": "web_form"},
        format="json",
    )
    report = dispatch_due(now=timezone.now())

    assert response.status_code == 201, response.json()
    assert report.sent == 1
    [request] = event_receiver.requests
    assert request.problems == []
    document = request.json
    assert document["type"] == "lead.created"
    assert document["data"]["lead"]["code"] == "L100"
    delivery = Delivery.objects.get()
    assert request.headers["webhook-id"] == str(delivery.idempotency_id)
    assert delivery.status == DeliveryStatus.SENT


def test_no_subscription_means_no_event_and_no_delivery(rep_client: APIClient) -> None:
    rep_client.post(
        "/api/leads/", {"code": "L101", "company_name": "某公司", "source": "api"}, format="json"
    )

    assert not OutboundEvent.objects.exists()
    assert not Delivery.objects.exists()


def test_event_and_delivery_roll_back_with_the_change(org: Org) -> None:
    subscribe(["lead.created"])

    with pytest.raises(RuntimeError), transaction.atomic():
        create_lead(LeadInput("某公司", code="L102"), source="api")
        raise RuntimeError("the request failed after saving")

    assert not Lead.objects.exists()
    assert not OutboundEvent.objects.exists()
    assert not Delivery.objects.exists()


def test_lead_assignment_and_recall_are_announced(org: Org) -> None:
    subscribe(["lead.assigned", "lead.recalled"])
    lead = Lead.objects.create(code="L103", company_name="某公司", source="api")

    pool.assign(lead, to=org.rep, by=org.manager)
    pool.release(lead, by=org.rep)

    assert list(OutboundEvent.objects.order_by("id").values_list("event_type", flat=True)) == [
        "lead.assigned",
        "lead.recalled",
    ]


def test_losing_a_deal_announces_the_stage_change_and_the_loss(
    org: Org, default_process: Process
) -> None:
    subscribe(["opportunity.stage_changed", "deal.lost", "deal.won"])
    opportunity = OpportunityFactory(owner=org.rep)

    move_stage(opportunity, "lost", by=org.rep, at=timezone.now(), lost_reason="price")

    events = {event.event_type: event for event in OutboundEvent.objects.all()}
    assert set(events) == {"opportunity.stage_changed", "deal.lost"}
    data = events["deal.lost"].data
    assert data["to_stage"] == "lost" and data["from_stage"] == "initial_contact"
    assert data["opportunity"]["lost_reason"] == "price"
    assert Delivery.objects.count() == 2


def test_acknowledging_an_alert_is_announced_at_once(org: Org) -> None:
    subscribe(["alert.acknowledged"])
    alert = firing_alert(org.rep)

    lifecycle.acknowledge(alert, by=org.rep, note="处理中", at=timezone.now())

    event = OutboundEvent.objects.get()
    assert event.event_type == "alert.acknowledged"
    assert event.data["transition"]["by"] == org.rep.pk
    assert event.data["alert"]["rule"] == "stalled-deal"


def test_alert_transitions_written_in_bulk_are_announced_once(org: Org) -> None:
    subscribe(["alert.fired", "alert.resolved"])
    alert = firing_alert(org.rep)
    now = timezone.now()
    AlertEvent.objects.bulk_create(
        [
            AlertEvent(alert=alert, at=now, kind=EventKind.FIRING, to_state="firing"),
            AlertEvent(alert=alert, at=now, kind=EventKind.ESCALATED, to_state="firing"),
        ]
    )

    first = emit_alert_events(until=timezone.now())
    second = emit_alert_events(until=timezone.now())

    assert (first, second) == (1, 0)
    assert list(OutboundEvent.objects.values_list("event_type", flat=True)) == ["alert.fired"]
    assert Delivery.objects.count() == 1


def test_a_failing_receiver_is_retried_later(org: Org, event_receiver: EventReceiver) -> None:
    subscribe(["lead.created"], url=f"{event_receiver.base_url}/hooks")
    event_receiver.mode = "server_error"
    create_lead(LeadInput("某公司", code="L104"), source="api")

    report = dispatch_due(now=timezone.now())

    delivery = Delivery.objects.get()
    assert report.retried == 1
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.next_attempt_at > timezone.now()


def test_a_subscription_needs_an_event_webhook_channel_and_known_events(db: None) -> None:
    inbox = Channel.objects.create(name="inbox", kind="inapp")
    subscription = WebhookSubscription(name="x", channel=inbox, events=["lead.exploded"])

    with pytest.raises(ValidationError) as refused:
        subscription.full_clean()

    assert set(refused.value.message_dict) == {"channel", "events"}


def test_an_alert_fired_by_a_real_evaluation_reaches_the_subscriber(
    event_receiver: EventReceiver,
) -> None:
    from salesradar.config.jobs import evaluate_rules, send_notifications

    subscribe(["alert.fired"], url=f"{event_receiver.base_url}/hooks")
    rep = UserFactory(team=TeamFactory(), date_joined=timezone.now() - dt.timedelta(days=30))
    QuoteFactory(
        opportunity=OpportunityFactory(owner=rep),
        requested_at=timezone.now() - dt.timedelta(days=4),
    )

    evaluate_rules()
    send_notifications()

    fired = [request.json for request in event_receiver.requests]
    firing = AlertEvent.objects.filter(kind=EventKind.FIRING).count()
    assert len(fired) == firing > 0
    assert {document["type"] for document in fired} == {"alert.fired"}
    assert "quote-unanswered" in {document["data"]["alert"]["rule"] for document in fired}
    assert all(request.problems == [] for request in event_receiver.requests)


def test_the_celery_task_queues_the_same_alert_events(org: Org) -> None:
    from salesradar.api.tasks import announce_alert_events

    subscribe(["alert.fired"])
    alert = firing_alert(org.rep)
    AlertEvent.objects.bulk_create(
        [AlertEvent(alert=alert, at=timezone.now(), kind=EventKind.FIRING, to_state="firing")]
    )

    assert announce_alert_events.apply().get() == 1
    assert OutboundEvent.objects.get().event_type == "alert.fired"
