"""Celery task of the scale mode: the same job the embedded scheduler runs."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.utils import timezone


@shared_task(name="salesradar.health.tasks.run_health", expires=3600)
def run_health() -> dict[str, Any]:
    from salesradar.health.jobs import run_due

    return run_due(at=timezone.now())
