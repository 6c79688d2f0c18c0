"""The health job both schedulers run: calibrate once a month, rescore once a day."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Max

from salesradar.health.calibration import calibrate, calibration_due
from salesradar.health.models import CustomerHealth
from salesradar.health.services import refresh_health

RESCORE_AFTER = dt.timedelta(hours=20)


def run_due(*, at: dt.datetime) -> dict[str, Any]:
    """Calibrate when this month has no calibration, rescore when the scores are a day old."""
    report: dict[str, Any] = {}
    if calibration_due(at):
        calibration = calibrate(at=at)
        report["calibration"] = {"applied": calibration.applied, "samples": calibration.samples}
    last = CustomerHealth.objects.aggregate(last=Max("computed_at"))["last"]
    if last is None or at - last >= RESCORE_AFTER or "calibration" in report:
        run = refresh_health(at=at)
        report["health"] = {
            "scored": run.scored,
            "entered": {tier: len(ids) for tier, ids in run.entered.items()},
            "tasks": run.tasks,
            "blocks": run.blocks,
            "messages": run.messages,
        }
    return report
