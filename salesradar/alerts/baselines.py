"""Built-in baselines a deal rule must beat, scored on the same snapshots as the rule.

Each baseline is a family of one-line rules over the snapshot frame of
``salesradar.alerts.outcomes`` (no query of its own except the stage history for the
median dwell), with a level that can be moved, so a rule can be compared with the best
baseline **at the same recall**:

- ``rotting``: days in the current stage > N (the "rotting deal" of Pipedrive and Odoo);
  named points N = 7, 14, 30;
- ``stage_median_dwell``: days in the current stage > k × that stage's median dwell,
  learnt from the dwells completed by the snapshot; named point k = 1;
- ``idle``: days since the deal's last known activity (or its creation) > N;
  named points N = 7, 14, 30;
- ``flag_all``: every open entity, flagged at its first snapshot.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from salesradar.alerts.outcomes import DAY, Score, entity_outcomes, score_flags
from salesradar.pipeline.models import StageChange

DAY_LEVELS = (1, 2, 3, 5, 7, 10, 14, 21, 30, 45, 60, 90, 120, 180)
DWELL_MULTIPLES = (0.25, 0.5, 0.75, 1, 1.25, 1.5, 2, 3, 4)
NAMED_DAYS = (7, 14, 30)
COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


@dataclass(frozen=True)
class CurvePoint:
    level: float
    score: Score

    def as_dict(self) -> dict[str, Any]:
        return {"level": self.level, **self.score.as_dict()}


@dataclass
class Baseline:
    """One baseline family: its points across the level, and the named ones to report."""

    key: str
    curve: list[CurvePoint] = field(default_factory=list)
    named: tuple[float, ...] = ()

    def point(self, level: float) -> CurvePoint | None:
        return next((point for point in self.curve if point.level == level), None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "named": list(self.named),
            "curve": [point.as_dict() for point in self.curve],
        }


def curve(
    frame: pd.DataFrame,
    values: pd.Series,
    op: str,
    levels: Sequence[float],
    *,
    weeks: float,
    entities: pd.DataFrame | None = None,
) -> list[CurvePoint]:
    """Score "``values`` op level" for each level; ``values`` is aligned with ``frame``."""
    entities = entity_outcomes(frame) if entities is None else entities
    compare = COMPARE[op]
    points = []
    for level in levels:
        chosen = frame.loc[compare(values, level).fillna(False).astype(bool)]
        score = score_flags(chosen[["entity", "snapshot"]], frame, weeks=weeks, entities=entities)
        points.append(CurvePoint(float(level), score))
    return points


def median_dwell_ratio(frame: pd.DataFrame) -> pd.Series:
    """Return days in stage / the stage's median completed dwell as of each snapshot."""
    changes = pd.DataFrame(
        list(
            StageChange.objects.filter(opportunity_id__in=frame["entity"].unique().tolist())
            .order_by("opportunity_id", "changed_at", "id")
            .values_list("opportunity_id", "to_stage_id", "changed_at")
        ),
        columns=["entity", "stage", "entered"],
    )
    ratio = pd.Series(float("nan"), index=frame.index)
    if changes.empty:
        return ratio
    changes["entered"] = pd.to_datetime(changes["entered"], utc=True)
    changes["left"] = changes.groupby("entity")["entered"].shift(-1)
    dwells = changes.dropna(subset=["left"])
    dwells = dwells.assign(days=(dwells["left"] - dwells["entered"]) / pd.Timedelta(DAY))
    for snapshot, rows in frame.groupby("snapshot"):
        medians = dwells.loc[dwells["left"] <= snapshot].groupby("stage")["days"].median()
        medians = medians[medians > 0]
        ratio.loc[rows.index] = rows["days_in_stage"] / rows["stage"].map(medians)
    return ratio


def score_baselines(frame: pd.DataFrame, *, weeks: float) -> list[Baseline]:
    """Score every built-in baseline on ``frame`` across its levels."""
    entities = entity_outcomes(frame)

    def family(key: str, values: pd.Series, levels: Sequence[float], named: Sequence[float]):
        return Baseline(
            key,
            curve(frame, values, ">", levels, weeks=weeks, entities=entities),
            tuple(float(level) for level in named),
        )

    first = frame.sort_values("snapshot").drop_duplicates("entity")
    flag_all = Baseline(
        "flag_all",
        [
            CurvePoint(
                0.0,
                score_flags(first[["entity", "snapshot"]], frame, weeks=weeks, entities=entities),
            )
        ],
        (0.0,),
    )
    return [
        family("rotting", frame["days_in_stage"], DAY_LEVELS, NAMED_DAYS),
        family("stage_median_dwell", median_dwell_ratio(frame), DWELL_MULTIPLES, (1.0,)),
        family("idle", frame["days_since_activity"], DAY_LEVELS, NAMED_DAYS),
        flag_all,
    ]


@dataclass(frozen=True)
class Match:
    """The best baseline point whose recall reaches a given recall."""

    baseline: str
    level: float
    precision: float
    recall: float

    def label(self) -> str:
        if self.baseline == "flag_all":
            return "flag_all"
        return f"{self.baseline}>{self.level:g}"


def best_at_recall(baselines: Sequence[Baseline], recall: float | None) -> Match | None:
    """Return the most precise baseline point with a recall at least ``recall``."""
    if recall is None:
        return None
    candidates = [
        Match(baseline.key, point.level, point.score.precision, point.score.recall)
        for baseline in baselines
        for point in baseline.curve
        if point.score.precision is not None
        and point.score.recall is not None
        and point.score.recall >= recall - 1e-9
    ]
    if not candidates:
        return None
    return max(candidates, key=lambda match: (match.precision, match.recall))


def weeks_of(snapshots: Sequence[dt.datetime], step: dt.timedelta) -> float:
    return len(snapshots) * step / dt.timedelta(weeks=1)
