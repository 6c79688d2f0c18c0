"""The notification channel that carries domain events: Standard Webhooks, one event per call.

It shares the generic webhook's configuration and signing; only the body differs: the event
document (``type``, ``timestamp``, ``data``) the subscription queued, instead of a digest.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, cast

from django.utils.translation import gettext_lazy as _

from salesradar.notify.channels import transport
from salesradar.notify.channels.base import CHANNELS, Message, SendResult
from salesradar.notify.channels.webhook import WebhookChannel, decode_signing_key, sign

EVENT_WEBHOOK_KIND = "event_webhook"


class EventWebhookChannel(WebhookChannel):
    kind = EVENT_WEBHOOK_KIND
    label = cast(str, _("Webhook for domain events (Standard Webhooks)"))

    def send(
        self, message: Message, config: Mapping[str, Any], secret: str, *, timeout: float = 10
    ) -> SendResult:
        from salesradar.notify.models import Delivery

        if refused := transport.unusable_config(type(self), config, secret):
            return refused
        payload = (
            Delivery.objects.filter(idempotency_id=message.idempotency_id)
            .values_list("payload", flat=True)
            .first()
        )
        document = (payload or {}).get("event")
        if not isinstance(document, dict):
            return SendResult(ok=False, response="the delivery carries no event document")
        key = decode_signing_key(secret)
        timestamp = int(time.time())
        body = transport.encode_json(document)
        headers = {
            "webhook-id": message.idempotency_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(key, message.idempotency_id, timestamp, body),
        }
        answer = transport.post(str(config["url"]), body, headers=headers, timeout=timeout)
        if isinstance(answer, SendResult):
            return answer
        return transport.judge_status(answer)


def register_event_channel() -> None:
    """Join the notification channel registry (called from the app's ``ready``)."""
    if CHANNELS.get(EVENT_WEBHOOK_KIND) is not EventWebhookChannel:
        from salesradar.notify.channels.base import register

        register(EventWebhookChannel)
