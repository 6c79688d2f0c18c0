"""Slack incoming webhook.

We send ``text`` (the notification and screen-reader fallback) and ``blocks``: a header and
one ``mrkdwn`` section per alert, each starting with the translated severity word. Slack
answers ``ok`` with 200, or a short error word: ``invalid_payload`` (400),
``action_prohibited`` (403), ``no_service`` (404, the webhook was revoked),
``channel_is_archived`` (410), ``rate_limited`` (429 with ``Retry-After``). Slack allows
about one message a second per webhook and 50 blocks per message.
"""

from __future__ import annotations

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

MAX_BLOCKS = 50
MAX_HEADER_CHARS = 150
MAX_SECTION_CHARS = 3000
MAX_TEXT_CHARS = 3000
# The webhook itself no longer exists: sending again cannot succeed until someone replaces it.
GONE_ERRORS = frozenset({"no_service", "no_team", "team_disabled", "channel_is_archived"})


@register
class SlackChannel(ChannelKind):
    """Post a digest to a Slack channel through an incoming webhook."""

    kind = "slack"
    label = cast(str, _("Slack incoming webhook"))
    rate_limits = (RateLimit(count=1, seconds=1),)

    @classmethod
    def validate(cls, config: Mapping[str, Any], secret: str) -> None:
        transport.validate_http_url(config)

    def send(
        self, message: Message, config: Mapping[str, Any], secret: str, *, timeout: float = 10
    ) -> SendResult:
        if refused := transport.unusable_config(type(self), config, secret):
            return refused
        body = transport.encode_json(payload(message))
        answer = transport.post(str(config["url"]), body, timeout=timeout)
        if isinstance(answer, SendResult):
            return answer
        return judge(answer)


def judge(answer: transport.HttpAnswer) -> SendResult:
    """Judge Slack's answer: its status, and its error word for a revoked webhook."""
    if answer.status in (404, 410) and answer.text.strip() in GONE_ERRORS:
        return SendResult(ok=False, disable=True, status=answer.status, response=answer.excerpt)
    return transport.judge_status(answer)


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def payload(message: Message) -> dict[str, Any]:
    """Return the webhook body: fallback text, a header block and one section per alert."""
    mentions = " ".join(f"<@{user_id}>" for user_id in message.mention_user_ids)
    text = escape(message.text or message.subject)
    if mentions:
        text = f"{mentions} {text}"
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": _clip(message.subject, MAX_HEADER_CHARS)},
        }
    ]
    room = MAX_BLOCKS - len(blocks) - (1 if mentions else 0)
    with translation.override(message.language):
        shown = message.items if len(message.items) <= room else message.items[: room - 1]
        blocks += [_section(_item_mrkdwn(item)) for item in shown]
        hidden = len(message.items) - len(shown)
        if hidden:
            blocks.append(
                _section(
                    ngettext("…and {count} more alert", "…and {count} more alerts", hidden).format(
                        count=hidden
                    )
                )
            )
    if not message.items:
        blocks.append(_section(escape(message.text)))
    if mentions:
        blocks.append(_section(mentions))
    return {"text": _clip(text, MAX_TEXT_CHARS), "blocks": blocks}


def _item_mrkdwn(item: DigestItem) -> str:
    title = escape(item.title)
    heading = f"*{escape(item.severity_label)}* {title}" if item.severity_label else title
    lines = [heading] + [escape(part) for part in (item.entity, item.detail) if part]
    if item.link:
        lines.append(f"<{item.link}|{escape(gettext('Open'))}>")
    return "\n".join(lines)


def _section(mrkdwn: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _clip(mrkdwn, MAX_SECTION_CHARS)}}


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
