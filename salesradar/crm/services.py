"""CRM services: creating and saving a customer through the duplicate guard.

The web's customer form, ``POST``/``PATCH /api/customers/`` and inbound
``customer.upserted`` events save through ``save_customer`` (same normalised company name or
same unified social credit code is refused); imports create through ``create_customer``,
which also weighs leads and near-identical names.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from salesradar.core.codes import save_with_new_code
from salesradar.core.errors import Conflict
from salesradar.core.fields import require_aware
from salesradar.crm.dedup import Incoming, guard_duplicates, keys_of
from salesradar.crm.models import Customer
from salesradar.crm.normalize import normalize_company_name

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


def customer_clashes(
    *, name: str, credit_code: str | None, exclude_pk: int | None = None
) -> dict[str, list[str]]:
    """Return, per field, why a customer with this name or credit code would be a duplicate."""
    others = Customer.objects.exclude(pk=exclude_pk) if exclude_pk else Customer.objects.all()
    found: dict[str, list[str]] = {}
    code = (credit_code or "").strip().upper()
    if code:
        clash = others.filter(credit_code=code).first()
        if clash is not None:
            found["credit_code"] = [
                _("Customer {code} already has this credit code.").format(code=clash.code)
            ]
    normalized = normalize_company_name(name.strip())
    if normalized:
        clash = others.filter(normalized_name=normalized).first()
        if clash is not None:
            found["name"] = [
                _("This looks like customer {code} ({name}), which already exists.").format(
                    code=clash.code, name=clash.name
                )
            ]
    return found


def save_customer(customer: Customer, *, at: dt.datetime) -> Customer:
    """Create or update a customer, refusing a duplicate; a new one gets a fresh number
    unless it brings its own (an API client's, an external system's)."""
    require_aware(at, "at")
    clashes = customer_clashes(
        name=customer.name, credit_code=customer.credit_code, exclude_pk=customer.pk
    )
    if clashes:
        first = next(iter(clashes.values()))[0]
        raise Conflict(first, code="duplicate", fields=clashes)
    customer.updated_at = at
    with transaction.atomic():
        if customer.pk is None:
            customer.created_at = at
            if customer.code:
                customer.save()
            else:
                save_with_new_code(customer, "C", at)
        else:
            customer.save()
    return customer
