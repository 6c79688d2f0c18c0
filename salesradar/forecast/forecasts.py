"""Forecasts per rep, team and period, the evidence-based credibility index, and snapshots.

For a period (month or quarter) a rep's forecast counts what is already won in it plus the
open deals expected to close in it (their expected close date):

- **commit**: won so far plus the open deals in the last stage before won (negotiation in
  the default process); SalesRadar has no rep-chosen forecast category, so the rep's own
  commitment is read from how far the rep has taken the deal;
- **stage-weighted**: won plus each deal's amount × its stage's default probability;
- **historical stage-to-win**: won plus amount × the share of deals that passed through the
  deal's stage in the last year and were won (of those closed);
- **model expected value**: won plus amount × P(won) × the credibility discount, with an
  80 % interval simulated from the per-deal probabilities (Monte Carlo, seeded);
- **coverage**: open pipeline in the period / what remains of the won-amount target.

The **credibility index** (0–100) weighs evidence: customer-initiated contacts in the last
30 days (25 points; quote requests by the customer, the contacts the data records as the
customer's initiative), decision-maker attendance in the last 60 days (25), proposal
revisions (15 for three or more quotes), gate evidence present (20 × share) and the
customer's payment history (15 × on-time share; 7.5 without invoices). Below 60 a deal's
contribution is discounted to 70 % (`SALESRADAR_FORECAST_DISCOUNT`). A customer with an
overdue balance over `SALESRADAR_FORECAST_OVERDUE_LIMIT` or fewer than half of its invoices
paid on time is flagged high-risk.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
from django.db import transaction
from django.db.models import Count, Q, Sum

from salesradar.accounts.models import User
from salesradar.core import env
from salesradar.forecast.choices import PeriodKind
from salesradar.forecast.features import FeatureFrame
from salesradar.forecast.models import ForecastSnapshot, ModelRecord
from salesradar.forecast.services import DealScores, score_deals
from salesradar.metrics.catalogue import local_midnight, local_zone
from salesradar.metrics.registry import Scope
from salesradar.pipeline.models import Opportunity, Stage, StageChange, Target

DAY = dt.timedelta(days=1)
CREDIBLE = 60  # points; below, a deal's contribution is discounted
SIMULATIONS = 2000
STAGE_HISTORY = 365 * DAY


def discount_factor() -> float:
    """How much of a low-credibility deal's contribution counts (default 0.7)."""
    raw = env.get("FORECAST_DISCOUNT", "0.7")
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"SALESRADAR_FORECAST_DISCOUNT must be a number, not {raw!r}") from None
    if not 0 <= value <= 1:
        raise ValueError(f"SALESRADAR_FORECAST_DISCOUNT must be between 0 and 1, not {raw!r}")
    return value


def overdue_limit() -> float:
    return float(env.get_int("FORECAST_OVERDUE_LIMIT", 500_000))


def credibility(frame: FeatureFrame) -> np.ndarray:
    """Return the credibility index (0–100) of every deal in ``frame``."""
    if len(frame) == 0:
        return np.zeros(0)
    initiated = (frame.column("customer_initiated_30d") > 0) * 25.0
    decision_maker = (frame.column("decision_maker_meetings_60d") > 0) * 25.0
    revisions = np.minimum(frame.column("quote_count"), 3) / 3 * 15.0
    evidence = np.nan_to_num(frame.column("gate_evidence_share"), nan=0.0) * 20.0
    on_time = frame.column("on_time_payment_share")
    payment = np.where(np.isnan(on_time), 7.5, on_time * 15.0)
    return np.round(initiated + decision_maker + revisions + evidence + payment, 1)


def high_risk_customers(frame: FeatureFrame) -> np.ndarray:
    """Whether each deal's customer is high-risk: overdue over the limit or mostly late."""
    if len(frame) == 0:
        return np.zeros(0, dtype=bool)
    overdue = np.expm1(frame.column("log_overdue_amount"))
    on_time = frame.column("on_time_payment_share")
    return (overdue > overdue_limit()) | (np.nan_to_num(on_time, nan=1.0) < 0.5)


def period_bounds(at: dt.datetime, period: str) -> tuple[dt.date, dt.date]:
    """Return the first day of the period containing ``at`` and the first day after it."""
    today = at.astimezone(local_zone()).date()
    if period == PeriodKind.MONTH:
        start = today.replace(day=1)
        months = 1
    else:
        start = dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
        months = 3
    year, month = divmod(start.month - 1 + months, 12)
    return start, dt.date(start.year + year, month + 1, 1)


def historical_stage_rates(at: dt.datetime) -> dict[int, float]:
    """Per stage: the share of deals that passed through it and were won, of those closed.

    Deals closed in the year before ``at``; Laplace-smoothed toward the stage's default.
    """
    closed = Opportunity.objects.filter(closed_at__gt=at - STAGE_HISTORY, closed_at__lte=at)
    rows = (
        StageChange.objects.filter(opportunity__in=closed, changed_at__lte=at)
        .values("to_stage_id")
        .annotate(
            deals=Count("opportunity_id", distinct=True),
            won=Count("opportunity_id", distinct=True, filter=Q(opportunity__stage__is_won=True)),
        )
    )
    stages = {stage.pk: stage for stage in Stage.objects.all()}
    rates = {pk: stage.probability / 100 for pk, stage in stages.items()}
    for row in rows:
        stage = stages.get(row["to_stage_id"])
        if stage is None:
            continue
        rates[stage.pk] = (row["won"] + 2 * stage.probability / 100) / (row["deals"] + 2)
    return rates


@dataclass
class DealLine:
    """One open deal's part in a forecast."""

    opportunity_id: int
    owner_id: int
    team_id: int | None
    stage_key: str
    amount: float
    p_won: float
    stage_probability: float
    historical: float
    credibility: float
    discounted: bool
    high_risk_customer: bool
    commit: bool


@dataclass
class Forecast:
    """A forecast for one rep, team or the organisation and one period."""

    key: str  # "rep:12", "team:3", "org"
    period: str
    period_start: dt.date
    won_so_far: float = 0.0
    commit: float = 0.0
    stage_weighted: float = 0.0
    historical: float = 0.0
    expected: float = 0.0
    low: float = 0.0
    high: float = 0.0
    pipeline: float = 0.0
    target: float | None = None
    deals: list[DealLine] = field(default_factory=list)

    @property
    def coverage(self) -> float | None:
        """Open pipeline in the period over what remains of the target."""
        if self.target is None:
            return None
        remaining = self.target - self.won_so_far
        return self.pipeline / remaining if remaining > 0 else None

    @property
    def high_risk_deals(self) -> int:
        return sum(1 for line in self.deals if line.high_risk_customer)


def deal_lines(scores: DealScores, start: dt.date, end: dt.date, at: dt.datetime) -> list[DealLine]:
    """The open deals expected to close in [start, end), with their evidence."""
    frame = scores.frame
    if len(frame) == 0:
        return []
    rates = historical_stage_rates(at)
    points = credibility(frame)
    risky = high_risk_customers(frame)
    last_open_order = {
        stage.process_id: stage.order
        for stage in Stage.objects.filter(is_won=False, is_lost=False).order_by("order")
    }
    stages = {stage.pk: stage for stage in Stage.objects.all()}
    lines = []
    for index, close in enumerate(frame.expected_close):
        if close is None or not start <= close < end:
            continue
        stage = stages[frame.stage_ids[index]]
        lines.append(
            DealLine(
                opportunity_id=int(frame.ids[index]),
                owner_id=frame.owner_ids[index],
                team_id=frame.team_ids[index],
                stage_key=stage.key,
                amount=float(frame.amounts[index]),
                p_won=float(scores.won[index]),
                stage_probability=stage.probability / 100,
                historical=rates.get(stage.pk, stage.probability / 100),
                credibility=float(points[index]),
                discounted=bool(points[index] < CREDIBLE),
                high_risk_customer=bool(risky[index]),
                commit=stage.order == last_open_order.get(stage.process_id),
            )
        )
    return lines


def won_in_period(start: dt.date, at: dt.datetime) -> dict[int, float]:
    """Won amount per owner closed from the period's start up to ``at``."""
    return {
        owner_id: float(amount or 0)
        for owner_id, amount in Opportunity.objects.filter(
            stage__is_won=True, closed_at__gte=local_midnight(start), closed_at__lte=at
        )
        .values("owner_id")
        .annotate(amount=Sum("amount"))
        .values_list("owner_id", "amount")
    }


def rep_targets(period: str, start: dt.date, end: dt.date) -> dict[int, float]:
    """Won-amount targets per rep for the period: its own, or the sum of its months."""
    targets: dict[int, float] = defaultdict(float)
    exact = Target.objects.filter(
        user__isnull=False, measure="won_amount", period=period, period_start=start
    )
    found = set()
    for user_id, value in exact.values_list("user_id", "value"):
        targets[user_id] += float(value)
        found.add(user_id)
    if period == PeriodKind.QUARTER:
        for user_id, value in Target.objects.filter(
            user__isnull=False,
            measure="won_amount",
            period="month",
            period_start__gte=start,
            period_start__lt=end,
        ).values_list("user_id", "value"):
            if user_id not in found:
                targets[user_id] += float(value)
    return dict(targets)


def simulate(lines: list[DealLine], discount: float, seed: int) -> tuple[float, float]:
    """Return the 10th and 90th percentile of the period's total from the deals' P(won)."""
    if not lines:
        return 0.0, 0.0
    rng = np.random.default_rng(seed)
    p = np.array([line.p_won for line in lines])
    worth = np.array(
        [line.amount * (discount if line.discounted else 1.0) for line in lines], dtype=float
    )
    totals = (rng.random((SIMULATIONS, len(lines))) < p) @ worth
    low, high = np.percentile(totals, [10, 90])
    return float(low), float(high)


def assemble(
    key: str,
    period: str,
    start: dt.date,
    won: float,
    lines: list[DealLine],
    target: float | None,
    discount: float,
) -> Forecast:
    forecast = Forecast(key, period, start, won_so_far=won, target=target, deals=lines)
    forecast.commit = won + sum(line.amount for line in lines if line.commit)
    forecast.stage_weighted = won + sum(line.amount * line.stage_probability for line in lines)
    forecast.historical = won + sum(line.amount * line.historical for line in lines)
    forecast.expected = won + sum(
        line.amount * line.p_won * (discount if line.discounted else 1.0) for line in lines
    )
    forecast.pipeline = sum(line.amount for line in lines)
    low, high = simulate(lines, discount, seed=sum(map(ord, key)) + start.toordinal())
    forecast.low, forecast.high = won + low, won + high
    return forecast


@dataclass
class ForecastSet:
    """Every rep's, team's and the organisation's forecast for one period, as of ``at``."""

    at: dt.datetime
    period: str
    period_start: dt.date
    reps: dict[int, Forecast]
    teams: dict[int, Forecast]
    org: Forecast
    notes: list[str]
    model: ModelRecord | None


def forecast_period(
    *, at: dt.datetime, period: str = PeriodKind.QUARTER, scope: Scope | None = None
) -> ForecastSet:
    """Forecast the period containing ``at`` for every rep, team and the organisation."""
    start, end = period_bounds(at, period)
    scores = score_deals(at=at, scope=scope)
    lines = deal_lines(scores, start, end, at)
    won = won_in_period(start, at)
    targets = rep_targets(period, start, end)
    discount = discount_factor()
    by_rep: dict[int, list[DealLine]] = defaultdict(list)
    for line in lines:
        by_rep[line.owner_id].append(line)
    reps = User.objects.filter(pk__in=set(by_rep) | set(won) | set(targets)).values_list(
        "pk", "team_id"
    )
    rep_team = dict(reps)
    rep_forecasts = {
        pk: assemble(
            f"rep:{pk}", period, start, won.get(pk, 0.0), by_rep[pk], targets.get(pk), discount
        )
        for pk in sorted(rep_team)
    }
    team_members: dict[int, list[int]] = defaultdict(list)
    for pk, team_id in rep_team.items():
        if team_id is not None:
            team_members[team_id].append(pk)
    teams = {
        team_id: combine(f"team:{team_id}", [rep_forecasts[pk] for pk in members], discount)
        for team_id, members in sorted(team_members.items())
    }
    org = combine("org", list(rep_forecasts.values()), discount, period=period, start=start)
    return ForecastSet(
        at, period, start, rep_forecasts, teams, org, scores.notes, scores.records.get("won")
    )


def combine(
    key: str,
    parts: list[Forecast],
    discount: float,
    *,
    period: str = "",
    start: dt.date | None = None,
) -> Forecast:
    """Add forecasts up; the interval is simulated again over all their deals together."""
    lines = [line for part in parts for line in part.deals]
    targets = [part.target for part in parts if part.target is not None]
    return assemble(
        key,
        period or (parts[0].period if parts else PeriodKind.QUARTER),
        start or (parts[0].period_start if parts else dt.date.today()),
        sum(part.won_so_far for part in parts),
        lines,
        sum(targets) if targets else None,
        discount,
    )


# --------------------------------------------------------------------------- snapshots


def money(value: float) -> Decimal:
    return Decimal(str(round(value, 2)))


def take_snapshots(*, at: dt.datetime, periods: Iterable[str] = tuple(PeriodKind)) -> int:
    """Store every rep's forecast for the month and quarter containing ``at``; return rows."""
    rows = []
    for period in periods:
        forecasts = forecast_period(at=at, period=period)
        for owner_id, forecast in forecasts.reps.items():
            rows.append(
                ForecastSnapshot(
                    taken_at=at,
                    period=period,
                    period_start=forecast.period_start,
                    owner_id=owner_id,
                    won_so_far=money(forecast.won_so_far),
                    commit=money(forecast.commit),
                    stage_weighted=money(forecast.stage_weighted),
                    historical=money(forecast.historical),
                    expected=money(forecast.expected),
                    low=money(forecast.low),
                    high=money(forecast.high),
                    target_value=None if forecast.target is None else money(forecast.target),
                    model=forecasts.model,
                    deals=[
                        [line.opportunity_id, round(line.p_won, 4), line.amount, line.credibility]
                        for line in forecast.deals
                    ],
                )
            )
    with transaction.atomic():
        ForecastSnapshot.objects.filter(taken_at=at).delete()
        ForecastSnapshot.objects.bulk_create(rows)
    return len(rows)


def snapshot_if_due(*, at: dt.datetime) -> int:
    """Take the weekly snapshot when none was taken in the last seven days."""
    if ForecastSnapshot.objects.filter(taken_at__gt=at - 7 * DAY, taken_at__lte=at).exists():
        return 0
    return take_snapshots(at=at)
