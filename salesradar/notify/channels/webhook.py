"""Generic webhook signed the Standard Webhooks way (https://www.standardwebhooks.com/).

Every request carries ``webhook-id`` (the delivery's idempotency id, the same on every retry so
receivers can deduplicate), ``webhook-timestamp`` (unix seconds, so receivers can refuse
replays) and ``webhook-signature``: ``v1,`` followed by the base64 HMAC-SHA256 of
``{id}.{timestamp}.{body}`` under the shared key. The key is given base64-encoded, with or
without the conventional ``whsec_`` prefix.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import hashlib
import hmac
import time
from collections.abc import Mapping
from typing import Any, cast

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from salesradar.notify.channels import transport
from salesradar.notify.channels.base import (
    ChannelConfigError,
    ChannelKind,
    Message,
    SendResult,
    register,
)

SECRET_PREFIX = "whsec_"
EVENT_TYPE = "alert.digest"
# The specification asks for keys of 24 to 64 bytes; shorter ones are too easy to guess.
MIN_KEY_BYTES = 24


def decode_signing_key(secret: str) -> bytes:
    """Return the raw key from a base64 secret, with or without the ``whsec_`` prefix."""
    encoded = secret.strip().removeprefix(SECRET_PREFIX)
    return base64.b64decode(encoded, validate=True)


def sign(key: bytes, webhook_id: str, timestamp: int, body: bytes) -> str:
    """Return the ``webhook-signature`` header value for one request."""
    signed_content = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed_content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


@register
class WebhookChannel(ChannelKind):
    """POST a JSON digest to any URL, signed so the receiver can trust it."""

    kind = "webhook"
    label = cast(str, _("Webhook (Standard Webhooks)"))

    @classmethod
    def validate(cls, config: Mapping[str, Any], secret: str) -> None:
        transport.validate_http_url(config)
        if not secret.strip():
            raise ChannelConfigError(
                "secret", gettext("Enter the signing key the receiver verifies signatures with.")
            )
        try:
            key = decode_signing_key(secret)
        except (binascii.Error, ValueError) as error:
            raise ChannelConfigError(
                "secret",
                gettext("The signing key must be base64, optionally prefixed with whsec_."),
            ) from error
        if len(key) < MIN_KEY_BYTES:
            raise ChannelConfigError(
                "secret",
                gettext("The signing key must decode to at least {count} bytes.").format(
                    count=MIN_KEY_BYTES
                ),
            )

    def send(
        self, message: Message, config: Mapping[str, Any], secret: str, *, timeout: float = 10
    ) -> SendResult:
        if refused := transport.unusable_config(type(self), config, secret):
            return refused
        key = decode_signing_key(secret)  # validated above
        timestamp = int(time.time())
        body = transport.encode_json(payload(message, timestamp))
        headers = {
            "webhook-id": message.idempotency_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(key, message.idempotency_id, timestamp, body),
        }
        answer = transport.post(str(config["url"]), body, headers=headers, timeout=timeout)
        if isinstance(answer, SendResult):
            return answer
        return transport.judge_status(answer)


def payload(message: Message, timestamp: int) -> dict[str, Any]:
    """Return the JSON document a receiver gets for one digest."""
    return {
        "type": EVENT_TYPE,
        "timestamp": dt.datetime.fromtimestamp(timestamp, dt.UTC).isoformat(),
        "idempotency_id": message.idempotency_id,
        "language": message.language,
        "subject": message.subject,
        "text": message.text,
        "items": [dataclasses.asdict(item) for item in message.items],
    }
