"""Monthly calibration of the pillar weights on the organisation's renewal and churn history.

Each contract that ended between 13 months and 30 days before ``at`` is one observation: its
customer's pillars as of the first day of the month two months before the contract ended (what
the owner could have seen then), and whether it was renewed (a contract names it in
``renewal_of``). A logistic regression on the four pillars gives the weights (positive
coefficients, normalised to sum to one). With fewer than ``MIN_SAMPLES`` observations or
fewer than ``MIN_PER_CLASS`` of either outcome, or when the fitted weights rank renewals no
better than the defaults and than ``MIN_AUC`` out of sample, the defaults stay and the
report says why.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from salesradar.core.fields import require_aware
from salesradar.health.models import HealthCalibration
from salesradar.health.pillars import PILLARS, compute_pillars
from salesradar.pipeline.models import Contract

MIN_SAMPLES = 40
MIN_PER_CLASS = 8
MIN_AUC = 0.6  # fitted weights must rank renewals clearly better than chance (0.5)
LOOKBACK_DAYS = 395
OUTCOME_KNOWN_DAYS = 30


@dataclass
class Sample:
    contract_id: int
    customer_id: int
    observed_at: dt.datetime
    pillars: dict[str, int]
    renewed: bool


def observation_time(ends_on: dt.date) -> dt.datetime:
    """The first local midnight of the month two months before a contract's last day."""
    year, month = divmod(ends_on.month - 1 - 2, 12)
    day = dt.date(ends_on.year + year, month + 1, 1)
    return timezone.make_aware(dt.datetime.combine(day, dt.time()))


def renewal_samples(at: dt.datetime) -> list[Sample]:
    """Return one observation per contract that came up for renewal in the last year."""
    today = timezone.localtime(at).date()
    contracts = (
        Contract.objects.filter(
            ends_on__gte=today - dt.timedelta(days=LOOKBACK_DAYS),
            ends_on__lt=today - dt.timedelta(days=OUTCOME_KNOWN_DAYS),
        )
        .annotate(
            renewed=Exists(Contract.objects.filter(renewal_of=OuterRef("pk"), signed_at__lt=at))
        )
        .values_list("pk", "customer_id", "ends_on", "renewed")
        .order_by("pk")
    )
    by_moment: dict[dt.datetime, list[tuple[int, int, bool]]] = defaultdict(list)
    for pk, customer_id, ends_on, renewed in contracts:
        by_moment[observation_time(ends_on)].append((pk, customer_id, renewed))
    samples = []
    for moment in sorted(by_moment):
        rows = by_moment[moment]
        pillars = compute_pillars(moment, {customer_id for _pk, customer_id, _r in rows})
        for pk, customer_id, renewed in rows:
            scores = pillars.get(customer_id)
            if scores is not None:  # the contract was signed after the observation time
                samples.append(Sample(pk, customer_id, moment, scores.as_dict(), bool(renewed)))
    return samples


def _auc(labels: list[int], values: list[float]) -> float | None:
    from sklearn.metrics import roc_auc_score

    if len(set(labels)) < 2:
        return None
    return round(float(roc_auc_score(labels, values)), 3)


def calibrate(*, at: dt.datetime) -> HealthCalibration:
    """Fit the pillar weights on renewal history and store the result (applied or not)."""
    from salesradar.health.services import DEFAULT_WEIGHTS

    require_aware(at, "at")
    samples = renewal_samples(at)
    labels = [int(sample.renewed) for sample in samples]
    matrix = [[sample.pillars[name] / 100 for name in PILLARS] for sample in samples]
    renewals = sum(labels)
    pillar_auc = {
        name: _auc(labels, [row[index] for row in matrix]) for index, name in enumerate(PILLARS)
    }
    default_auc = _auc(labels, [sum(row) for row in matrix])
    calibration = HealthCalibration(
        computed_at=at,
        samples=len(samples),
        renewals=renewals,
        applied=False,
        weights=dict(DEFAULT_WEIGHTS),
        pillar_auc=pillar_auc,
        default_auc=default_auc,
    )
    if len(samples) < MIN_SAMPLES or min(renewals, len(samples) - renewals) < MIN_PER_CLASS:
        calibration.note = _(
            "Too little history: {samples} contracts came up for renewal ({renewals} renewed); "
            "at least {needed} with {per_class} of each outcome are needed. Default weights stay."
        ).format(
            samples=len(samples),
            renewals=renewals,
            needed=MIN_SAMPLES,
            per_class=MIN_PER_CLASS,
        )
        calibration.save()
        return calibration
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    model = LogisticRegression(max_iter=1000)
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    predicted = cross_val_predict(model, matrix, labels, cv=folds, method="predict_proba")[:, 1]
    calibration.model_auc = _auc(labels, list(predicted))
    model.fit(matrix, labels)
    coefficients = {name: float(value) for name, value in zip(PILLARS, model.coef_[0], strict=True)}
    calibration.coefficients = {**coefficients, "intercept": float(model.intercept_[0])}
    positive = {name: max(0.0, value) for name, value in coefficients.items()}
    total = sum(positive.values())
    if total <= 0:
        calibration.note = _("No pillar predicted renewal positively; default weights stay.")
    elif (calibration.model_auc or 0) < max(MIN_AUC, default_auc or 0):
        calibration.note = _(
            "The fitted weights ranked renewals out of sample with AUC {fitted}, not above "
            "both {minimum} and the default weights' {default}; default weights stay."
        ).format(fitted=calibration.model_auc, minimum=MIN_AUC, default=default_auc)
    else:
        calibration.weights = {name: round(value / total, 4) for name, value in positive.items()}
        calibration.applied = True
        calibration.note = _(
            "Weights fitted on {samples} contracts ({renewals} renewed); out-of-sample AUC "
            "{fitted} against {default} for the default weights."
        ).format(
            samples=len(samples),
            renewals=renewals,
            fitted=calibration.model_auc,
            default=default_auc,
        )
    calibration.save()
    return calibration


def calibration_due(at: dt.datetime) -> bool:
    """Return whether this month has no calibration yet."""
    month_start = timezone.localtime(at).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return not HealthCalibration.objects.filter(computed_at__gte=month_start).exists()
