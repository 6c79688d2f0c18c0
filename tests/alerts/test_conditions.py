"""Condition kinds of the rule engine, judged on plain lists: no database needed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from salesradar.alerts import conditions
from salesradar.alerts.conditions import (
    CONDITIONS,
    Condition,
    ForClause,
    RuleError,
    Threshold,
    Verdict,
    build_condition,
    n_of_m,
    parse_for,
    register,
    student_t_quantile,
)

WHERE = "rules.yaml: rule r: condition"


def build(**spec: Any) -> Condition:
    return build_condition(spec, WHERE)


def verdict(severity: conditions.Severity) -> Verdict:
    return Verdict(severity, None, None)


# --- threshold ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [(24, "ok"), (25, "warning"), (48, "warning"), (49, "danger"), (None, "no_data")],
)
def test_threshold_grades_quote_response_hours(value: float | None, expected: str) -> None:
    condition = build(kind="threshold", op=">", warning=24, danger=48)
    assert condition.judge(value, []).severity == expected


def test_threshold_reports_the_level_crossed() -> None:
    condition = build(kind="threshold", op="<=", warning=3, danger=1)
    assert condition.judge(1, []) == Verdict("danger", 1, 1.0, detail=condition.judge(1, []).detail)
    assert condition.judge(2, []).threshold == 3.0
    assert condition.judge(5, []).threshold == 3.0  # ok reports the nearest level


# --- baseline -----------------------------------------------------------------------------


def test_baseline_mean_with_sample_deviation() -> None:
    # mean of [10, 12, 8, 10] = 10; sample sd = sqrt((0 + 4 + 4 + 0) / 3) = 1.633.
    # current 6 is (10 - 6) / 1.633 = 2.45σ below -> danger at danger_k 2;
    # current 8 is 1.22σ below -> warning at warning_k 1; current 9 is 0.61σ -> ok.
    condition = build(kind="baseline", window=4, warning_k=1, danger_k=2)
    danger = condition.judge(6, [10, 12, 8, 10])
    assert danger.severity == "danger"
    assert danger.reference == 10
    assert danger.threshold == pytest.approx(10 - 2 * 1.63299, abs=1e-4)
    assert "2.45σ below the 4-period mean 10" in danger.detail
    assert condition.judge(8, [10, 12, 8, 10]).severity == "warning"
    assert condition.judge(9, [10, 12, 8, 10]).severity == "ok"
    assert condition.judge(20, [10, 12, 8, 10]).severity == "ok"  # above is not below
    assert condition.judge(6, [100, 10, 12, 8, 10]).severity == "danger"  # window 4 drops 100


def test_baseline_median_uses_scaled_mad_and_shrugs_off_an_outlier() -> None:
    # median of [10, 10, 11, 9, 50] = 10; absolute deviations [0, 0, 1, 1, 40] -> MAD 1;
    # sigma = 1.4826. current 6 is 4 / 1.4826 = 2.70σ below -> danger at danger_k 2.5.
    condition = build(kind="baseline", window=5, method="median", danger_k=2.5)
    result = condition.judge(6, [10, 10, 11, 9, 50])
    assert (result.severity, result.reference) == ("danger", 10)
    assert "2.7σ below the 5-period median 10" in result.detail


def test_baseline_percent_above() -> None:
    # mean of [100, 100, 100] = 100; 125 is 25% above -> warning at 20, not danger at 30.
    condition = build(kind="baseline", window=3, direction="above", warning_pct=20, danger_pct=30)
    result = condition.judge(125, [100, 100, 100])
    assert (result.severity, result.threshold) == ("warning", 120)


def test_baseline_flat_history_any_shortfall_is_the_highest_level() -> None:
    # history never varied (sd 0): 4 below a constant 5 is infinitely many σ.
    flat = [5, 5, 5]
    assert (
        build(kind="baseline", window=3, warning_k=1, danger_k=3).judge(4, flat).severity
        == "danger"
    )
    assert build(kind="baseline", window=3, warning_k=1).judge(4, flat).severity == "warning"
    assert build(kind="baseline", window=3, danger_k=3).judge(5, flat).severity == "ok"


def test_baseline_with_too_little_history_is_no_data_never_ok() -> None:
    condition = build(kind="baseline", window=4, min_periods=3, warning_k=1)
    assert condition.judge(10, [10, None, 10]).severity == "no_data"  # 2 of 3 needed
    assert condition.judge(10, [10, None, 10, 10]).severity == "ok"
    assert condition.judge(None, [10, 10, 10, 10]).severity == "no_data"


def test_baseline_same_period_last_year() -> None:
    # weekly, lag 52: history[-52] = 200; current 150 is 25% below -> warning at 20.
    condition = build(
        kind="baseline", same_period_last_year=True, period_lag=52, warning_pct=20, danger_pct=40
    )
    history: list[float | None] = [200.0, *([1.0] * 51)]
    result = condition.judge(150, history)
    assert (result.severity, result.reference, result.threshold) == ("warning", 200, 160)
    assert condition.judge(150, history[1:]).severity == "no_data"  # too short
    assert condition.judge(150, [None, *history[1:]]).severity == "no_data"  # missing


# --- change -------------------------------------------------------------------------------


def test_change_week_on_week_drop() -> None:
    # (8 - 10) / 10 = -20% -> danger at exactly danger_pct 20; -15% -> warning at 10.
    condition = build(kind="change", warning_pct=10, danger_pct=20)
    result = condition.judge(8, [10])
    assert (result.severity, result.value, result.threshold, result.reference) == (
        "danger",
        -20,
        -20,
        10,
    )
    assert condition.judge(8.5, [10]).severity == "warning"
    assert condition.judge(12, [10]).severity == "ok"


def test_change_year_on_year_rise_and_no_data() -> None:
    condition = build(kind="change", lag=3, direction="rise", warning_pct=50)
    assert condition.judge(15, [10, 99, 99]).severity == "warning"  # +50% against history[-3]
    assert condition.judge(15, [99, 99]).severity == "no_data"  # too short
    assert condition.judge(15, [0, 99, 99]).severity == "no_data"  # no percentage of 0
    assert condition.judge(15, [None, 99, 99]).severity == "no_data"


# --- consecutive --------------------------------------------------------------------------

BELOW_FIVE = {"kind": "threshold", "op": "<", "warning": 5, "danger": 2}


@pytest.mark.parametrize(
    ("current", "history", "expected"),
    [
        (1, [9, 1, 0], "danger"),  # 1, 0, 1: all danger
        (1, [9, 4, 0], "warning"),  # 4, 0, 1: the least severe is warning
        (1, [0, 9, 1], "ok"),  # 9 breaks the run
        (1, [9, None, 1], "no_data"),  # a missing period leaves the run unconfirmed
        (1, [9, 9, None], "ok"),  # a run already broken stays broken
        (None, [1, 1, 1], "no_data"),
        (1, [1], "no_data"),  # too short for 3 periods
    ],
)
def test_consecutive_needs_every_period_of_the_run(
    current: float | None, history: list[float | None], expected: str
) -> None:
    condition = build(kind="consecutive", periods=3, when=BELOW_FIVE)
    assert condition.judge(current, history).severity == expected


def test_consecutive_judges_each_period_with_its_own_history() -> None:
    # Two weeks running below the 3-week mean: week [6] vs mean(10, 10, 10), [5] vs
    # mean(10, 10, 6) = 8.67 -> both at least 20% below.
    when = {"kind": "baseline", "window": 3, "warning_pct": 20}
    condition = build(kind="consecutive", periods=2, when=when)
    assert condition.judge(5, [10, 10, 10, 6]).severity == "warning"
    assert condition.judge(5, [10, 10, 10, 10]).severity == "ok"


# --- trend --------------------------------------------------------------------------------


def test_t_quantile_matches_the_tables() -> None:
    assert student_t_quantile(0.95, 5) == pytest.approx(2.015, abs=5e-4)
    assert student_t_quantile(0.95, 10) == pytest.approx(1.812, abs=5e-4)
    assert student_t_quantile(0.975, 1) == pytest.approx(12.706, abs=5e-4)
    assert student_t_quantile(0.05, 5) == pytest.approx(-2.015, abs=5e-4)


def test_a_clean_rising_sales_cycle_is_a_significant_trend() -> None:
    # [10, 11, 12, 14, 15, 16]: slope 1.257/period, t = 17.96 > t_{0.95,4} = 2.132; mean 13,
    # change over the window 1.257 * 5 / 13 = 48% >= danger_pct 20 -> danger.
    condition = build(kind="trend", periods=6, direction="up", danger_pct=20)
    result = condition.judge(16, [10, 11, 12, 14, 15])
    assert result.severity == "danger"
    assert result.value == pytest.approx(1.2571, abs=1e-4)
    rising = [10, 11, 12, 14, 15]
    assert build(kind="trend", periods=6, direction="up").judge(16, rising).severity == "warning"
    assert build(kind="trend", periods=6, direction="down").judge(16, rising).severity == "ok"


def test_noise_is_not_a_trend_and_short_series_are_no_data() -> None:
    condition = build(kind="trend", periods=6, direction="up")
    assert condition.judge(11, [10, 13, 9, 12, 10]).severity == "ok"
    assert condition.judge(5, [5, 5, 5, 5, 5]).severity == "ok"
    assert condition.judge(3, [None, 1, None, None, None]).severity == "no_data"  # 2 points


# --- cadence ------------------------------------------------------------------------------


def test_cadence_against_the_tier_requirement() -> None:
    condition = build(kind="cadence", required={"A": 4, "B": 2}, danger_days={"A": 14})
    assert condition.judge(4, [], {"tier": "A"}).severity == "ok"
    assert condition.judge(1, [], {"tier": "A"}).severity == "warning"
    assert condition.judge(0, [], {"tier": "A", "days_since_last": 13}).severity == "warning"
    assert condition.judge(0, [], {"tier": "A", "days_since_last": 14}).severity == "danger"
    assert condition.judge(0, [], {"tier": "A", "days_since_last": None}).severity == "danger"
    assert condition.judge(0, [], {"tier": "B", "days_since_last": 99}).severity == "warning"
    assert condition.judge(0, [], {"tier": "C"}).severity == "ok"  # no requirement
    assert condition.judge(0, [], {}).severity == "no_data"


# --- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"kind": "threshold", "warning": 1}, "op"),
        ({"kind": "threshold", "op": "!=", "warning": 1}, "op"),
        ({"kind": "threshold", "op": ">"}, "warning"),
        ({"kind": "threshold", "op": ">", "warning": "10"}, "warning"),
        ({"kind": "threshold", "op": ">", "warning": 10, "danger": 5}, "danger"),
        ({"kind": "threshold", "op": "<", "warning": 5, "danger": 10}, "danger"),
        ({"kind": "threshold", "op": ">", "warning": 1, "colour": "red"}, "colour"),
        ({"kind": "baseline", "warning_k": 1}, "window"),
        ({"kind": "baseline", "window": 4.5, "warning_k": 1}, "window"),
        ({"kind": "baseline", "window": 4, "method": "mode", "warning_k": 1}, "method"),
        ({"kind": "baseline", "window": 4, "direction": "down", "warning_k": 1}, "direction"),
        ({"kind": "baseline", "window": 4, "warning_k": -1}, "warning_k"),
        ({"kind": "baseline", "window": 4, "warning_k": 2, "danger_k": 1}, "danger_k"),
        ({"kind": "baseline", "window": 4, "warning_k": 1, "warning_pct": 10}, "warning_pct"),
        ({"kind": "baseline", "window": 4}, "warning_k"),
        ({"kind": "baseline", "window": 4, "min_periods": 5, "warning_k": 1}, "min_periods"),
        ({"kind": "baseline", "window": 4, "period_lag": 52, "warning_k": 1}, "period_lag"),
        ({"kind": "baseline", "same_period_last_year": True, "warning_pct": 9}, "period_lag"),
        ({"kind": "baseline", "same_period_last_year": True, "period_lag": 5}, "warning_pct"),
        ({"kind": "change", "lag": 0, "warning_pct": 10}, "lag"),
        ({"kind": "change", "warning_pct": True}, "warning_pct"),
        ({"kind": "consecutive", "periods": 1, "when": BELOW_FIVE}, "periods"),
        ({"kind": "consecutive", "periods": 2}, "when"),
        ({"kind": "consecutive", "periods": 2, "when": {"kind": "threshold"}}, "when.op"),
        ({"kind": "consecutive", "periods": 2, "when": {"kind": "x"}}, "when.kind"),
        ({"kind": "consecutive", "periods": 2, "when": {"kind": "consecutive"}}, "when.kind"),
        ({"kind": "trend", "periods": 2, "direction": "up"}, "periods"),
        ({"kind": "trend", "periods": 5}, "direction"),
        ({"kind": "trend", "periods": 5, "direction": "up", "alpha": 0.7}, "alpha"),
        ({"kind": "cadence"}, "required"),
        ({"kind": "cadence", "required": {"A": -1}}, "required.A"),
        ({"kind": "cadence", "required": {"A": 1}, "danger_days": {"B": 7}}, "danger_days"),
        ({"kind": "cadence", "required": {"A": 1}, "danger_days": {"A": 0}}, "danger_days.A"),
    ],
)
def test_every_invalid_field_is_named(spec: dict[str, Any], field: str) -> None:
    with pytest.raises(RuleError) as raised:
        build_condition(spec, WHERE)
    assert raised.value.where == f"{WHERE}.{field}"
    assert str(raised.value).startswith(f"{WHERE}.{field}: ")


def test_unknown_kind_lists_the_known_kinds() -> None:
    with pytest.raises(
        RuleError, match="baseline, cadence, change, consecutive, risk, threshold, trend"
    ):
        build(kind="forecast")


def test_register_refuses_a_non_condition_and_a_duplicate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conditions, "CONDITIONS", dict(CONDITIONS))
    with pytest.raises(TypeError, match="not a Condition"):
        register(int)  # type: ignore[type-var]

    class AnotherThreshold(Threshold):
        kind = "threshold"

    with pytest.raises(TypeError, match="already registered"):
        register(AnotherThreshold)

    class Never(Threshold):
        kind = "never"

    assert register(Never) is Never
    assert conditions.CONDITIONS["never"] is Never
    assert "never" not in CONDITIONS


# --- for clause ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (None, ForClause()),
        ("30m", ForClause(duration=timedelta(minutes=30))),
        ("48h", ForClause(duration=timedelta(hours=48))),
        ("7d", ForClause(duration=timedelta(days=7))),
        ("2w", ForClause(duration=timedelta(weeks=2))),
        ("3 of 4", ForClause(n=3, m=4)),
        (2, ForClause(n=2, m=2)),
        ("0m", ForClause()),
    ],
)
def test_parse_for(spec: str | int | None, expected: ForClause) -> None:
    assert parse_for(spec, "rules.yaml: rule r: for") == expected


@pytest.mark.parametrize("spec", ["48", "2 weeks", "5 of 4", "0 of 4", "-1h", True, -1])
def test_parse_for_refuses_nonsense(spec: Any) -> None:
    with pytest.raises(RuleError, match=r"^rules\.yaml: rule r: for: "):
        parse_for(spec, "rules.yaml: rule r: for")


def test_n_of_m_counts_only_the_last_m() -> None:
    history = [verdict(s) for s in ("warning", "warning", "ok", "danger", "no_data", "warning")]
    assert n_of_m(history, 2, 3)  # danger, no_data, warning
    assert not n_of_m(history, 3, 4)  # ok, danger, no_data, warning


# --- properties ---------------------------------------------------------------------------

RANK = {"ok": 0, "warning": 1, "danger": 2}
finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@given(levels=st.tuples(finite, finite).map(sorted), a=finite, b=finite)
def test_threshold_severity_is_monotone_in_the_value(
    levels: list[float], a: float, b: float
) -> None:
    low, high = sorted((a, b))
    above = build(kind="threshold", op=">=", warning=levels[0], danger=levels[1])
    below = build(kind="threshold", op="<", warning=levels[1], danger=levels[0])
    assert RANK[above.judge(low, []).severity] <= RANK[above.judge(high, []).severity]
    assert RANK[below.judge(low, []).severity] >= RANK[below.judge(high, []).severity]


@given(
    value=finite,
    window=st.integers(min_value=2, max_value=12),
    method=st.sampled_from(["mean", "median"]),
    style=st.sampled_from([{"warning_k": 1, "danger_k": 2}, {"warning_pct": 10, "danger_pct": 20}]),
)
def test_baseline_constant_history_and_equal_current_is_ok(
    value: float, window: int, method: str, style: dict[str, float]
) -> None:
    condition = build(kind="baseline", window=window, method=method, **style)
    expected = "no_data" if value == 0 and "warning_pct" in style else "ok"
    assert condition.judge(value, [value] * window).severity == expected


@given(st.lists(st.one_of(st.none(), finite), max_size=15), st.one_of(st.none(), finite))
def test_trend_never_raises_and_short_series_are_no_data(
    history: list[float | None], current: float | None
) -> None:
    result = build(kind="trend", periods=5, direction="down").judge(current, history)
    points = [v for v in [*history[-4:], current] if v is not None]
    assert (result.severity == "no_data") == (len(points) < 3)
