"""What the record pages write: follow-ups, customers, contacts, opportunities, tasks.

Views parse and validate input with forms, then call one of these functions; each owns its
transaction. Stage moves are not here: they go through ``pipeline.services.move_stage``.
"""

from __future__ import annotations

import datetime as dt
import secrets
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from salesradar.activities.choices import TaskStatus
from salesradar.activities.models import Activity, Task
from salesradar.core.fields import require_aware
from salesradar.crm.models import Contact, Customer
from salesradar.pipeline.models import Evidence, Opportunity, Process, Stage, StageChange

CODE_ATTEMPTS = 5


def new_code(prefix: str, at: dt.datetime) -> str:
    """Return a record number such as ``C261130-3FA2B1``: the day plus six random hex digits.

    Numbers from the web never collide with the demo's or an import's sequential ones, and
    two people creating records in the same second still get different numbers.
    """
    return f"{prefix}{timezone.localtime(at):%y%m%d}-{secrets.token_hex(3).upper()}"


def _save_with_new_code(record: models.Model, prefix: str, at: dt.datetime) -> None:
    """Save a new record under a fresh number, drawing again on the rare collision."""
    for attempt in range(CODE_ATTEMPTS):
        record.code = new_code(prefix, at)  # type: ignore[attr-defined]
        try:
            with transaction.atomic():
                record.save()
            return
        except IntegrityError:
            if (
                attempt == CODE_ATTEMPTS - 1
                or not type(record)
                ._default_manager.filter(
                    code=record.code  # type: ignore[attr-defined]
                )
                .exists()
            ):
                raise


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
) -> Activity:
    """Record a follow-up with a customer and mark its opportunity as touched.

    The opportunity's ``updated_at`` moves forward (never back), since the "no update in 48
    hours" warning reads it; a follow-up logged late for an earlier day does not rewind it.
    """
    require_aware(occurred_at, "occurred_at")
    if opportunity is not None and opportunity.customer_id != customer.pk:
        raise ValidationError(_("The opportunity belongs to another customer."))
    if contact is not None and contact.customer_id != customer.pk:
        raise ValidationError(_("The contact works for another customer."))
    if occurred_at > timezone.now() + dt.timedelta(minutes=5):
        raise ValidationError(_("A follow-up cannot be logged in the future."))
    with transaction.atomic():
        activity = Activity(
            kind=kind,
            customer=customer,
            opportunity=opportunity,
            contact=contact,
            owner=by,
            occurred_at=occurred_at,
            outcome=outcome,
            summary=summary,
            decision_maker_present=decision_maker_present,
            next_step=next_step,
            next_step_due=next_step_due,
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
    return activity


def save_customer(customer: Customer, *, at: dt.datetime) -> Customer:
    """Create or update a customer; a new one gets a fresh customer number."""
    require_aware(at, "at")
    customer.updated_at = at
    if customer.pk is None:
        customer.created_at = at
        _save_with_new_code(customer, "C", at)
    else:
        customer.save()
    return customer


def save_contact(contact: Contact) -> Contact:
    """Create or update a contact of a customer."""
    contact.save()
    return contact


def create_opportunity(
    *,
    customer: Customer,
    owner: Any,
    name: str,
    by: Any,
    at: dt.datetime,
    amount: Decimal = Decimal("0"),
    product_line: str = "",
    expected_close_date: dt.date | None = None,
    process: Process | None = None,
) -> Opportunity:
    """Open an opportunity in its process's first stage and start its stage history there.

    Refused while the customer's red-health block is open (``health.services``).
    """
    from salesradar.health.services import ensure_can_open_opportunity

    require_aware(at, "at")
    ensure_can_open_opportunity(customer)
    chosen = process or Process.objects.filter(is_default=True).first()
    if chosen is None:
        raise ValidationError(_("No default sales process is loaded; load a playbook first."))
    first_stage = Stage.objects.filter(process=chosen).order_by("order").first()
    if first_stage is None:
        raise ValidationError(_("The sales process has no stages."))
    with transaction.atomic():
        opportunity = Opportunity(
            name=name,
            customer=customer,
            owner=owner,
            process=chosen,
            stage=first_stage,
            amount=amount,
            product_line=product_line,
            expected_close_date=expected_close_date,
            created_at=at,
            updated_at=at,
            stage_entered_at=at,
        )
        _save_with_new_code(opportunity, "O", at)
        StageChange.objects.create(
            opportunity=opportunity, to_stage=first_stage, changed_at=at, changed_by=by
        )
    return opportunity


def update_opportunity(opportunity: Opportunity, *, at: dt.datetime) -> Opportunity:
    """Save edited opportunity details (never its stage) and stamp it as updated."""
    require_aware(at, "at")
    opportunity.updated_at = max(at, opportunity.updated_at)
    opportunity.save(
        update_fields=[
            "name",
            "owner",
            "amount",
            "product_line",
            "expected_close_date",
            "lost_reason",
            "lost_note",
            "updated_at",
        ]
    )
    return opportunity


def add_evidence(
    opportunity: Opportunity, *, kind: str, title: str, url: str, by: Any, at: dt.datetime
) -> Evidence:
    """Attach a piece of proof a stage gate asks for, and count it as an update of the deal."""
    require_aware(at, "at")
    with transaction.atomic():
        evidence = Evidence(
            opportunity=opportunity, kind=kind, title=title, url=url, added_by=by, added_at=at
        )
        evidence.full_clean(exclude=["opportunity", "added_by"])
        evidence.save()
        Opportunity.objects.filter(pk=opportunity.pk, updated_at__lt=at).update(updated_at=at)
    return evidence


def complete_task(task: Task, *, by: Any, at: dt.datetime) -> Task:
    """Mark an open task done; a task already closed is left as it is."""
    require_aware(at, "at")
    updated = Task.objects.filter(pk=task.pk, status=TaskStatus.OPEN).update(
        status=TaskStatus.DONE, completed_at=at
    )
    if updated:
        task.status, task.completed_at = TaskStatus.DONE, at
    return task
