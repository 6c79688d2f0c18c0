"""Celery task of the scale mode: carry out the handovers whose date has come."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone


@shared_task(name="salesradar.handover.tasks.run_due_handovers", expires=300)
def run_due_handovers() -> int:
    from salesradar.handover.services import run_due_handovers as carry_out_due

    return carry_out_due(at=timezone.now())
