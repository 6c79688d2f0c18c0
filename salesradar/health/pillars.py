"""The four health pillars of every customer as of a moment, computed set-based.

Each pillar is 0–100, higher is healthier (the risk pillar is 100 when no risk signal shows).
``compute_pillars(at)`` runs one grouped query per kind of fact over all customers in scope,
never a query per customer, and is deterministic in ``at``: only facts before ``at`` count
(contracts signed, activities occurred, invoices due and payments made before it).

The scales below are the documented defaults (docs/health.md); the weights that combine the
pillars into one score are calibrated on the organisation's renewals (``calibration.py``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Count, F, Max, Min, Q, Sum
from django.utils import timezone

from salesradar.activities.choices import ActivityKind, Outcome
from salesradar.activities.models import Activity
from salesradar.crm.models import Customer
from salesradar.health.choices import Pillar
from salesradar.pipeline.models import Contract, Invoice, Opportunity, Quote

PILLARS: tuple[str, ...] = tuple(Pillar.values)

REVENUE_FULL = Decimal("500000")  # contract revenue in the last 12 months that scores 100
PIPELINE_FULL = Decimal("500000")  # open pipeline that scores 100
SIZE_SCORES = {"micro": 10, "small": 30, "medium": 55, "large": 80, "enterprise": 100, "": 30}
YEARS_FULL = 5  # years as a customer that score 100 (20 points a year)
LINES_FULL = 3  # product lines bought that score 100
RENEWALS_FULL = 2  # renewals that score 100
RELATIONSHIP_DAYS = 180
MEETING_KINDS = (ActivityKind.MEETING, ActivityKind.VISIT, ActivityKind.DEMO)
OUTREACH_KINDS = (ActivityKind.CALL, ActivityKind.EMAIL, ActivityKind.IM)
DECISION_MAKER_TOUCHES_FULL = 2  # touches with the decision maker in 180 days that score 100
CUSTOMER_REQUESTS_FULL = 2  # quotes the customer asked for in 180 days that score 100
LATE_PAYMENT_PENALTY = 40  # times the share of last year's invoices paid late or still unpaid
SURGE_PENALTY = 20  # negative outcomes in 30 days at least 2 and twice the earlier monthly rate
CANCELLED_PENALTY_EACH, CANCELLED_PENALTY_MAX = 10, 20  # meetings without a show in 90 days
SILENCE_PENALTY = ((90, 20), (30, 10))  # days without any contact → penalty


@dataclass
class PillarScores:
    customer_id: int
    potential: int = 0
    depth: int = 0
    relationship: int = 0
    risk: int = 100
    facts: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in PILLARS}

    def weakest(self) -> str:
        return min(PILLARS, key=lambda name: (getattr(self, name), PILLARS.index(name)))


def _share(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


def _capped(value: float, full: float) -> float:
    return min(100.0, 100.0 * value / full) if full else 0.0


def scored_customers(at: dt.datetime) -> Any:
    """Customers health applies to: those with a contract signed before ``at``."""
    return Customer.objects.filter(contracts__signed_at__lt=at).distinct()


def compute_pillars(
    at: dt.datetime, customer_ids: Iterable[int] | None = None
) -> dict[int, PillarScores]:
    """Return the pillars of every customer in scope as of ``at``, keyed by customer id."""
    scope = scored_customers(at)
    if customer_ids is not None:
        scope = scope.filter(pk__in=list(customer_ids))
    ids = scope.values("pk")
    with timezone.override(settings.TIME_ZONE):
        return _compute(at, ids, dict(scope.values_list("pk", "size")))


def _grouped(queryset: Any, key: str, **aggregates: Any) -> dict[int, dict[str, Any]]:
    return {row[key]: row for row in queryset.values(key).annotate(**aggregates).order_by()}


def _compute(at: dt.datetime, ids: Any, sizes: dict[int, str]) -> dict[int, PillarScores]:
    year_ago = at - dt.timedelta(days=365)
    since = at - dt.timedelta(days=RELATIONSHIP_DAYS)
    contracts = _grouped(
        Contract.objects.filter(customer_id__in=ids, signed_at__lt=at),
        "customer_id",
        revenue=Sum("amount", filter=Q(signed_at__gte=year_ago)),
        first_start=Min("starts_on"),
        renewals=Count("pk", filter=Q(renewal_of__isnull=False)),
    )
    open_at = Q(created_at__lt=at) & (Q(closed_at__isnull=True) | Q(closed_at__gte=at))
    pipeline = _grouped(
        Opportunity.objects.filter(open_at, customer_id__in=ids),
        "customer_id",
        amount=Sum("amount"),
    )
    lines = _grouped(
        Opportunity.objects.filter(
            customer_id__in=ids, closed_at__lt=at, stage__is_won=True
        ).exclude(product_line=""),
        "customer_id",
        lines=Count("product_line", distinct=True),
    )
    meeting = Q(kind__in=MEETING_KINDS)
    outreach = Q(kind__in=OUTREACH_KINDS)
    no_show = Q(outcome=Outcome.NO_RESPONSE)
    recent = Q(occurred_at__gte=since)
    activity = _grouped(
        Activity.objects.filter(customer_id__in=ids, occurred_at__lt=at),
        "customer_id",
        last=Max("occurred_at"),
        meetings=Count("pk", filter=recent & meeting),
        held=Count("pk", filter=recent & meeting & ~no_show),
        decision_maker=Count("pk", filter=recent & Q(decision_maker_present=True)),
        outreach=Count("pk", filter=recent & outreach),
        replied=Count("pk", filter=recent & outreach & ~no_show),
        negative_30=Count(
            "pk",
            filter=Q(occurred_at__gte=at - dt.timedelta(days=30), outcome=Outcome.NEGATIVE),
        ),
        negative_before=Count(
            "pk",
            filter=Q(
                occurred_at__gte=at - dt.timedelta(days=120),
                occurred_at__lt=at - dt.timedelta(days=30),
                outcome=Outcome.NEGATIVE,
            ),
        ),
        cancelled_90=Count(
            "pk", filter=Q(occurred_at__gte=at - dt.timedelta(days=90)) & meeting & no_show
        ),
    )
    requests = _grouped(
        Quote.objects.filter(
            opportunity__customer_id__in=ids, requested_at__gte=since, requested_at__lt=at
        ),
        "opportunity__customer_id",
        requests=Count("pk"),
    )
    today = timezone.localtime(at).date()
    unpaid_then = Q(paid_at__isnull=True) | Q(paid_at__gte=at)
    invoices = _grouped(
        Invoice.objects.filter(
            customer_id__in=ids, due_on__lt=today, due_on__gte=today - dt.timedelta(days=365)
        ),
        "customer_id",
        invoices=Count("pk"),
        late=Count(
            "pk",
            filter=unpaid_then | Q(paid_at__date__gt=F("due_on")) | Q(paid_amount__lt=F("amount")),
        ),
    )
    result: dict[int, PillarScores] = {}
    for customer_id, size in sizes.items():
        scores = PillarScores(customer_id)
        c = contracts.get(customer_id, {})
        revenue = c.get("revenue") or Decimal("0")
        open_amount = pipeline.get(customer_id, {}).get("amount") or Decimal("0")
        scores.potential = round(
            0.5 * _capped(float(revenue), float(REVENUE_FULL))
            + 0.3 * SIZE_SCORES.get(size or "", 30)
            + 0.2 * _capped(float(open_amount), float(PIPELINE_FULL))
        )
        first_start = c.get("first_start")
        years = max(0.0, (today - first_start).days / 365) if first_start else 0.0
        line_count = lines.get(customer_id, {}).get("lines", 0)
        renewals = c.get("renewals", 0)
        scores.depth = round(
            (
                _capped(years, YEARS_FULL)
                + _capped(line_count, LINES_FULL)
                + _capped(renewals, RENEWALS_FULL)
            )
            / 3
        )
        a = activity.get(customer_id, {})
        customer_requests = requests.get(customer_id, {}).get("requests", 0)
        scores.relationship = round(
            (
                100 * _share(a.get("held", 0), a.get("meetings", 0))
                + _capped(a.get("decision_maker", 0), DECISION_MAKER_TOUCHES_FULL)
                + 100 * _share(a.get("replied", 0), a.get("outreach", 0))
                + _capped(customer_requests, CUSTOMER_REQUESTS_FULL)
            )
            / 4
        )
        inv = invoices.get(customer_id, {})
        late_share = _share(inv.get("late", 0), inv.get("invoices", 0))
        negative_30 = a.get("negative_30", 0)
        surge = negative_30 >= 2 and negative_30 > 2 * a.get("negative_before", 0) / 3
        cancelled = a.get("cancelled_90", 0)
        last = a.get("last")
        silent_days = (at - last).days if last else None
        silence = 0
        for days, penalty in SILENCE_PENALTY:
            if silent_days is None or silent_days >= days:
                silence = penalty
                break
        scores.risk = max(
            0,
            round(
                100
                - LATE_PAYMENT_PENALTY * late_share
                - (SURGE_PENALTY if surge else 0)
                - min(CANCELLED_PENALTY_MAX, CANCELLED_PENALTY_EACH * cancelled)
                - silence
            ),
        )
        scores.facts = {
            "revenue_12m": str(revenue),
            "open_pipeline": str(open_amount),
            "size": size or "",
            "customer_years": round(years, 2),
            "product_lines": line_count,
            "renewals": renewals,
            "meetings": a.get("meetings", 0),
            "meetings_held": a.get("held", 0),
            "decision_maker_touches": a.get("decision_maker", 0),
            "outreach": a.get("outreach", 0),
            "replied": a.get("replied", 0),
            "customer_requests": customer_requests,
            "invoices": inv.get("invoices", 0),
            "late_invoices": inv.get("late", 0),
            "negative_30": negative_30,
            "complaint_surge": surge,
            "cancelled_meetings_90": cancelled,
            "days_since_contact": silent_days,
        }
        result[customer_id] = scores
    return result
