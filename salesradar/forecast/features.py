"""Deal features as of a moment: one row per open opportunity, computed set-based.

Every feature reads only facts stamped at or before ``at`` (the stage from the stage
history, follow-ups known by then (`activity_known_by`), quotes requested by then,
invoices due by then), so a model trained on features of past moments never sees the future.
Each feature is a handful of grouped queries over all open deals at once, never a query per
deal. A missing value (no SLA for the stage, no invoice history) is NaN, not zero: the model
learns what "unknown" means.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from django.db.models import Count, F, Max, Q, Sum
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from salesradar.activities.models import Activity
from salesradar.crm.choices import DecisionRole
from salesradar.crm.models import Contact
from salesradar.metrics.catalogue import activity_known_by, open_opportunities_as_of
from salesradar.metrics.registry import Scope
from salesradar.pipeline.models import Evidence, Invoice, Opportunity, Quote, Stage, StageChange

DAY = dt.timedelta(days=1)
RECENT = 30 * DAY  # "recent" activity and customer-initiated contacts
DECISION_MAKER_WINDOW = 60 * DAY
OWNER_HISTORY = 365 * DAY  # the owner's trailing win rate looks back one year
TIER_RANK = {"A": 3.0, "B": 2.0, "C": 1.0}


@dataclass(frozen=True)
class Feature:
    name: str
    label: str | Promise


FEATURES: tuple[Feature, ...] = (
    Feature("stage_order", _("stage")),
    Feature("stage_probability", _("stage default probability")),
    Feature("days_in_stage", _("days in stage")),
    Feature("stage_sla_ratio", _("days in stage against the stage SLA")),
    Feature("age_days", _("age of the deal in days")),
    Feature("days_since_activity", _("days since the last follow-up")),
    Feature("activities_30d", _("follow-ups in the last 30 days")),
    Feature("calls_30d", _("calls in the last 30 days")),
    Feature("visits_meetings_30d", _("visits and meetings in the last 30 days")),
    Feature("messages_30d", _("emails and messages in the last 30 days")),
    Feature("demos_30d", _("product demos in the last 30 days")),
    Feature("decision_maker_meetings_60d", _("follow-ups with the decision maker (60 days)")),
    Feature("decision_maker_contact", _("a decision maker among the customer's contacts")),
    Feature("customer_initiated_30d", _("quote requests from the customer (30 days)")),
    Feature("quote_count", _("quotes")),
    Feature("quote_revisions", _("quote revisions")),
    Feature("quote_sent", _("a quote was sent")),
    Feature("regressions", _("moves back to an earlier stage")),
    Feature("log_amount", _("deal amount")),
    Feature("tier", _("customer tier")),
    Feature("owner_win_rate", _("owner's win rate over the last year")),
    Feature("on_time_payment_share", _("share of the customer's invoices paid on time")),
    Feature("log_overdue_amount", _("customer's overdue balance")),
    Feature("gate_evidence_share", _("share of the gate evidence present")),
)
FEATURE_NAMES: tuple[str, ...] = tuple(feature.name for feature in FEATURES)
FEATURE_LABELS: dict[str, str | Promise] = {feature.name: feature.label for feature in FEATURES}


@dataclass
class FeatureFrame:
    """Features of the deals open at ``at``: ``values[i, j]`` is feature j of deal ``ids[i]``."""

    at: dt.datetime
    ids: np.ndarray
    values: np.ndarray
    owner_ids: list[int] = field(default_factory=list)
    team_ids: list[int | None] = field(default_factory=list)
    customer_ids: list[int] = field(default_factory=list)
    stage_keys: list[str] = field(default_factory=list)
    stage_ids: list[int] = field(default_factory=list)
    amounts: np.ndarray = field(default_factory=lambda: np.zeros(0))
    expected_close: list[dt.date | None] = field(default_factory=list)
    names: tuple[str, ...] = FEATURE_NAMES

    def __len__(self) -> int:
        return len(self.ids)

    def column(self, name: str) -> np.ndarray:
        return self.values[:, self.names.index(name)]

    def row(self, opportunity_id: int) -> dict[str, float]:
        index = int(np.flatnonzero(self.ids == opportunity_id)[0])
        return dict(zip(self.names, self.values[index].tolist(), strict=True))


def _open_filter(prefix: str, at: dt.datetime) -> Q:
    """Rows whose opportunity (through ``prefix``) was open at ``at``."""
    return Q(**{f"{prefix}created_at__lte": at}) & (
        Q(**{f"{prefix}closed_at__isnull": True}) | Q(**{f"{prefix}closed_at__gt": at})
    )


def _gate_evidence(stages: dict[int, Stage]) -> dict[int, set[str]]:
    """Evidence kinds a deal in each stage must have passed through its gates to get there."""
    needed: dict[int, set[str]] = {}
    by_process: dict[int, list[Stage]] = defaultdict(list)
    for stage in stages.values():
        by_process[stage.process_id].append(stage)
    for process_stages in by_process.values():
        for stage in process_stages:
            kinds: set[str] = set()
            for earlier in process_stages:
                if earlier.order <= stage.order and not earlier.is_terminal:
                    for requirement in earlier.gate or []:
                        if isinstance(requirement, dict) and "evidence" in requirement:
                            kinds.add(str(requirement["evidence"]))
            needed[stage.pk] = kinds
    return needed


def deal_features(at: dt.datetime, *, scope: Scope | None = None) -> FeatureFrame:
    """Return the features of every opportunity open (in a non-terminal stage) as of ``at``."""
    scope = scope or Scope()
    stages = {stage.pk: stage for stage in Stage.objects.all()}
    base = [
        row
        for row in open_opportunities_as_of(at, scope).values_list(  # type: ignore[misc]
            "pk",
            "owner_id",
            "owner__team_id",
            "customer_id",
            "stage_as_of",
            "entered_as_of",
            "created_at",
            "amount",
            "customer__tier",
            "expected_close_date",
        )
        if row[4] in stages and not stages[row[4]].is_terminal
    ]
    is_open = _open_filter("opportunity__", at)

    activity = {
        row["opportunity_id"]: row
        for row in Activity.objects.filter(
            is_open, activity_known_by(at), opportunity__isnull=False
        )
        .values("opportunity_id")
        .annotate(
            last=Max("occurred_at"),
            recent=Count("id", filter=Q(occurred_at__gt=at - RECENT)),
            calls=Count("id", filter=Q(occurred_at__gt=at - RECENT, kind="call")),
            visits=Count(
                "id", filter=Q(occurred_at__gt=at - RECENT, kind__in=("visit", "meeting"))
            ),
            messages=Count("id", filter=Q(occurred_at__gt=at - RECENT, kind__in=("email", "im"))),
            demos=Count("id", filter=Q(occurred_at__gt=at - RECENT, kind="demo")),
            decision_maker=Count(
                "id",
                filter=Q(occurred_at__gt=at - DECISION_MAKER_WINDOW, decision_maker_present=True),
            ),
        )
    }
    quotes = {
        row["opportunity_id"]: row
        for row in Quote.objects.filter(is_open, requested_at__lte=at)
        .values("opportunity_id")
        .annotate(
            count=Count("id"),
            newest=Max("version"),
            sent=Count("id", filter=Q(sent_at__lte=at)),
            requested_recently=Count("id", filter=Q(requested_at__gt=at - RECENT)),
        )
    }
    regressions = dict(
        StageChange.objects.filter(is_open, changed_at__lte=at, is_regression=True)
        .values("opportunity_id")
        .annotate(count=Count("id"))
        .values_list("opportunity_id", "count")
    )
    evidence: dict[int, set[str]] = defaultdict(set)
    for opportunity_id, kind in (
        Evidence.objects.filter(is_open, added_at__lte=at)
        .values_list("opportunity_id", "kind")
        .distinct()
    ):
        evidence[opportunity_id].add(kind)
    needed = _gate_evidence(stages)
    decision_makers = set(
        Contact.objects.filter(decision_role=DecisionRole.DECISION_MAKER, created_at__lte=at)
        .values_list("customer_id", flat=True)
        .distinct()
    )
    owners = {
        row["owner_id"]: (row["won"] + 1) / (row["closed"] + 2)  # Laplace: no history is 0.5
        for row in Opportunity.objects.filter(closed_at__gt=at - OWNER_HISTORY, closed_at__lte=at)
        .values("owner_id")
        .annotate(closed=Count("id"), won=Count("id", filter=Q(stage__is_won=True)))
    }
    today = at.date()
    unpaid_at = Q(paid_at__isnull=True) | Q(paid_at__gt=at)
    payments = {
        row["customer_id"]: row
        for row in Invoice.objects.filter(due_on__lt=today, issued_on__lte=today)
        .values("customer_id")
        .annotate(
            due=Count("id"),
            on_time=Count("id", filter=Q(paid_at__lte=at, paid_at__date__lte=F("due_on"))),
            overdue=Sum("amount", filter=unpaid_at),
        )
    }

    values = np.full((len(base), len(FEATURE_NAMES)), np.nan)
    column = {name: index for index, name in enumerate(FEATURE_NAMES)}
    frame = FeatureFrame(
        at=at, ids=np.array([row[0] for row in base], dtype=np.int64), values=values
    )
    amounts = []
    for index, (
        pk,
        owner_id,
        team_id,
        customer_id,
        stage_id,
        entered,
        created,
        amount,
        tier,
        expected_close,
    ) in enumerate(base):
        stage = stages[stage_id]
        acts = activity.get(pk)
        quote = quotes.get(pk)
        payment = payments.get(customer_id)
        days_in_stage = (at - (entered or created)) / DAY
        required = needed.get(stage_id, set())
        row = values[index]
        row[column["stage_order"]] = stage.order
        row[column["stage_probability"]] = stage.probability / 100
        row[column["days_in_stage"]] = days_in_stage
        if stage.dwell_sla_days:
            row[column["stage_sla_ratio"]] = days_in_stage / stage.dwell_sla_days
        row[column["age_days"]] = (at - created) / DAY
        last = acts["last"] if acts else None
        row[column["days_since_activity"]] = (at - (last or created)) / DAY
        row[column["activities_30d"]] = acts["recent"] if acts else 0
        row[column["calls_30d"]] = acts["calls"] if acts else 0
        row[column["visits_meetings_30d"]] = acts["visits"] if acts else 0
        row[column["messages_30d"]] = acts["messages"] if acts else 0
        row[column["demos_30d"]] = acts["demos"] if acts else 0
        row[column["decision_maker_meetings_60d"]] = acts["decision_maker"] if acts else 0
        row[column["decision_maker_contact"]] = 1.0 if customer_id in decision_makers else 0.0
        row[column["customer_initiated_30d"]] = quote["requested_recently"] if quote else 0
        row[column["quote_count"]] = quote["count"] if quote else 0
        row[column["quote_revisions"]] = max(quote["count"] - 1, 0) if quote else 0
        row[column["quote_sent"]] = 1.0 if quote and quote["sent"] else 0.0
        row[column["regressions"]] = regressions.get(pk, 0)
        row[column["log_amount"]] = math.log1p(float(amount or 0))
        row[column["tier"]] = TIER_RANK.get(tier or "", np.nan)
        row[column["owner_win_rate"]] = owners.get(owner_id, 0.5)
        if payment and payment["due"]:
            row[column["on_time_payment_share"]] = payment["on_time"] / payment["due"]
            row[column["log_overdue_amount"]] = math.log1p(float(payment["overdue"] or 0))
        else:
            row[column["log_overdue_amount"]] = 0.0
        row[column["gate_evidence_share"]] = (
            len(required & evidence.get(pk, set())) / len(required) if required else 1.0
        )
        frame.owner_ids.append(owner_id)
        frame.team_ids.append(team_id)
        frame.customer_ids.append(customer_id)
        frame.stage_keys.append(stage.key)
        frame.stage_ids.append(stage_id)
        frame.expected_close.append(expected_close)
        amounts.append(float(amount or 0))
    frame.amounts = np.array(amounts, dtype=float)
    return frame
