"""The outbox on Celery: any number of workers drain it; claims never overlap."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone


@shared_task(name="salesradar.notify.tasks.drain_outbox", ignore_result=True)
def drain_outbox(batch: int = 100, rounds: int = 50) -> int:
    """Plan new transitions, then send due deliveries until none is left (bounded rounds)."""
    from salesradar.notify.dispatch import dispatch_due
    from salesradar.notify.services import plan_notifications

    plan_notifications(until=timezone.now())
    sent = 0
    for _round in range(rounds):
        report = dispatch_due(now=timezone.now(), limit=batch)
        sent += report.sent
        if report.claimed == 0:
            break
    return sent


@shared_task(name="salesradar.notify.tasks.send_periodic_digests", ignore_result=True)
def send_periodic_digests() -> None:
    """Queue the morning briefings and weekly summaries that have fallen due."""
    from salesradar.config.jobs import send_briefings_and_summaries

    send_briefings_and_summaries()


@shared_task(name="salesradar.notify.tasks.housekeep", ignore_result=True)
def housekeep() -> None:
    """Remove expired silences and what is past the retention."""
    from salesradar.config.jobs import housekeep as run

    run()
