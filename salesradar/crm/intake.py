"""Every way a lead comes in (web form, API, import, manual) goes through ``intake_leads``.

For a batch of rows: validate each row (a bad row is refused with a message per field and
the others go on), run the duplicate guard, refuse or merge exact duplicates according to
the policy, create the rest in their source's pool, open a review for similar names, and
route the new leads. Each batch is one transaction: nothing is half-created.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from salesradar.core import env, outbox
from salesradar.core.fields import require_aware
from salesradar.crm.choices import CompanySize, DuplicatePolicy, LeadSource, LeadStatus
from salesradar.crm.dedup import Collision, DuplicateCheck, Keys, guard_duplicates, keys_of
from salesradar.crm.models import DuplicateReview, Lead
from salesradar.crm.pool import default_pool, source_rules
from salesradar.crm.routing import Router, known_regions, route_leads


@dataclass(frozen=True)
class LeadInput:
    company_name: str
    contact_name: str = ""
    phone: str = ""
    email: str = ""
    region: str = ""
    industry: str = ""
    size: str = ""
    credit_code: str = ""
    code: str = ""
    """The lead number the caller gives (an API client's own); empty means a fresh one."""


@dataclass
class IntakeOutcome:
    """What happened to one row: ``created``, ``merged``, ``duplicate`` (refused) or ``invalid``."""

    status: str
    lead_id: int | None = None
    lead_code: str = ""
    owner_id: int | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)
    collisions: list[Collision] = field(default_factory=list)
    review_id: int | None = None
    candidates: list[dict[str, Any]] = field(default_factory=list)

    @property
    def messages(self) -> list[str]:
        found = [f"{name}: {message}" for name, items in self.errors.items() for message in items]
        return found + [collision.message for collision in self.collisions]


def duplicate_policy() -> str:
    """Return the policy for exact duplicates: ``SALESRADAR_LEAD_DUPLICATES``, default refuse."""
    value = env.get("LEAD_DUPLICATES", DuplicatePolicy.REFUSE)
    if value not in DuplicatePolicy.values:
        raise ValueError(
            f"SALESRADAR_LEAD_DUPLICATES must be one of {', '.join(DuplicatePolicy.values)}, "
            f"not {value!r}"
        )
    return value


def validate_row(row: LeadInput, regions: set[str]) -> Keys:
    """Return the row's duplicate keys or raise ValidationError with every bad field named."""
    errors: dict[str, list[str]] = {}
    try:
        keys = keys_of_row(row)
    except ValidationError as error:
        errors.update(error.message_dict)
        keys = None
    if row.region and row.region.strip() not in regions:
        errors.setdefault("region", []).append(
            _("{value!r} is not a known region.").format(value=row.region)
        )
    if row.size and row.size not in CompanySize.values:
        errors.setdefault("size", []).append(
            _("{value!r} is not a company size; use one of {known}.").format(
                value=row.size, known=", ".join(CompanySize.values)
            )
        )
    if len(row.company_name) > 200:
        errors.setdefault("company_name", []).append(_("At most 200 characters."))
    if errors or keys is None:
        raise ValidationError(errors)
    return keys


def keys_of_row(row: LeadInput) -> Keys:
    from salesradar.crm.dedup import Incoming

    return keys_of(Incoming(row.company_name, row.credit_code, row.phone, row.email))


def new_lead_code() -> str:
    return f"L{uuid.uuid4().hex[:15].upper()}"


def intake_leads(
    rows: Sequence[LeadInput],
    *,
    source: str,
    at: dt.datetime | None = None,
    policy: str | None = None,
    route: bool = True,
    router: Router | None = None,
    regions: set[str] | None = None,
) -> list[IntakeOutcome]:
    """Take in a batch of leads from one source; return one outcome per row, in order."""
    at = at or timezone.now()
    require_aware(at, "at")
    if source not in LeadSource.values:
        raise ValidationError(
            _("{value!r} is not a lead source; use one of {known}.").format(
                value=source, known=", ".join(LeadSource.values)
            ),
            code="source",
        )
    policy = policy or duplicate_policy()
    regions = regions if regions is not None else known_regions()
    outcomes: list[IntakeOutcome] = [IntakeOutcome("invalid") for _row in rows]
    valid: list[tuple[int, Keys]] = []
    for index, row in enumerate(rows):
        try:
            valid.append((index, validate_row(row, regions)))
        except ValidationError as error:
            outcomes[index].errors = error.message_dict
    rule = source_rules().get(source)
    pool_id = rule.pool_id if rule is not None and rule.pool_id else default_pool().pk
    with transaction.atomic():
        checks = guard_duplicates([keys for _index, keys in valid])
        to_create: list[tuple[int, Lead, DuplicateCheck]] = []
        for (index, keys), check in zip(valid, checks, strict=True):
            outcome = outcomes[index]
            if check.exact:
                outcome.collisions = check.exact
                first = check.exact[0]
                if policy == DuplicatePolicy.MERGE and first.kind != "batch":
                    outcome.status = "merged"
                    _merge_into_existing(first, rows[index])
                    outcome.lead_id = first.record_id if first.kind == "lead" else None
                    outcome.lead_code = first.code
                else:
                    outcome.status = "duplicate"
                continue
            row = rows[index]
            lead = Lead(
                code=row.code or new_lead_code(),
                company_name=row.company_name.strip(),
                contact_name=row.contact_name.strip(),
                phone=keys.phone,
                email=keys.email,
                region=row.region.strip(),
                industry=row.industry.strip(),
                size=row.size,
                credit_code=keys.credit_code,
                source=source,
                status=LeadStatus.NEW,
                pool_id=pool_id,
                created_at=at,
                # the guard's keys, already computed: no second parse of name and phone
                normalized_name=keys.normalized_name,
                name_key=keys.name_key,
                name_block=keys.name_block,
                name_subblock=keys.name_subblock,
                phone_key=keys.phone,
                email_key=keys.email,
            )
            to_create.append((index, lead, check))
        Lead.objects.bulk_create([lead for _index, lead, _check in to_create], batch_size=1000)
        reviews = []
        for index, lead, check in to_create:
            outcome = outcomes[index]
            outcome.status, outcome.lead_id, outcome.lead_code = "created", lead.pk, lead.code
            if check.needs_review:
                outcome.candidates = [candidate.as_json() for candidate in check.similar]
                reviews.append(
                    (
                        index,
                        DuplicateReview(
                            lead=lead,
                            candidates=outcome.candidates,
                            best_score=check.best_score,
                            created_at=at,
                        ),
                    )
                )
        DuplicateReview.objects.bulk_create([review for _index, review in reviews])
        outbox.announce(outbox.LEAD_CREATED, [lead.pk for _i, lead, _c in to_create], at=at)
        for index, review in reviews:
            outcomes[index].review_id = review.pk
    if route and to_create:
        route_leads([lead.pk for _index, lead, _check in to_create], at=at, router=router)
        owners = dict(
            Lead.objects.filter(pk__in=[lead.pk for _i, lead, _c in to_create]).values_list(
                "pk", "owner_id"
            )
        )
        for index, lead, _check in to_create:
            outcomes[index].owner_id = owners.get(lead.pk)
    return outcomes


def _merge_into_existing(collision: Collision, row: LeadInput) -> None:
    """Fill the existing lead's blank fields from the incoming row; a customer stays as is."""
    if collision.kind != "lead":
        return
    lead = Lead.objects.select_for_update().get(pk=collision.record_id)
    changed = False
    for name in ("contact_name", "region", "industry", "size"):
        value = getattr(row, name).strip()
        if value and not getattr(lead, name):
            setattr(lead, name, value)
            changed = True
    if changed:
        lead.save()


def create_lead(row: LeadInput, *, source: str, at: dt.datetime | None = None) -> IntakeOutcome:
    """Take in one lead (manual entry, the web form); see ``intake_leads``."""
    return intake_leads([row], source=source, at=at)[0]
