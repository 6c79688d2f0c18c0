from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from salesradar.core.datadir import require_schema
from salesradar.notify.dispatch import dispatch_due
from salesradar.notify.services import plan_notifications


class Command(BaseCommand):
    help = (
        "Turn new alert transitions into deliveries and send what is due; with --loop, keep "
        "doing so every few seconds until stopped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--loop", action="store_true", help="keep running")
        parser.add_argument("--interval", type=float, default=5.0, help="seconds between rounds")
        parser.add_argument("--batch", type=int, default=100, help="deliveries per claim")

    def handle(self, *args: Any, **options: Any) -> None:
        require_schema()
        while True:
            now = timezone.now()
            planned = plan_notifications(until=now)
            report = dispatch_due(now=now, limit=options["batch"])
            if planned or report.claimed:
                self.stdout.write(
                    f"planned {planned}, claimed {report.claimed}: sent {report.sent}, "
                    f"retrying {report.retried}, failed {report.failed}, "
                    f"rate-limited {report.deferred}"
                )
            if not options["loop"]:
                return
            if report.claimed < options["batch"]:
                time.sleep(options["interval"])
