"""The metric registry: named, documented, set-based computations over all entities at once.

A metric answers for every entity of its grain in one query (or a few), deterministically in
``at``: only facts recorded at or before ``at`` count, so the same call on the same data
gives the same rows, which is what makes backtests exact.
"""

from __future__ import annotations

import datetime as dt
import json
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Literal

Grain = Literal[
    "opportunity", "customer", "quote", "lead", "invoice", "contract", "rep", "team", "org"
]
Period = Literal["week", "month"]
GRAINS: tuple[str, ...] = (
    "opportunity",
    "customer",
    "quote",
    "lead",
    "invoice",
    "contract",
    "rep",
    "team",
    "org",
)


@dataclass(frozen=True)
class Scope:
    """Which entities a computation covers; empty fields mean no restriction."""

    team_ids: tuple[int, ...] = ()  # leaf or parent teams; their subtrees are included
    owner_ids: tuple[int, ...] = ()
    tiers: tuple[str, ...] = ()
    stages: tuple[str, ...] = ()
    process: str = ""
    params: dict[str, Any] = field(default_factory=dict)  # metric parameters, e.g. stage


@dataclass(frozen=True)
class MetricRow:
    entity_id: int
    value: float | None
    period: dt.date | None = None
    owner_id: int | None = None
    team_id: int | None = None
    context: dict[str, Any] = field(default_factory=dict)


class Metric(ABC):
    """A metric; subclasses set the class attributes and implement ``rows``."""

    key: ClassVar[str]
    grain: ClassVar[Grain]
    unit: ClassVar[str]
    per_period: ClassVar[bool] = False
    default_period: ClassVar[Period] = "week"
    #: for per-period counts, an entity with no rows in a period counted zero, not unknown
    zero_when_empty: ClassVar[bool] = False
    #: the source of facts this metric depends on, for data-health inhibition
    source: ClassVar[str] = "activities"
    #: the scope filters the computation honours; rules may not ask for any other
    scope_fields: ClassVar[frozenset[str]] = frozenset({"teams"})
    #: scope filters that can equally be applied to finished rows through their context
    #: ("tiers" by ``context["tier"]``, "stages" by ``context["stage"]``), so one pass can
    #: compute the metric once for every rule that differs only in them
    row_filters: ClassVar[frozenset[str]] = frozenset()
    #: the value is time elapsed since a fact (in ``unit``, hours or days): it grows one unit
    #: per unit of time while nothing happens, so the moment a threshold was crossed is known
    grows_with_time: ClassVar[bool] = False

    def time_per_unit(self, row: MetricRow) -> dt.timedelta | None:
        """Return how much time one unit of ``row``'s value stands for, if it grows with time."""
        if not self.grows_with_time:
            return None
        return {"hours": dt.timedelta(hours=1), "days": dt.timedelta(days=1)}.get(self.unit)

    @abstractmethod
    def rows(
        self, *, at: dt.datetime, scope: Scope, period: Period, periods: int
    ) -> list[MetricRow]:
        """Return one row per entity (per period, for per-period metrics), oldest period first."""


METRICS: dict[str, Metric] = {}


class UnknownMetricError(KeyError):
    pass


def register(metric_class: type[Metric]) -> type[Metric]:
    """Register a metric class by its key; the wrong type or a duplicate key fails loudly."""
    if not isinstance(metric_class, type) or not issubclass(metric_class, Metric):
        raise TypeError(f"{metric_class!r} is not a Metric subclass")
    if metric_class.grain not in GRAINS:
        raise TypeError(f"{metric_class.__name__}.grain {metric_class.grain!r} is unknown")
    if metric_class.key in METRICS:
        raise TypeError(f"metric {metric_class.key!r} is registered twice")
    METRICS[metric_class.key] = metric_class()
    return metric_class


def get_metric(key: str) -> Metric:
    try:
        return METRICS[key]
    except KeyError:
        known = ", ".join(sorted(METRICS))
        raise UnknownMetricError(f"unknown metric {key!r}; known metrics: {known}") from None


PERIOD_LENGTH = {"week": dt.timedelta(weeks=1), "month": dt.timedelta(days=30.44)}


def compute(
    metric: str | Metric,
    *,
    at: dt.datetime,
    scope: Scope | None = None,
    window: dt.timedelta | None = None,
    period: Period | None = None,
    periods: int = 12,
) -> list[MetricRow]:
    """Compute ``metric`` for every entity in ``scope`` as of ``at``.

    For a per-period metric, ``window`` (when given) sets how far back the periods reach, as
    an alternative to counting them with ``periods``.
    """
    if at.tzinfo is None:
        raise ValueError("at must be timezone-aware")
    chosen = get_metric(metric) if isinstance(metric, str) else metric
    if window is not None and chosen.per_period:
        length = PERIOD_LENGTH[period or chosen.default_period]
        periods = max(1, round(window / length))
    scope = scope or Scope()
    period = period or chosen.default_period
    periods = max(1, periods)
    shared = _current_pass.get()
    if shared is not None:
        return shared.rows(chosen, at=at, scope=scope, period=period, periods=periods)
    return chosen.rows(at=at, scope=scope, period=period, periods=periods)


# --- One evaluation pass computes each metric once ---------------------------------------

ROW_FILTERS: dict[str, tuple[str, Callable[[Scope], tuple[str, ...]]]] = {
    # scope field -> (context key, the scope's wanted values)
    "tiers": ("tier", lambda scope: scope.tiers),
    "stages": ("stage", lambda scope: scope.stages),
}


class MetricPass:
    """Metric rows computed during one evaluation pass, shared by every rule that reads them.

    Rules that differ only in a filter the metric can apply to its rows afterwards (the
    three customer tiers, the stage lists of the stale-deal rules) share one computation
    over the wider scope; the rows are then filtered by their context. Facts do not change
    within a pass (it reads everything as of one ``at``), so sharing gives the same rows.
    """

    def __init__(self) -> None:
        self.cache: dict[tuple[Any, ...], list[MetricRow]] = {}
        self.computed: Counter[str] = Counter()
        self.asked: Counter[str] = Counter()

    def rows(
        self, metric: Metric, *, at: dt.datetime, scope: Scope, period: Period, periods: int
    ) -> list[MetricRow]:
        self.asked[metric.key] += 1
        unfiltered: dict[str, Any] = {name: () for name in metric.row_filters}
        wider = replace(scope, **unfiltered)
        key = (metric.key, at, period, periods, *scope_key(wider))
        rows = self.cache.get(key)
        if rows is None:
            rows = metric.rows(at=at, scope=wider, period=period, periods=periods)
            self.cache[key] = rows
            self.computed[metric.key] += 1
        for name in metric.row_filters:
            context_key, wanted = ROW_FILTERS[name]
            values = set(wanted(scope))
            if values:
                rows = [row for row in rows if row.context.get(context_key) in values]
        return rows


def scope_key(scope: Scope) -> tuple[Any, ...]:
    return (
        scope.team_ids,
        scope.owner_ids,
        scope.tiers,
        scope.stages,
        scope.process,
        json.dumps(scope.params, sort_keys=True, default=str),
    )


_current_pass: ContextVar[MetricPass | None] = ContextVar("metric_pass", default=None)


@contextmanager
def metric_pass() -> Iterator[MetricPass]:
    """Share metric computations among the ``compute`` calls made inside the block."""
    shared = MetricPass()
    token = _current_pass.set(shared)
    try:
        yield shared
    finally:
        _current_pass.reset(token)
