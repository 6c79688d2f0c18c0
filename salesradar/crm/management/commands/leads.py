"""``salesradar leads run|route|reindex|calendar``: the lead pool's periodic work by hand."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _


class Command(BaseCommand):
    help = (
        "Lead pool work: `run` does every periodic job once (recall, countdown, ladder, tiers, "
        "lifecycle, nurture, routing); `route` routes the pool; `reindex` refills the duplicate "
        "guard's keys of rows written outside the ORM; `calendar` shows the working calendar's "
        "coverage."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        run = actions.add_parser("run", help="run every periodic job once")
        run.add_argument("--at", help="ISO date or datetime (default: now)")
        actions.add_parser("route", help="route every unowned lead of the pool")
        actions.add_parser("reindex", help="refill name, phone and e-mail match keys")
        calendar = actions.add_parser("calendar", help="show whether a year has official data")
        calendar.add_argument("--year", type=int, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        from salesradar.alerts.management.commands.evaluate import parse_at

        action = options["action"]
        if action == "run":
            from salesradar.crm.periodic import run_all

            report = run_all(at=parse_at(options.get("at")))
            self.stdout.write(json.dumps(report, indent=1, default=str))
        elif action == "route":
            from salesradar.crm.routing import pool_counts, route_leads

            result = route_leads(at=timezone.now())
            self.stdout.write(
                json.dumps(
                    {"assigned": result.assigned, "unrouted": result.unrouted, **pool_counts()},
                    indent=1,
                )
            )
        elif action == "reindex":
            from salesradar.crm.dedup import refresh_match_keys

            self.stdout.write(json.dumps(refresh_match_keys(), indent=1))
        else:
            from salesradar.crm.calendar import coverage_warning

            year = options["year"] or timezone.localdate().year
            warning = coverage_warning(year)
            known = _("{year}: official holidays and swapped working days known").format(year=year)
            self.stdout.write(warning or known)
