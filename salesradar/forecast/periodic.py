"""The forecast's weekly work, shared by the in-process scheduler and Celery beat."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from salesradar.forecast.calibration import calibration_report, tell_managers
from salesradar.forecast.forecasts import snapshot_if_due
from salesradar.forecast.services import retrain_if_due

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WeeklyRun:
    models: int
    snapshots: int
    managers_told: int


def run_weekly(*, at: dt.datetime, by: str) -> WeeklyRun:
    """Retrain the models, take the forecast snapshot and tell managers, each when due."""
    models = len(retrain_if_due(by=by, at=at))
    snapshots = snapshot_if_due(at=at)
    told = tell_managers(calibration_report(at=at).flagged, at=at) if snapshots else 0
    return WeeklyRun(models, snapshots, told)
