"""What the record pages write that has no verb of its own elsewhere yet.

Views parse and validate input with forms, then call a service; each owns its transaction.
Follow-ups go through ``activities.services.log_followup``, new deals through
``pipeline.services.open_opportunity`` and stage moves through ``pipeline.services.move_stage``,
the same functions the API, imports and inbound events call.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction

from salesradar.activities.choices import TaskStatus
from salesradar.activities.models import Task
from salesradar.core.fields import require_aware
from salesradar.crm.models import Contact
from salesradar.pipeline.models import Evidence, Opportunity


def save_contact(contact: Contact) -> Contact:
    """Create or update a contact of a customer."""
    contact.save()
    return contact


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
