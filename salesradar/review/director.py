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


def proposal_funnel(*, at: dt.datetime, reps: Any = None, days: int = 90) -> list[dict[str, Any]]:
    """Quotes requested in the window → sent → accepted → their deal won, with step rates."""
    from salesradar.pipeline.choices import QuoteStatus
    from salesradar.pipeline.models import Quote

    quotes = Quote.objects.filter(
        requested_at__gte=at - dt.timedelta(days=days), requested_at__lt=at
    )
    if reps is not None:
        quotes = quotes.filter(opportunity__owner__in=reps)
    counts = quotes.aggregate(
        requested=Count("pk"),
        sent=Count("pk", filter=Q(sent_at__isnull=False, sent_at__lt=at)),
        accepted=Count("pk", filter=Q(status=QuoteStatus.ACCEPTED)),
        won=Count(
            "opportunity",
            filter=Q(opportunity__stage__is_won=True, opportunity__closed_at__lt=at),
            distinct=True,
        ),
    )
    steps = []
    previous = None
    for key in ("requested", "sent", "accepted", "won"):
        value = counts[key]
        rate = round(value / previous, 3) if previous else None
        steps.append({"step": key, "count": value, "rate_from_previous": rate})
        previous = value
    return steps


def capability_heat_map(*, at: dt.datetime, reps: Any = None, days: int = 180) -> dict[str, Any]:
    """Rep × stage: share of exits that moved forward and mean days in the stage, each as the
    difference from the median rep of the same stage (positive conversion, negative dwell good).
    """
    import statistics

    from django.db.models import OuterRef, Subquery

    from salesradar.pipeline.models import Stage, StageChange

    previous = StageChange.objects.filter(
        opportunity_id=OuterRef("opportunity_id"), changed_at__lt=OuterRef("changed_at")
    ).order_by("-changed_at", "-id")
    exits = StageChange.objects.filter(
        changed_at__gte=at - dt.timedelta(days=days),
        changed_at__lt=at,
        from_stage__isnull=False,
        from_stage__is_won=False,
        from_stage__is_lost=False,
    ).annotate(entered=Subquery(previous.values("changed_at")[:1]))
    if reps is not None:
        exits = exits.filter(opportunity__owner__in=reps)
    cells: dict[tuple[int, int], list[list[float]]] = defaultdict(lambda: [[], []])
    names: dict[int, str] = {}
    for owner_id, stage_id, from_order, to_order, lost, left, entered in exits.values_list(
        "opportunity__owner_id",
        "from_stage_id",
        "from_stage__order",
        "to_stage__order",
        "to_stage__is_lost",
        "changed_at",
        "entered",
    ):
        cell = cells[(owner_id, stage_id)]
        cell[0].append(1.0 if to_order > from_order and not lost else 0.0)
        if entered is not None:
            cell[1].append((left - entered).total_seconds() / 86400)
    names = {
        person.pk: str(person)
        for person in User.objects.filter(pk__in={owner for owner, _stage in cells})
    }
    stages = list(Stage.objects.filter(pk__in={stage for _owner, stage in cells}).order_by("order"))
    values = {
        key: (statistics.fmean(moves), statistics.fmean(spans) if spans else None)
        for key, (moves, spans) in cells.items()
    }
    medians = {}
    for stage in stages:
        conversions = [v[0] for (_o, s), v in values.items() if s == stage.pk]
        dwells = [v[1] for (_o, s), v in values.items() if s == stage.pk and v[1] is not None]
        medians[stage.pk] = (
            statistics.median(conversions),
            statistics.median(dwells) if dwells else None,
        )
    rows = []
    for owner_id in sorted(names, key=lambda pk: names[pk]):
        row = []
        for stage in stages:
            value = values.get((owner_id, stage.pk))
            if value is None:
                row.append(None)
                continue
            median_conversion, median_dwell = medians[stage.pk]
            row.append(
                {
                    "conversion": round(value[0], 3),
                    "conversion_vs_median": round(value[0] - median_conversion, 3),
                    "dwell_days": None if value[1] is None else round(value[1], 1),
                    "dwell_vs_median": None
                    if value[1] is None or median_dwell is None
                    else round(value[1] - median_dwell, 1),
                }
            )
        rows.append({"rep": names[owner_id], "cells": row})
    return {"stages": [str(stage) for stage in stages], "rows": rows}
