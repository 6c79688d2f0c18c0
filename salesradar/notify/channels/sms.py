"""What the SMS channels share: template variables, quiet hours, opt-outs, one bucket a number.

Chinese SMS providers send only pre-approved templates (模板) under an approved signature
(签名): we never send free text, only the template's variables. A channel's config names
the template and maps each of its variables to a part of the message:

    {"sign_name": "销售雷达", "template": "SMS_123456789",
     "variables": {"count": "count", "title": "first_title", "link": "first_link"}}

``subject``, ``count``, ``first_title``, ``first_entity``, ``first_detail``, ``first_link``,
``name`` and ``text`` are the parts there are; each value is cut to the provider's limit for
a variable (``VARIABLE_LIMIT`` characters) with an ellipsis, and the cut is noted in the
delivery's response so nothing is shortened in silence; a link is never cut (the providers
give link variables their own limit).

Rate limits are counted per recipient number, not per account: both providers refuse more
than one message a minute, five an hour and ten a day to one number by default. A number
that opted out (退订 / TD / STOP, see ``SmsOptOut``) is never sent to. ``quiet_hours``
("21:00-08:00", organisation time) holds marketing and nurture messages until morning.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from salesradar.notify.channels.base import (
    ChannelConfigError,
    ChannelKind,
    Message,
    RateLimit,
    SendResult,
)

VARIABLE_LIMIT = 35  # Aliyun caps a template variable at 35 characters; Tencent allows more
SOURCES = (
    "subject",
    "count",
    "first_title",
    "first_entity",
    "first_detail",
    "first_link",
    "name",
    "text",
)
PER_NUMBER_LIMITS = (
    RateLimit(count=1, seconds=60),
    RateLimit(count=5, seconds=3600),
    RateLimit(count=10, seconds=86400),
)
_E164 = re.compile(r"^\+?[1-9]\d{6,14}$")
_QUIET = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")


def validate_common(config: Mapping[str, Any], secret: str, *, key_field: str) -> None:
    """Refuse a config a provider would refuse, naming the field."""
    for name in (key_field, "sign_name", "template"):
        value = config.get(name)
        if not isinstance(value, str) or not value.strip():
            raise ChannelConfigError(
                name, _("Enter the {field} the provider's console shows.").format(field=name)
            )
    if not secret.strip():
        raise ChannelConfigError("secret", _("Enter the access key secret."))
    variables = config.get("variables", {})
    if not isinstance(variables, dict) or not all(
        isinstance(name, str) and source in SOURCES for name, source in variables.items()
    ):
        raise ChannelConfigError(
            "variables",
            _("Map each template variable to one of: {sources}.").format(
                sources=", ".join(SOURCES)
            ),
        )
    quiet = config.get("quiet_hours", "")
    if quiet and not (isinstance(quiet, str) and _QUIET.match(quiet)):
        raise ChannelConfigError("quiet_hours", _("Write quiet hours as 21:00-08:00."))


def parts_of(message: Message) -> dict[str, str]:
    first = message.items[0] if message.items else None
    return {
        "subject": message.subject,
        "count": str(len(message.items)) if message.items else "",
        "first_title": first.title if first else "",
        "first_entity": first.entity if first else "",
        "first_detail": first.detail if first else "",
        "first_link": first.link if first else "",
        "name": message.recipient_name,
        "text": message.text,
    }


def template_values(
    config: Mapping[str, Any], message: Message
) -> tuple[dict[str, str], list[str]]:
    """Return the template's variables in config order, and the names of those cut short."""
    parts = parts_of(message)
    values: dict[str, str] = {}
    cut: list[str] = []
    for name, source in (config.get("variables") or {}).items():
        value = parts[source]
        if len(value) > VARIABLE_LIMIT and source != "first_link":  # a cut link is no link
            value = value[: VARIABLE_LIMIT - 1] + "…"
            cut.append(name)
        values[name] = value
    return values, cut


def recipient_number(message: Message) -> str:
    number = re.sub(r"[\s-]", "", message.recipient_mobile)
    return number if _E164.match(number) else ""


def refusal_before_sending(config: Mapping[str, Any], message: Message) -> SendResult | None:
    """Return why this message must not go out now: no number, opted out, or quiet hours."""
    from salesradar.notify.models import SmsOptOut

    number = recipient_number(message)
    if not number:
        return SendResult(ok=False, response=_("The recipient has no valid mobile number for SMS."))
    if SmsOptOut.objects.filter(number=normalise(number)).exists():  # see notify.optout
        return SendResult(ok=False, response=_("{number} opted out of SMS.").format(number=number))
    wait = quiet_wait(str(config.get("quiet_hours", "")), timezone.localtime())
    if wait:
        return SendResult(
            ok=False,
            retry=True,
            retry_after=wait,
            response=_("Held for the quiet hours {hours}.").format(hours=config["quiet_hours"]),
        )
    return None


def normalise(number: str) -> str:
    """Return the number as E.164, reading a bare 11-digit number as Chinese."""
    digits = re.sub(r"[^\d+]", "", number)
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    if not digits.startswith("+"):
        digits = "+86" + digits if len(digits) == 11 and digits.startswith("1") else "+" + digits
    return digits


def quiet_wait(hours: str, now: dt.datetime) -> float:
    """Seconds until the quiet hours ``hours`` ("21:00-08:00") end, or 0 outside them."""
    match = _QUIET.match(hours or "")
    if not match:
        return 0.0
    start = dt.time(int(match[1]), int(match[2]))
    end = dt.time(int(match[3]), int(match[4]))
    current = now.timetz().replace(tzinfo=None)
    inside = start <= current < end if start <= end else (current >= start or current < end)
    if not inside:
        return 0.0
    ends = now.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    if ends <= now:
        ends += dt.timedelta(days=1)
    return (ends - now).total_seconds()


def with_cut_note(result: SendResult, cut: list[str]) -> SendResult:
    if not cut:
        return result
    note = _("Shortened to {limit} characters: {names}.").format(
        limit=VARIABLE_LIMIT, names=", ".join(cut)
    )
    return SendResult(
        ok=result.ok,
        retry=result.retry,
        retry_after=result.retry_after,
        disable=result.disable,
        status=result.status,
        response=f"{result.response} {note}".strip(),
    )


class SmsChannel(ChannelKind):
    """What both providers do around their own request: checks, variables, the cut note."""

    rate_limits = PER_NUMBER_LIMITS

    @classmethod
    def destination_for(cls, config: Mapping[str, Any], message: Message) -> str:
        return f"{cls.kind}:{normalise(recipient_number(message))}"

    def send(
        self, message: Message, config: Mapping[str, Any], secret: str, *, timeout: float = 10
    ) -> SendResult:
        from salesradar.notify.channels import transport

        if refused := transport.unusable_config(type(self), config, secret):
            return refused
        if refused := refusal_before_sending(config, message):
            return refused
        values, cut = template_values(config, message)
        return with_cut_note(self.post_template(message, config, secret, values, timeout), cut)

    def post_template(
        self,
        message: Message,
        config: Mapping[str, Any],
        secret: str,
        values: dict[str, str],
        timeout: float,
    ) -> SendResult:
        """Send the template with ``values`` to the provider and judge its answer."""
        raise NotImplementedError
