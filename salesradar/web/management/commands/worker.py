from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Run a Celery worker (broker from SALESRADAR_BROKER_URL) for evaluation and the outbox."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--concurrency", type=int, default=2)
        parser.add_argument("--hostname", default="salesradar@%h")
        parser.add_argument("--loglevel", default="INFO")
        parser.add_argument(
            "--queues", default="", help="comma-separated queues to consume (default: celery)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from salesradar.config.celery import app

        app.worker_main(
            [
                "worker",
                f"--concurrency={options['concurrency']}",
                f"--hostname={options['hostname']}",
                f"--loglevel={options['loglevel']}",
                "--pool=prefork",
                *([f"--queues={options['queues']}"] if options["queues"] else []),
            ]
        )
