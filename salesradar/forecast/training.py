"""Training examples from the organisation's own history, and the stored model records.

An example is one deal open at a snapshot moment ``t`` (every ``step`` through the training
window) with its features as of ``t`` and what happened afterwards:

- won: the deal was later closed won (only deals closed by the end of the window count,
  so an open deal never becomes a false "lost");
- slip_or_loss: the backtest's own outcome label (`salesradar.alerts.outcomes`): lost, or
  no forward stage progress, within ``horizon`` after ``t``; unknown labels are left out.

The split is by time: the oldest 60 % of snapshot moments train, the next 20 % select the
algorithm and calibrate it, the newest 20 % test it against the baselines.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import pickle
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.db.models import Max, Min
from django.utils.translation import gettext as _

from salesradar.alerts import outcomes
from salesradar.forecast.features import FEATURE_NAMES, FeatureFrame, deal_features
from salesradar.forecast.models import ModelRecord
from salesradar.pipeline.models import Opportunity

DAY = dt.timedelta(days=1)
DEFAULT_STEP = 14 * DAY
DEFAULT_HORIZON_DAYS = 60  # the backtest's default horizon, so the risk rule is scored on it
MINIMUM_CLOSED_DEALS = 40  # distinct closed deals before a model may be trained
TARGETS = ("won", "slip_or_loss")


class TrainingError(ValueError):
    """Training cannot give a trustworthy model; the previous model stays in use."""


class CorruptModelError(ValueError):
    """A stored model record whose estimator does not match its checksum; it is never used."""


@dataclass
class Examples:
    """Training examples of one target, in time order."""

    target: str
    moments: list[dt.datetime] = field(default_factory=list)
    values: np.ndarray = field(default_factory=lambda: np.zeros((0, len(FEATURE_NAMES))))
    labels: np.ndarray = field(default_factory=lambda: np.zeros(0))
    deal_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    stage_keys: list[str] = field(default_factory=list)
    owner_ids: list[int] = field(default_factory=list)
    stage_probability: np.ndarray = field(default_factory=lambda: np.zeros(0))
    amounts: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def __len__(self) -> int:
        return len(self.labels)

    def take(self, mask: np.ndarray) -> Examples:
        indices = np.flatnonzero(mask)
        return Examples(
            self.target,
            [self.moments[i] for i in indices],
            self.values[indices],
            self.labels[indices],
            self.deal_ids[indices],
            [self.stage_keys[i] for i in indices],
            [self.owner_ids[i] for i in indices],
            self.stage_probability[indices],
            self.amounts[indices],
        )


def snapshot_moments(start: dt.datetime, end: dt.datetime, step: dt.timedelta) -> list[dt.datetime]:
    moments, moment = [], start
    while moment <= end:
        moments.append(moment)
        moment += step
    return moments


def history_bounds() -> tuple[dt.datetime | None, dt.datetime | None]:
    bounds = Opportunity.objects.aggregate(first=Min("created_at"), last=Max("created_at"))
    return bounds["first"], bounds["last"]


def collect_frames(
    moments: list[dt.datetime], progress: Callable[[int, int], None] | None = None
) -> list[FeatureFrame]:
    frames = []
    for number, moment in enumerate(moments, 1):
        frames.append(deal_features(moment))
        if progress:
            progress(number, len(moments))
    return frames


def build_examples(
    frames: list[FeatureFrame], *, until: dt.datetime, horizon: dt.timedelta
) -> dict[str, Examples]:
    """Label the deals of each frame with both targets, as known at ``until``."""
    deal_ids = {int(pk) for frame in frames for pk in frame.ids}
    closed = {
        pk: (closed_at, is_won)
        for pk, closed_at, is_won in Opportunity.objects.filter(
            pk__in=deal_ids, closed_at__lte=until
        ).values_list("pk", "closed_at", "stage__is_won")
    }
    slipped: dict[tuple[int, float], float] = {}
    if frames:
        labels = outcomes.opportunity_labels(
            [frame.at for frame in frames], horizon=horizon, observed_until=until
        )
        known = labels.loc[labels["label"].notna()]
        slipped = {
            (int(entity), snapshot.timestamp()): float(label)
            for entity, snapshot, label in zip(
                known["entity"], known["snapshot"], known["label"], strict=True
            )
        }

    result = {}
    for target in TARGETS:
        rows: list[tuple[FeatureFrame, int, float]] = []
        for frame in frames:
            for index, pk in enumerate(frame.ids.tolist()):
                if target == "won":
                    label = (1.0 if closed[pk][1] else 0.0) if pk in closed else None
                else:
                    label = slipped.get((pk, frame.at.timestamp()))
                if label is not None:
                    rows.append((frame, index, label))
        examples = Examples(target)
        if rows:
            examples.moments = [frame.at for frame, _index, _label in rows]
            examples.values = np.vstack([frame.values[index] for frame, index, _ in rows])
            examples.labels = np.array([label for _f, _i, label in rows], dtype=float)
            examples.deal_ids = np.array([frame.ids[index] for frame, index, _ in rows])
            examples.stage_keys = [frame.stage_keys[index] for frame, index, _ in rows]
            examples.owner_ids = [frame.owner_ids[index] for frame, index, _ in rows]
            examples.stage_probability = np.array(
                [frame.column("stage_probability")[index] for frame, index, _ in rows]
            )
            examples.amounts = np.array([frame.amounts[index] for frame, index, _ in rows])
        result[target] = examples
    return result


def split_by_time(examples: Examples) -> tuple[Examples, Examples, Examples]:
    """Return the train, calibration and test slices: 60/20/20 of the snapshot moments."""
    moments = sorted(set(examples.moments))
    if len(moments) < 5:
        raise TrainingError(
            _(
                "only {count} snapshot moments in the training window; at least 5 are needed "
                "for a time split. The previous model is kept."
            ).format(count=len(moments))
        )
    first_calibration = moments[int(len(moments) * 0.6)]
    first_test = moments[int(len(moments) * 0.8)]
    when = np.array([m.timestamp() for m in examples.moments])
    train = examples.take(when < first_calibration.timestamp())
    calibration = examples.take(
        (when >= first_calibration.timestamp()) & (when < first_test.timestamp())
    )
    test = examples.take(when >= first_test.timestamp())
    return train, calibration, test


def check_trainable(examples: Examples, *, target: str) -> list[int]:
    """Refuse examples no honest model can be trained on; return the usable feature columns."""
    deals = len(set(examples.deal_ids.tolist()))
    if deals < MINIMUM_CLOSED_DEALS:
        raise TrainingError(
            _(
                "{target}: only {count} deals with a known outcome in the training window; at "
                "least {needed} are needed. The previous model is kept."
            ).format(target=target, count=deals, needed=MINIMUM_CLOSED_DEALS)
        )
    positives = int(examples.labels.sum())
    if positives == 0 or positives == len(examples):
        raise TrainingError(
            _(
                "{target}: all {count} examples have the same outcome; a model needs both "
                "outcomes. The previous model is kept."
            ).format(target=target, count=len(examples))
        )
    present = [
        j for j in range(examples.values.shape[1]) if not np.isnan(examples.values[:, j]).all()
    ]
    if not present:
        raise TrainingError(
            _(
                "{target}: every feature is missing in all {count} examples. The previous "
                "model is kept."
            ).format(target=target, count=len(examples))
        )
    return present


# --------------------------------------------------------------------------- storage


def sign(payload: bytes) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), payload, hashlib.sha256).hexdigest()


def load_estimator(record: ModelRecord) -> object:
    """Return the record's estimator; refuse a record whose payload fails its checksum."""
    payload = bytes(record.payload)
    if not record.checksum or not hmac.compare_digest(sign(payload), record.checksum):
        raise CorruptModelError(
            _("model {target} v{version} failed its checksum and is not used").format(
                target=record.target, version=record.version
            )
        )
    try:
        return pickle.loads(payload)  # only after the keyed checksum matched
    except Exception as error:
        raise CorruptModelError(
            _("model {target} v{version} cannot be read: {error}").format(
                target=record.target, version=record.version, error=error
            )
        ) from error


def dump_estimator(estimator: object) -> tuple[bytes, str]:
    payload = pickle.dumps(estimator, protocol=pickle.HIGHEST_PROTOCOL)
    return payload, sign(payload)
