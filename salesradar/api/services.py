"""What the API does beyond plain storage: opening deals, lead hand-over, activity checks.

Views and serializers parse input and call these; the stage move and the alert lifecycle are
the pipeline's and the alerts' own services, called as they are.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied

from salesradar.accounts.choices import Role
from salesradar.accounts.models import User
from salesradar.activities.models import Activity
from salesradar.crm.choices import LeadStatus
from salesradar.crm.models import Contact, Customer, Lead
from salesradar.pipeline.models import Opportunity, Process, Stage, StageChange

CLOCK_SKEW = dt.timedelta(minutes=5)


def process_or_default(process: Process | None) -> Process:
    """Return ``process`` or the default process, refusing when there is none."""
    if process is not None:
        return process
    found = Process.objects.filter(is_default=True).first() or Process.objects.first()
    if found is None:
        raise serializers.ValidationError(
            {"process": [_("No sales process is loaded yet; load a playbook first.")]}
        )
    return found


def first_stage(process: Process) -> Stage:
    stage = process.stages.filter(is_won=False, is_lost=False).order_by("order").first()
    if stage is None:
        raise serializers.ValidationError({"process": [_("This process has no open stage.")]})
    return stage


def open_opportunity(opportunity: Opportunity, *, by: User | None) -> StageChange:
    """Start the stage history of a newly stored opportunity with the stage it was entered in."""
    return StageChange.objects.create(
        opportunity=opportunity,
        to_stage=opportunity.stage,
        changed_at=opportunity.stage_entered_at,
        changed_by=by,
        note=_("Entered through the API"),
    )


def check_activity(
    *,
    customer: Customer | None,
    opportunity: Opportunity | None,
    contact: Contact | None,
    occurred_at: dt.datetime | None,
) -> None:
    """Refuse an activity whose opportunity or contact belongs to another customer."""
    errors: dict[str, list[str]] = {}
    if customer is not None and opportunity is not None and opportunity.customer_id != customer.pk:
        errors["opportunity"] = [_("The opportunity belongs to another customer.")]
    if customer is not None and contact is not None and contact.customer_id != customer.pk:
        errors["contact"] = [_("The contact belongs to another customer.")]
    if occurred_at is not None and occurred_at > timezone.now() + CLOCK_SKEW:
        errors["occurred_at"] = [_("A follow-up cannot be logged in the future.")]
    if errors:
        raise serializers.ValidationError(errors)


def check_target_author(user: User) -> None:
    """Targets are set by managers and above; a rep reads theirs."""
    if user.role == Role.REP and not user.is_superuser:
        raise PermissionDenied(_("Only managers, directors, operations and admins set targets."))


def log_activity(data: dict[str, Any]) -> Activity:
    """Store one follow-up; a lead of that customer counts as contacted from then on."""
    with transaction.atomic():
        activity = Activity.objects.create(**data)
        Lead.objects.filter(
            customer_id=activity.customer_id,
            first_contact_at__isnull=True,
            created_at__lte=activity.occurred_at,
        ).update(first_contact_at=activity.occurred_at)
    return activity


def apply_lead_handover(lead: Lead, previous_owner_id: int | None, *, at: dt.datetime) -> None:
    """Keep a lead's status and dates in line with a change of owner (before saving it).

    Getting an owner means assigned (now); losing one means recycled to the pool.
    """
    if lead.owner_id == previous_owner_id:
        return
    if lead.owner_id is None:
        lead.status = LeadStatus.RECYCLED
        lead.recycle_count += 1
        lead.assigned_at = None
        return
    lead.assigned_at = at
    if lead.status in (LeadStatus.NEW, LeadStatus.RECYCLED):
        lead.status = LeadStatus.ASSIGNED
