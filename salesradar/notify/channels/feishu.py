"""Feishu / Lark custom bot (飞书自定义机器人).

We send an interactive card: the header's colour says how bad the digest is (red when any
item is danger, orange when any is warning) and every line also starts with the translated
severity word, so colour is never the only signal. With "signature verification" (签名校验)
turned on, the body carries ``timestamp`` (seconds, as a string) and ``sign`` = base64
HMAC-SHA256 keyed with ``"{timestamp}\\n{secret}"`` over an empty message; Feishu refuses
timestamps more than an hour away from its clock.

Feishu reports errors in the body's ``code``, sometimes under HTTP 400. Each bot may send
100 messages a minute and 5 a second; a request body may be at most 20 KB.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping
from typing import Any, cast

from django.utils import translation
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from salesradar.notify.channels import transport
from salesradar.notify.channels.base import (
    ChannelKind,
    DigestItem,
    Message,
    RateLimit,
    SendResult,
    register,
)

RATE_LIMITED = frozenset({9499, 11232, 99991400})  # "too many request", "frequency limited"
RATE_LIMIT_WAIT = 60.0
MAX_ITEMS = 40  # keeps a digest's card well under the 20 KB body limit
MAX_ITEM_TEXT_BYTES = 600


def sign(secret: str, timestamp: int) -> str:
    """Return the ``sign`` field: the key is ``"{timestamp}\\n{secret}"``, the message empty."""
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode("ascii")


@register
class FeishuChannel(ChannelKind):
    """Post a digest card to a Feishu group through a custom bot."""

    kind = "feishu"
    label = cast(str, _("Feishu bot"))
    rate_limits = (RateLimit(count=100, seconds=60), RateLimit(count=5, seconds=1))

    @classmethod
    def validate(cls, config: Mapping[str, Any], secret: str) -> None:
        transport.validate_http_url(config)

    def send(
        self, message: Message, config: Mapping[str, Any], secret: str, *, timeout: float = 10
    ) -> SendResult:
        if refused := transport.unusable_config(type(self), config, secret):
            return refused
        document: dict[str, Any] = {"msg_type": "interactive", "card": card(message)}
        secret = secret.strip()
        if secret:
            timestamp = int(time.time())
            document = {"timestamp": str(timestamp), "sign": sign(secret, timestamp), **document}
        answer = transport.post(
            str(config["url"]), transport.encode_json(document), timeout=timeout
        )
        if isinstance(answer, SendResult):
            return answer
        return transport.judge_coded(
            answer,
            code_keys=("code", "StatusCode"),
            rate_limit_codes=RATE_LIMITED,
            rate_limit_wait=RATE_LIMIT_WAIT,
        )


def header_template(items: tuple[DigestItem, ...]) -> str:
    """Return the card colour: red for danger, orange for warning, green when all resolved."""
    severities = {item.severity for item in items}
    if "danger" in severities:
        return "red"
    if "warning" in severities:
        return "orange"
    if items and all(item.transition == "resolved" for item in items):
        return "green"
    return "blue"


def card(message: Message) -> dict[str, Any]:
    """Return the interactive card, one ``lark_md`` block per alert."""
    with translation.override(message.language):
        elements = [_markdown_block(_item_line(item)) for item in message.items[:MAX_ITEMS]]
        hidden = len(message.items) - MAX_ITEMS
        if hidden > 0:
            elements.append(
                _markdown_block(
                    ngettext("…and {count} more alert", "…and {count} more alerts", hidden).format(
                        count=hidden
                    )
                )
            )
    if not message.items:
        elements.append(_markdown_block(message.markdown or message.text))
    if message.mention_user_ids:
        mentions = " ".join(f"<at id={open_id}></at>" for open_id in message.mention_user_ids)
        elements.append(_markdown_block(mentions))
    return {
        "config": {"wide_screen_mode": True},
        "header": {
            "title": {"tag": "plain_text", "content": message.subject},
            "template": header_template(message.items),
        },
        "elements": elements,
    }


def _item_line(item: DigestItem) -> str:
    lines = [f"**{item.severity_label}** {item.title}" if item.severity_label else item.title]
    lines += [part for part in (item.entity, item.detail) if part]
    text = transport.truncate_utf8("\n".join(lines), MAX_ITEM_TEXT_BYTES)
    return f"{text}\n[{gettext('Open')}]({item.link})" if item.link else text


def _markdown_block(content: str) -> dict[str, Any]:
    return {"tag": "div", "text": {"tag": "lark_md", "content": content}}
