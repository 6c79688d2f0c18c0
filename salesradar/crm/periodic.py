"""The lead pool's periodic work, set-based over all rows at once.

Each function selects the rows it acts on with one query, changes them with one UPDATE per
chunk of ids (conditional on the state it selected, so a rep's follow-up logged meanwhile
wins), writes the history rows and notices in bulk, all in one transaction. ``run_all(at)`` is
what the scheduler, Celery beat and ``salesradar leads run`` call.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from salesradar.core import outbox
from salesradar.core.fields import require_aware
from salesradar.crm.choices import AssignmentKind, LadderAction, LeadStatus
from salesradar.crm.models import Assignment, Customer, Lead, LeadPool, TierPolicy
from salesradar.crm.notices import Notice, managers_of, send_notices
from salesradar.crm.pool import (
    OPEN_LEAD_STATUSES,
    customer_last_followup,
    default_pool,
    lead_countdown_anchor,
    tier_policies,
)
from salesradar.crm.routing import Router, route_leads

logger = logging.getLogger(__name__)
CHUNK = 5000


def _chunks(ids: Sequence[int]) -> list[Sequence[int]]:
    return [ids[start : start + CHUNK] for start in range(0, len(ids), CHUNK)]


# --------------------------------------------------------------------------- recall


def recall_overdue_leads(*, at: dt.datetime) -> int:
    """Take back every assigned lead whose first response deadline passed, and re-route it.

    The lead returns to its pool (status recycled, the lapsed rep as previous owner), the rep
    and their manager are told, and routing runs again without the rep who let it lapse.
    """
    require_aware(at, "at")
    with transaction.atomic():
        rows = list(
            Lead.objects.filter(
                status=LeadStatus.ASSIGNED,
                owner__isnull=False,
                first_contact_at__isnull=True,
                response_due_at__lte=at,
            ).values_list("pk", "owner_id", "code", "company_name")
        )
        if not rows:
            return 0
        for chunk in _chunks([pk for pk, *_rest in rows]):
            Lead.objects.filter(
                pk__in=chunk, status=LeadStatus.ASSIGNED, first_contact_at__isnull=True
            ).update(
                previous_owner=F("owner"),
                owner=None,
                status=LeadStatus.RECYCLED,
                released_at=at,
                recycle_count=F("recycle_count") + 1,
                response_due_at=None,
                routing_rule=None,
            )
        Assignment.objects.bulk_create(
            [
                Assignment(lead_id=pk, kind=AssignmentKind.RECALLED, previous_owner_id=owner, at=at)
                for pk, owner, _code, _name in rows
            ],
            batch_size=2000,
        )
        outbox.announce(outbox.LEAD_RECALLED, [pk for pk, *_rest in rows], at=at)
        managers = managers_of(owner for _pk, owner, _c, _n in rows)
        notices = []
        for _pk, owner, code, name in rows:
            subject = format_lazy(_("Lead recalled: {code} {name}"), code=code, name=name)
            notices.append(
                Notice(
                    owner,
                    subject,
                    _("You did not contact this lead in time; it went back to the pool."),
                )
            )
            if owner in managers:
                notices.append(
                    Notice(
                        managers[owner],
                        subject,
                        _("A lead of your team was not contacted in time and was recalled."),
                    )
                )
        send_notices(notices, at=at)
    route_leads(
        [pk for pk, *_rest in rows], at=at, exclude={pk: owner for pk, owner, _c, _n in rows}
    )
    return len(rows)


# --------------------------------------------------------------------------- countdown


def _notice_days() -> dict[int | None, int]:
    days: dict[int | None, int] = dict(LeadPool.objects.values_list("pk", "expiry_notice_days"))
    days[None] = default_pool().expiry_notice_days
    return days


def expire_ownership(*, at: dt.datetime) -> dict[str, int]:
    """Return leads and pool customers whose countdown ran out to their pool; warn those close.

    A lead's countdown runs from its assignment or last follow-up; a pool customer's from its
    claim or last real activity; the length is the tier's ``ownership_days``. The owner is
    told ``expiry_notice_days`` (per pool) before the end, once per countdown.
    """
    require_aware(at, "at")
    policies = tier_policies()
    notice_days = _notice_days()
    counts = {"leads_expired": 0, "customers_expired": 0, "notices": 0}
    with transaction.atomic():
        notices: list[Notice] = []
        for tier, policy in policies.items():
            length = dt.timedelta(days=policy.ownership_days)
            leads = Lead.objects.filter(
                tier=tier,
                owner__isnull=False,
                status__in=OPEN_LEAD_STATUSES,
                response_due_at__isnull=False,  # handed out by the pool (see pool.POOL_MANAGED)
            ).annotate(anchor=lead_countdown_anchor())
            expired = list(leads.filter(anchor__lte=at - length).values_list("pk", "owner_id"))
            counts["leads_expired"] += _return_leads(expired, at, AssignmentKind.EXPIRED)
            customers = Customer.objects.filter(
                tier=tier, owner__isnull=False, owned_since__isnull=False
            ).annotate(
                anchor=Greatest("owned_since", Coalesce(customer_last_followup(), "owned_since"))
            )
            gone = list(customers.filter(anchor__lte=at - length).values_list("pk", "owner_id"))
            counts["customers_expired"] += _return_customers(gone, at, AssignmentKind.EXPIRED)
            for model, queryset in (("lead", leads), ("customer", customers)):
                soon = queryset.filter(anchor__gt=at - length).filter(
                    Q(expiry_notified_at__isnull=True) | Q(expiry_notified_at__lt=F("anchor"))
                )
                pending = [
                    (pk, owner, pool, anchor)
                    for pk, owner, pool, anchor in soon.values_list(
                        "pk", "owner_id", "pool_id", "anchor"
                    )
                    if anchor + length - dt.timedelta(days=notice_days.get(pool, notice_days[None]))
                    <= at
                ]
                if not pending:
                    continue
                target = Lead if model == "lead" else Customer
                for chunk in _chunks([pk for pk, *_rest in pending]):
                    target.objects.filter(pk__in=chunk).update(expiry_notified_at=at)
                for _pk, owner, _pool, anchor in pending:
                    days_left = max(0, ((anchor + length) - at).days)
                    notices.append(
                        Notice(
                            owner,
                            format_lazy(
                                _("{count} days left before a record returns to the pool"),
                                count=days_left,
                            ),
                            _("Log a real follow-up to restart its countdown."),
                        )
                    )
        counts["notices"] = send_notices(notices, at=at)
    return counts


def _return_leads(rows: list[tuple[int, int]], at: dt.datetime, kind: str) -> int:
    if not rows:
        return 0
    for chunk in _chunks([pk for pk, _owner in rows]):
        Lead.objects.filter(pk__in=chunk, owner__isnull=False).update(
            previous_owner=F("owner"),
            owner=None,
            status=LeadStatus.RECYCLED,
            released_at=at,
            recycle_count=F("recycle_count") + 1,
            ladder_step=0,
            ladder_since=None,
            expiry_notified_at=None,
        )
    Assignment.objects.bulk_create(
        [Assignment(lead_id=pk, kind=kind, previous_owner_id=owner, at=at) for pk, owner in rows],
        batch_size=2000,
    )
    outbox.announce(outbox.LEAD_RECALLED, [pk for pk, _owner in rows], at=at)
    return len(rows)


def _return_customers(rows: list[tuple[int, int]], at: dt.datetime, kind: str) -> int:
    if not rows:
        return 0
    for chunk in _chunks([pk for pk, _owner in rows]):
        Customer.objects.filter(pk__in=chunk, owner__isnull=False).update(
            previous_owner=F("owner"),
            owner=None,
            owned_since=None,
            released_at=at,
            updated_at=at,
            ladder_step=0,
            ladder_since=None,
            expiry_notified_at=None,
        )
    Assignment.objects.bulk_create(
        [
            Assignment(customer_id=pk, kind=kind, previous_owner_id=owner, at=at)
            for pk, owner in rows
        ],
        batch_size=2000,
    )
    return len(rows)


# --------------------------------------------------------------------------- escalation ladder


@dataclass
class LadderResult:
    reset: int = 0
    reminded: int = 0
    manager_copied: int = 0
    high_risk: int = 0
    recalled: int = 0
    reassigned: int = 0
    by_step: dict[str, int] = field(default_factory=dict)


def run_ladder(*, at: dt.datetime) -> LadderResult:
    """Climb the escalation ladder for every stale lead and pool customer.

    A record is stale once its tier's cadence has passed since its last follow-up; the ladder
    days count from then: ``remind_owner_day`` tells the owner, ``copy_manager_day`` tells the
    owner and their manager, ``high_risk_day`` marks it high risk and recalls it to the pool
    or reassigns it through the routing rules (``ladder_action``). A follow-up logged after
    the ladder started resets it.
    """
    require_aware(at, "at")
    result = LadderResult()
    policies = tier_policies()
    with transaction.atomic():
        result.reset += _reset_ladder(at)
        notices: list[Notice] = []
        recalled_leads: list[tuple[int, int]] = []
        reassign_leads: list[tuple[int, int]] = []
        recalled_customers: list[tuple[int, int]] = []
        for tier, policy in policies.items():
            stale_from = dt.timedelta(days=policy.cadence_days)
            for model in (Lead, Customer):
                queryset = _ladder_population(model, tier)
                for step, day in (
                    (1, policy.remind_owner_day),
                    (2, policy.copy_manager_day),
                    (3, policy.high_risk_day),
                ):
                    cutoff = at - stale_from - dt.timedelta(days=day)
                    rows = list(
                        queryset.filter(anchor__lte=cutoff, ladder_step__lt=step).values_list(
                            "pk", "owner_id"
                        )
                    )
                    if not rows:
                        continue
                    ids = [pk for pk, _owner in rows]
                    changes: dict[str, object] = {"ladder_step": step}
                    for chunk in _chunks(ids):
                        model.objects.filter(pk__in=chunk, ladder_since__isnull=True).update(
                            ladder_since=at
                        )
                        if step == 3:
                            changes["high_risk"] = True
                        model.objects.filter(pk__in=chunk).update(**changes)
                    notices.extend(_ladder_notices(model, rows, step))
                    if step == 1:
                        result.reminded += len(rows)
                    elif step == 2:
                        result.manager_copied += len(rows)
                    else:
                        result.high_risk += len(rows)
                        if model is Lead and policy.ladder_action == LadderAction.REASSIGN:
                            reassign_leads.extend(rows)
                        elif model is Lead:
                            recalled_leads.extend(rows)
                        else:
                            recalled_customers.extend(rows)
                    # a record far past every step climbs them one evaluation at a time
                    queryset = queryset.exclude(pk__in=ids)
        result.recalled += _return_leads(
            recalled_leads + reassign_leads, at, AssignmentKind.ESCALATED
        )
        result.recalled += _return_customers(recalled_customers, at, AssignmentKind.ESCALATED)
        send_notices(notices, at=at)
    if reassign_leads:
        routed = route_leads(
            [pk for pk, _owner in reassign_leads],
            at=at,
            exclude=dict(reassign_leads),
            router=Router.load_at(at),
        )
        result.reassigned = routed.assigned
        result.recalled -= routed.assigned
    return result


def _ladder_population(model: type[Lead] | type[Customer], tier: str) -> Any:
    if model is Lead:
        return Lead.objects.filter(
            tier=tier,
            owner__isnull=False,
            status__in=(LeadStatus.CONTACTED, LeadStatus.QUALIFIED),
            response_due_at__isnull=False,
        ).annotate(anchor=lead_countdown_anchor())
    return Customer.objects.filter(
        tier=tier, owner__isnull=False, owned_since__isnull=False
    ).annotate(anchor=Greatest("owned_since", Coalesce(customer_last_followup(), "owned_since")))


def _reset_ladder(at: dt.datetime) -> int:
    reset = {"ladder_step": 0, "ladder_since": None, "high_risk": False}
    count = Lead.objects.filter(ladder_step__gt=0, last_followup_at__gt=F("ladder_since")).update(
        **reset
    )
    ids = list(
        Customer.objects.filter(ladder_step__gt=0)
        .annotate(last=customer_last_followup())
        .filter(last__gt=F("ladder_since"))
        .values_list("pk", flat=True)
    )
    for chunk in _chunks(ids):
        count += Customer.objects.filter(pk__in=chunk).update(**reset)
    return count


LADDER_SUBJECTS: dict[tuple[type, int], Any] = {
    (Lead, 1): _("A lead of yours is overdue for a follow-up"),
    (Lead, 2): _("A lead is still not followed up; the manager is copied"),
    (Lead, 3): _("A lead went without follow-up too long: high risk, taken away"),
    (Customer, 1): _("A customer of yours is overdue for a follow-up"),
    (Customer, 2): _("A customer is still not followed up; the manager is copied"),
    (Customer, 3): _("A customer went without follow-up too long: high risk, taken away"),
}


def _ladder_notices(model: type, rows: list[tuple[int, int]], step: int) -> list[Notice]:
    subject = LADDER_SUBJECTS[(model, step)]
    text = _("Log a real follow-up to stop the escalation.")
    notices = [Notice(owner, subject, text) for _pk, owner in rows]
    if step >= 2:
        managers = managers_of(owner for _pk, owner in rows)
        notices.extend(
            Notice(managers[owner], subject, text) for _pk, owner in rows if owner in managers
        )
    return notices


# --------------------------------------------------------------------------- everything


def run_all(*, at: dt.datetime | None = None) -> dict[str, object]:
    """Run every periodic job of the lead pool once, in a fixed order."""
    from salesradar.crm.lifecycle import advance_lifecycle, apply_tier_rules
    from salesradar.crm.nurture import advance_nurture

    at = at or timezone.now()
    report: dict[str, object] = {}
    report["recalled"] = recall_overdue_leads(at=at)
    report["countdown"] = expire_ownership(at=at)
    report["ladder"] = run_ladder(at=at).__dict__
    report["tiers"] = apply_tier_rules(at=at)
    report["lifecycle"] = advance_lifecycle(at=at)
    report["nurture"] = advance_nurture(at=at)
    report["routed"] = route_leads(at=at).assigned
    return report


__all__ = ["TierPolicy", "expire_ownership", "recall_overdue_leads", "run_all", "run_ladder"]
