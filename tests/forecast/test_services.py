"""Training, storing, refusing and using the deal-outcome models."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import translation

from salesradar.forecast.models import ModelRecord
from salesradar.forecast.services import explain, retrain_if_due, score_deals, train_models
from salesradar.forecast.training import CorruptModelError, TrainingError, load_estimator
from tests.forecast.history import START, build_history
from tests.metrics import opportunity, rep

pytestmark = pytest.mark.django_db


@pytest.fixture
def trained_at(default_process):
    return build_history(default_process)


def test_training_stores_an_active_calibrated_model_per_target_with_its_window_and_figures(
    trained_at,
):
    records = train_models(by="tester", at=trained_at)

    assert [record.target for record in records] == ["won", "slip_or_loss"]
    for record in records:
        assert record.is_active and record.version == 1
        assert record.trained_by == "tester"
        assert START < record.window_start < record.window_end < trained_at
        assert "stage_order" in record.features
        assert record.algorithm in {"hist_gradient_boosting", "logistic_regression"}
        assert record.calibration in {"isotonic", "sigmoid"}
        test = record.metrics["test"]
        assert set(test) == {"model", "stage_default", "naive_bayes"}
        assert test["model"]["n"] == record.metrics["split"]["test"] > 0
        assert 0 <= test["model"]["brier"] <= 1
    won = records[0].metrics["test"]
    # engagement decides four deals in five, which the stage alone cannot see early on
    assert won["model"]["auc"] > won["stage_default"]["auc"]
    assert won["model"]["brier"] < won["stage_default"]["brier"]


def test_retraining_makes_the_new_version_active_and_keeps_the_old_one(trained_at):
    train_models(by="tester", at=trained_at)
    train_models(by="tester", at=trained_at + dt.timedelta(days=1))

    versions = dict(ModelRecord.objects.filter(target="won").values_list("version", "is_active"))
    assert versions == {1: False, 2: True}


def test_too_little_history_is_refused_with_a_message_and_the_previous_model_kept(trained_at):
    first = train_models(by="tester", at=trained_at)

    with pytest.raises(TrainingError, match="deals with a known outcome"):
        train_models(by="tester", at=START + dt.timedelta(days=60))

    assert list(ModelRecord.objects.active().order_by("pk")) == first


def test_a_history_of_only_wins_is_refused_as_single_class(default_process):
    owner = rep()
    build_history(default_process, deals=0)
    for number in range(60):
        opportunity(
            owner,
            created=START + dt.timedelta(days=2 * number),
            stage="won",
            entered=START + dt.timedelta(days=2 * number + 20),
        )

    with pytest.raises(TrainingError, match="same outcome"):
        train_models(by="tester", at=START + dt.timedelta(days=200))
    assert not ModelRecord.objects.exists()


def test_scores_fall_back_to_stage_probabilities_with_a_note_when_no_model_exists(stages):
    owner = rep()
    deal = opportunity(owner, created=START, stage="proposal", entered=START)

    scores = score_deals(at=START + dt.timedelta(days=3))

    assert scores.won[scores.index(deal.pk)] == pytest.approx(0.5)
    assert any("salesradar model train" in note for note in scores.notes)


def test_a_corrupted_model_record_is_refused_and_never_used(trained_at):
    train_models(by="tester", at=trained_at)
    record = ModelRecord.objects.get(target="won", is_active=True)
    tampered = bytearray(record.payload)
    tampered[len(tampered) // 2] ^= 0xFF
    ModelRecord.objects.filter(pk=record.pk).update(payload=bytes(tampered))
    record.refresh_from_db()

    with pytest.raises(CorruptModelError, match="checksum"):
        load_estimator(record)
    owner = rep()
    deal = opportunity(owner, created=trained_at, stage="proposal", entered=trained_at)
    scores = score_deals(at=trained_at + dt.timedelta(days=1))
    assert scores.models["won"] is None
    assert scores.won[scores.index(deal.pk)] == pytest.approx(0.5)  # the stage's default
    assert any("integrity check" in note for note in scores.notes)


def test_a_score_is_explained_by_at_most_three_features_in_the_users_language(trained_at):
    train_models(by="tester", at=trained_at)
    owner = rep()
    deal = opportunity(owner, created=trained_at - dt.timedelta(days=20))
    scores = score_deals(at=trained_at)

    reasons = explain(scores, [deal.pk], target="won")[deal.pk]

    assert 1 <= len(reasons) <= 3
    efforts = [abs(reason.effect) for reason in reasons]
    assert efforts == sorted(efforts, reverse=True)
    with translation.override("zh-hans"):
        sentence = reasons[0].sentence("won")
    assert "个百分点" in sentence


def test_weekly_retraining_runs_only_when_the_newest_model_is_a_week_old(trained_at):
    assert len(retrain_if_due(by="scheduler", at=trained_at)) == 2
    assert retrain_if_due(by="scheduler", at=trained_at + dt.timedelta(days=6)) == []
    assert len(retrain_if_due(by="scheduler", at=trained_at + dt.timedelta(days=7))) == 2
