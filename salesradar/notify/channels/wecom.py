"""WeCom group robot (企业微信群机器人).

The robot's webhook URL carries its key (``.../cgi-bin/webhook/send?key=KEY``); there is no
signing. We send ``msgtype: markdown`` and mention people with ``<@userid>`` inside the
content. TRICKY: markdown messages can only mention by userid; ``mentioned_mobile_list``
exists for text messages only. So a digest that must @ someone known only by mobile goes
as ``msgtype: text`` (plain text, at most 2048 bytes) with ``mentioned_list`` and
``mentioned_mobile_list``; configure WeCom userids to keep the markdown.

WeCom answers HTTP 200 and reports errors in ``errcode``; each robot may send 20 messages a
minute, and a markdown content may be at most 4096 bytes of UTF-8.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from django.utils.translation import gettext_lazy as _

from salesradar.notify.channels import transport
from salesradar.notify.channels.base import ChannelKind, Message, RateLimit, SendResult, register

MAX_CONTENT_BYTES = 4096
MAX_TEXT_BYTES = 2048
RATE_LIMITED = 45009  # "api freq out of limit"
SYSTEM_BUSY = -1
RATE_LIMIT_WAIT = 60.0


@register
class WeComChannel(ChannelKind):
    """Post a markdown digest to a WeCom group through its robot's webhook."""

    kind = "wecom"
    label = cast(str, _("WeCom group robot"))
    rate_limits = (RateLimit(count=20, seconds=60),)

    @classmethod
    def validate(cls, config: Mapping[str, Any], secret: str) -> None:
        transport.validate_http_url(config, required_query="key")

    def send(
        self, message: Message, config: Mapping[str, Any], secret: str, *, timeout: float = 10
    ) -> SendResult:
        if refused := transport.unusable_config(type(self), config, secret):
            return refused
        body = transport.encode_json(document(message))
        answer = transport.post(str(config["url"]), body, timeout=timeout)
        if isinstance(answer, SendResult):
            return answer
        return judge(answer)


def document(message: Message) -> dict[str, Any]:
    """Return the request body: markdown, or text when someone is mentioned by mobile."""
    if message.mention_mobiles:
        return {
            "msgtype": "text",
            "text": {
                "content": transport.truncate_utf8(message.text or message.subject, MAX_TEXT_BYTES),
                "mentioned_list": list(message.mention_user_ids),
                "mentioned_mobile_list": list(message.mention_mobiles),
            },
        }
    return {"msgtype": "markdown", "markdown": {"content": content(message)}}


def content(message: Message) -> str:
    """Return the markdown content with the mentions, within WeCom's size limit."""
    mentions = " ".join(f"<@{user_id}>" for user_id in message.mention_user_ids)
    suffix = f"\n{mentions}" if mentions else ""
    room = MAX_CONTENT_BYTES - len(suffix.encode("utf-8"))
    return transport.truncate_utf8(message.markdown, room) + suffix


def judge(answer: transport.HttpAnswer) -> SendResult:
    """Judge WeCom's answer by ``errcode``; 93000 (bad key, robot removed) and the like fail."""
    return transport.judge_coded(
        answer,
        code_keys=("errcode",),
        rate_limit_codes=frozenset({RATE_LIMITED}),
        busy_codes=frozenset({SYSTEM_BUSY}),
        rate_limit_wait=RATE_LIMIT_WAIT,
    )
