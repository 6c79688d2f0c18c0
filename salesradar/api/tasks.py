"""Celery side of the outbound webhooks (the scale mode's counterpart of the notify job)."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone


@shared_task(name="salesradar.api.tasks.announce_alert_events", ignore_result=True)
def announce_alert_events() -> int:
    """Queue webhook deliveries for alert transitions the engine wrote in bulk."""
    from salesradar.api.jobs import run_periodic

    return run_periodic(now=timezone.now())
