"""Forecast verbs: train the deal-outcome models, score open deals, explain a score.

`train_models` is the one way a model comes into being (CLI, scheduler, Celery beat); a
training that cannot give a trustworthy model raises `TrainingError` and leaves the active
model in place. `score_deals` is the one way anything reads a probability; without a usable
model it falls back to the stage's default probability and says so in ``note``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from salesradar.forecast.features import FEATURE_LABELS, FEATURE_NAMES, FeatureFrame, deal_features
from salesradar.forecast.learning import CalibratedModel, NaiveBayesBaseline, fit_and_select, scores
from salesradar.forecast.models import ModelRecord
from salesradar.forecast.training import (
    DEFAULT_HORIZON_DAYS,
    DEFAULT_STEP,
    TARGETS,
    CorruptModelError,
    Examples,
    TrainingError,
    build_examples,
    check_trainable,
    collect_frames,
    dump_estimator,
    history_bounds,
    load_estimator,
    snapshot_moments,
    split_by_time,
)
from salesradar.metrics.registry import Scope

logger = logging.getLogger(__name__)
DAY = dt.timedelta(days=1)
RETRAIN_EVERY = 7 * DAY


@dataclass
class Evaluation:
    """A candidate model with its test figures against the baselines, not yet stored."""

    target: str
    model: CalibratedModel
    metrics: dict[str, Any]
    window_start: dt.datetime
    window_end: dt.datetime
    horizon_days: int


def stage_frequency(train: Examples) -> Callable[[list[str]], np.ndarray]:
    """The outcome rate per stage in the training slice (Laplace-smoothed)."""
    totals: dict[str, list[float]] = {}
    for key, label in zip(train.stage_keys, train.labels.tolist(), strict=True):
        totals.setdefault(key, [0.0, 0.0])
        totals[key][0] += label
        totals[key][1] += 1
    prior = (float(train.labels.sum()) + 1) / (len(train) + 2)

    def predict(keys: list[str]) -> np.ndarray:
        return np.array(
            [
                (totals[k][0] + prior * 2) / (totals[k][1] + 2) if k in totals else prior
                for k in keys
            ]
        )

    return predict


def evaluate_target(examples: Examples, *, horizon_days: int) -> Evaluation:
    """Fit, select and calibrate on the older slices; score the newest against the baselines."""
    present = check_trainable(examples, target=examples.target)
    train, calibration, test = split_by_time(examples)
    for name, part in ((_("training"), train), (_("calibration"), calibration), (_("test"), test)):
        if len(part) == 0 or part.labels.min() == part.labels.max():
            raise TrainingError(
                _(
                    "{target}: the {slice} slice has {count} examples and at most one outcome; "
                    "more history is needed. The previous model is kept."
                ).format(target=examples.target, slice=name, count=len(part))
            )
    names = [FEATURE_NAMES[j] for j in present]
    model, selection = fit_and_select(
        train.values[:, present],
        train.labels,
        calibration.values[:, present],
        calibration.labels,
        names,
    )
    probability = model.predict(test.values[:, present])
    bayes = NaiveBayesBaseline().fit(
        [train.stage_keys + calibration.stage_keys, train.owner_ids + calibration.owner_ids],
        np.concatenate([train.labels, calibration.labels]),
    )
    if examples.target == "won":
        stage_default = test.stage_probability
    else:  # the stage's default probability says nothing about slipping: use its frequency
        stage_default = stage_frequency(train)(test.stage_keys)
    metrics = {
        "split": {"train": len(train), "calibration": len(calibration), "test": len(test)},
        "test_from": min(test.moments).isoformat(),
        "selection_brier": selection,
        "left_out_features": [n for n in FEATURE_NAMES if n not in names],
        "test": {
            "model": scores(test.labels, probability),
            "stage_default": scores(test.labels, stage_default),
            "naive_bayes": scores(test.labels, bayes.predict([test.stage_keys, test.owner_ids])),
        },
    }
    return Evaluation(
        examples.target, model, metrics, min(examples.moments), max(examples.moments), horizon_days
    )


def evaluate_history(
    *,
    at: dt.datetime,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    step: dt.timedelta = DEFAULT_STEP,
    targets: tuple[str, ...] = TARGETS,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Evaluation]:
    """Build examples from the history known at ``at`` and evaluate a model per target."""
    first, _last = history_bounds()
    if first is None:
        raise TrainingError(_("there are no opportunities at all; nothing to learn from."))
    horizon = horizon_days * DAY
    moments = snapshot_moments(first + step, at - step, step)
    frames = collect_frames(moments, progress)
    examples = build_examples(frames, until=at, horizon=horizon)
    return {
        target: evaluate_target(examples[target], horizon_days=horizon_days) for target in targets
    }


def store(evaluation: Evaluation, *, by: str, at: dt.datetime) -> ModelRecord:
    """Save the evaluated model as the next version of its target and make it the active one."""
    payload, checksum = dump_estimator(evaluation.model)
    with transaction.atomic():
        newest = (
            ModelRecord.objects.select_for_update()
            .filter(target=evaluation.target)
            .aggregate(newest=Max("version"))["newest"]
        )
        ModelRecord.objects.filter(target=evaluation.target, is_active=True).update(is_active=False)
        return ModelRecord.objects.create(
            target=evaluation.target,
            version=(newest or 0) + 1,
            algorithm=evaluation.model.algorithm,
            calibration=evaluation.model.calibration,
            horizon_days=evaluation.horizon_days,
            window_start=evaluation.window_start,
            window_end=evaluation.window_end,
            features=evaluation.model.feature_names,
            metrics=evaluation.metrics,
            trained_at=at,
            trained_by=by,
            payload=payload,
            checksum=checksum,
            is_active=True,
        )


def train_models(
    *,
    by: str,
    at: dt.datetime | None = None,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    step: dt.timedelta = DEFAULT_STEP,
    progress: Callable[[int, int], None] | None = None,
) -> list[ModelRecord]:
    """Train, evaluate and store both deal-outcome models from the history known at ``at``.

    Raises `TrainingError` (nothing stored, the active models stay) when either target
    cannot be trained honestly.
    """
    moment = at or timezone.now()
    evaluations = evaluate_history(
        at=moment, horizon_days=horizon_days, step=step, progress=progress
    )
    return [store(evaluations[target], by=by, at=moment) for target in TARGETS]


def retrain_if_due(*, by: str, at: dt.datetime | None = None) -> list[ModelRecord]:
    """Retrain weekly: when no model was trained in the last seven days. Failures are logged."""
    moment = at or timezone.now()
    newest = ModelRecord.objects.aggregate(newest=Max("trained_at"))["newest"]
    if newest is not None and moment - newest < RETRAIN_EVERY:
        return []
    try:
        return train_models(by=by, at=moment)
    except TrainingError as error:
        logger.warning("weekly model training skipped: %s", error)
        return []


# --------------------------------------------------------------------------- scoring


@dataclass
class DealScores:
    """P(won) and P(slip or loss) for every deal open at ``at``, with what produced them."""

    frame: FeatureFrame
    won: np.ndarray
    risk: np.ndarray
    records: dict[str, ModelRecord | None] = field(default_factory=dict)
    models: dict[str, CalibratedModel | None] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def index(self, opportunity_id: int) -> int:
        return int(np.flatnonzero(self.frame.ids == opportunity_id)[0])


def model_as_of(target: str, at: dt.datetime) -> ModelRecord | None:
    """Return the model that scores ``target`` at ``at``: the active one, unless it was
    trained after ``at``, then the newest trained by then; so a replay of the past never
    uses a model that learnt from the future it replays."""
    active = ModelRecord.objects.active().filter(target=target).first()
    if active is not None and active.trained_at <= at:
        return active
    return (
        ModelRecord.objects.filter(target=target, trained_at__lte=at)
        .order_by("-trained_at", "-version")
        .first()
    )


def active_model(
    target: str, notes: list[str], at: dt.datetime
) -> tuple[ModelRecord | None, CalibratedModel | None]:
    """Return the model of ``target`` as of ``at``; a missing or corrupt one adds a note."""
    record = model_as_of(target, at)
    if record is None:
        return None, None
    try:
        model = load_estimator(record)
    except CorruptModelError as error:
        logger.error("%s", error)
        notes.append(
            _("Model {target} v{version} failed its integrity check and is not used.").format(
                target=record.target, version=record.version
            )
        )
        return record, None
    if not isinstance(model, CalibratedModel):
        notes.append(
            _("Model {target} v{version} is not a deal-outcome model.").format(
                target=record.target, version=record.version
            )
        )
        return record, None
    return record, model


def columns_for(model: CalibratedModel, frame: FeatureFrame) -> np.ndarray:
    return frame.values[:, [frame.names.index(name) for name in model.feature_names]]


def score_deals(*, at: dt.datetime, scope: Scope | None = None) -> DealScores:
    """Score every deal open at ``at``; without a model, the stage probabilities and a note."""
    frame = deal_features(at, scope=scope)
    notes: list[str] = []
    stage_probability = frame.column("stage_probability") if len(frame) else np.zeros(0)
    result = DealScores(frame, stage_probability.copy(), 1 - stage_probability, notes=notes)
    for target in TARGETS:
        record, model = active_model(target, notes, at)
        result.records[target] = record if model is not None else None
        result.models[target] = model
        if model is None:
            continue
        probability = model.predict(columns_for(model, frame)) if len(frame) else np.zeros(0)
        if target == "won":
            result.won = probability
        else:
            result.risk = probability
    if result.models.get("won") is None or result.models.get("slip_or_loss") is None:
        notes.append(
            _(
                "No trained deal-outcome model is in use yet: scores are the stages' default "
                "probabilities. Run: salesradar model train"
            )
        )
    return result


@dataclass(frozen=True)
class Reason:
    feature: str
    value: float
    effect: float  # probability points this feature added (negative: took away)

    def sentence(self, target: str) -> str:
        label = str(FEATURE_LABELS.get(self.feature, self.feature))
        points = abs(round(self.effect * 100))
        value = "—" if np.isnan(self.value) else f"{self.value:.3g}"
        if target == "won":
            template = (
                _("{feature} ({value}) raises the chance of winning by {points} points")
                if self.effect > 0
                else _("{feature} ({value}) lowers the chance of winning by {points} points")
            )
        else:
            template = (
                _("{feature} ({value}) raises the risk by {points} points")
                if self.effect > 0
                else _("{feature} ({value}) lowers the risk by {points} points")
            )
        return template.format(feature=label, value=value, points=points)


def explain(
    scores_: DealScores, opportunity_ids: list[int], *, target: str, top: int = 3
) -> dict[int, list[Reason]]:
    """Return the ``top`` features that moved each deal's score most, from the reference."""
    model = scores_.models.get(target)
    if model is None or not opportunity_ids:
        return {pk: [] for pk in opportunity_ids}
    indices = [scores_.index(pk) for pk in opportunity_ids]
    values = columns_for(model, scores_.frame)[indices]
    moved = model.contributions(values)
    result = {}
    for row, pk in enumerate(opportunity_ids):
        order = np.argsort(-np.abs(moved[row]))[:top]
        result[pk] = [
            Reason(model.feature_names[j], float(values[row, j]), float(moved[row, j]))
            for j in order
            if abs(moved[row, j]) >= 0.005
        ]
    return result
