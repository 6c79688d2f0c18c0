"""``salesradar report weekly [--team CODE] [--week DATE] [--format html|pdf|xlsx]``."""

from __future__ import annotations

import datetime as dt
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone, translation


class Command(BaseCommand):
    help = "Write the weekly process-health report of a team (or the whole organisation)."

    def add_arguments(self, parser: CommandParser) -> None:
        kinds = parser.add_subparsers(dest="kind", required=True)
        weekly = kinds.add_parser("weekly")
        weekly.add_argument("--team", help="team code (default: the whole organisation)")
        weekly.add_argument("--week", help="any day of the week (default: last full week)")
        weekly.add_argument("--format", choices=["html", "pdf", "xlsx"], default="html")
        weekly.add_argument("--output", help="file to write (default: standard output)")
        weekly.add_argument("--language", choices=["zh-hans", "en"], default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        from salesradar.accounts.models import Team
        from salesradar.core import env
        from salesradar.reports.render import render_document, render_pdf, render_xlsx
        from salesradar.reports.weekly import build_weekly_report, last_full_week, week_monday

        team = None
        if options["team"]:
            team = Team.objects.filter(code=options["team"]).first()
            if team is None:
                known = ", ".join(Team.objects.order_by("code").values_list("code", flat=True))
                raise CommandError(f"no team with code {options['team']!r}; known: {known}")
        if options["week"]:
            try:
                week = week_monday(dt.date.fromisoformat(options["week"]))
            except ValueError:
                message = f"--week {options['week']!r} is not a date (YYYY-MM-DD)"
                raise CommandError(message) from None
        else:
            week = last_full_week(timezone.now())
        language = options["language"] or env.get("LANGUAGE_CODE", "zh-hans")
        with translation.override(language):
            report = build_weekly_report(week_start=week, team=team)
            kind = options["format"]
            if kind == "html":
                data: bytes = render_document(report).encode("utf-8")
            elif kind == "pdf":
                data = render_pdf(report)
            else:
                data = render_xlsx(report)
        if options["output"]:
            with open(options["output"], "wb") as handle:
                handle.write(data)
            self.stdout.write(f"{options['output']}: {len(data):,} bytes")
        else:
            sys.stdout.buffer.write(data)
