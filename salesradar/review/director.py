"""Director views: new-hire survival and ramp-up, and how deep reps work their top customers.

Both are set-based: one grouped query per fact over every rep, deterministic in ``at``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Min, Q, Sum
from django.utils import timezone

from salesradar.accounts.choices import Role
from salesradar.accounts.models import User
from salesradar.activities.choices import ActivityKind
from salesradar.activities.models import Activity
from salesradar.pipeline.models import Contract, Opportunity

DEPTH_DAYS = 90


@dataclass
class Cohort:
    months: int
    hired: int  # reps hired at least ``months`` ago
    still_active: int

    @property
    def survival(self) -> float | None:
        return round(self.still_active / self.hired, 3) if self.hired else None


def new_hire_survival(*, at: dt.datetime, reps: Any = None) -> dict[str, Any]:
    """Share of reps still active 6 and 12 months after joining, and days to their first win.

    ``is_active`` is today's state: a rep who left is counted as not surviving whenever they
    left, since the data keeps no leaving date.
    """
    today = timezone.localtime(at).date()
    people = (reps if reps is not None else User.objects.filter(role=Role.REP)).filter(
        hired_on__isnull=False, hired_on__lte=today
    )
    rows = list(people.values_list("pk", "hired_on", "is_active"))
    cohorts = []
    for months in (6, 12):
        cutoff = today - dt.timedelta(days=round(months * 30.44))
        eligible = [row for row in rows if row[1] <= cutoff]
        cohorts.append(Cohort(months, len(eligible), sum(1 for row in eligible if row[2])))
    first_win = dict(
        Opportunity.objects.filter(
            owner_id__in=[row[0] for row in rows], stage__is_won=True, closed_at__lt=at
        )
        .values("owner_id")
        .annotate(first=Min("closed_at"))
        .order_by()
        .values_list("owner_id", "first")
    )
    days = sorted(
        (timezone.localtime(first_win[pk]).date() - hired).days
        for pk, hired, _active in rows
        if pk in first_win and timezone.localtime(first_win[pk]).date() >= hired
    )
    median = None
    if days:
        middle = len(days) // 2
        median = days[middle] if len(days) % 2 else (days[middle - 1] + days[middle]) / 2
    return {
        "cohorts": cohorts,
        "reps": len(rows),
        "with_first_order": len(days),
        "median_days_to_first_order": median,
    }


def top_customer_depth(*, at: dt.datetime, reps: Any = None, top: int = 3) -> list[dict[str, Any]]:
    """Per rep: their top customers by contract revenue in the last year, and the follow-ups
    (visits, meetings, demos, calls) and decision-maker touches on each in the last 90 days."""
    people = list(
        (reps if reps is not None else User.objects.filter(role=Role.REP, is_active=True)).order_by(
            "username"
        )
    )
    owner_of = {person.pk: person for person in people}
    revenue = (
        Contract.objects.filter(
            customer__owner_id__in=list(owner_of),
            signed_at__gte=at - dt.timedelta(days=365),
            signed_at__lt=at,
        )
        .values("customer_id", "customer__name", "customer__owner_id")
        .annotate(amount=Sum("amount"))
        .order_by("customer__owner_id", "-amount", "customer_id")
    )
    chosen: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in revenue:
        mine = chosen[row["customer__owner_id"]]
        if len(mine) < top:
            mine.append(row)
    customer_ids = [row["customer_id"] for rows in chosen.values() for row in rows]
    touches = {
        row["customer_id"]: row
        for row in Activity.objects.filter(
            customer_id__in=customer_ids,
            occurred_at__gte=at - dt.timedelta(days=DEPTH_DAYS),
            occurred_at__lt=at,
        )
        .exclude(kind__in=[ActivityKind.NOTE, ActivityKind.EMAIL, ActivityKind.IM])
        .values("customer_id")
        .annotate(n=Count("pk"), dm=Count("pk", filter=Q(decision_maker_present=True)))
        .order_by()
    }
    result = []
    for person in people:
        customers = [
            {
                "customer": row["customer__name"],
                "revenue": float(row["amount"]),
                "followups": touches.get(row["customer_id"], {}).get("n", 0),
                "decision_maker_touches": touches.get(row["customer_id"], {}).get("dm", 0),
            }
            for row in chosen.get(person.pk, [])
        ]
        result.append(
            {
                "rep": str(person),
                "customers": customers,
                "followups": sum(item["followups"] for item in customers),
            }
        )
    return result
