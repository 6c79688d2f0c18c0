"""What the API checks beyond plain storage that belongs to no other context's verbs.

Every write with a business meaning goes through its context's verb, the same one the web,
imports and inbound events call: ``activities.services.log_followup``,
``pipeline.services.open_opportunity`` / ``move_stage``, ``crm.pool.claim`` / ``release`` /
``assign``. Services raise ``core.errors.DomainError``; ``api.errors`` answers it.
"""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext as _

from salesradar.accounts.choices import Role
from salesradar.accounts.models import User
from salesradar.core.errors import Forbidden
from salesradar.crm.choices import LeadStatus
from salesradar.crm.models import Lead


def check_target_author(user: User) -> None:
    """Targets are set by managers and above; a rep reads theirs."""
    if user.role == Role.REP and not user.is_superuser:
        raise Forbidden(
            _("Only managers, directors, operations and admins set targets."),
            code="permission_denied",
        )


def apply_lead_handover(lead: Lead, previous_owner_id: int | None, *, at: dt.datetime) -> None:
    """Keep a lead's status and dates in line with a change of owner (before saving it).

    Getting an owner means assigned (now); losing one means recycled to the pool.
    TRICKY: still a copy of the pool's rules until lead intake and hand-over through the API
    call ``crm.intake`` and ``crm.pool`` (they need the outbox events the signals give today).
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
