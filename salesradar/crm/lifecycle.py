"""Customer lifecycle moved by events, with every step kept in ``LifecycleChange``.

prospect → new        the first contract is signed (event ``first_contract``)
new → active          a further contract is signed (``repeat_contract``)
new/active → at risk  the last contract ended ``RENEWAL_GRACE_DAYS`` ago without a renewal
                      (``renewal_missed``), or no contract for ``NO_ORDER_MONTHS`` (``no_order``)
at risk → active      a contract signed after the customer became at risk (``repeat_contract``)
at risk → churned     no contract for ``CHURN_MONTHS`` (``churned``)
churned → active      a contract signed after churning (``won_back``)

Each transition is one query for the customers it moves, one bulk insert of history and one
UPDATE per chunk. ``lifecycle_as_of(at)`` reads the stage of every customer on a past day
from the history, which is what lets lifecycle metrics be computed as of ``at``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Exists, Max, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from salesradar.core import env
from salesradar.core.fields import require_aware
from salesradar.crm.choices import Lifecycle, LifecycleEvent, Tier
from salesradar.crm.models import Customer, LifecycleChange
from salesradar.crm.pool import tier_policies

CHUNK = 5000


def _setting(name: str, default: int) -> int:
    return int(env.get(name, str(default)))


def _contracts() -> Any:
    from salesradar.pipeline.models import Contract

    return Contract.objects


def _move(
    queryset: Any, to_stage: str, event: str, at: dt.datetime, when_field: str | None = None
) -> int:
    fields = ["pk", "lifecycle"] + ([when_field] if when_field else [])
    rows = list(queryset.values_list(*fields))
    if not rows:
        return 0
    history = []
    for row in rows:
        moment = row[2] if when_field and row[2] is not None else at
        history.append(
            LifecycleChange(
                customer_id=row[0],
                from_stage=row[1],
                to_stage=to_stage,
                event=event,
                at=min(moment, at),
            )
        )
    LifecycleChange.objects.bulk_create(history, batch_size=2000)
    ids = [row[0] for row in rows]
    for start in range(0, len(ids), CHUNK):
        Customer.objects.filter(pk__in=ids[start : start + CHUNK]).update(
            lifecycle=to_stage, updated_at=at
        )
    return len(rows)


def change_lifecycle(customer: Customer, to_stage: str, *, at: dt.datetime) -> None:
    """Move one customer by hand, keeping the history."""
    require_aware(at, "at")
    if to_stage not in Lifecycle.values:
        raise ValueError(f"unknown lifecycle stage {to_stage!r}")
    with transaction.atomic():
        _move(Customer.objects.filter(pk=customer.pk), to_stage, LifecycleEvent.MANUAL, at)
    customer.refresh_from_db()


def advance_lifecycle(*, at: dt.datetime) -> dict[str, int]:
    """Apply every lifecycle event that has happened by ``at``; return counts per event."""
    require_aware(at, "at")
    grace = dt.timedelta(days=_setting("RENEWAL_GRACE_DAYS", 30))
    no_order = dt.timedelta(days=30 * _setting("NO_ORDER_MONTHS", 12))
    churn = dt.timedelta(days=30 * _setting("CHURN_MONTHS", 18))
    today = timezone.localtime(at).date()
    contracts = _contracts().filter(customer=OuterRef("pk"), signed_at__lte=at)
    last_signed = Subquery(contracts.order_by("-signed_at").values("signed_at")[:1])
    first_signed = Subquery(contracts.order_by("signed_at").values("signed_at")[:1])
    last_change = Subquery(
        LifecycleChange.objects.filter(customer=OuterRef("pk"), at__lte=at)
        .order_by("-at", "-pk")
        .values("at")[:1]
    )
    counts: dict[str, int] = {}
    with transaction.atomic():
        counts["first_contract"] = _move(
            Customer.objects.filter(lifecycle=Lifecycle.PROSPECT)
            .filter(Exists(contracts))
            .annotate(when=first_signed),
            Lifecycle.NEW,
            LifecycleEvent.FIRST_CONTRACT,
            at,
            "when",
        )
        signed_since_change = Exists(
            _contracts().filter(
                customer=OuterRef("pk"), signed_at__lte=at, signed_at__gt=OuterRef("changed")
            )
        )
        counts["won_back"] = _move(
            Customer.objects.filter(lifecycle=Lifecycle.CHURNED)
            .annotate(changed=Coalesce(last_change, "created_at"), when=last_signed)
            .filter(signed_since_change),
            Lifecycle.ACTIVE,
            LifecycleEvent.WON_BACK,
            at,
            "when",
        )
        counts["repeat_contract"] = _move(
            Customer.objects.filter(lifecycle__in=(Lifecycle.NEW, Lifecycle.AT_RISK))
            .annotate(changed=Coalesce(last_change, "created_at"), when=last_signed)
            .filter(signed_since_change),
            Lifecycle.ACTIVE,
            LifecycleEvent.REPEAT_CONTRACT,
            at,
            "when",
        )
        running = Exists(
            _contracts().filter(
                customer=OuterRef("pk"),
                signed_at__lte=at,
                ends_on__gte=today - grace,
            )
        )
        counts["renewal_missed"] = _move(
            Customer.objects.filter(lifecycle__in=(Lifecycle.NEW, Lifecycle.ACTIVE))
            .filter(Exists(contracts))
            .exclude(running),
            Lifecycle.AT_RISK,
            LifecycleEvent.RENEWAL_MISSED,
            at,
        )
        counts["no_order"] = _move(
            Customer.objects.filter(lifecycle__in=(Lifecycle.NEW, Lifecycle.ACTIVE))
            .annotate(last=last_signed)
            .filter(last__lt=at - no_order),
            Lifecycle.AT_RISK,
            LifecycleEvent.NO_ORDER,
            at,
        )
        counts["churned"] = _move(
            Customer.objects.filter(lifecycle=Lifecycle.AT_RISK)
            .annotate(last=last_signed)
            .filter(last__lt=at - churn)
            .exclude(running),
            Lifecycle.CHURNED,
            LifecycleEvent.CHURNED,
            at,
        )
    return counts


def lifecycle_as_of(at: dt.datetime) -> Coalesce:
    """An annotation: the customer's lifecycle stage as of ``at`` read from the history.

    A customer with no history before ``at`` was a prospect then.
    """
    return Coalesce(
        Subquery(
            LifecycleChange.objects.filter(customer=OuterRef("pk"), at__lte=at)
            .order_by("-at", "-pk")
            .values("to_stage")[:1]
        ),
        Value(Lifecycle.PROSPECT),
    )


def apply_tier_rules(*, at: dt.datetime) -> int:
    """Set tiers from contract amounts signed in the year before ``at`` (tiers set by hand stay).

    Tier policies with ``min_contract_amount`` define the rule: a customer gets the best tier
    whose amount it reaches, otherwise the lowest tier. Without any amount configured, tiers
    are manual only and nothing changes.
    """
    require_aware(at, "at")
    thresholds = sorted(
        (
            (policy.min_contract_amount, tier)
            for tier, policy in tier_policies().items()
            if policy.min_contract_amount is not None
        ),
        reverse=True,
    )
    if not thresholds:
        return 0
    amount = Coalesce(
        Subquery(
            _contracts()
            .filter(
                customer=OuterRef("pk"),
                signed_at__lte=at,
                signed_at__gt=at - dt.timedelta(days=365),
            )
            .values("customer")
            .annotate(total=Sum("amount"))
            .values("total")[:1]
        ),
        Value(Decimal("0")),
    )
    annotated = Customer.objects.filter(tier_is_manual=False).annotate(year_amount=amount)
    changed = 0
    assigned = Q(pk__in=[])
    with transaction.atomic():
        for minimum, tier in thresholds:
            ids = list(
                annotated.filter(year_amount__gte=minimum)
                .exclude(assigned)
                .exclude(tier=tier)
                .values_list("pk", flat=True)
            )
            for start in range(0, len(ids), CHUNK):
                changed += Customer.objects.filter(pk__in=ids[start : start + CHUNK]).update(
                    tier=tier, updated_at=at
                )
            assigned |= Q(year_amount__gte=minimum)
        lowest = Tier.C
        ids = list(annotated.exclude(assigned).exclude(tier=lowest).values_list("pk", flat=True))
        for start in range(0, len(ids), CHUNK):
            changed += Customer.objects.filter(pk__in=ids[start : start + CHUNK]).update(
                tier=lowest, updated_at=at
            )
    return changed


__all__ = ["Max", "advance_lifecycle", "apply_tier_rules", "change_lifecycle", "lifecycle_as_of"]
