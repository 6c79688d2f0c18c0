"""Celery tasks of the forecast: thin wrappers of the services, with ids and ISO times only."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="salesradar.forecast.tasks.retrain_models", ignore_result=True)
def retrain_models() -> int:
    """Retrain the deal-outcome models when the newest is a week old; return how many stored."""
    from salesradar.forecast.services import retrain_if_due

    return len(retrain_if_due(by="celery-beat"))
