"""Activity verbs: logging a follow-up is one function that every way in calls.

The web's quick form, the API's ``POST /api/activities/``, inbound events and the demo call
``log_followup``; it checks the follow-up, stores it and applies what a follow-up means to
the rest of the data in the same transaction:

- the opportunity and the customer count as updated at that time (the "no update in 48
  hours" warning reads ``updated_at``), never moved backwards;
- each lead converted into that customer (``Lead.customer``) stops its response clock and
  restarts its ownership countdown, exactly as ``crm.pool.touch_leads`` defines.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from salesradar.activities.models import Activity
from salesradar.core.errors import Invalid
from salesradar.core.fields import require_aware
from salesradar.crm.models import Contact, Customer, Lead
from salesradar.crm.pool import REAL_FOLLOWUP_KINDS, touch_leads
from salesradar.pipeline.models import Opportunity

CLOCK_SKEW = dt.timedelta(minutes=5)
"""How far ahead of the server's clock a follow-up may be dated (a phone's clock drifts)."""
SUMMARY_LIMIT = 2000
"""Characters a follow-up's summary may hold; a longer one is refused, never cut."""
NEXT_STEP_LIMIT = 200
"""Characters of the next step (the column's length)."""


def check_followup(
    *,
    customer: Customer | None,
    opportunity: Opportunity | None = None,
    contact: Contact | None = None,
    occurred_at: dt.datetime | None = None,
    summary: str | None = None,
    next_step: str | None = None,
) -> None:
    """Refuse a follow-up whose parts do not fit together, naming every field at fault."""
    errors: dict[str, list[str]] = {}
    if customer is not None and opportunity is not None and opportunity.customer_id != customer.pk:
        errors["opportunity"] = [_("The opportunity belongs to another customer.")]
    if customer is not None and contact is not None and contact.customer_id != customer.pk:
        errors["contact"] = [_("The contact belongs to another customer.")]
    if occurred_at is not None:
        require_aware(occurred_at, "occurred_at")
        if occurred_at > timezone.now() + CLOCK_SKEW:
            errors["occurred_at"] = [_("A follow-up cannot be logged in the future.")]
    if summary is not None and len(summary) > SUMMARY_LIMIT:
        errors["summary"] = [
            _(
                "The summary has {length} characters; at most {limit} are kept, so shorten it."
            ).format(length=len(summary), limit=SUMMARY_LIMIT)
        ]
    if next_step is not None and len(next_step) > NEXT_STEP_LIMIT:
        errors["next_step"] = [
            _(
                "The next step has {length} characters; at most {limit} are kept, so shorten it."
            ).format(length=len(next_step), limit=NEXT_STEP_LIMIT)
        ]
    if errors:
        first = next(iter(errors.values()))[0]
        raise Invalid(first, code="invalid_followup", fields=errors)


def log_followup(
    customer: Customer,
    *,
    by: Any,
    kind: str,
    occurred_at: dt.datetime,
    summary: str = "",
    outcome: str = "",
    opportunity: Opportunity | None = None,
    contact: Contact | None = None,
    decision_maker_present: bool = False,
    next_step: str = "",
    next_step_due: dt.date | None = None,
    duration_minutes: int = 0,
    logged_at: dt.datetime | None = None,
) -> Activity:
    """Record a follow-up with a customer and apply what it means to deals and leads.

    ``by`` is the person who had the follow-up (the activity's owner). Nothing is written
    when any part is refused.
    """
    check_followup(
        customer=customer,
        opportunity=opportunity,
        contact=contact,
        occurred_at=occurred_at,
        summary=summary,
        next_step=next_step,
    )
    with transaction.atomic():
        activity = Activity(
            kind=kind,
            customer=customer,
            opportunity=opportunity,
            contact=contact,
            owner=by,
            occurred_at=occurred_at,
            duration_minutes=duration_minutes,
            outcome=outcome,
            summary=summary,
            decision_maker_present=decision_maker_present,
            next_step=next_step,
            next_step_due=next_step_due,
            created_at=logged_at or timezone.now(),
        )
        activity.full_clean(exclude=["customer", "owner", "opportunity", "contact"])
        activity.save()
        if opportunity is not None:
            Opportunity.objects.filter(pk=opportunity.pk, updated_at__lt=occurred_at).update(
                updated_at=occurred_at
            )
        Customer.objects.filter(pk=customer.pk, updated_at__lt=occurred_at).update(
            updated_at=occurred_at
        )
        if kind in REAL_FOLLOWUP_KINDS:
            touch_leads(
                Lead.objects.filter(customer_id=customer.pk, created_at__lte=occurred_at),
                at=occurred_at,
            )
    return activity
