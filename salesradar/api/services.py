"""What the API checks beyond plain storage that belongs to no other context's verbs.

Every write with a business meaning goes through its context's verb, the same one the web,
imports and inbound events call: ``activities.services.log_followup``,
``pipeline.services.open_opportunity`` / ``move_stage``, ``crm.pool.claim`` / ``release`` /
``assign``. Services raise ``core.errors.DomainError``; ``api.errors`` answers it.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from salesradar.accounts.choices import Role
from salesradar.accounts.models import User
from salesradar.core.errors import Forbidden


def check_target_author(user: User) -> None:
    """Targets are set by managers and above; a rep reads theirs."""
    if user.role == Role.REP and not user.is_superuser:
        raise Forbidden(
            _("Only managers, directors, operations and admins set targets."),
            code="permission_denied",
        )
