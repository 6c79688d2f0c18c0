"""Condition kinds of the rule engine: pure judgements of one value against its history.

A rule's ``condition`` is a mapping with a ``kind`` and that kind's fields. `build_condition`
checks every field when the rule is loaded, so a misconfigured rule fails naming the file,
the rule and the field at fault instead of misbehaving at evaluation time. A built condition
judges one entity's value for one period, given the values of the periods before it (oldest
first, not including the current one, ``None`` where a period is missing), and returns a
`Verdict`. Nothing here touches the database, so every kind is testable on plain lists.

Conventions shared by every kind:

- Reaching a level counts: a drop of exactly 20 % is at ``warning_pct: 20``. Comparisons
  against derived levels allow for float rounding (``_TOLERANCE``).
- A missing current value, or too little history to judge, gives ``no_data``, never ``ok``:
  an alert that cannot be evaluated must say so rather than fall silent (DESIGN §6).
- ``Verdict.threshold`` is on the same scale as ``Verdict.value``, so a screen can draw the
  value and the level it crossed on one axis.
"""

from __future__ import annotations

import inspect
import math
import operator
import re
import statistics
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any, ClassVar, Literal, TypeVar

from django.utils.translation import gettext as _

Severity = Literal["ok", "warning", "danger", "no_data"]

_RANK: dict[Severity, int] = {"no_data": -1, "ok": 0, "warning": 1, "danger": 2}
_TOLERANCE = 1e-9
# Scales the median absolute deviation to estimate the standard deviation of normal data.
MAD_SCALE = 1.4826


class RuleError(ValueError):
    """Invalid rule definition. ``where`` names file, rule and field.

    For example ``rules.yaml: rule quote-slow: condition.warning``.
    """

    def __init__(self, where: str, message: str) -> None:
        self.where = where
        self.message = message
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class Verdict:
    """The judgement of one value.

    ``value`` is what was judged (the current value; the slope for ``trend``; the change in
    percent for ``change``). ``threshold`` is the level crossed (the danger level for danger,
    the warning level for warning), or the nearest level for ``ok`` and ``no_data`` when one
    is known. ``reference`` is what the value was compared with (baseline mean or median,
    previous period's value).
    """

    severity: Severity
    value: float | None
    threshold: float | None
    reference: float | None = None
    detail: str = ""

    @property
    def fires(self) -> bool:
        """Return whether the verdict is a warning or a danger."""
        return self.severity in ("warning", "danger")


class Condition(ABC):
    """One kind of condition; subclasses register under their ``kind``."""

    kind: ClassVar[str]
    needs_history: ClassVar[bool]

    @classmethod
    @abstractmethod
    def from_spec(cls, spec: Mapping[str, Any], where: str) -> Condition:
        """Build the condition from a rule's spec, raising `RuleError` for any bad field."""

    @abstractmethod
    def judge(
        self,
        current: float | None,
        history: Sequence[float | None],
        context: Mapping[str, Any] | None = None,
    ) -> Verdict:
        """Judge ``current`` given ``history`` (previous periods, oldest first)."""


CONDITIONS: dict[str, type[Condition]] = {}

_ConditionClass = TypeVar("_ConditionClass", bound=type[Condition])


def register(cls: _ConditionClass) -> _ConditionClass:
    """Add a condition kind to `CONDITIONS`; refuse anything that is not a new, concrete kind."""
    if not (isinstance(cls, type) and issubclass(cls, Condition)):
        raise TypeError(f"{cls!r} is not a Condition subclass")
    if inspect.isabstract(cls):
        raise TypeError(f"{cls.__name__} is abstract and cannot judge anything")
    kind = getattr(cls, "kind", None)
    if not isinstance(kind, str) or not kind:
        raise TypeError(f"{cls.__name__} has no kind")
    if not isinstance(getattr(cls, "needs_history", None), bool):
        raise TypeError(f"{cls.__name__} does not say whether it needs history")
    if kind in CONDITIONS:
        raise TypeError(f"condition kind {kind!r} is already registered by {CONDITIONS[kind]!r}")
    CONDITIONS[kind] = cls
    return cls


def build_condition(spec: Mapping[str, Any], where: str) -> Condition:
    """Build the condition a rule spec describes; ``where`` names the spec in errors."""
    if not isinstance(spec, Mapping):
        raise RuleError(
            where,
            _("must be a mapping with a kind and its fields, not {value!r}").format(value=spec),
        )
    kind = spec.get("kind")
    if not isinstance(kind, str) or kind not in CONDITIONS:
        raise RuleError(
            f"{where}.kind",
            _("unknown condition kind {kind!r}; use one of {kinds}").format(
                kind=kind, kinds=", ".join(sorted(CONDITIONS))
            ),
        )
    return CONDITIONS[kind].from_spec(spec, where)


# --- reading specs ----------------------------------------------------------------------


class _Fields:
    """Read one condition spec field by field, naming ``where.field`` in every error."""

    def __init__(self, spec: Mapping[str, Any], where: str, allowed: Sequence[str]) -> None:
        if not isinstance(spec, Mapping):
            raise RuleError(
                where, _("must be a mapping of fields, not {value!r}").format(value=spec)
            )
        for name in spec:
            if name != "kind" and name not in allowed:
                raise RuleError(
                    f"{where}.{name}",
                    _("unknown field; use one of {fields}").format(fields=", ".join(allowed)),
                )
        self.spec = spec
        self.where = where

    def at(self, name: str) -> str:
        return f"{self.where}.{name}"

    def given(self, name: str) -> bool:
        return self.spec.get(name) is not None

    def refuse(self, name: str, message: str) -> RuleError:
        return RuleError(self.at(name), message)

    def number(self, name: str, *, positive: bool = False) -> float | None:
        """Return an optional finite number (strictly positive when ``positive``)."""
        value = self.spec.get(name)
        if value is None:
            return None
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise self.refuse(name, _("must be a number, not {value!r}").format(value=value))
        if positive and value <= 0:
            raise self.refuse(name, _("must be greater than 0, not {value!r}").format(value=value))
        return float(value)

    def integer(
        self, name: str, *, minimum: int, maximum: int | None = None, default: int | None = None
    ) -> int:
        """Return a whole number in range; without a ``default`` the field is required."""
        value = self.spec.get(name)
        if value is None:
            if default is None:
                raise self.refuse(name, _("is required"))
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.refuse(name, _("must be a whole number, not {value!r}").format(value=value))
        if value < minimum:
            raise self.refuse(
                name,
                _("must be at least {minimum}, not {value}").format(minimum=minimum, value=value),
            )
        if maximum is not None and value > maximum:
            raise self.refuse(
                name,
                _("must be at most {maximum}, not {value}").format(maximum=maximum, value=value),
            )
        return value

    def choice(self, name: str, choices: Sequence[str], *, default: str | None = None) -> str:
        """Return one of ``choices``; without a ``default`` the field is required."""
        value = self.spec.get(name)
        if value is None:
            if default is None:
                raise self.refuse(
                    name, _("is required; use one of {choices}").format(choices=", ".join(choices))
                )
            return default
        if value not in choices:
            raise self.refuse(
                name,
                _("must be one of {choices}, not {value!r}").format(
                    choices=", ".join(choices), value=value
                ),
            )
        return str(value)

    def boolean(self, name: str) -> bool:
        value = self.spec.get(name)
        if value is None:
            return False
        if not isinstance(value, bool):
            raise self.refuse(name, _("must be true or false, not {value!r}").format(value=value))
        return value

    def levels(self, warning_name: str, danger_name: str) -> tuple[float | None, float | None]:
        """Return positive warning and danger levels; at least one, danger not below warning."""
        warning = self.number(warning_name, positive=True)
        danger = self.number(danger_name, positive=True)
        if warning is None and danger is None:
            raise self.refuse(
                warning_name,
                _("give {warning} or {danger} (or both)").format(
                    warning=warning_name, danger=danger_name
                ),
            )
        if warning is not None and danger is not None and danger < warning:
            raise self.refuse(
                danger_name,
                _("must be at least {warning} ({level})").format(
                    warning=warning_name, level=_number(warning)
                ),
            )
        return warning, danger


# --- shared arithmetic -----------------------------------------------------------------


def _missing(value: float | None) -> bool:
    return value is None or math.isnan(value)


def _reaches(amount: float, level: float) -> bool:
    """Return whether ``amount`` reaches ``level``, allowing for float rounding."""
    return amount >= level - _TOLERANCE * max(1.0, abs(level))


def _grade(amount: float, warning: float | None, danger: float | None) -> Severity:
    """Grade how far a value went in the bad direction against positive levels."""
    if danger is not None and _reaches(amount, danger):
        return "danger"
    if warning is not None and _reaches(amount, warning):
        return "warning"
    return "ok"


def _crossed(severity: Severity, warning: float | None, danger: float | None) -> float | None:
    """Return the level a severity crossed, or the nearest level for ok and no_data."""
    if severity == "danger":
        return danger
    return warning if warning is not None else danger


def _number(value: float) -> str:
    """Format a number for a detail line: whole numbers bare, others to 2 decimals."""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _no_data(
    detail: str,
    *,
    value: float | None = None,
    threshold: float | None = None,
    reference: float | None = None,
) -> Verdict:
    return Verdict("no_data", value, threshold, reference, detail)


def _too_little_history(count: int, needed: int) -> Verdict:
    return _no_data(
        _("only {count} of the {needed} periods needed have data").format(
            count=count, needed=needed
        )
    )


# --- threshold --------------------------------------------------------------------------

_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


@register
@dataclass(frozen=True)
class Threshold(Condition):
    """The value against fixed levels: ``op`` is how a bad value compares with a level.

    ``{op: ">", warning: 24, danger: 48}`` on quote response hours warns from 25 hours and
    is in danger from 49. For ``>``/``>=`` danger must be at or above warning, for ``<``/``<=``
    at or below it.
    """

    kind: ClassVar[str] = "threshold"
    needs_history: ClassVar[bool] = False

    op: str
    warning: float | None
    danger: float | None

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any], where: str) -> Threshold:
        fields = _Fields(spec, where, ("op", "warning", "danger"))
        op = fields.choice("op", tuple(_OPERATORS))
        warning = fields.number("warning")
        danger = fields.number("danger")
        if warning is None and danger is None:
            raise fields.refuse("warning", _("give warning or danger (or both)"))
        if warning is not None and danger is not None:
            if op in (">", ">=") and danger < warning:
                raise fields.refuse(
                    "danger",
                    _("must be at or above the warning level {level} for op {op}").format(
                        level=_number(warning), op=op
                    ),
                )
            if op in ("<", "<=") and danger > warning:
                raise fields.refuse(
                    "danger",
                    _("must be at or below the warning level {level} for op {op}").format(
                        level=_number(warning), op=op
                    ),
                )
        return cls(op=op, warning=warning, danger=danger)

    def judge(
        self,
        current: float | None,
        history: Sequence[float | None],
        context: Mapping[str, Any] | None = None,
    ) -> Verdict:
        nearest = self.warning if self.warning is not None else self.danger
        if current is None or _missing(current):
            return _no_data(_("no value for this period"), threshold=nearest)
        compare = _OPERATORS[self.op]
        if self.danger is not None and compare(current, self.danger):
            return Verdict(
                "danger",
                current,
                self.danger,
                detail=_("{value} is past the danger level ({op} {level})").format(
                    value=_number(current), op=self.op, level=_number(self.danger)
                ),
            )
        if self.warning is not None and compare(current, self.warning):
            return Verdict(
                "warning",
                current,
                self.warning,
                detail=_("{value} is past the warning level ({op} {level})").format(
                    value=_number(current), op=self.op, level=_number(self.warning)
                ),
            )
        return Verdict(
            "ok",
            current,
            nearest,
            detail=_("{value} is within the levels").format(value=_number(current)),
        )


# --- baseline ---------------------------------------------------------------------------


@register
@dataclass(frozen=True)
class Baseline(Condition):
    """The value against the entity's own recent history.

    Rolling form: the last ``window`` history entries give a centre and a spread, ``mean``
    with the sample standard deviation (n - 1) or ``median`` with the median absolute
    deviation scaled by 1.4826 (robust to one odd week). Levels are either ``warning_k`` /
    ``danger_k`` (spreads away from the centre) or ``warning_pct`` / ``danger_pct`` (percent
    of the centre), in ``direction`` ``below`` (default) or ``above``. Fewer than
    ``min_periods`` (default ``window``) non-missing values give ``no_data``.

    TRICKY: a history that never varied (or, for the median, where most values are equal)
    has spread 0, so any departure beyond rounding is infinitely many spreads away; it then
    takes the highest level configured (danger when ``danger_k`` is given, else warning),
    and no departure is ``ok``.

    ``recent`` (default 1) judges the mean of the last ``recent`` periods (the current one
    and those just before it) against the ``window`` periods before them, so a change that
    started a few periods ago is not hidden by a baseline it has already dragged down.

    ``same_period_last_year: true`` with ``period_lag`` (52 weekly, 12 monthly) instead
    compares with ``history[-period_lag]`` using pct levels; that period missing gives
    ``no_data``. A centre of 0 cannot anchor a percentage and gives ``no_data``.
    """

    kind: ClassVar[str] = "baseline"
    needs_history: ClassVar[bool] = True

    window: int
    method: str
    direction: str
    warning_k: float | None
    danger_k: float | None
    warning_pct: float | None
    danger_pct: float | None
    min_periods: int
    period_lag: int | None = None
    recent: int = 1

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any], where: str) -> Baseline:
        fields = _Fields(
            spec,
            where,
            (
                "window",
                "method",
                "direction",
                "warning_k",
                "danger_k",
                "warning_pct",
                "danger_pct",
                "min_periods",
                "same_period_last_year",
                "period_lag",
                "recent",
            ),
        )
        direction = fields.choice("direction", ("below", "above"), default="below")
        k_style = fields.given("warning_k") or fields.given("danger_k")
        pct_style = fields.given("warning_pct") or fields.given("danger_pct")
        if fields.boolean("same_period_last_year"):
            for name in ("window", "method", "min_periods", "warning_k", "danger_k", "recent"):
                if fields.given(name):
                    raise fields.refuse(
                        name,
                        _(
                            "is not used with same_period_last_year, which compares with one "
                            "period by percent"
                        ),
                    )
            warning_pct, danger_pct = fields.levels("warning_pct", "danger_pct")
            return cls(
                window=1,
                method="mean",
                direction=direction,
                warning_k=None,
                danger_k=None,
                warning_pct=warning_pct,
                danger_pct=danger_pct,
                min_periods=1,
                period_lag=fields.integer("period_lag", minimum=1),
            )
        if fields.given("period_lag"):
            raise fields.refuse("period_lag", _("is only used with same_period_last_year: true"))
        window = fields.integer("window", minimum=2)
        method = fields.choice("method", ("mean", "median"), default="mean")
        min_periods = fields.integer("min_periods", minimum=2, maximum=window, default=window)
        recent = fields.integer("recent", minimum=1, maximum=52, default=1)
        if k_style and pct_style:
            raise fields.refuse(
                "warning_pct" if fields.given("warning_pct") else "danger_pct",
                _("use either warning_k/danger_k or warning_pct/danger_pct, not both"),
            )
        warning_k = danger_k = warning_pct = danger_pct = None
        if pct_style:
            warning_pct, danger_pct = fields.levels("warning_pct", "danger_pct")
        else:
            warning_k, danger_k = fields.levels("warning_k", "danger_k")
        return cls(
            window=window,
            method=method,
            direction=direction,
            warning_k=warning_k,
            danger_k=danger_k,
            warning_pct=warning_pct,
            danger_pct=danger_pct,
            min_periods=min_periods,
            recent=recent,
        )

    def judge(
        self,
        current: float | None,
        history: Sequence[float | None],
        context: Mapping[str, Any] | None = None,
    ) -> Verdict:
        if self.period_lag is not None:
            return self._judge_same_period_last_year(current, history)
        if self.recent > 1:
            latest = [*history[len(history) - (self.recent - 1) :], current]
            if len(history) < self.recent - 1 or any(v is None or _missing(v) for v in latest):
                current = None
            else:
                current = float(statistics.mean(v for v in latest if v is not None))
            history = history[: len(history) - (self.recent - 1)]
        values = [value for value in history[-self.window :] if value is not None]
        values = [value for value in values if not math.isnan(value)]
        if len(values) < self.min_periods:
            return _too_little_history(len(values), self.min_periods)
        if self.method == "median":
            centre = float(statistics.median(values))
            spread = MAD_SCALE * float(statistics.median(abs(value - centre) for value in values))
        else:
            centre = float(statistics.mean(values))
            spread = statistics.stdev(values)
        if current is None or _missing(current):
            return _no_data(_("no value for this period"), reference=centre)
        if self.warning_pct is not None or self.danger_pct is not None:
            return self._judge_percent(current, centre, self._rolling_label(centre))
        return self._judge_spread(current, centre, spread)

    def _sign(self) -> float:
        return -1.0 if self.direction == "below" else 1.0

    def _rolling_label(self, centre: float) -> str:
        method = _("mean") if self.method == "mean" else _("median")
        return _("the {window}-period {method} {centre}").format(
            window=self.window, method=method, centre=_number(centre)
        )

    def _judge_spread(self, current: float, centre: float, spread: float) -> Verdict:
        shortfall = (current - centre) * self._sign()  # > 0 means in the bad direction
        side = _("below") if current < centre else _("above")
        label = self._rolling_label(centre)
        if spread == 0:
            moved = shortfall > _TOLERANCE * max(1.0, abs(centre))
            severity: Severity = "ok"
            if moved:
                severity = "danger" if self.danger_k is not None else "warning"
            return Verdict(
                severity,
                current,
                centre,
                centre,
                _("{value} is {side} {baseline}, whose spread is 0").format(
                    value=_number(current), side=side, baseline=label
                )
                if moved
                else _("{value} equals {baseline}, whose spread is 0").format(
                    value=_number(current), baseline=label
                ),
            )
        sigmas = shortfall / spread
        severity = _grade(sigmas, self.warning_k, self.danger_k)
        level = _crossed(severity, self.warning_k, self.danger_k)
        threshold = None if level is None else centre + self._sign() * level * spread
        return Verdict(
            severity,
            current,
            threshold,
            centre,
            _("{value} is {sigmas}σ {side} {baseline}").format(
                value=_number(current),
                sigmas=_number(abs(current - centre) / spread),
                side=side,
                baseline=label,
            ),
        )

    def _judge_percent(self, current: float, centre: float, label: str) -> Verdict:
        if centre == 0:
            return _no_data(
                _("{baseline} is 0, so no percentage can be taken").format(baseline=label),
                value=current,
                reference=centre,
            )
        percent = (current - centre) * 100 / abs(centre)
        severity = _grade(percent * self._sign(), self.warning_pct, self.danger_pct)
        level = _crossed(severity, self.warning_pct, self.danger_pct)
        threshold = None if level is None else centre + self._sign() * level * abs(centre) / 100
        return Verdict(
            severity,
            current,
            threshold,
            centre,
            _("{value} is {percent}% {side} {baseline}").format(
                value=_number(current),
                percent=_number(abs(percent)),
                side=_("below") if percent < 0 else _("above"),
                baseline=label,
            ),
        )

    def _judge_same_period_last_year(
        self, current: float | None, history: Sequence[float | None]
    ) -> Verdict:
        assert self.period_lag is not None
        if len(history) < self.period_lag:
            return _too_little_history(len(history), self.period_lag)
        last_year = history[-self.period_lag]
        if last_year is None or _missing(last_year):
            return _no_data(_("no value for the same period last year"))
        if current is None or _missing(current):
            return _no_data(_("no value for this period"), reference=last_year)
        label = _("the same period last year ({value})").format(value=_number(last_year))
        return self._judge_percent(current, last_year, label)


# --- change -----------------------------------------------------------------------------


@register
@dataclass(frozen=True)
class Change(Condition):
    """Period-over-period change in percent.

    ``lag`` 1 is week on week (or month on month), 52 or 12 is year on year.
    ``direction: drop`` (default) fires on falls of at least ``warning_pct`` / ``danger_pct``
    percent, ``rise`` on rises. The verdict's value is the signed change (negative for a
    drop), its threshold the signed level. A previous value of 0 or missing gives
    ``no_data``: no percentage can be taken.
    """

    kind: ClassVar[str] = "change"
    needs_history: ClassVar[bool] = True

    lag: int
    direction: str
    warning_pct: float | None
    danger_pct: float | None

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any], where: str) -> Change:
        fields = _Fields(spec, where, ("lag", "direction", "warning_pct", "danger_pct"))
        lag = fields.integer("lag", minimum=1, default=1)
        direction = fields.choice("direction", ("drop", "rise"), default="drop")
        warning_pct, danger_pct = fields.levels("warning_pct", "danger_pct")
        return cls(lag=lag, direction=direction, warning_pct=warning_pct, danger_pct=danger_pct)

    def judge(
        self,
        current: float | None,
        history: Sequence[float | None],
        context: Mapping[str, Any] | None = None,
    ) -> Verdict:
        if len(history) < self.lag:
            return _too_little_history(len(history), self.lag)
        previous = history[-self.lag]
        if previous is None or _missing(previous):
            return _no_data(_("no value {lag} periods earlier").format(lag=self.lag))
        if previous == 0:
            return _no_data(
                _("the value {lag} periods earlier is 0, so no percentage can be taken").format(
                    lag=self.lag
                ),
                reference=previous,
            )
        if current is None or _missing(current):
            return _no_data(_("no value for this period"), reference=previous)
        change = (current - previous) * 100 / abs(previous)
        sign = -1.0 if self.direction == "drop" else 1.0
        severity = _grade(change * sign, self.warning_pct, self.danger_pct)
        level = _crossed(severity, self.warning_pct, self.danger_pct)
        return Verdict(
            severity,
            change,
            None if level is None else sign * level,
            previous,
            _("from {previous} to {value} ({change}%) over {lag} period(s)").format(
                change=_number(change),
                previous=_number(previous),
                value=_number(current),
                lag=self.lag,
            ),
        )


# --- consecutive ------------------------------------------------------------------------


@register
@dataclass(frozen=True)
class Consecutive(Condition):
    """The inner condition ``when`` held for ``periods`` periods running.

    Each of the last N periods (the current one and N - 1 before it) is judged by ``when``
    with the history before that period and the same ``context``. The outcome:

    - the current period is ``no_data`` -> ``no_data`` (as for every kind);
    - any of the N is ``ok`` -> ``ok``: the run is broken whatever the missing periods held;
    - all N fire -> the least severe of them (all danger -> danger, else warning);
    - otherwise (some fire, some ``no_data``) -> ``no_data``: the run cannot be confirmed.

    History shorter than N - 1 periods gives ``no_data``. Value, threshold and reference are
    those of the current period's inner verdict.
    """

    kind: ClassVar[str] = "consecutive"
    needs_history: ClassVar[bool] = True

    periods: int
    when: Condition

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any], where: str) -> Consecutive:
        fields = _Fields(spec, where, ("periods", "when"))
        periods = fields.integer("periods", minimum=2)
        inner = spec.get("when")
        if inner is None:
            raise fields.refuse("when", _("is required: the condition that must hold"))
        if isinstance(inner, Mapping) and inner.get("kind") == cls.kind:
            raise RuleError(
                fields.at("when") + ".kind",
                _("a consecutive condition cannot nest another; raise periods instead"),
            )
        return cls(periods=periods, when=build_condition(inner, fields.at("when")))

    def judge(
        self,
        current: float | None,
        history: Sequence[float | None],
        context: Mapping[str, Any] | None = None,
    ) -> Verdict:
        if len(history) < self.periods - 1:
            return _too_little_history(len(history) + 1, self.periods)
        series = [*history, current]
        first = len(series) - self.periods
        verdicts = [
            self.when.judge(series[index], series[:index], context)
            for index in range(first, len(series))
        ]
        latest = verdicts[-1]
        severities = [verdict.severity for verdict in verdicts]
        if latest.severity == "no_data":
            return latest
        if "ok" in severities:
            severity: Severity = "ok"
            detail = _("not held for {periods} periods running: {detail}")
        elif "no_data" in severities:
            severity = "no_data"
            detail = _("a missing period leaves the run of {periods} unconfirmed: {detail}")
        else:
            severity = min(severities, key=_RANK.__getitem__)
            detail = _("held for {periods} periods running: {detail}")
        return Verdict(
            severity,
            latest.value,
            latest.threshold,
            latest.reference,
            detail.format(periods=self.periods, detail=latest.detail),
        )


# --- trend ------------------------------------------------------------------------------


def _regularized_incomplete_beta(a: float, b: float, x: float) -> float:
    """Return I_x(a, b) by its continued fraction (Numerical Recipes, ``betai``)."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    # The fraction converges fast only below the mean of the beta distribution; above it,
    # use the symmetry I_x(a, b) = 1 - I_{1-x}(b, a).
    if x < (a + 1) / (a + b + 2):
        return math.exp(log_front) * _beta_continued_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_continued_fraction(b, a, 1.0 - x) / b


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    """Evaluate the incomplete beta continued fraction by the modified Lentz method."""
    tiny = 1e-300

    def guard(value: float) -> float:
        return tiny if abs(value) < tiny else value

    c = 1.0
    d = 1.0 / guard(1.0 - (a + b) * x / (a + 1))
    result = d
    for m in range(1, 500):
        even = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
        d = 1.0 / guard(1.0 + even * d)
        c = guard(1.0 + even / c)
        result *= d * c
        odd = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
        d = 1.0 / guard(1.0 + odd * d)
        c = guard(1.0 + odd / c)
        step = d * c
        result *= step
        if abs(step - 1.0) < 1e-15:
            break
    return result


def student_t_cdf(t: float, df: float) -> float:
    """Return P(T <= t) for Student's t distribution with ``df`` degrees of freedom."""
    if df <= 0:
        raise ValueError("degrees of freedom must be positive")
    if math.isinf(t):
        return 1.0 if t > 0 else 0.0
    tail = 0.5 * _regularized_incomplete_beta(df / 2, 0.5, df / (df + t * t))
    return 1.0 - tail if t > 0 else tail


@lru_cache(maxsize=256)
def student_t_quantile(p: float, df: float) -> float:
    """Return t such that P(T <= t) = p, found by bisection on `student_t_cdf`."""
    if not 0 < p < 1:
        raise ValueError("p must be strictly between 0 and 1")
    if p < 0.5:
        return -student_t_quantile(1 - p, df)
    low, high = 0.0, 1.0
    while student_t_cdf(high, df) < p:
        low, high = high, high * 2
    for _step in range(200):
        middle = (low + high) / 2
        if student_t_cdf(middle, df) < p:
            low = middle
        else:
            high = middle
        if high - low < 1e-12 * max(1.0, high):
            break
    return (low + high) / 2


@register
@dataclass(frozen=True)
class Trend(Condition):
    """A significant least-squares slope over the last ``periods`` values, current included.

    Missing values are skipped (the others keep their positions); fewer than 3 points give
    ``no_data``. The slope is significant in ``direction`` (``up`` or ``down``) when its t
    statistic reaches the one-sided Student t critical value at ``alpha`` (default 0.05)
    with n - 2 degrees of freedom: that is a warning. It is a danger when, in addition, the
    change the slope implies over the window, ``slope * (periods - 1) / |mean|``, reaches
    ``danger_pct`` percent (when given). The verdict's value is the slope per period; its
    threshold the slope that would just reach the level (significance for warning and ok,
    ``danger_pct`` for danger); its reference the mean of the points.
    """

    kind: ClassVar[str] = "trend"
    needs_history: ClassVar[bool] = True

    periods: int
    direction: str
    alpha: float
    danger_pct: float | None

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any], where: str) -> Trend:
        fields = _Fields(spec, where, ("periods", "direction", "alpha", "danger_pct"))
        periods = fields.integer("periods", minimum=3)
        direction = fields.choice("direction", ("up", "down"))
        alpha = fields.number("alpha", positive=True)
        if alpha is not None and alpha >= 0.5:
            raise fields.refuse(
                "alpha", _("must be below 0.5, not {value}").format(value=_number(alpha))
            )
        danger_pct = fields.number("danger_pct", positive=True)
        return cls(
            periods=periods,
            direction=direction,
            alpha=0.05 if alpha is None else alpha,
            danger_pct=danger_pct,
        )

    def judge(
        self,
        current: float | None,
        history: Sequence[float | None],
        context: Mapping[str, Any] | None = None,
    ) -> Verdict:
        series = [*history[-(self.periods - 1) :], current]
        points = [
            (float(position), value)
            for position, value in enumerate(series)
            if value is not None and not math.isnan(value)
        ]
        if len(points) < 3:
            return _too_little_history(len(points), 3)
        count = len(points)
        mean_x = statistics.mean(x for x, _y in points)
        mean_y = float(statistics.mean(y for _x, y in points))
        sxx = sum((x - mean_x) ** 2 for x, _y in points)
        slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / sxx
        intercept = mean_y - slope * mean_x
        residuals = sum((y - intercept - slope * x) ** 2 for x, y in points)
        degrees = count - 2
        standard_error = math.sqrt(residuals / degrees / sxx)
        sign = 1.0 if self.direction == "up" else -1.0
        critical = student_t_quantile(1 - self.alpha, degrees)
        # TRICKY: a flat series can leave a slope of 1e-17 with residuals of 1e-33 and so a
        # huge t; a slope that moves the value by less than rounding is no trend.
        negligible = abs(slope) * (self.periods - 1) <= _TOLERANCE * max(1.0, abs(mean_y))
        if negligible:
            t_statistic = 0.0
        elif standard_error == 0:
            t_statistic = math.copysign(math.inf, slope)
        else:
            t_statistic = slope / standard_error
        significant = t_statistic * sign >= critical
        severity: Severity = "ok"
        threshold = sign * critical * standard_error
        if significant:
            severity = "warning"
            if self.danger_pct is not None and mean_y != 0:
                relative = slope * sign * (self.periods - 1) / abs(mean_y) * 100
                if _reaches(relative, self.danger_pct):
                    severity = "danger"
                    threshold = sign * self.danger_pct / 100 * abs(mean_y) / (self.periods - 1)
        return Verdict(
            severity,
            slope,
            threshold,
            mean_y,
            _("slope {slope} per period over {count} points (t = {t}, needs {critical})").format(
                slope=_number(slope),
                count=count,
                t=_number(t_statistic) if math.isfinite(t_statistic) else "∞",
                critical=_number(critical),
            ),
        )


# --- cadence ----------------------------------------------------------------------------


@register
@dataclass(frozen=True)
class Cadence(Condition):
    """Follow-ups in the metric's window against what the customer's tier requires.

    ``required`` maps tier to the activities required in the window, e.g.
    ``{A: 4, B: 2, C: 1}``; ``danger_days`` (optional) maps tier to a number of days. The
    value judged is the count of activities; ``context["tier"]`` picks the requirement.

    - fewer than required -> warning;
    - none at all and ``context["days_since_last"]`` at least ``danger_days[tier]`` -> danger
      (``days_since_last`` of ``None`` means never contacted, which counts as beyond any
      limit; an absent key counts as 0 days);
    - a tier not listed in ``required`` has no requirement -> ok;
    - no tier in the context, or no count -> ``no_data``.

    The verdict's threshold is the required count, its reference the days since last contact.
    """

    kind: ClassVar[str] = "cadence"
    needs_history: ClassVar[bool] = False

    # Tuples of (tier, count) rather than dicts keep the frozen dataclass hashable.
    required: tuple[tuple[str, int], ...]
    danger_days: tuple[tuple[str, int], ...] = ()

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any], where: str) -> Cadence:
        fields = _Fields(spec, where, ("required", "danger_days"))
        required = cls._tier_counts(fields, "required", minimum=0)
        if not required:
            raise fields.refuse("required", _("is required: a count per tier, such as A: 2"))
        danger_days = cls._tier_counts(fields, "danger_days", minimum=1)
        unknown = sorted(set(danger_days) - set(required))
        if unknown:
            raise fields.refuse(
                "danger_days",
                _("names tiers without a required count: {tiers}").format(tiers=", ".join(unknown)),
            )
        return cls(required=tuple(required.items()), danger_days=tuple(danger_days.items()))

    @staticmethod
    def _tier_counts(fields: _Fields, name: str, *, minimum: int) -> dict[str, int]:
        value = fields.spec.get(name)
        if value is None:
            return {}
        if not isinstance(value, Mapping) or not value:
            raise fields.refuse(
                name, _("must map each tier to a whole number, not {value!r}").format(value=value)
            )
        counts: dict[str, int] = {}
        for tier, count in value.items():
            if not isinstance(tier, str) or not tier:
                raise fields.refuse(name, _("tier {tier!r} must be a text").format(tier=tier))
            if isinstance(count, bool) or not isinstance(count, int) or count < minimum:
                raise RuleError(
                    f"{fields.at(name)}.{tier}",
                    _("must be a whole number of at least {minimum}, not {value!r}").format(
                        minimum=minimum, value=count
                    ),
                )
            counts[tier] = count
        return counts

    def judge(
        self,
        current: float | None,
        history: Sequence[float | None],
        context: Mapping[str, Any] | None = None,
    ) -> Verdict:
        tier = (context or {}).get("tier")
        if tier is None:
            return _no_data(_("the customer has no tier"), value=current)
        required = dict(self.required).get(str(tier))
        if required is None:
            return Verdict(
                "ok",
                current,
                None,
                detail=_("tier {tier} has no required cadence").format(tier=tier),
            )
        if current is None or _missing(current):
            return _no_data(_("no value for this period"), threshold=float(required))
        days_since_last = (context or {}).get("days_since_last", 0)
        reference = None if days_since_last is None else float(days_since_last)
        numbers = {"count": _number(current), "required": required, "tier": tier}
        if current >= required:
            return Verdict(
                "ok",
                current,
                float(required),
                reference,
                _("{count} activities; tier {tier} requires {required}").format(**numbers),
            )
        danger_days = dict(self.danger_days).get(str(tier))
        if (
            danger_days is not None
            and current == 0
            and (days_since_last is None or days_since_last >= danger_days)
        ):
            return Verdict(
                "danger",
                current,
                float(required),
                reference,
                _("never contacted; tier {tier} allows {limit} days without activity").format(
                    tier=tier, limit=danger_days
                )
                if days_since_last is None
                else _("no activity for {days} days; tier {tier} allows {limit}").format(
                    days=_number(days_since_last), tier=tier, limit=danger_days
                ),
            )
        return Verdict(
            "warning",
            current,
            float(required),
            reference,
            _("{count} activities; tier {tier} requires {required}").format(**numbers),
        )


# --- the `for` clause -------------------------------------------------------------------


@dataclass(frozen=True)
class ForClause:
    """How long a condition must hold before an alert fires.

    Either a ``duration`` (``"48h"``), or ``n`` of the last ``m`` evaluations (``"3 of 4"``),
    or neither: fire at once.
    """

    duration: timedelta | None = None
    n: int | None = None
    m: int | None = None

    def __post_init__(self) -> None:
        if (self.n is None) != (self.m is None):
            raise ValueError("give both n and m, or neither")
        if self.duration is not None and self.n is not None:
            raise ValueError("give a duration or n of m, not both")
        if self.n is not None and self.m is not None and not 1 <= self.n <= self.m:
            raise ValueError("n must be from 1 to m")

    @property
    def is_immediate(self) -> bool:
        """Return whether the clause asks for no waiting."""
        return self.duration is None and self.n is None


_DURATION = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
_N_OF_M = re.compile(r"^\s*(\d+)\s+of\s+(\d+)\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_MAX_EVALUATIONS = 1000


def parse_for(spec: str | int | None, where: str) -> ForClause:
    """Parse a rule's ``for``; ``where`` names the ``for`` field itself in errors.

    Accepts ``None`` (fire at once), a duration ``"30m"``, ``"48h"``, ``"7d"``, ``"2w"``
    (zero means at once), ``"N of M"`` evaluations, or a whole number N meaning N
    evaluations in a row (``N of N``).
    """
    if spec is None:
        return ForClause()
    if isinstance(spec, bool):
        raise RuleError(
            where, _("must be a duration or 'N of M', not {value!r}").format(value=spec)
        )
    if isinstance(spec, int):
        if not 0 <= spec <= _MAX_EVALUATIONS:
            raise RuleError(
                where,
                _("must be from 0 to {maximum} evaluations, not {value}").format(
                    maximum=_MAX_EVALUATIONS, value=spec
                ),
            )
        return ForClause() if spec == 0 else ForClause(n=spec, m=spec)
    if isinstance(spec, str):
        duration = _DURATION.match(spec)
        if duration:
            amount = int(duration.group(1))
            if amount == 0:
                return ForClause()
            return ForClause(duration=timedelta(**{_UNITS[duration.group(2)]: amount}))
        n_of_m = _N_OF_M.match(spec)
        if n_of_m:
            n, m = int(n_of_m.group(1)), int(n_of_m.group(2))
            if not 1 <= n <= m <= _MAX_EVALUATIONS:
                raise RuleError(
                    where,
                    _(
                        "in 'N of M', N must be from 1 to M and M at most {maximum}: {value!r}"
                    ).format(maximum=_MAX_EVALUATIONS, value=spec),
                )
            return ForClause(n=n, m=m)
    raise RuleError(
        where,
        _(
            "must be a duration such as 30m, 48h, 7d or 2w, or 'N of M' such as '3 of 4', "
            "not {value!r}"
        ).format(value=spec),
    )


def n_of_m(verdicts: Sequence[Verdict], n: int, m: int) -> bool:
    """Return whether at least ``n`` of the last ``m`` verdicts are warning or danger."""
    if not 1 <= n <= m:
        raise ValueError("n must be from 1 to m")
    return sum(1 for verdict in verdicts[-m:] if verdict.fires) >= n
