"""The Celery app of the scale mode; tasks call the same job functions as the scheduler.

Workers start with ``salesradar worker``, the periodic schedule with ``salesradar beat``.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesradar.config.settings")


def broker_url() -> str:
    from salesradar.core import env

    return env.get("BROKER_URL", "redis://127.0.0.1:6379/0")


def result_backend() -> str | None:
    from salesradar.core import env

    configured = env.get("RESULT_BACKEND")
    if configured:
        return configured
    broker = broker_url()
    return broker if broker.startswith("redis") else None


app = Celery("salesradar")
app.conf.update(
    broker_url=broker_url(),
    result_backend=result_backend(),
    task_acks_late=True,  # a worker killed mid-task leaves the task for another worker
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_serializer="json",
    accept_content=["json"],
    timezone="UTC",
    broker_connection_retry_on_startup=True,
)
app.autodiscover_tasks(
    [
        "salesradar.alerts",
        "salesradar.notify",
        "salesradar.api",
        "salesradar.crm",
        "salesradar.forecast",
        "salesradar.health",
    ]
)


def beat_schedule() -> dict[str, dict[str, object]]:
    from salesradar.config.jobs import (
        HEALTH_SECONDS,
        HOUSEKEEPING_SECONDS,
        MODEL_CHECK_SECONDS,
        PERIODIC_SECONDS,
    )
    from salesradar.core import env
    from salesradar.crm.settings import lead_jobs_seconds

    minutes = float(env.get("EVALUATE_MINUTES", "15"))
    return {
        "evaluate": {
            "task": "salesradar.alerts.tasks.evaluate_all",
            "schedule": minutes * 60,
            "options": {"expires": minutes * 60},
        },
        "notify": {
            "task": "salesradar.notify.tasks.drain_outbox",
            "schedule": 5.0,
            "options": {"expires": 30},
        },
        "briefings": {
            "task": "salesradar.notify.tasks.send_periodic_digests",
            "schedule": float(PERIODIC_SECONDS),
            "options": {"expires": PERIODIC_SECONDS},
        },
        "housekeeping": {
            "task": "salesradar.notify.tasks.housekeep",
            "schedule": float(HOUSEKEEPING_SECONDS),
            "options": {"expires": HOUSEKEEPING_SECONDS},
        },
        "webhook-events": {
            "task": "salesradar.api.tasks.announce_alert_events",
            "schedule": 5.0,
            "options": {"expires": 30},
        },
        "leads": {
            "task": "salesradar.crm.tasks.run_lead_jobs",
            "schedule": lead_jobs_seconds(),
            "options": {"expires": 300},
        },
        "model-retrain": {
            "task": "salesradar.forecast.tasks.retrain_models",
            "schedule": float(MODEL_CHECK_SECONDS),
            "options": {"expires": MODEL_CHECK_SECONDS},
        },
        "health": {
            "task": "salesradar.health.tasks.run_health",
            "schedule": float(HEALTH_SECONDS),
            "options": {"expires": HEALTH_SECONDS},
        },
        "handovers": {
            "task": "salesradar.handover.tasks.run_due_handovers",
            "schedule": float(PERIODIC_SECONDS),
            "options": {"expires": PERIODIC_SECONDS},
        },
    }


app.conf.beat_schedule = beat_schedule()
