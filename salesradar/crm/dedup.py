"""The duplicate guard every way in calls: web form, API, import and manual entry.

``guard_duplicates(records)`` checks a batch of incoming records against the existing leads
and customers (and each other) with a fixed number of indexed queries per batch:

- exact: the unified social credit code (checksum-validated), the phone in E.164 (+86 is
  assumed for numbers without a country code) and the e-mail address. An exact collision
  names the record it collides with; the caller refuses or merges (``DuplicatePolicy``).
- similar: the company name key (``company_match_key``: legal suffix, punctuation, width and
  place name insensitive). Names in the same small block are scored with rapidfuzz's
  normalised Indel ratio; those at or above ``threshold`` are returned as candidates for a
  person to review. Blocking keeps the cost per record bounded (see ``_similar``).

``merge(survivor, duplicate, by=..., at=...)`` folds one existing record into another of the
same kind: every row pointing at the duplicate (activities, contacts, opportunities,
contracts, assignments, lifecycle history, tasks, …) is moved to the survivor, blank fields
of the survivor are filled from the duplicate, and a ``MergeRecord`` keeps the duplicate as
it was.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import validate_email
from django.db import connection, models, transaction
from django.db.models import Q
from django.forms.models import model_to_dict
from django.utils import timezone
from django.utils.translation import gettext as _
from rapidfuzz import fuzz, process

from salesradar.core.fields import require_aware
from salesradar.crm.choices import AssignmentKind, LeadStatus, NurtureStatus
from salesradar.crm.models import (
    Assignment,
    Contact,
    Customer,
    Lead,
    MergeRecord,
    NurtureEnrollment,
)
from salesradar.crm.normalize import (
    NormalizationError,
    company_match_key,
    is_valid_credit_code,
    name_block,
    name_subblock,
    normalize_company_name,
    normalize_email,
    normalize_phone,
)

DEFAULT_THRESHOLD = 0.85
MAX_CANDIDATES = 5
BLOCK_LIMIT = 300  # existing names one record is scored against, at most, per block


@dataclass(frozen=True)
class Incoming:
    """An incoming lead or customer as the guard sees it; ``keys()`` validates it."""

    company_name: str
    credit_code: str = ""
    phone: str = ""
    email: str = ""


@dataclass(frozen=True)
class Keys:
    name_key: str
    name_block: str
    normalized_name: str
    credit_code: str
    phone: str
    email: str
    name_subblock: str = ""


def keys_of(record: Incoming) -> Keys:
    """Return the normalised keys of ``record``, or raise ValidationError naming each bad field."""
    errors: dict[str, str] = {}
    name = (record.company_name or "").strip()
    if not name:
        errors["company_name"] = _("The company name is required.")
    credit_code = (record.credit_code or "").strip().upper()
    if credit_code and not is_valid_credit_code(credit_code):
        errors["credit_code"] = _(
            "{value!r} is not a valid unified social credit code (18 characters with a "
            "GB 32100 check character)."
        ).format(value=record.credit_code)
    phone = ""
    if record.phone and record.phone.strip():
        try:
            phone = normalize_phone(record.phone)
        except NormalizationError as error:
            errors["phone"] = str(error)
    email = normalize_email(record.email)
    if email:
        try:
            validate_email(email)
        except ValidationError:
            errors["email"] = _("{value!r} is not a valid e-mail address.").format(
                value=record.email
            )
    if errors:
        raise ValidationError(errors)
    key = company_match_key(name)
    return Keys(
        key,
        name_block(key),
        normalize_company_name(name),
        credit_code,
        phone,
        email,
        name_subblock(key),
    )


@dataclass(frozen=True)
class Collision:
    """An exact match: which field, which value and which existing record."""

    field: str
    value: str
    kind: str  # "lead", "customer" or "batch" (an earlier row of the same batch)
    record_id: int
    code: str
    name: str

    @property
    def message(self) -> str:
        labels = {
            "credit_code": _("unified social credit code"),
            "phone": _("phone"),
            "email": _("e-mail"),
        }
        kinds = {"lead": _("lead"), "customer": _("customer"), "batch": _("row")}
        return _("The {field} {value} is already on {kind} {code} ({name}).").format(
            field=labels[self.field],
            value=self.value,
            kind=kinds[self.kind],
            code=self.code,
            name=self.name,
        )


@dataclass(frozen=True)
class Candidate:
    """A record with a similar name, scored 0-1."""

    kind: str
    record_id: int
    code: str
    name: str
    score: float

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.record_id,
            "code": self.code,
            "name": self.name,
            "score": round(self.score, 3),
        }


@dataclass
class DuplicateCheck:
    keys: Keys
    exact: list[Collision] = field(default_factory=list)
    similar: list[Candidate] = field(default_factory=list)

    @property
    def needs_review(self) -> bool:
        return not self.exact and bool(self.similar)

    @property
    def best_score(self) -> float:
        return max((candidate.score for candidate in self.similar), default=0.0)


def _score(a: Keys, b_key: str, b_normalized: str, ratio: float) -> float:
    if a.normalized_name and a.normalized_name == b_normalized:
        return 1.0
    if a.name_key == b_key:
        return 0.95  # the same name once the place is dropped: 上海某某 vs 某某（北京）
    return ratio


def guard_duplicates(
    records: Sequence[Incoming | Keys],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    exclude_leads: Sequence[int] = (),
    exclude_customers: Sequence[int] = (),
) -> list[DuplicateCheck]:
    """Check a batch of incoming records; return one DuplicateCheck per record, in order.

    Malformed input raises ValidationError before anything is looked up (pass ``Keys`` made
    by ``keys_of`` to validate row by row yourself). Rows of the batch are also checked
    against the rows before them, so a file listing one company twice is caught.
    """
    keys = [item if isinstance(item, Keys) else keys_of(item) for item in records]
    checks = [DuplicateCheck(k) for k in keys]
    if not keys:
        return checks
    _exact(checks, exclude_leads, exclude_customers)
    _similar(checks, threshold, exclude_leads, exclude_customers)
    return checks


def _exact(
    checks: list[DuplicateCheck], exclude_leads: Sequence[int], exclude_customers: Sequence[int]
) -> None:
    wanted: dict[str, set[str]] = defaultdict(set)
    for check in checks:
        for name in ("credit_code", "phone", "email"):
            value = getattr(check.keys, name)
            if value:
                wanted[name].add(value)
    found: dict[tuple[str, str], list[Collision]] = defaultdict(list)
    leads = Lead.objects.exclude(pk__in=exclude_leads).exclude(status=LeadStatus.MERGED)
    for name, lead_field in (
        ("credit_code", "credit_code"),
        ("phone", "phone_key"),
        ("email", "email_key"),
    ):
        if not wanted[name]:
            continue
        for pk, code, company, value in leads.filter(
            **{f"{lead_field}__in": wanted[name]}
        ).values_list("pk", "code", "company_name", lead_field):
            found[(name, value)].append(Collision(name, value, "lead", pk, code, company))
    customers = Customer.objects.exclude(pk__in=exclude_customers)
    if wanted["credit_code"]:
        for pk, code, company, value in customers.filter(
            credit_code__in=wanted["credit_code"]
        ).values_list("pk", "code", "name", "credit_code"):
            found[("credit_code", value or "")].append(
                Collision("credit_code", value or "", "customer", pk, code, company)
            )
    for name, contact_field in (("phone", "phone_key"), ("email", "email_key")):
        if not wanted[name]:
            continue
        contacts = Contact.objects.exclude(customer_id__in=exclude_customers).filter(
            **{f"{contact_field}__in": wanted[name]}
        )
        for pk, code, company, value in contacts.values_list(
            "customer_id", "customer__code", "customer__name", contact_field
        ):
            found[(name, value)].append(Collision(name, value, "customer", pk, code, company))
    seen: dict[tuple[str, str], int] = {}
    for index, check in enumerate(checks):
        for name in ("credit_code", "phone", "email"):
            value = getattr(check.keys, name)
            if not value:
                continue
            check.exact.extend(found.get((name, value), []))
            earlier = seen.get((name, value))
            if earlier is not None:
                check.exact.append(
                    Collision(name, value, "batch", earlier + 1, str(earlier + 1), "")
                )
            else:
                seen[(name, value)] = index


def _similar(
    checks: list[DuplicateCheck],
    threshold: float,
    exclude_leads: Sequence[int],
    exclude_customers: Sequence[int],
) -> None:
    """Score each record against the existing names it shares a small block with.

    TRICKY: blocking keeps this near-linear. A record is compared with its block (the name
    key's first 3 characters) when the block holds at most ``BLOCK_LIMIT`` records; in a
    crowded block (100,000 names starting 基准测试…) with its sub-block (the first 6
    characters) under the same limit; and where both are crowded, only with the records that
    have its exact name key. A near-duplicate that differs from a record inside a crowded
    prefix is therefore not proposed; an exact name key always is.
    """
    leads = Lead.objects.exclude(pk__in=exclude_leads).exclude(status=LeadStatus.MERGED)
    customers = Customer.objects.exclude(pk__in=exclude_customers)
    blocks = {check.keys.name_block for check in checks if check.keys.name_block}
    if not blocks:
        return
    small_blocks = _small_groups(leads, customers, "name_block", blocks)
    subblocks = {
        check.keys.name_subblock
        for check in checks
        if check.keys.name_block not in small_blocks and check.keys.name_subblock
    }
    small_subblocks = _small_groups(leads, customers, "name_subblock", subblocks)
    exact_keys = {
        check.keys.name_key
        for check in checks
        if check.keys.name_block
        and check.keys.name_block not in small_blocks
        and check.keys.name_subblock not in small_subblocks
    }
    by_group: dict[tuple[str, str], list[tuple[str, int, str, str, str, str]]] = defaultdict(list)
    fields = ("pk", "code", "name_key", "normalized_name", "name_block", "name_subblock")
    for kind, queryset, name_field in (
        ("lead", leads, "company_name"),
        ("customer", customers, "name"),
    ):
        wanted = Q(pk__in=[])
        if small_blocks:
            wanted |= Q(name_block__in=small_blocks)
        if small_subblocks:
            wanted |= Q(name_subblock__in=small_subblocks)
        if exact_keys:
            wanted |= Q(name_key__in=exact_keys)
        for pk, code, key, normalized, block, subblock, company in queryset.filter(
            wanted
        ).values_list(*fields, name_field):
            member = (kind, pk, code, company, key, normalized)
            if block in small_blocks:
                by_group[("block", block)].append(member)
            elif subblock in small_subblocks:
                by_group[("subblock", subblock)].append(member)
            if key in exact_keys:
                by_group[("key", key)].append(member)
    cutoff = threshold * 100
    for check in checks:
        keys = check.keys
        if not keys.name_block:
            continue
        if keys.name_block in small_blocks:
            members = by_group.get(("block", keys.name_block), [])
        elif keys.name_subblock in small_subblocks:
            members = by_group.get(("subblock", keys.name_subblock), [])
        else:
            members = by_group.get(("key", keys.name_key), [])
        if not members:
            continue
        exact_ids = {(c.kind, c.record_id) for c in check.exact}
        matches = process.extract(
            keys.name_key,
            [member[4] for member in members],
            scorer=fuzz.ratio,
            score_cutoff=cutoff,
            limit=None,
        )
        scored = []
        for _choice, ratio, index in matches:
            kind, pk, code, company, key, normalized = members[index]
            if (kind, pk) in exact_ids:
                continue
            score = _score(keys, key, normalized, ratio / 100)
            if score >= threshold:
                scored.append(Candidate(kind, pk, code, company, score))
        scored.sort(key=lambda candidate: (-candidate.score, candidate.kind, candidate.record_id))
        check.similar = scored[:MAX_CANDIDATES]


def _small_groups(
    leads: models.QuerySet[Lead],
    customers: models.QuerySet[Customer],
    column: str,
    values: set[str],
) -> set[str]:
    """Return the values of ``column`` shared by at most ``BLOCK_LIMIT`` leads and customers."""
    if not values:
        return set()
    sizes: dict[str, int] = defaultdict(int)
    for queryset in (leads, customers):
        for value, count in (
            queryset.filter(**{f"{column}__in": values})
            .order_by()
            .values_list(column)
            .annotate(count=models.Count("pk"))
        ):
            sizes[value] += count
    return {value for value in values if sizes.get(value, 0) <= BLOCK_LIMIT}


# --------------------------------------------------------------------------- merge


class MergeRefused(ValidationError):
    pass


def _move_related(
    model: type[models.Model], duplicate: models.Model, survivor: models.Model
) -> dict[str, int]:
    """Point every row that references ``duplicate`` at ``survivor``; return counts per table."""
    moved: dict[str, int] = {}
    for relation in model._meta.related_objects:
        if relation.many_to_many or not relation.field.concrete:
            continue
        related = relation.related_model
        # TRICKY: the base manager, because history tables refuse ``update`` through their
        # default manager; a merge moves history rows whole, it does not rewrite them.
        count = related._base_manager.filter(**{relation.field.name: duplicate}).update(
            **{relation.field.name: survivor}
        )
        if count:
            moved[related._meta.label_lower] = moved.get(related._meta.label_lower, 0) + count
    return moved


FILLABLE = {
    "lead": ("contact_name", "phone", "email", "region", "industry", "credit_code", "size"),
    "customer": ("credit_code", "industry", "region", "size"),
}


def merge(
    survivor: Lead | Customer,
    duplicate: Lead | Customer,
    *,
    by: Any = None,
    at: dt.datetime | None = None,
) -> MergeRecord:
    """Fold ``duplicate`` into ``survivor`` (same kind), keeping every row of both.

    The survivor keeps its owner and values; its blank fields are filled from the duplicate.
    The duplicate's snapshot and the count of rows moved per table go into a MergeRecord.
    """
    at = at or timezone.now()
    require_aware(at, "at")
    if type(survivor) is not type(duplicate):
        raise MergeRefused(_("Only two leads or two customers can be merged."), code="kinds")
    if survivor.pk == duplicate.pk:
        raise MergeRefused(_("A record cannot be merged into itself."), code="same")
    kind = "lead" if isinstance(survivor, Lead) else "customer"
    model: Any = type(survivor)
    with transaction.atomic():
        kept: Any = model.objects.select_for_update().get(pk=survivor.pk)
        gone: Any = model.objects.select_for_update().get(pk=duplicate.pk)
        return _merge_locked(kind, model, kept, gone, by=by, at=at)


def _merge_locked(
    kind: str, model: Any, survivor: Any, duplicate: Any, *, by: Any, at: dt.datetime
) -> MergeRecord:
    """Merge two rows already locked by ``merge``."""
    snapshot = model_to_dict(duplicate)
    snapshot = {k: v for k, v in snapshot.items() if not isinstance(v, list)}
    if kind == "lead":
        # one active nurture per lead: the duplicate's sequence ends with the merge
        NurtureEnrollment.objects.filter(lead=duplicate, status=NurtureStatus.ACTIVE).update(
            status=NurtureStatus.FINISHED, ended_at=at
        )
    moved = _move_related(model, duplicate, survivor)
    filled = []
    for name in FILLABLE[kind]:
        if not getattr(survivor, name) and getattr(duplicate, name):
            setattr(survivor, name, getattr(duplicate, name))
            filled.append(name)
    if kind == "customer" and duplicate.credit_code:
        # the unique code moves with the merge; free it first
        model.objects.filter(pk=duplicate.pk).update(credit_code=None)
    if kind == "lead":
        survivor.recycle_count = max(survivor.recycle_count, duplicate.recycle_count)
        if (
            duplicate.first_contact_at
            and (
                survivor.first_contact_at is None
                or duplicate.first_contact_at < survivor.first_contact_at
            )
            and duplicate.first_contact_at >= survivor.created_at
        ):
            survivor.first_contact_at = duplicate.first_contact_at
            filled.append("first_contact_at")
    record = MergeRecord.objects.create(
        kind=kind,
        survivor_id=survivor.pk,
        merged_id=duplicate.pk,
        merged_code=duplicate.code,
        snapshot=_jsonable(snapshot),
        moved=moved,
        at=at,
        by=by,
    )
    Assignment.objects.create(
        lead=survivor if kind == "lead" else None,
        customer=survivor if kind == "customer" else None,
        kind=AssignmentKind.MERGED,
        owner_id=survivor.owner_id,
        previous_owner_id=duplicate.owner_id,
        at=at,
        by=by,
        note=_("merged {code} into this record").format(code=duplicate.code),
    )
    duplicate.delete()
    if filled or kind == "lead":
        survivor.save()
    return record


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    import json

    return json.loads(json.dumps(values, cls=DjangoJSONEncoder, default=str))


def _write_fields(model: Any, rows: Sequence[Any], fields: list[str]) -> None:
    """One prepared UPDATE per row by primary key: bulk_update's CASE costs more than it saves."""
    table = connection.ops.quote_name(model._meta.db_table)
    assignments = ", ".join(f"{connection.ops.quote_name(name)} = %s" for name in fields)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET {assignments} WHERE id = %s",
            [[*(getattr(row, name) for name in fields), row.pk] for row in rows],
        )


def refresh_match_keys(batch: int = 2000) -> dict[str, int]:
    """Recompute the match keys of rows written outside the ORM (bulk loads, the demo)."""
    from salesradar.crm.normalize import phone_key_or_blank

    counts = {"leads": 0, "customers": 0, "contacts": 0}
    specs: list[tuple[str, Any, list[str]]] = [
        (
            "leads",
            Lead,
            [
                "normalized_name",
                "name_key",
                "name_block",
                "name_subblock",
                "phone_key",
                "email_key",
            ],
        ),
        ("customers", Customer, ["normalized_name", "name_key", "name_block", "name_subblock"]),
        ("contacts", Contact, ["phone_key", "email_key"]),
    ]
    for label, model, fields in specs:
        last = 0
        while True:
            rows = list(model.objects.filter(pk__gt=last).order_by("pk")[:batch])
            if not rows:
                break
            for row in rows:
                if isinstance(row, Lead):
                    row.fill_match_keys()
                elif isinstance(row, Customer):
                    row.normalized_name = normalize_company_name(row.name)
                    row.name_key = company_match_key(row.name)
                    row.name_block = name_block(row.name_key)
                    row.name_subblock = name_subblock(row.name_key)
                elif isinstance(row, Contact):
                    row.phone_key = phone_key_or_blank(row.phone)
                    row.email_key = normalize_email(row.email)
            _write_fields(model, rows, fields)
            counts[label] += len(rows)
            last = rows[-1].pk
    return counts
