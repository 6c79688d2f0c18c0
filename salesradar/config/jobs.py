"""The periodic work of SalesRadar, shared by the in-process scheduler and Celery beat."""

from __future__ import annotations

from django.utils import timezone

from salesradar.core import env
from salesradar.core.scheduler import Job, Scheduler


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


def warm_cockpit() -> None:
    from salesradar.web.cockpit import warm_trend_cache

    warm_trend_cache(at=timezone.now())


def default_scheduler() -> Scheduler:
    minutes = float(env.get("EVALUATE_MINUTES", "15"))
    return Scheduler(
        jobs=[
            Job("evaluate", interval=minutes * 60, run=evaluate_rules),
            Job("notify", interval=5, run=send_notifications),
            # the cockpit's trend cache lives in this process, so only the embedded server
            # warms it; it keeps an hour, so refreshing twice an hour keeps it always warm
            Job("cockpit-trends", interval=30 * 60, run=warm_cockpit),
        ]
    )
