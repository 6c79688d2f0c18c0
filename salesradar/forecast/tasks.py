"""Celery tasks of the forecast: thin wrappers of the services, with ids and ISO times only."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="salesradar.forecast.tasks.retrain_models", ignore_result=True)
def retrain_models() -> int:
    """The forecast's weekly work when due (retrain, snapshot); return how many models stored."""
    from django.utils import timezone

    from salesradar.forecast.periodic import run_weekly

    return run_weekly(at=timezone.now(), by="celery-beat").models
