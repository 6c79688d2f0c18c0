"""Tell reps and managers what the lead pool did, through the notification outbox.

A notice is an in-app ``Delivery`` on the inbox channel (``notify.services.default_inbox``);
the dispatcher turns it into an inbox message like any alert digest. Notices are written in
bulk, in the same transaction as the change they report, so a rolled-back recall tells no one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils import translation
from django.utils.functional import Promise
from django.utils.html import escape


@dataclass(frozen=True)
class Notice:
    user_id: int
    subject: Promise | str
    text: Promise | str


def managers_of(user_ids: Iterable[int]) -> dict[int, int]:
    """Map each user to the manager of their team (the parent team's if they lead their own)."""
    from salesradar.accounts.models import User

    rows = User.objects.filter(pk__in=set(user_ids)).values_list(
        "pk", "team__manager_id", "team__parent__manager_id"
    )
    result: dict[int, int] = {}
    for user_id, manager_id, parent_manager_id in rows:
        chosen = manager_id if manager_id not in (None, user_id) else parent_manager_id
        if chosen is not None and chosen != user_id:
            result[user_id] = chosen
    return result


def send_notices(notices: Iterable[Notice], *, at: dt.datetime) -> int:
    """Queue one inbox delivery per notice, rendered in the recipient's language."""
    from salesradar.accounts.models import User
    from salesradar.notify.models import Delivery
    from salesradar.notify.services import default_inbox

    notices = list(notices)
    if not notices:
        return 0
    users = User.objects.filter(pk__in={n.user_id for n in notices}, is_active=True).in_bulk()
    inbox = default_inbox()
    deliveries = []
    for notice in notices:
        user = users.get(notice.user_id)
        if user is None:
            continue
        language = user.language or "zh-hans"
        with translation.override(language):
            subject, text = str(notice.subject), str(notice.text)
        deliveries.append(
            Delivery(
                channel=inbox,
                recipient=user,
                evaluation_at=at,
                next_attempt_at=at,
                payload={
                    "language": language,
                    "subject": subject,
                    "text": text,
                    "markdown": f"**{subject}**\n\n{text}",
                    "html": f"<p><strong>{escape(subject)}</strong></p><p>{escape(text)}</p>",
                    "items": [],
                    "recipient_email": user.email,
                    "recipient_name": str(user),
                    "mention_mobiles": [user.phone] if user.phone else [],
                },
            )
        )
    Delivery.objects.bulk_create(deliveries, batch_size=2000)
    return len(deliveries)
