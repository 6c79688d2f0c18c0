"""DingTalk custom robot (钉钉自定义机器人).

The webhook URL carries ``access_token``. When the robot's security setting is "sign"
(加签), the secret starts with ``SEC`` and every request appends ``timestamp`` (milliseconds)
and ``sign`` = url-encoded base64 HMAC-SHA256 of ``"{timestamp}\\n{secret}"`` keyed with the
secret; DingTalk refuses timestamps more than an hour away from its clock. Robots secured by
keyword or IP allow-list need no secret.

We send ``msgtype: markdown``; a mention needs both the person in ``at.atUserIds`` (their
DingTalk userid) or ``at.atMobiles`` (their number) and ``@userid`` or ``@number`` in the
text. DingTalk answers HTTP 200 and reports errors in ``errcode``; each robot may send 20
messages a minute.
"""

from __future__ import annotations

import base64
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
    RateLimit,
    SendResult,
    register,
)

SECRET_PREFIX = "SEC"
RATE_LIMITED = frozenset({130101, 410100})  # "send too fast, exceed 20 times per minute"
SYSTEM_BUSY = frozenset({-1})
RATE_LIMIT_WAIT = 60.0


def sign(secret: str, timestamp_ms: int) -> str:
    """Return the (not yet url-encoded) ``sign`` parameter for one request."""
    string_to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), string_to_sign, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


@register
class DingTalkChannel(ChannelKind):
    """Post a markdown digest to a DingTalk group through a custom robot."""

    kind = "dingtalk"
    label = cast(str, _("DingTalk robot"))
    rate_limits = (RateLimit(count=20, seconds=60),)

    @classmethod
    def validate(cls, config: Mapping[str, Any], secret: str) -> None:
        transport.validate_http_url(config, required_query="access_token")
        if secret.strip() and not secret.strip().startswith(SECRET_PREFIX):
            raise ChannelConfigError(
                "secret",
                gettext(
                    "The signing secret DingTalk shows under 加签 starts with SEC; "
                    "leave it empty for robots secured by keyword or IP."
                ),
            )

    def send(
        self, message: Message, config: Mapping[str, Any], secret: str, *, timeout: float = 10
    ) -> SendResult:
        if refused := transport.unusable_config(type(self), config, secret):
            return refused
        url = str(config["url"])
        secret = secret.strip()
        if secret:
            timestamp_ms = int(time.time() * 1000)
            url = transport.with_query(
                url, timestamp=str(timestamp_ms), sign=sign(secret, timestamp_ms)
            )
        answer = transport.post(url, transport.encode_json(payload(message)), timeout=timeout)
        if isinstance(answer, SendResult):
            return answer
        return transport.judge_coded(
            answer,
            code_keys=("errcode",),
            rate_limit_codes=RATE_LIMITED,
            busy_codes=SYSTEM_BUSY,
            rate_limit_wait=RATE_LIMIT_WAIT,
        )


def payload(message: Message) -> dict[str, Any]:
    """Return the markdown message, with ``@userid`` / ``@mobile`` in the text per mention."""
    text = message.markdown
    mentioned = [*message.mention_user_ids, *message.mention_mobiles]
    if mentioned:
        text += "\n\n" + " ".join(f"@{who}" for who in mentioned)
    at: dict[str, Any] = {"atMobiles": list(message.mention_mobiles), "isAtAll": False}
    if message.mention_user_ids:
        at["atUserIds"] = list(message.mention_user_ids)
    return {
        "msgtype": "markdown",
        "markdown": {"title": message.subject, "text": text},
        "at": at,
    }
