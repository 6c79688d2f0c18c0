"""The demo organisation as a quality data set: small, seeded and dated, so reproducible."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from django.db.models import Max, Min

from salesradar.activities.models import Activity
from salesradar.demo.services import build_demo
from salesradar.pipeline.models import Opportunity
from salesradar.quality.datasets import Built, Dataset

SEED = 42
TODAY = dt.date(2026, 11, 30)  # fixed, so the report is the same on every machine


def build_demo_dataset(source: Path | None, progress: Callable[[str], None]) -> Built:
    """Build the small demo (seed 42, as of 30 November 2026) into an empty database."""
    result = build_demo(seed=SEED, size="small", today=TODAY, truth_path=None, progress=progress)
    span = Opportunity.objects.aggregate(first=Min("created_at"), last=Max("updated_at"))
    touched = Activity.objects.aggregate(last=Max("occurred_at"))["last"]
    last = max(moment for moment in (span["last"], touched) if moment is not None)
    return Built(span["first"], last, dict(result.rows))


DATASET = Dataset(
    key="demo",
    title="Demo organisation (small, seed 42, as of 2026-11-30)",
    build=build_demo_dataset,
    horizon_days=60,
    step_days=7,
    warmup_days=60,
    description="the generated demo: 6 reps, 300 customers, 750 opportunities",
)
