"""The calibration report: the forecast made 30 days before each period's end against the actual.

For each complete period, the snapshot taken closest to 30 days before the period's end
(within a week either side) is the forecast under test. Per rep the forecast is the model
expected value and the actual the amount won in the period. The report gives:

- **MAPE**: mean over reps with a non-zero actual of |forecast − actual| / actual;
- **bias**: (Σ forecast − Σ actual) / Σ actual, positive when the team over-forecasts;
- **Brier score** and **ECE** of the snapshot's per-deal P(won) against "won within the
  period", and the reliability diagram (10 bins);
- the top 3 **deviation reasons**: the amount forecast on deals that slipped (still open at the
  period's end), were lost, or won without being in the forecast (appeared);
- reps whose forecast missed by more than 25 % in two quarters running, flagged; their
  manager gets a coaching task (once per rep and quarter).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import numpy as np
from django.db import transaction
from django.utils.translation import gettext as _

from salesradar.accounts.models import Team, User
from salesradar.activities.choices import TaskOrigin
from salesradar.activities.models import Task
from salesradar.forecast.choices import PeriodKind
from salesradar.forecast.learning import reliability, scores
from salesradar.forecast.models import ForecastSnapshot
from salesradar.metrics.catalogue import local_midnight
from salesradar.pipeline.models import Opportunity

DAY = dt.timedelta(days=1)
LEAD = 30 * DAY  # the forecast under test is the one made 30 days before the period ends
TOLERANCE = 7 * DAY
MISS = 0.25


@dataclass
class PeriodCalibration:
    period: str
    period_start: dt.date
    snapshot_at: dt.datetime
    forecast: float
    actual: float
    mape: float | None
    bias: float | None
    brier: float | None
    ece: float | None
    deals: int
    reliability: list[dict[str, float]]
    reasons: list[dict[str, Any]]
    reps: dict[int, dict[str, float | None]]


@dataclass
class CalibrationReport:
    periods: list[PeriodCalibration] = field(default_factory=list)
    flagged: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "periods": [
                {
                    **{
                        k: v for k, v in vars(p).items() if k not in ("snapshot_at", "period_start")
                    },
                    "period_start": p.period_start.isoformat(),
                    "snapshot_at": p.snapshot_at.isoformat(),
                    "reps": {str(k): v for k, v in p.reps.items()},
                }
                for p in self.periods
            ],
            "flagged": self.flagged,
        }


def period_end(period: str, start: dt.date) -> dt.date:
    months = 1 if period == PeriodKind.MONTH else 3
    year, month = divmod(start.month - 1 + months, 12)
    return dt.date(start.year + year, month + 1, 1)


def snapshot_under_test(period: str, start: dt.date) -> dt.datetime | None:
    """The snapshot moment closest to 30 days before the period's end, within a week."""
    ideal = local_midnight(period_end(period, start)) - LEAD
    moments = (
        ForecastSnapshot.objects.filter(
            period=period,
            period_start=start,
            taken_at__gte=ideal - TOLERANCE,
            taken_at__lte=ideal + TOLERANCE,
        )
        .values_list("taken_at", flat=True)
        .distinct()
    )
    return min(moments, key=lambda moment: abs(moment - ideal), default=None)


def calibrate_period(period: str, start: dt.date, at: dt.datetime) -> PeriodCalibration | None:
    """Score the forecast of one complete period; None without a snapshot to test."""
    moment = snapshot_under_test(period, start)
    if moment is None:
        return None
    begin, end = local_midnight(start), local_midnight(period_end(period, start))
    snapshots = list(
        ForecastSnapshot.objects.filter(period=period, period_start=start, taken_at=moment)
    )
    closed = {
        pk: (owner_id, float(amount), is_won, closed_at)
        for pk, owner_id, amount, is_won, closed_at in Opportunity.objects.filter(
            closed_at__gte=begin, closed_at__lt=end
        ).values_list("pk", "owner_id", "amount", "stage__is_won", "closed_at")
    }
    actual_by_rep: dict[int, float] = {}
    for owner_id, amount, is_won, _closed in closed.values():
        if is_won:
            actual_by_rep[owner_id] = actual_by_rep.get(owner_id, 0.0) + amount
    forecast_ids: set[int] = set()
    labels, probabilities = [], []
    slipped = lost = 0.0
    reps: dict[int, dict[str, float | None]] = {}
    for snapshot in snapshots:
        for pk, p_won, amount, _credibility in snapshot.deals:
            forecast_ids.add(pk)
            outcome = closed.get(pk)
            won = bool(outcome and outcome[2])
            labels.append(1.0 if won else 0.0)
            probabilities.append(float(p_won))
            if outcome is None:
                slipped += float(amount) * float(p_won)
            elif not won:
                lost += float(amount) * float(p_won)
    rep_ids = {snapshot.owner_id for snapshot in snapshots} | set(actual_by_rep)
    forecast_by_rep = {snapshot.owner_id: float(snapshot.expected) for snapshot in snapshots}
    errors = []
    for rep_id in sorted(rep_ids):
        forecast, actual = forecast_by_rep.get(rep_id, 0.0), actual_by_rep.get(rep_id, 0.0)
        error = abs(forecast - actual) / actual if actual > 0 else None
        if error is not None:
            errors.append(error)
        reps[rep_id] = {"forecast": forecast, "actual": actual, "error": error}
    appeared = sum(
        (
            amount
            for pk, (_owner, amount, is_won, closed_at) in closed.items()
            if is_won and pk not in forecast_ids and closed_at is not None and closed_at > moment
        ),
        0.0,
    )
    total_forecast, total_actual = sum(forecast_by_rep.values()), sum(actual_by_rep.values())
    figures = scores(np.array(labels), np.array(probabilities)) if labels else {}
    reasons: list[dict[str, Any]] = sorted(
        [
            {
                "reason": "slipped",
                "label": _("deals that slipped past the period"),
                "amount": slipped,
            },
            {"reason": "lost", "label": _("deals that were lost"), "amount": lost},
            {
                "reason": "appeared",
                "label": _("deals won that were not in the forecast"),
                "amount": appeared,
            },
        ],
        key=lambda reason: -float(reason["amount"]),
    )
    return PeriodCalibration(
        period=period,
        period_start=start,
        snapshot_at=moment,
        forecast=total_forecast,
        actual=total_actual,
        mape=float(np.mean(errors)) if errors else None,
        bias=(total_forecast - total_actual) / total_actual if total_actual > 0 else None,
        brier=figures.get("brier"),
        ece=figures.get("ece"),
        deals=len(labels),
        reliability=reliability(np.array(labels), np.array(probabilities)) if labels else [],
        reasons=reasons,
        reps=reps,
    )


def complete_periods(at: dt.datetime, period: str) -> list[dt.date]:
    """Starts of the periods with snapshots that ended by ``at``, oldest first."""
    starts = sorted(
        set(ForecastSnapshot.objects.filter(period=period).values_list("period_start", flat=True))
    )
    return [start for start in starts if local_midnight(period_end(period, start)) <= at]


def calibration_report(*, at: dt.datetime, period: str = PeriodKind.QUARTER) -> CalibrationReport:
    """Score every complete period's forecast and flag reps missing by 25 % twice running."""
    report = CalibrationReport()
    for start in complete_periods(at, period):
        calibrated = calibrate_period(period, start, at)
        if calibrated is not None:
            report.periods.append(calibrated)
    if period == PeriodKind.QUARTER:
        report.flagged = repeated_misses(report.periods)
    return report


def repeated_misses(periods: list[PeriodCalibration]) -> list[dict[str, Any]]:
    """Reps whose forecast missed by more than 25 percent in two consecutive quarters."""
    flagged = []
    for previous, current in pairwise(periods):
        if period_end(PeriodKind.QUARTER, previous.period_start) != current.period_start:
            continue
        for rep_id, figures in current.reps.items():
            before = previous.reps.get(rep_id, {})
            if (figures.get("error") or 0) > MISS and (before.get("error") or 0) > MISS:
                flagged.append(
                    {
                        "rep": rep_id,
                        "quarter": current.period_start.isoformat(),
                        "errors": [before["error"], figures["error"]],
                    }
                )
    return flagged


def tell_managers(flagged: list[dict[str, Any]], *, at: dt.datetime) -> int:
    """Give each flagged rep's manager a coaching task, once per rep and quarter."""
    created = 0
    reps = User.objects.in_bulk([item["rep"] for item in flagged])
    teams = {team.pk: team for team in Team.objects.select_related("manager")}
    with transaction.atomic():
        for item in flagged:
            rep = reps.get(item["rep"])
            team = teams.get(rep.team_id) if rep and rep.team_id else None
            manager = team.manager if team else None
            if rep is None or manager is None:
                continue
            reference = f"forecast-miss:{rep.pk}:{item['quarter']}"
            if Task.objects.filter(origin_ref=reference).exists():
                continue
            Task.objects.create(
                title=_(
                    "Coach {rep}: forecast missed by more than 25 percent two quarters running"
                ).format(rep=rep.get_full_name() or rep.username),
                description=_("Forecast errors: {first} and {second}.").format(
                    first=f"{item['errors'][0]:.0%}", second=f"{item['errors'][1]:.0%}"
                ),
                assignee=manager,
                due_at=at + 7 * DAY,
                origin=TaskOrigin.MANUAL,
                origin_ref=reference,
                created_at=at,
            )
            created += 1
    return created
