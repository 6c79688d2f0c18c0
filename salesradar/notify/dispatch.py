"""Drain the outbox: claim due deliveries, respect rate limits, send, record, retry.

Claiming marks rows ``sending`` with a lease in its own short transaction (on PostgreSQL with
``SELECT ... FOR UPDATE SKIP LOCKED``, so workers never take the same row; SQLite serialises
writers). A worker that dies after claiming leaves the lease to expire and the row is taken
again: a delivery may go out twice, with the same idempotency id, never zero times.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import random
import socket
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q

from salesradar.notify.channels.base import CHANNELS, DigestItem, Message, SendResult
from salesradar.notify.choices import DeliveryStatus
from salesradar.notify.models import Channel, Delivery, InboxMessage, RateBucket

logger = logging.getLogger(__name__)

LEASE = dt.timedelta(minutes=5)


def lease() -> dt.timedelta:
    """How long a claimed delivery stays with its worker before another may take it."""
    from salesradar.core import env

    seconds = env.get("DELIVERY_LEASE_SECONDS")
    return dt.timedelta(seconds=float(seconds)) if seconds else LEASE


BASE_DELAY = dt.timedelta(seconds=30)
MAX_DELAY = dt.timedelta(hours=6)


@dataclass
class DispatchReport:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    deferred: int = 0


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def backoff(attempts: int, retry_after: float | None) -> dt.timedelta:
    """Exponential backoff with full jitter, never sooner than the provider asked."""
    ceiling = min(MAX_DELAY, BASE_DELAY * (2 ** max(0, attempts - 1)))
    delay = dt.timedelta(
        seconds=random.uniform(ceiling.total_seconds() / 2, ceiling.total_seconds())
    )
    if retry_after is not None:
        delay = max(delay, dt.timedelta(seconds=retry_after))
    return delay


def claim(now: dt.datetime, limit: int, worker: str) -> list[Delivery]:
    """Take up to ``limit`` due deliveries for this worker."""
    with transaction.atomic():
        due = (
            Delivery.objects.filter(
                Q(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
                | Q(status=DeliveryStatus.SENDING, claimed_at__lt=now - lease())
            )
            .order_by("next_attempt_at", "id")
            .select_for_update(skip_locked=True)
        )
        ids = list(due.values_list("pk", flat=True)[:limit])
        if not ids:
            return []
        Delivery.objects.filter(pk__in=ids).update(
            status=DeliveryStatus.SENDING, claimed_at=now, claimed_by=worker
        )
    return list(Delivery.objects.filter(pk__in=ids).select_related("channel", "recipient"))


def take_token(destination: str, limits: tuple[Any, ...], now: dt.datetime) -> float:
    """Take one token from each of the destination's buckets; return seconds to wait if empty."""
    if not limits:
        return 0.0
    with transaction.atomic():
        bucket, _created = RateBucket.objects.select_for_update().get_or_create(
            destination=destination, defaults={"tokens": {}, "updated_at": now}
        )
        elapsed = max(0.0, (now - bucket.updated_at).total_seconds())
        tokens = dict(bucket.tokens or {})
        wait = 0.0
        refilled = {}
        for limit in limits:
            key = f"{limit.count}/{limit.seconds}"
            rate = limit.count / limit.seconds
            level = min(float(limit.count), float(tokens.get(key, limit.count)) + elapsed * rate)
            refilled[key] = level
            if level < 1:
                wait = max(wait, (1 - level) / rate)
        if wait == 0:
            refilled = {key: level - 1 for key, level in refilled.items()}
        RateBucket.objects.filter(pk=bucket.pk).update(tokens=refilled, updated_at=now)
    return wait


def message_for(delivery: Delivery) -> Message:
    """Rebuild the channel-neutral message, with the mentions of the delivery's platform."""
    payload = delivery.payload
    mentions = (payload.get("mentions") or {}).get(delivery.channel.kind)
    if mentions is not None:
        user_ids = tuple(mentions.get("user_ids", []))
        mobiles = tuple(mentions.get("mobiles", []))
    else:  # rows planned before per-platform mentions
        user_ids, mobiles = (), tuple(payload.get("mention_mobiles", []))
    return Message(
        idempotency_id=str(delivery.idempotency_id),
        language=payload.get("language", "zh-hans"),
        subject=payload.get("subject", ""),
        text=payload.get("text", ""),
        markdown=payload.get("markdown", ""),
        html=payload.get("html", ""),
        items=tuple(DigestItem(**item) for item in payload.get("items", [])),
        mention_mobiles=mobiles,
        mention_user_ids=user_ids,
        recipient_email=payload.get("recipient_email", ""),
        recipient_name=payload.get("recipient_name", ""),
        recipient_mobile=payload.get("recipient_mobile")
        or next(iter(payload.get("mention_mobiles") or []), ""),
    )


def send_one(delivery: Delivery, now: dt.datetime) -> SendResult:
    channel = delivery.channel
    if not channel.enabled:
        return SendResult(ok=False, response=f"channel {channel.name} is disabled")
    if channel.kind == "inapp":
        if delivery.recipient_id is None:
            return SendResult(ok=False, response="an inbox message needs a recipient")
        return SendResult(ok=True, response="stored in the inbox")  # stored by store_inbox
    kind = CHANNELS.get(channel.kind)
    if kind is None:
        return SendResult(ok=False, response=f"unknown channel kind {channel.kind!r}")
    try:
        return kind().send(message_for(delivery), channel.config or {}, channel.secret)
    except Exception as error:  # a channel bug must not stop the batch; retry it later
        logger.exception("channel %s raised", channel.name)
        return SendResult(ok=False, retry=True, response=f"{type(error).__name__}: {error}")


def store_inbox(deliveries: list[Delivery], now: dt.datetime) -> None:
    """Put the batch's inbox deliveries in their recipients' inboxes, once each."""
    InboxMessage.objects.bulk_create(
        (
            InboxMessage(
                delivery=delivery,
                user_id=delivery.recipient_id,
                subject=delivery.payload.get("subject", "")[:200],
                body=delivery.payload.get("text", ""),
                items=delivery.payload.get("items", []),
                created_at=now,
            )
            for delivery in deliveries
            if delivery.channel.kind == "inapp"
            and delivery.channel.enabled
            and delivery.recipient_id is not None
        ),
        ignore_conflicts=True,  # a delivery taken over after a crash is stored already
    )


RECORDED_FIELDS = [
    "attempts",
    "last_status",
    "last_response",
    "claimed_at",
    "status",
    "sent_at",
    "next_attempt_at",
]


def judge(delivery: Delivery, result: SendResult, now: dt.datetime, report: DispatchReport) -> None:
    """Apply one send's outcome to the row (not saved yet): sent, retry later, or failed."""
    delivery.attempts += 1
    delivery.last_status = result.status
    delivery.last_response = result.response[:2000]
    delivery.claimed_at = None
    if result.ok:
        delivery.status = DeliveryStatus.SENT
        delivery.sent_at = now
        report.sent += 1
    elif result.retry and delivery.attempts < delivery.max_attempts:
        delivery.status = DeliveryStatus.PENDING
        delivery.next_attempt_at = now + backoff(delivery.attempts, result.retry_after)
        report.retried += 1
    else:
        delivery.status = DeliveryStatus.FAILED
        report.failed += 1


def record(
    outcomes: list[tuple[Delivery, SendResult]], now: dt.datetime, report: DispatchReport
) -> None:
    """Record a batch's outcomes in one transaction; disable endpoints that are gone.

    Recording after the batch rather than after each send costs nothing in safety: a crash
    before this point leaves the rows claimed, and they are sent again with the same
    idempotency ids once the lease expires, as a crash between one send and its record would.
    """
    for delivery, result in outcomes:
        judge(delivery, result, now, report)
    gone = {
        delivery.channel_id: delivery.last_response
        for delivery, result in outcomes
        if result.disable
    }
    with transaction.atomic():
        for channel_id, reason in gone.items():
            Channel.objects.filter(pk=channel_id).update(enabled=False, disabled_reason=reason)
        Delivery.objects.bulk_update(
            [delivery for delivery, _result in outcomes], RECORDED_FIELDS, batch_size=500
        )


def dispatch_due(*, now: dt.datetime, limit: int = 100, worker: str = "") -> DispatchReport:
    """Send what is due now; safe to run in several processes at once."""
    report = DispatchReport()
    batch = claim(now, limit, worker or worker_name())
    report.claimed = len(batch)
    outcomes: list[tuple[Delivery, SendResult]] = []
    for delivery in batch:
        kind = CHANNELS.get(delivery.channel.kind)
        limits = kind.rate_limits if kind else ()
        wait = (
            take_token(
                kind.destination_for(delivery.channel.config or {}, message_for(delivery)),
                limits,
                now,
            )
            if kind
            else 0
        )
        if wait > 0:
            Delivery.objects.filter(pk=delivery.pk).update(
                status=DeliveryStatus.PENDING,
                claimed_at=None,
                next_attempt_at=now + dt.timedelta(seconds=wait),
            )
            report.deferred += 1
            continue
        outcomes.append((delivery, send_one(delivery, now)))
    store_inbox([delivery for delivery, result in outcomes if result.ok], now)
    record(outcomes, now, report)
    return report


def retry(delivery: Delivery, *, now: dt.datetime) -> None:
    """Put a failed delivery back in the queue (the admin's and the web's "retry")."""
    Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.FAILED).update(
        status=DeliveryStatus.PENDING, next_attempt_at=now, attempts=0
    )
