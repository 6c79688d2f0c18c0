"""Outbound domain events, written to the notification outbox in the caller's transaction.

The verbs announce what they changed through ``core.outbox.announce`` inside their own
transaction; ``write_outbox`` (registered at ``ready()``) records one ``OutboundEvent`` per
change and one ``Delivery`` per subscribed channel, set-based for a whole batch, so an event
exists exactly when its change does. No model signal is involved. Alert transitions written
in bulk by the rule engine are picked up afterwards by ``emit_alert_events`` from the
append-only alert history (the same way the notification planner does); the unique
``source_key`` keeps any event from being sent twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import models, transaction
from django.db.models import Exists, OuterRef, Value
from django.db.models.functions import Cast, Concat

from salesradar.alerts.choices import EventKind
from salesradar.alerts.models import Alert, AlertEvent
from salesradar.api.choices import EventType
from salesradar.api.models import OutboundEvent, WebhookSubscription
from salesradar.core import outbox
from salesradar.crm.models import Lead
from salesradar.notify.models import Delivery
from salesradar.pipeline.models import Opportunity, StageChange

ALERT_EVENTS = {
    EventKind.FIRING: EventType.ALERT_FIRED,
    EventKind.ACKNOWLEDGED: EventType.ALERT_ACKNOWLEDGED,
    EventKind.RESOLVED: EventType.ALERT_RESOLVED,
}


def iso(value: dt.datetime | dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def subscriptions_for(event_type: str) -> list[WebhookSubscription]:
    """Active subscriptions to ``event_type`` (few rows; filtered here to stay portable)."""
    return [
        subscription
        for subscription in WebhookSubscription.objects.filter(active=True, channel__enabled=True)
        if event_type in (subscription.events or [])
    ]


def envelope(event: OutboundEvent) -> dict[str, Any]:
    """The Standard Webhooks document a receiver gets: type, timestamp, data."""
    return {
        "type": event.event_type,
        "timestamp": event.occurred_at.isoformat(),
        "data": {"event_id": event.pk, **event.data},
    }


def deliveries_for(
    event: OutboundEvent, subscriptions: Iterable[WebhookSubscription]
) -> list[Delivery]:
    document = envelope(event)
    channel_ids = sorted({subscription.channel_id for subscription in subscriptions})
    return [
        Delivery(
            channel_id=channel_id,
            evaluation_at=event.occurred_at,
            alert_events=[],
            payload={
                "event": document,
                "language": "en",
                "subject": event.event_type,
                "text": f"{event.event_type} {event.occurred_at.isoformat()}",
                "items": [],
            },
            next_attempt_at=event.occurred_at,  # due at once, also for the run that queues it
        )
        for channel_id in channel_ids
    ]


def emit(
    event_type: str,
    data: dict[str, Any],
    *,
    at: dt.datetime,
    source_key: str | None = None,
) -> OutboundEvent | None:
    """Record ``event_type`` and queue it for every subscriber, in the current transaction."""
    subscriptions = subscriptions_for(event_type)
    if not subscriptions:
        return None
    with transaction.atomic():
        if source_key and OutboundEvent.objects.filter(source_key=source_key).exists():
            return None
        event = OutboundEvent.objects.create(
            event_type=event_type, occurred_at=at, data=data, source_key=source_key
        )
        deliveries = Delivery.objects.bulk_create(deliveries_for(event, subscriptions))
        event.deliveries = len(deliveries)
        event.save(update_fields=["deliveries"])
    return event


def lead_data(lead: Lead) -> dict[str, Any]:
    return {
        "lead": {
            "id": lead.pk,
            "code": lead.code,
            "company_name": lead.company_name,
            "status": lead.status,
            "source": lead.source,
            "owner": lead.owner_id,
            "owner_username": lead.owner.username if lead.owner_id and lead.owner else None,
            "assigned_at": iso(lead.assigned_at),
            "recycle_count": lead.recycle_count,
        }
    }


def opportunity_data(opportunity: Opportunity) -> dict[str, Any]:
    return {
        "id": opportunity.pk,
        "code": opportunity.code,
        "name": opportunity.name,
        "customer": opportunity.customer_id,
        "owner": opportunity.owner_id,
        "amount": str(opportunity.amount),
        "currency": opportunity.currency,
        "expected_close_date": iso(opportunity.expected_close_date),
        "lost_reason": opportunity.lost_reason,
    }


def stage_change_data(change: StageChange) -> dict[str, Any]:
    return {
        "opportunity": opportunity_data(change.opportunity),
        "from_stage": change.from_stage.key if change.from_stage_id and change.from_stage else None,
        "to_stage": change.to_stage.key,
        "changed_at": iso(change.changed_at),
        "changed_by": change.changed_by_id,
        "is_regression": change.is_regression,
        "note": change.note,
    }


def alert_data(alert: Alert, event: AlertEvent) -> dict[str, Any]:
    return {
        "alert": {
            "id": alert.pk,
            "rule": alert.rule.key,
            "fingerprint": alert.fingerprint,
            "entity_type": alert.entity_type,
            "entity_id": alert.entity_id,
            "state": event.to_state or alert.state,
            "severity": alert.severity,
            "value": alert.value,
            "threshold": alert.threshold,
            "message": alert.message,
            "owner": alert.owner_id,
            "team": alert.team_id,
        },
        "transition": {
            "kind": event.kind,
            "at": iso(event.at),
            "by": event.actor_id,
            "reason": event.reason,
        },
    }


def alert_source_key(event_id: int) -> str:
    return f"alert_event:{event_id}"


def emit_alert_event(event: AlertEvent) -> None:
    event_type = ALERT_EVENTS.get(EventKind(event.kind)) if event.kind in EventKind.values else None
    if event_type is None:
        return
    emit(
        event_type,
        alert_data(event.alert, event),
        at=event.at,
        source_key=alert_source_key(event.pk),
    )


def emit_alert_events(*, until: dt.datetime, limit: int = 5000) -> int:
    """Queue alert transitions not announced yet (those the engine wrote in bulk).

    Only transitions after the oldest interested subscription began are announced, so a new
    subscription does not replay years of history. Return how many events were queued.
    """
    wanted = {
        kind: event_type
        for kind, event_type in ALERT_EVENTS.items()
        if subscriptions_for(event_type)
    }
    if not wanted:
        return 0
    since = (
        WebhookSubscription.objects.filter(active=True)
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    announced = OutboundEvent.objects.filter(
        source_key=Concat(
            Value("alert_event:"), Cast(OuterRef("pk"), output_field=models.CharField())
        )
    )
    pending = (
        AlertEvent.objects.filter(kind__in=list(wanted), at__lte=until, at__gte=since)
        .exclude(Exists(announced))
        .select_related("alert__rule")
        .order_by("at", "id")[:limit]
    )
    subscriptions: dict[str, list[WebhookSubscription]] = {
        str(event_type): subscriptions_for(event_type) for event_type in wanted.values()
    }
    count = 0
    with transaction.atomic():
        events: list[OutboundEvent] = []
        for alert_event in pending:
            event_type = wanted[EventKind(alert_event.kind)]
            events.append(
                OutboundEvent(
                    event_type=event_type,
                    occurred_at=alert_event.at,
                    data=alert_data(alert_event.alert, alert_event),
                    source_key=alert_source_key(alert_event.pk),
                    deliveries=len({s.channel_id for s in subscriptions[event_type]}),
                )
            )
        created = OutboundEvent.objects.bulk_create(events, batch_size=1000)
        if created and created[0].pk is None:
            # backends without RETURNING on bulk insert: read the ids back by source
            ids = dict(
                OutboundEvent.objects.filter(
                    source_key__in=[event.source_key for event in created]
                ).values_list("source_key", "pk")
            )
            for event in created:
                event.pk = ids[event.source_key]
        deliveries: list[Delivery] = []
        for event in created:
            deliveries.extend(deliveries_for(event, subscriptions[event.event_type]))
            count += 1
        Delivery.objects.bulk_create(deliveries, batch_size=2000)
    return count


Item = tuple[dict[str, Any], str, dt.datetime]
"""One event to record: its data, its unique source key and when it happened."""


def emit_many(event_type: str, items: list[Item]) -> int:
    """Record many events of one type and queue them for every subscriber (set-based).

    A source key already recorded is skipped, so announcing the same change twice still
    sends it once. Return how many events were recorded.
    """
    subscriptions = subscriptions_for(event_type)
    if not subscriptions or not items:
        return 0
    channels = len({subscription.channel_id for subscription in subscriptions})
    with transaction.atomic():
        known = set(
            OutboundEvent.objects.filter(
                source_key__in=[key for _data, key, _at in items]
            ).values_list("source_key", flat=True)
        )
        fresh = [
            OutboundEvent(
                event_type=event_type,
                occurred_at=at,
                data=data,
                source_key=key,
                deliveries=channels,
            )
            for data, key, at in items
            if key not in known
        ]
        created = OutboundEvent.objects.bulk_create(fresh, batch_size=1000)
        if created and created[0].pk is None:
            ids = dict(
                OutboundEvent.objects.filter(
                    source_key__in=[event.source_key for event in created]
                ).values_list("source_key", "pk")
            )
            for event in created:
                event.pk = ids[event.source_key]
        deliveries: list[Delivery] = []
        for event in created:
            deliveries.extend(deliveries_for(event, subscriptions))
        Delivery.objects.bulk_create(deliveries, batch_size=2000)
    return len(created)


LEAD_EVENT_TYPES = {
    outbox.LEAD_CREATED: EventType.LEAD_CREATED,
    outbox.LEAD_ASSIGNED: EventType.LEAD_ASSIGNED,
    outbox.LEAD_RECALLED: EventType.LEAD_RECALLED,
}


def write_outbox(kind: str, ids: list[int], at: dt.datetime) -> None:
    """The webhooks' writer for ``core.outbox``: turn announced rows into outbound events."""
    if kind in LEAD_EVENT_TYPES:
        event_type = LEAD_EVENT_TYPES[kind]
        if not subscriptions_for(event_type):
            return
        stamp = at.isoformat()
        leads = Lead.objects.filter(pk__in=ids).select_related("owner").order_by("pk")
        emit_many(
            event_type, [(lead_data(lead), f"{event_type}:{lead.pk}:{stamp}", at) for lead in leads]
        )
    elif kind == outbox.STAGE_CHANGE:
        emit_stage_changes(ids)
    elif kind == outbox.ALERT_EVENT:
        for event in AlertEvent.objects.filter(pk__in=ids).select_related("alert__rule"):
            emit_alert_event(event)


def emit_stage_changes(ids: list[int]) -> None:
    """Announce stage moves, and the won or lost deals among them, a few statements per batch.

    The opening entry of a new deal's history (no from-stage) is not a move.
    """
    by_type: dict[str, list[Item]] = {
        str(event_type): []
        for event_type in (EventType.STAGE_CHANGED, EventType.DEAL_WON, EventType.DEAL_LOST)
        if subscriptions_for(event_type)
    }
    if not by_type:
        return
    changes = (
        StageChange.objects.filter(pk__in=ids, from_stage__isnull=False)
        .select_related("opportunity", "from_stage", "to_stage")
        .order_by("changed_at", "pk")
    )
    for change in changes:
        data = stage_change_data(change)
        at = change.changed_at
        if EventType.STAGE_CHANGED in by_type:
            by_type[EventType.STAGE_CHANGED].append((data, f"stage:{change.pk}", at))
        if change.to_stage.is_won and EventType.DEAL_WON in by_type:
            by_type[EventType.DEAL_WON].append((data, f"won:{change.pk}", at))
        elif change.to_stage.is_lost and EventType.DEAL_LOST in by_type:
            by_type[EventType.DEAL_LOST].append((data, f"lost:{change.pk}", at))
    for event_type, items in by_type.items():
        emit_many(event_type, items)
