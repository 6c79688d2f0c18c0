"""The ``risk`` rule kind and the ``opportunity_risk`` metric behind it."""

from __future__ import annotations

import datetime as dt

import pytest

from salesradar.alerts.conditions import RuleError, build_condition
from salesradar.forecast.services import train_models
from salesradar.metrics.registry import Scope, compute
from tests.forecast.history import build_history
from tests.metrics import opportunity, rep


def test_risk_levels_are_probabilities_unless_amount_weighted():
    with pytest.raises(RuleError, match="at most 1"):
        build_condition({"kind": "risk", "warning": 60}, "rule r.condition")

    weighted = build_condition(
        {"kind": "risk", "amount_weighted": True, "warning": 200000}, "rule r.condition"
    )
    assert weighted.judge(0.5, [], {"amount": 500000}).severity == "warning"
    assert weighted.judge(0.3, [], {"amount": 500000}).severity == "ok"  # 150,000 at risk


def test_risk_fires_from_the_probability_levels():
    condition = build_condition({"kind": "risk", "warning": 0.6, "danger": 0.8}, "rule r")

    assert [condition.judge(p, []).severity for p in (0.5, 0.6, 0.85)] == [
        "ok",
        "warning",
        "danger",
    ]
    assert condition.judge(None, []).severity == "no_data"


@pytest.mark.django_db
def test_the_risk_rule_is_quiet_without_a_model_and_judges_the_models_scores(default_process):
    trained_at = build_history(default_process)
    owner = rep()
    deal = opportunity(owner, created=trained_at - dt.timedelta(days=10))

    condition = build_condition({"kind": "risk", "warning": 0.01}, "rule r")
    [guess] = compute("opportunity_risk", at=trained_at, scope=Scope())
    assert guess.value == pytest.approx(0.9)  # 1 - the first stage's 10 %
    guessed = condition.judge(guess.value, [], guess.context)
    assert guessed.severity == "ok"  # only a guess
    assert "not judged" in guessed.detail

    train_models(by="tester", at=trained_at)
    rows = compute("opportunity_risk", at=trained_at, scope=Scope())
    assert [row.entity_id for row in rows] == [deal.pk]
    assert 0 <= rows[0].value <= 1
    assert rows[0].context["model"] == "slip_or_loss v1"
    judged = condition.judge(rows[0].value, [], rows[0].context)
    assert "not judged" not in judged.detail
    assert judged.severity == ("warning" if rows[0].value >= 0.01 else "ok")
    # a replay of a moment before the model was trained does not use it
    [before] = compute("opportunity_risk", at=trained_at - dt.timedelta(days=1), scope=Scope())
    assert before.context["model"] == ""
