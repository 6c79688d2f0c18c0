from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Run Celery beat: rule evaluation every SALESRADAR_EVALUATE_MINUTES, the outbox every "
        "5 s, briefings and weekly summaries as they fall due, housekeeping every 6 hours."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        from salesradar.config.celery import app
        from salesradar.core import env

        schedule_file = str(env.data_dir() / "celerybeat-schedule")
        app.start(["beat", f"--schedule={schedule_file}", "--loglevel=INFO"])
