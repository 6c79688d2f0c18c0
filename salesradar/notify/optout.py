"""SMS opt-outs: a number that replied 退订 / TD / STOP is never sent to again."""

from __future__ import annotations

import datetime as dt
import re

from django.db import transaction

from salesradar.core.fields import require_aware
from salesradar.notify.channels.sms import normalise
from salesradar.notify.models import SmsOptOut

# What people reply to stop messages: the words carriers and providers recognise.
OPT_OUT_REPLY = re.compile(r"^\s*(退订|退定|取消|TD|T|N|STOP|UNSUBSCRIBE)\s*[。.!！]?\s*$", re.I)


def opt_out(number: str, *, source: str, at: dt.datetime, note: str = "") -> SmsOptOut:
    """Record that ``number`` wants no more SMS; repeating it keeps the first record."""
    require_aware(at, "at")
    with transaction.atomic():
        record, _created = SmsOptOut.objects.get_or_create(
            number=normalise(number),
            defaults={"opted_out_at": at, "source": source[:40], "note": note[:200]},
        )
    return record


def handle_reply(number: str, text: str, *, at: dt.datetime) -> bool:
    """Opt the number out when its reply asks to stop; return whether it did."""
    if not OPT_OUT_REPLY.match(text or ""):
        return False
    opt_out(number, source="reply", at=at, note=text.strip()[:200])
    return True


def is_opted_out(number: str) -> bool:
    return SmsOptOut.objects.filter(number=normalise(number)).exists()
