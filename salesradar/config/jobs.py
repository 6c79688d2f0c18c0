"""The periodic work of SalesRadar, shared by the in-process scheduler and Celery beat."""

from __future__ import annotations

from django.utils import timezone

from salesradar.core import env
from salesradar.core.scheduler import Job, Scheduler
from salesradar.crm.settings import lead_jobs_seconds

PERIODIC_SECONDS = 300  # how often the daily and weekly jobs look for what has fallen due
HOUSEKEEPING_SECONDS = 6 * 3600
MODEL_CHECK_SECONDS = 3600  # weekly retraining and forecast snapshots; hourly finds when due
HEALTH_SECONDS = 3600  # the health job rescores daily and calibrates monthly when due


def evaluate_rules() -> None:
    from salesradar.alerts.engine import evaluate
    from salesradar.alerts.rules import ensure_default_rules

    ensure_default_rules()
    evaluate(at=timezone.now())


def send_notifications() -> None:
    from salesradar.api.jobs import run_periodic
    from salesradar.notify.dispatch import dispatch_due
    from salesradar.notify.services import plan_notifications

    now = timezone.now()
    plan_notifications(until=now)
    run_periodic(now=now)  # webhook events of alert transitions the engine wrote in bulk
    dispatch_due(now=now)


def send_briefings_and_summaries() -> None:
    """The daily morning briefings and the weekly team summaries that have fallen due."""
    from salesradar.notify.periodic import send_morning_briefings, send_weekly_summaries
    from salesradar.reports.mail import send_weekly_reports

    now = timezone.now()
    send_morning_briefings(now=now)
    send_weekly_summaries(now=now)
    send_weekly_reports(now=now)


def housekeep() -> None:
    from salesradar.api.jobs import housekeep as forget_idempotency_keys
    from salesradar.notify.periodic import housekeep as remove_expired

    now = timezone.now()
    remove_expired(now=now)
    forget_idempotency_keys(now=now)


def warm_cockpit() -> None:
    from salesradar.web.cockpit import warm_trend_cache

    warm_trend_cache(at=timezone.now())


def run_lead_jobs() -> None:
    from salesradar.crm.periodic import run_all

    run_all(at=timezone.now())


def retrain_models() -> None:
    """The forecast's weekly work, checked hourly: retrain the models, snapshot the forecast."""
    from salesradar.forecast.periodic import run_weekly

    run_weekly(at=timezone.now(), by="scheduler")


def run_health_jobs() -> None:
    """Customer health (daily scores, monthly calibration) and the action cards' reminders."""
    from salesradar.health.jobs import run_due
    from salesradar.review.services import remind_and_flag_overdue

    now = timezone.now()
    run_due(at=now)
    remind_and_flag_overdue(at=now)


def run_due_handovers() -> None:
    from salesradar.handover.services import run_due_handovers as carry_out_due

    carry_out_due(at=timezone.now())


def default_scheduler() -> Scheduler:
    minutes = float(env.get("EVALUATE_MINUTES", "15"))
    return Scheduler(
        jobs=[
            Job("evaluate", interval=minutes * 60, run=evaluate_rules),
            Job("notify", interval=5, run=send_notifications),
            Job("briefings", interval=PERIODIC_SECONDS, run=send_briefings_and_summaries),
            Job("housekeeping", interval=HOUSEKEEPING_SECONDS, run=housekeep),
            # the cockpit's trend cache lives in this process, so only the embedded server
            # warms it; it keeps an hour, so refreshing twice an hour keeps it always warm
            Job("cockpit-trends", interval=30 * 60, run=warm_cockpit),
            Job("leads", interval=lead_jobs_seconds(), run=run_lead_jobs),
            Job("model-retrain", interval=MODEL_CHECK_SECONDS, run=retrain_models),
            Job("health", interval=HEALTH_SECONDS, run=run_health_jobs),
            Job("handovers", interval=PERIODIC_SECONDS, run=run_due_handovers),
        ]
    )
