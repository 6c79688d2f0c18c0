"""Every Monday (configurable) each manager gets their team's report, each director the org's."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from salesradar.accounts.choices import Role
from salesradar.accounts.models import Team, User
from salesradar.core import env
from salesradar.notify.models import Delivery
from salesradar.notify.services import default_inbox, personal_deliveries, preferences_of
from salesradar.reports.models import WeeklyReportSent
from salesradar.reports.render import render_document
from salesradar.reports.weekly import build_weekly_report, last_full_week


def report_day_and_hour() -> tuple[int, int]:
    """``SALESRADAR_WEEKLY_REPORT_DAY`` (1 = Monday … 7) and ``_HOUR`` (local), default 1 and 8."""
    return int(env.get("WEEKLY_REPORT_DAY", "1")), int(env.get("WEEKLY_REPORT_HOUR", "8"))


def send_weekly_reports(*, now: dt.datetime) -> int:
    """Queue last week's report for every manager and director once; return how many."""
    day, hour = report_day_and_hour()
    local = timezone.localtime(now, ZoneInfo(env.get("TIME_ZONE", "Asia/Shanghai")))
    if local.isoweekday() < day or (local.isoweekday() == day and local.hour < hour):
        return 0
    week = last_full_week(now)
    done = set(
        WeeklyReportSent.objects.filter(week_start=week).values_list("recipient_id", flat=True)
    )
    people = list(
        User.objects.filter(is_active=True, role__in=[Role.MANAGER, Role.DIRECTOR]).exclude(
            pk__in=done
        )
    )
    led = {team.manager_id: team for team in Team.objects.filter(manager__isnull=False)}
    preferences = preferences_of([person.pk for person in people])
    inbox = default_inbox()
    sent = 0
    for person in people:
        team = None if person.role == Role.DIRECTOR else led.get(person.pk)
        if person.role == Role.MANAGER and team is None:
            continue
        with translation.override(person.language or "zh-hans"):
            report = build_weekly_report(week_start=week, team=team, now=now)
            subject = _("SalesRadar weekly process-health report: {scope}, week of {week}").format(
                scope=report.scope, week=week
            )
            html = render_document(report)
        payload: dict[str, object] = {
            "language": person.language,
            "subject": subject,
            "text": subject,
            "markdown": subject,
            "html": html,
            "items": [],
            "recipient_email": person.email,
            "recipient_name": str(person),
            "mention_mobiles": [],
            "mentions": {},
        }
        deliveries = personal_deliveries(
            person, preferences.get(person.pk), inbox, payload, now, alert_events=[], urgent=False
        )
        try:
            with transaction.atomic():
                WeeklyReportSent.objects.create(
                    week_start=week, recipient=person, team=team, sent_at=now
                )
                Delivery.objects.bulk_create(deliveries)
        except IntegrityError:
            continue  # a concurrent run queued it
        sent += 1
    return sent
