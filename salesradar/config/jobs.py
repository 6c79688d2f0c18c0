"""The periodic work of SalesRadar, shared by the in-process scheduler and Celery beat."""

from __future__ import annotations

from django.utils import timezone

from salesradar.core import env
from salesradar.core.scheduler import Job, Scheduler
from salesradar.crm.settings import lead_jobs_seconds


def evaluate_rules() -> None:
    from salesradar.alerts.engine import evaluate
    from salesradar.alerts.rules import ensure_default_rules

    ensure_default_rules()
    evaluate(at=timezone.now())


def send_notifications() -> None:
    from salesradar.notify.dispatch import dispatch_due
    from salesradar.notify.services import plan_notifications

    now = timezone.now()
    plan_notifications(until=now)
    dispatch_due(now=now)


def run_lead_jobs() -> None:
    from salesradar.crm.periodic import run_all

    run_all(at=timezone.now())


def default_scheduler() -> Scheduler:
    minutes = float(env.get("EVALUATE_MINUTES", "15"))
    return Scheduler(
        jobs=[
            Job("evaluate", interval=minutes * 60, run=evaluate_rules),
            Job("notify", interval=5, run=send_notifications),
            Job("leads", interval=lead_jobs_seconds(), run=run_lead_jobs),
        ]
    )
