"""The estimators behind the deal-outcome models, free of the database: fit, calibrate, score.

`fit_and_select` fits histogram gradient boosting and logistic regression on the training
slice, keeps the one with the lower Brier score on the later calibration slice, and
calibrates it on that slice (isotonic with enough examples of both classes, sigmoid
otherwise). `NaiveBayesBaseline` is the frequency table Odoo's predictive lead scoring uses,
on stage and owner. The metrics (Brier, AUC, expected calibration error, reliability bins)
are defined here once, for training, `salesradar quality` and the calibration report.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

ISOTONIC_MINIMUM = 500  # calibration examples (and 50 of each class) before isotonic is trusted
ECE_BINS = 10
EPSILON = 1e-6


def gradient_boosting() -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(
        max_iter=200,
        learning_rate=0.05,
        max_leaf_nodes=15,
        min_samples_leaf=40,
        l2_regularization=1.0,
        random_state=0,
    )


def logistic_regression() -> Any:
    return make_pipeline(
        SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
        StandardScaler(),
        LogisticRegression(max_iter=2000, C=0.5),
    )


CANDIDATES = {
    "hist_gradient_boosting": gradient_boosting,
    "logistic_regression": logistic_regression,
}


@dataclass
class CalibratedModel:
    """A fitted estimator and the calibrator mapping its raw scores to probabilities."""

    algorithm: str
    estimator: Any
    calibration: str
    calibrator: Any
    feature_names: list[str]
    #: the training medians, the reference an explanation moves each feature back to
    reference: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def raw(self, values: np.ndarray) -> np.ndarray:
        return np.asarray(self.estimator.predict_proba(values)[:, 1], dtype=float)

    def predict(self, values: np.ndarray) -> np.ndarray:
        """Return the calibrated probability of the positive class for each row."""
        if len(values) == 0:
            return np.zeros(0)
        raw = self.raw(values)
        if self.calibration == "isotonic":
            calibrated = self.calibrator.predict(raw)
        else:
            calibrated = self.calibrator.predict_proba(logit(raw).reshape(-1, 1))[:, 1]
        return np.clip(np.asarray(calibrated, dtype=float), 0.0, 1.0)

    def contributions(self, values: np.ndarray) -> np.ndarray:
        """Return how much each feature moved each row's probability from the reference.

        For feature j the row is scored again with j set to the training median; the
        difference is j's contribution. One batch per feature, not one per deal.
        """
        base = self.predict(values)
        moved = np.zeros_like(values, dtype=float)
        for column in range(values.shape[1]):
            changed = values.copy()
            changed[:, column] = self.reference[column]
            moved[:, column] = base - self.predict(changed)
        return moved


def logit(probabilities: np.ndarray) -> np.ndarray:
    clipped = np.clip(probabilities, EPSILON, 1 - EPSILON)
    return np.log(clipped / (1 - clipped))


def calibrate(raw: np.ndarray, labels: np.ndarray) -> tuple[str, Any]:
    positives = int(labels.sum())
    enough = len(labels) >= ISOTONIC_MINIMUM and positives >= 50 and len(labels) - positives >= 50
    if enough:
        isotonic = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
        isotonic.fit(raw, labels)
        return "isotonic", isotonic
    sigmoid = LogisticRegression(C=1e6, max_iter=1000)
    sigmoid.fit(logit(raw).reshape(-1, 1), labels)
    return "sigmoid", sigmoid


def fit_and_select(
    train_x: np.ndarray,
    train_y: np.ndarray,
    calibration_x: np.ndarray,
    calibration_y: np.ndarray,
    feature_names: Sequence[str],
) -> tuple[CalibratedModel, dict[str, float]]:
    """Fit every candidate, pick the best Brier score on the calibration slice, calibrate it."""
    fitted: dict[str, Any] = {}
    selection: dict[str, float] = {}
    for name, build in CANDIDATES.items():
        estimator = build()
        estimator.fit(train_x, train_y)
        fitted[name] = estimator
        raw = estimator.predict_proba(calibration_x)[:, 1]
        selection[name] = float(brier_score_loss(calibration_y, raw))
    best = min(selection, key=lambda name: selection[name])
    estimator = fitted[best]
    kind, calibrator = calibrate(estimator.predict_proba(calibration_x)[:, 1], calibration_y)
    with np.errstate(all="ignore"):
        reference = np.nanmedian(train_x, axis=0)
    reference = np.where(np.isnan(reference), 0.0, reference)
    model = CalibratedModel(best, estimator, kind, calibrator, list(feature_names), reference)
    return model, selection


class NaiveBayesBaseline:
    """P(outcome | stage, owner) from frequency tables with Laplace smoothing (Odoo PLS)."""

    def __init__(self) -> None:
        self.prior = 0.5
        self.tables: list[dict[bool, Counter[Any]]] = []
        self.sizes: list[int] = []
        self.totals: dict[bool, int] = {True: 0, False: 0}

    def fit(self, columns: Sequence[Sequence[Any]], labels: np.ndarray) -> NaiveBayesBaseline:
        outcomes = [bool(label) for label in labels]
        self.totals = {True: sum(outcomes), False: len(outcomes) - sum(outcomes)}
        self.prior = (self.totals[True] + 1) / (len(outcomes) + 2)
        self.tables, self.sizes = [], []
        for column in columns:
            table: dict[bool, Counter[Any]] = defaultdict(Counter)
            for value, outcome in zip(column, outcomes, strict=True):
                table[outcome][value] += 1
            self.tables.append(table)
            self.sizes.append(len(set(column)) + 1)
        return self

    def predict(self, columns: Sequence[Sequence[Any]]) -> np.ndarray:
        rows = len(columns[0]) if columns else 0
        result = np.zeros(rows)
        for index in range(rows):
            log_odds = math.log(self.prior / (1 - self.prior))
            for table, size, column in zip(self.tables, self.sizes, columns, strict=True):
                value = column[index]
                given_won = (table[True][value] + 1) / (self.totals[True] + size)
                given_lost = (table[False][value] + 1) / (self.totals[False] + size)
                log_odds += math.log(given_won / given_lost)
            result[index] = 1 / (1 + math.exp(-log_odds))
        return result


def expected_calibration_error(labels: np.ndarray, probabilities: np.ndarray) -> float:
    """The share-weighted gap between mean prediction and outcome rate over 10 equal bins."""
    return sum(
        row["count"] / len(labels) * abs(row["predicted"] - row["observed"])
        for row in reliability(labels, probabilities)
    )


def reliability(labels: np.ndarray, probabilities: np.ndarray) -> list[dict[str, float]]:
    """Return the reliability diagram: per probability bin, count, mean prediction, outcome rate."""
    bins = np.minimum((probabilities * ECE_BINS).astype(int), ECE_BINS - 1)
    rows = []
    for number in range(ECE_BINS):
        inside = bins == number
        count = int(inside.sum())
        if count:
            rows.append(
                {
                    "bin": number / ECE_BINS,
                    "count": count,
                    "predicted": float(probabilities[inside].mean()),
                    "observed": float(labels[inside].mean()),
                }
            )
    return rows


def scores(labels: np.ndarray, probabilities: np.ndarray) -> dict[str, Any]:
    """Brier score, AUC (None with one class), ECE and the base rate of ``labels``."""
    labels = np.asarray(labels, dtype=float)
    probabilities = np.asarray(probabilities, dtype=float)
    both = 0 < labels.sum() < len(labels)
    return {
        "n": len(labels),
        "base_rate": float(labels.mean()) if len(labels) else None,
        "brier": float(brier_score_loss(labels, probabilities)) if len(labels) else None,
        "auc": float(roc_auc_score(labels, probabilities)) if both else None,
        "ece": expected_calibration_error(labels, probabilities) if len(labels) else None,
    }
