"""Hand-written reference SQL for the busiest metrics, to hold the metrics' speed against.

``benchmarks/reference_sql/`` keeps one file per metric and database vendor: the plain SQL a
careful engineer would write for the metric's definition over the whole organisation.
``salesradar bench evaluate --reference`` times each beside the metric; a test checks on both
databases that each gives the same rows as the metric, so the ratio compares equal work.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection

from salesradar.metrics.catalogue import local_midnight, local_zone, period_end, period_starts
from salesradar.metrics.registry import Period, compute, get_metric

REFERENCE_DIR = Path(__file__).resolve().parents[2] / "benchmarks" / "reference_sql"
PERIODS = 12
"""How many periods a per-period reference covers (the default rules read up to 12)."""

Key = tuple[int, dt.date | None]


def reference_metrics() -> list[str]:
    """The metric keys that have reference SQL for the current database."""
    suffix = f".{connection.vendor}.sql"
    return sorted(path.name[: -len(suffix)] for path in REFERENCE_DIR.glob(f"*{suffix}"))


def reference_sql(metric: str) -> str:
    path = REFERENCE_DIR / f"{metric}.{connection.vendor}.sql"
    if not path.exists():
        raise FileNotFoundError(f"no reference SQL for {metric!r} on {connection.vendor}: {path}")
    return path.read_text()


def sql_params(metric: str, at: dt.datetime, periods: int = PERIODS) -> dict[str, Any]:
    """The parameters a reference file binds: ``at``, and for per-period metrics the window."""
    chosen = get_metric(metric)
    adapt = connection.ops.adapt_datetimefield_value
    params: dict[str, Any] = {"at": adapt(at)}
    if chosen.per_period:
        period: Period = chosen.default_period
        starts = period_starts(at, period, periods)
        start = local_midnight(starts[0])
        end = min(local_midnight(period_end(starts[-1], period)), at)
        offset = at.astimezone(local_zone()).utcoffset() or dt.timedelta(0)
        params.update(
            window_start=adapt(start),
            window_end=adapt(end),
            tz=settings.TIME_ZONE,
            utc_offset=f"{int(offset.total_seconds() // 60):+d} minutes",
        )
    return params


def reference_rows(metric: str, at: dt.datetime, periods: int = PERIODS) -> dict[Key, float]:
    """Run the metric's reference SQL; return its values by (entity, period start)."""
    with connection.cursor() as cursor:
        cursor.execute(reference_sql(metric), sql_params(metric, at, periods))
        fetched = cursor.fetchall()
    result: dict[Key, float] = {}
    for row in fetched:
        if len(row) == 3:
            entity, period, value = row
            day = dt.date.fromisoformat(period) if isinstance(period, str) else period
            result[(int(entity), day)] = float(value)
        else:
            result[(int(row[0]), None)] = float(row[1])
    return result


def metric_values(metric: str, at: dt.datetime, periods: int = PERIODS) -> dict[Key, float]:
    """The metric's rows over the whole organisation, keyed like ``reference_rows``.

    A reference lists only the periods with facts, so a per-period count's zero-filled
    periods and a ratio's empty (None) periods are left out here too.
    """
    chosen = get_metric(metric)
    result: dict[Key, float] = {}
    for row in compute(chosen, at=at, periods=periods):
        if row.value is None or (chosen.zero_when_empty and row.value == 0):
            continue
        result[(row.entity_id, row.period)] = row.value
    return result


@dataclass(frozen=True)
class Timing:
    metric: str
    rows: int
    metric_seconds: float
    reference_seconds: float

    @property
    def ratio(self) -> float:
        return self.metric_seconds / self.reference_seconds if self.reference_seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "rows": self.rows,
            "metric_seconds": round(self.metric_seconds, 3),
            "reference_seconds": round(self.reference_seconds, 3),
            "ratio": round(self.ratio, 2),
        }


def time_references(at: dt.datetime, *, repeat: int = 2) -> list[Timing]:
    """Time each metric and its reference SQL (best of ``repeat``), alternating the two."""
    timings = []
    for metric in reference_metrics():
        best_metric = best_reference = float("inf")
        rows = 0
        for _ in range(repeat):
            started = time.perf_counter()
            rows = len(compute(metric, at=at, periods=PERIODS))
            best_metric = min(best_metric, time.perf_counter() - started)
            started = time.perf_counter()
            reference_rows(metric, at)
            best_reference = min(best_reference, time.perf_counter() - started)
        timings.append(Timing(metric, rows, best_metric, best_reference))
    return timings
