"""CRM services: creating a customer through the duplicate guard."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from salesradar.core.fields import require_aware
from salesradar.crm.dedup import Incoming, guard_duplicates, keys_of
from salesradar.crm.models import Customer

# a candidate this close is the same company spelt another way (place, suffix): never create it
SAME_COMPANY_SCORE = 0.95


class DuplicateCustomer(ValidationError):
    """The customer exists already (exactly, or under a name the guard calls the same)."""


def create_customer(
    name: str,
    *,
    code: str,
    owner_id: int | None,
    at: dt.datetime,
    credit_code: str = "",
) -> Customer:
    """Create a customer unless the duplicate guard says it is there already.

    Refused (``DuplicateCustomer``, naming the record) on an exact collision of the credit
    code, or when an existing lead or customer scores as the same company (same name once
    place and legal suffix are dropped); a merely similar name is created.
    """
    require_aware(at, "at")
    keys = keys_of(Incoming(name, credit_code=credit_code))
    [check] = guard_duplicates([keys])
    if check.exact:
        raise DuplicateCustomer(" ".join(collision.message for collision in check.exact))
    same = [candidate for candidate in check.similar if candidate.score >= SAME_COMPANY_SCORE]
    if same:
        first = same[0]
        raise DuplicateCustomer(
            _(
                "{name} is the same company as the existing {kind} {code} ({other}); use that "
                "record's number instead."
            ).format(
                name=name,
                kind=_("customer") if first.kind == "customer" else _("lead"),
                code=first.code,
                other=first.name,
            )
        )
    with transaction.atomic():
        customer = Customer(
            code=code,
            name=name.strip(),
            credit_code=keys.credit_code or None,
            owner_id=owner_id,
            owned_since=at if owner_id else None,
            created_at=at,
            updated_at=at,
        )
        customer.save()
    return customer
