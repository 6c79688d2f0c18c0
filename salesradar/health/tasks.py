"""Celery task of the scale mode: the same job the embedded scheduler runs."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.utils import timezone


@shared_task(name="salesradar.health.tasks.run_health", expires=3600)
def run_health() -> dict[str, Any]:
    from salesradar.health.jobs import run_due
    from salesradar.review.services import remind_and_flag_overdue

    now = timezone.now()
    return {**run_due(at=now), "action_cards": remind_and_flag_overdue(at=now)}
