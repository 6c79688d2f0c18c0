"""The lead pool (公海): its policies, claiming, releasing, hand assignment and the countdown.

A record (lead or customer) with no owner is in its pool (``pool``, empty meaning the
default pool) and stays attached to that pool while a rep owns it, so a recall returns it
where it came from. Every change of hands writes an ``Assignment`` row in the same
transaction; a refused change writes nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import models, transaction
from django.db.models import Case, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django.utils.translation import gettext as _

from salesradar.accounts.models import User
from salesradar.core import outbox
from salesradar.core.errors import Conflict, Invalid
from salesradar.core.fields import require_aware
from salesradar.crm.calendar import WorkingCalendar
from salesradar.crm.choices import AssignmentKind, LeadStatus, Tier
from salesradar.crm.models import (
    Assignment,
    Customer,
    Lead,
    LeadPool,
    SourcePolicy,
    TierPolicy,
)

OPEN_LEAD_STATUSES = (LeadStatus.ASSIGNED, LeadStatus.CONTACTED, LeadStatus.QUALIFIED)
"""Statuses of a lead a rep is working: they count against limits and capacities."""
CLAIMABLE_LEAD_STATUSES = (LeadStatus.NEW, LeadStatus.RECYCLED)
"""Statuses of an ownerless lead that may be claimed or routed."""
POOL_MANAGED = "response_due_at / owned_since"
"""TRICKY: only records handed out by the pool's services (claim, assign, routing) carry a
response deadline (leads) or ``owned_since`` (customers); the countdown and the ladder act on
those alone, so rows bulk-loaded with an owner (an import, the demo) are not swept into the
pool the first time the periodic work runs."""
REAL_FOLLOWUP_KINDS = ("call", "visit", "meeting", "email", "im", "demo")
"""Activity kinds that restart a countdown: everything but a note to oneself."""
DEFAULT_RESPONSE_HOURS = 24

TIER_DEFAULTS: dict[str, dict[str, Any]] = {
    Tier.A: {"cadence_days": 7, "cadence_kinds": ["visit", "meeting"], "ownership_days": 45},
    Tier.B: {"cadence_days": 14, "cadence_kinds": [], "ownership_days": 30},
    Tier.C: {"cadence_days": 30, "cadence_kinds": [], "ownership_days": 60},
}


class PoolRefusal(Conflict):
    """A claim, assignment or release the pool rules do not allow; the message says why."""


def default_pool() -> LeadPool:
    pool = LeadPool.objects.filter(is_default=True).first()
    if pool is None:
        pool, _created = LeadPool.objects.get_or_create(
            code="default", defaults={"name": _("Public pool"), "is_default": True}
        )
    return pool


def pool_of(record: Lead | Customer) -> LeadPool:
    return record.pool if record.pool_id is not None else default_pool()


def tier_policies() -> dict[str, TierPolicy]:
    """Return the policy of every tier (one query); a tier without a row gets the defaults.

    The defaults are unsaved instances, so reading policies (as metrics do) never writes.
    """
    policies = {policy.tier: policy for policy in TierPolicy.objects.all()}
    for tier, defaults in TIER_DEFAULTS.items():
        if tier not in policies:
            policies[tier] = TierPolicy(tier=tier, **defaults)
    return policies


@dataclass(frozen=True)
class SourceRule:
    response_hours: int
    working_hours_only: bool
    pool_id: int | None


def source_rules() -> dict[str, SourceRule]:
    """Return the response rule per source; a source without a policy gets 24 wall-clock hours."""
    return {
        policy.source: SourceRule(policy.response_hours, policy.working_hours_only, policy.pool_id)
        for policy in SourcePolicy.objects.all()
    }


def response_deadline(
    source: str,
    assigned_at: dt.datetime,
    *,
    rules: dict[str, SourceRule],
    calendar: WorkingCalendar | None,
) -> dt.datetime:
    rule = rules.get(source) or SourceRule(DEFAULT_RESPONSE_HOURS, False, None)
    if rule.working_hours_only:
        calendar = calendar or WorkingCalendar.load()
        return calendar.deadline(assigned_at, rule.response_hours, working_hours_only=True)
    return assigned_at + dt.timedelta(hours=rule.response_hours)


def local_midnight(at: dt.datetime) -> dt.datetime:
    local = timezone.localtime(at)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def _refuse(message: str, code: str) -> PoolRefusal:
    return PoolRefusal(message, code=code)


def _check_rep(user: User) -> None:
    if not user.is_active:
        raise _refuse(
            _("{user} is deactivated and cannot own records.").format(user=user), "inactive"
        )


def _check_claim_limits(record: Lead | Customer, by: User, at: dt.datetime) -> None:
    pool = pool_of(record)
    if isinstance(record, Lead):
        held = Lead.objects.filter(owner=by, status__in=OPEN_LEAD_STATUSES).count()
        what = _("open leads")
    else:
        held = Customer.objects.filter(owner=by, owned_since__isnull=False).count()
        what = _("pool customers")
    if held >= pool.max_open_per_rep:
        raise _refuse(
            _("{user} already holds {count} {what}; the limit of pool {pool} is {limit}.").format(
                user=by, count=held, what=what, pool=pool, limit=pool.max_open_per_rep
            ),
            "over_open_limit",
        )
    today = Assignment.objects.filter(
        by=by, kind=AssignmentKind.CLAIMED, at__gte=local_midnight(at), at__lte=at
    ).count()
    if today >= pool.claims_per_day:
        raise _refuse(
            _("{user} has claimed {count} records today; pool {pool} allows {limit} a day.").format(
                user=by, count=today, pool=pool, limit=pool.claims_per_day
            ),
            "over_daily_limit",
        )
    if record.previous_owner_id == by.pk and record.released_at is not None:
        allowed_from = record.released_at + dt.timedelta(days=pool.reclaim_after_days)
        if at < allowed_from:
            raise _refuse(
                _(
                    "{record} left {user} on {released:%Y-%m-%d}; the previous owner may claim it "
                    "again from {allowed:%Y-%m-%d %H:%M}."
                ).format(
                    record=record,
                    user=by,
                    released=timezone.localtime(record.released_at),
                    allowed=timezone.localtime(allowed_from),
                ),
                "reclaim_too_soon",
            )


def _take(
    record: Lead | Customer,
    *,
    owner: User,
    at: dt.datetime,
    require_unowned: bool,
) -> int:
    """Give ``record`` to ``owner`` with one conditional UPDATE; return the rows changed."""
    reset: dict[str, Any] = {
        "ladder_step": 0,
        "ladder_since": None,
        "high_risk": False,
        "expiry_notified_at": None,
    }
    if isinstance(record, Lead):
        leads = Lead.objects.filter(pk=record.pk)
        if require_unowned:
            leads = leads.filter(owner__isnull=True, status__in=CLAIMABLE_LEAD_STATUSES)
        due = response_deadline(record.source, at, rules=source_rules(), calendar=None)
        return leads.update(
            owner=owner,
            assigned_at=at,
            status=LeadStatus.ASSIGNED,
            response_due_at=due,
            first_contact_at=None,
            last_followup_at=None,
            **reset,
        )
    customers = Customer.objects.filter(pk=record.pk)
    if require_unowned:
        customers = customers.filter(owner__isnull=True)
    return customers.update(owner=owner, owned_since=at, updated_at=at, **reset)


def claim(record: Lead | Customer, *, by: User, at: dt.datetime | None = None) -> None:
    """Let a rep take an ownerless record from its pool, within the pool's limits.

    Two reps claiming the same record at once: the conditional UPDATE (``owner IS NULL``)
    lets exactly one of them change the row; the other is told who has it. Claims of one rep
    are serialised by locking the rep's row, so two parallel claims cannot both pass a limit.
    """
    at = at or timezone.now()
    require_aware(at, "at")
    _check_rep(by)
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=by.pk).first()
        record.refresh_from_db()
        if record.owner_id is not None:
            raise _refuse(
                _("{record} is already owned by {owner}.").format(
                    record=record, owner=record.owner
                ),
                "taken",
            )
        if isinstance(record, Lead) and record.status not in CLAIMABLE_LEAD_STATUSES:
            raise _refuse(
                _("{record} is {status} and cannot be claimed.").format(
                    record=record, status=record.get_status_display()
                ),
                "not_claimable",
            )
        _check_claim_limits(record, by, at)
        if _take(record, owner=by, at=at, require_unowned=True) != 1:
            owner = type(record).objects.filter(pk=record.pk).values_list("owner", flat=True)[0]
            raise _refuse(
                _("{record} was claimed by {owner} a moment ago.").format(
                    record=record, owner=User.objects.filter(pk=owner).first()
                ),
                "taken",
            )
        _history(record, AssignmentKind.CLAIMED, owner=by, previous=None, at=at, by=by)
        if isinstance(record, Lead):
            outbox.announce(outbox.LEAD_ASSIGNED, [record.pk], at=at)
    record.refresh_from_db()


def assign(
    record: Lead | Customer,
    *,
    to: User,
    by: User | None,
    at: dt.datetime | None = None,
    note: str = "",
) -> None:
    """Hand a record to a rep (ops, a manager): no claim limits, never to a deactivated rep."""
    at = at or timezone.now()
    require_aware(at, "at")
    _check_rep(to)
    with transaction.atomic():
        record.refresh_from_db()
        previous = record.owner_id
        _take(record, owner=to, at=at, require_unowned=False)
        _history(
            record, AssignmentKind.MANUAL, owner=to, previous=previous, at=at, by=by, note=note
        )
        if isinstance(record, Lead):
            outbox.announce(outbox.LEAD_ASSIGNED, [record.pk], at=at)
    record.refresh_from_db()


def release(
    record: Lead | Customer, *, by: User, at: dt.datetime | None = None, note: str = ""
) -> None:
    """Give a record back to its pool; the rep who let it go waits before claiming it again.

    ``note`` (why it goes back) is kept on the assignment history.
    """
    at = at or timezone.now()
    require_aware(at, "at")
    with transaction.atomic():
        record.refresh_from_db()
        if record.owner_id is None:
            raise _refuse(_("{record} is already in the pool.").format(record=record), "in_pool")
        previous = record.owner_id
        changes: dict[str, Any] = {
            "owner": None,
            "previous_owner_id": previous,
            "released_at": at,
            "ladder_step": 0,
            "ladder_since": None,
        }
        if isinstance(record, Lead):
            changes["status"] = LeadStatus.RECYCLED
            changes["recycle_count"] = models.F("recycle_count") + 1
            changes["response_due_at"] = None
            Lead.objects.filter(pk=record.pk).update(**changes)
        else:
            Customer.objects.filter(pk=record.pk).update(owned_since=None, **changes)
        _history(
            record, AssignmentKind.RELEASED, owner=None, previous=previous, at=at, by=by, note=note
        )
        if isinstance(record, Lead):
            outbox.announce(outbox.LEAD_RECALLED, [record.pk], at=at)
    record.refresh_from_db()


def record_lead_contact(lead: Lead, *, at: dt.datetime, by: User | None = None) -> None:
    """Note a real follow-up of one lead (see ``touch_leads``), refusing one before its creation.

    A follow-up with a customer goes through ``activities.services.log_followup``, which
    touches that customer's leads the same way.
    """
    require_aware(at, "at")
    if at < lead.created_at:
        raise Invalid(
            _(
                "A lead cannot be contacted before it was created ({created:%Y-%m-%d %H:%M})."
            ).format(created=timezone.localtime(lead.created_at)),
            code="contact_before_creation",
            fields={"occurred_at": [_("before the lead was created")]},
        )
    touch_leads(Lead.objects.filter(pk=lead.pk), at=at)
    lead.refresh_from_db()


def touch_leads(leads: QuerySet[Lead], *, at: dt.datetime) -> None:
    """Apply a real follow-up at ``at`` to every lead of ``leads`` (three set-based UPDATEs).

    The first follow-up stops the response clock (``first_contact_at``); every one restarts
    the ownership countdown and the escalation ladder; an assigned lead becomes contacted.
    This is the one definition of what a follow-up does to a lead.
    """
    require_aware(at, "at")
    with transaction.atomic():
        leads.filter(first_contact_at__isnull=True).update(first_contact_at=at)
        leads.update(
            last_followup_at=Greatest(Coalesce("last_followup_at", Value(at)), Value(at)),
            ladder_step=0,
            ladder_since=None,
            high_risk=False,
            expiry_notified_at=None,
        )
        leads.filter(status=LeadStatus.ASSIGNED).update(status=LeadStatus.CONTACTED)


def _history(
    record: Lead | Customer,
    kind: str,
    *,
    owner: User | None,
    previous: int | None,
    at: dt.datetime,
    by: User | None,
    note: str = "",
) -> None:
    Assignment.objects.create(
        lead=record if isinstance(record, Lead) else None,
        customer=record if isinstance(record, Customer) else None,
        kind=kind,
        owner=owner,
        previous_owner_id=previous,
        at=at,
        by=by,
        note=note,
    )


# --------------------------------------------------------------------------- countdown


def _tier_days(field: str, policies: dict[str, TierPolicy]) -> Case:
    return Case(
        *(
            When(tier=tier, then=Value(dt.timedelta(days=getattr(policy, field))))
            for tier, policy in policies.items()
        ),
        default=Value(dt.timedelta(days=30)),
        output_field=models.DurationField(),
    )


def lead_countdown_anchor() -> Greatest:
    """When a lead's countdown started: its assignment or its latest follow-up."""
    return Greatest("assigned_at", Coalesce("last_followup_at", "assigned_at"))


def with_countdown(queryset: QuerySet[Lead], *, at: dt.datetime) -> QuerySet[Lead]:
    """Annotate owned leads with ``expires_at`` and ``red`` (under 3 days left).

    A lead returns to its pool when its tier's ``ownership_days`` pass without a follow-up.
    """
    policies = tier_policies()
    return queryset.filter(
        owner__isnull=False, status__in=OPEN_LEAD_STATUSES, response_due_at__isnull=False
    ).annotate(
        expires_at=lead_countdown_anchor() + _tier_days("ownership_days", policies),
        red=Case(
            When(
                Q(
                    expires_at__lt=at + dt.timedelta(days=3),
                ),
                then=Value(True),
            ),
            default=Value(False),
            output_field=models.BooleanField(),
        ),
    )


def customer_last_followup() -> Any:
    """Subquery: the newest real follow-up with the customer (any owner)."""
    from django.db.models import OuterRef, Subquery

    from salesradar.activities.models import Activity

    return Subquery(
        Activity.objects.filter(customer=OuterRef("pk"), kind__in=REAL_FOLLOWUP_KINDS)
        .order_by("-occurred_at")
        .values("occurred_at")[:1]
    )


def customers_with_countdown(
    queryset: QuerySet[Customer], *, at: dt.datetime
) -> QuerySet[Customer]:
    """Annotate customers claimed or assigned through the pool with ``expires_at``."""
    policies = tier_policies()
    return (
        queryset.filter(owner__isnull=False, owned_since__isnull=False)
        .annotate(last_followup=customer_last_followup())
        .annotate(
            expires_at=Greatest("owned_since", Coalesce("last_followup", "owned_since"))
            + _tier_days("ownership_days", policies)
        )
    )


@dataclass
class DueCustomer:
    customer: Customer
    last_activity_at: dt.datetime | None
    cadence_days: int
    days_overdue: int


def due_for_followup(user: User, at: dt.datetime, *, limit: int = 30) -> list[DueCustomer]:
    """Customers of ``user`` whose tier's cadence has passed since their last follow-up.

    The cadence (days, and which kinds of follow-up count) is the tier policy's, so the rep
    workspace, the cadence metric and the ladder agree; a customer never followed up counts
    from its creation. One grouped query per tier returning at most ``limit`` rows, so a rep
    with thousands of customers costs no more Python than one with thirty; longest overdue
    first.
    """
    from django.db.models import F, Max

    day = dt.timedelta(days=1)
    found: list[DueCustomer] = []
    for tier, policy in tier_policies().items():
        kinds = policy.cadence_kinds or list(REAL_FOLLOWUP_KINDS)
        touched = Max(
            "activities__occurred_at",
            filter=Q(activities__kind__in=kinds, activities__occurred_at__lte=at),
        )
        rows = (
            Customer.objects.filter(owner=user, tier=tier, created_at__lte=at)
            .exclude(lifecycle="churned")
            .annotate(last_activity=touched, last_touch=Coalesce(touched, F("created_at")))
            .filter(last_touch__lt=at - policy.cadence_days * day)
            .order_by("last_touch", "name")[:limit]
        )
        for customer in rows:
            overdue = int((at - customer.last_touch) / day) - policy.cadence_days
            found.append(
                DueCustomer(customer, customer.last_activity, policy.cadence_days, overdue)
            )
    found.sort(key=lambda item: (-item.days_overdue, item.customer.name))
    return found[:limit]


def leads_for(user: User) -> QuerySet[Lead]:
    """The leads a person works with: ops, directors and admins the whole pool and every lead;
    a rep or manager what ``visible`` gives them plus the ownerless leads they may claim."""
    from salesradar.accounts.visibility import sees_everything, visible

    if sees_everything(user):
        return Lead.objects.all()
    claimable = Lead.objects.filter(owner__isnull=True, status__in=CLAIMABLE_LEAD_STATUSES)
    return visible(user, Lead) | claimable


__all__ = [
    "CLAIMABLE_LEAD_STATUSES",
    "OPEN_LEAD_STATUSES",
    "DueCustomer",
    "PoolRefusal",
    "assign",
    "claim",
    "default_pool",
    "due_for_followup",
    "leads_for",
    "record_lead_contact",
    "release",
    "tier_policies",
    "touch_leads",
    "with_countdown",
]
