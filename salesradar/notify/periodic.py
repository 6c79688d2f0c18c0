"""The daily and weekly jobs: morning briefings, managers' weekly summaries, housekeeping.

Both the in-process scheduler and Celery beat call these every few minutes; each person's
briefing falls due at ``SALESRADAR_BRIEFING_HOUR`` in their own time zone, each team's summary
on ``SALESRADAR_WEEKLY_SUMMARY_DAY`` at ``SALESRADAR_WEEKLY_SUMMARY_HOUR`` in its manager's.
A ``PeriodicDigest`` row per person (and team) and period, written in the same transaction
as the deliveries, makes a second run in the same period send nothing. Messages go through
the outbox like alert digests: the person's channels plus the inbox, held in quiet hours.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Count, F, OuterRef, Q, Subquery
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from salesradar.accounts.models import Team, User
from salesradar.activities.choices import TaskStatus
from salesradar.activities.models import Task
from salesradar.alerts.choices import AlertState, EventKind
from salesradar.alerts.models import Alert, AlertEvent, Silence
from salesradar.alerts.wording import describe_alerts
from salesradar.core import env
from salesradar.notify.choices import DeliveryStatus
from salesradar.notify.models import (
    AlertRecipient,
    Delivery,
    DigestKind,
    InboxMessage,
    PeriodicDigest,
)
from salesradar.notify.services import (
    SEVERITY_ORDER,
    default_inbox,
    mentions_for,
    personal_deliveries,
    preferences_of,
    render_payload,
    summary_item,
    wording_item,
)

OPEN_STATES = (AlertState.FIRING, AlertState.ACKNOWLEDGED, AlertState.SNOOZED, AlertState.PENDING)
BRIEFING_ITEMS = 30  # the rest is counted in the subject, not listed
TOP_RISKS = 5


def setting_hour(name: str, default: str) -> int:
    """Read an hour of the day from ``SALESRADAR_<name>``, refusing anything but 0 to 23."""
    raw = env.get(name, default).strip()
    if not raw.isdigit() or not 0 <= int(raw) <= 23:
        raise ValueError(f"SALESRADAR_{name} must be an hour from 0 to 23, not {raw!r}")
    return int(raw)


def setting_weekday() -> int:
    raw = env.get("WEEKLY_SUMMARY_DAY", "1").strip()
    if not raw.isdigit() or not 1 <= int(raw) <= 7:
        raise ValueError(
            f"SALESRADAR_WEEKLY_SUMMARY_DAY must be 1 (Monday) to 7 (Sunday), not {raw!r}"
        )
    return int(raw)


def retention() -> dt.timedelta:
    raw = env.get("RETENTION_DAYS", "90").strip()
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"SALESRADAR_RETENTION_DAYS must be a whole number of days, not {raw!r}")
    return dt.timedelta(days=int(raw))


def zone_of(user: User) -> ZoneInfo:
    return ZoneInfo(user.time_zone or env.get("TIME_ZONE", "Asia/Shanghai"))


# --- Morning briefing -----------------------------------------------------------------------


def send_morning_briefings(*, now: dt.datetime) -> int:
    """Queue today's briefing for everyone whose briefing hour has come; return how many.

    A briefing lists the person's open alerts except those of rules they muted.
    """
    hour = setting_hour("BRIEFING_HOUR", "8")
    people = list(User.objects.filter(is_active=True))
    preferences = preferences_of([person.pk for person in people])
    due: dict[int, tuple[User, dt.date]] = {}
    for person in people:
        local = now.astimezone(zone_of(person))
        preference = preferences.get(person.pk)
        if local.hour >= hour and (preference is None or preference.daily_briefing):
            due[person.pk] = (person, local.date())
    sent = set(
        PeriodicDigest.objects.filter(
            kind=DigestKind.DAILY_BRIEFING,
            recipient_id__in=list(due),
            period_start__in={day for _person, day in due.values()},
        ).values_list("recipient_id", "period_start")
    )
    due = {pk: entry for pk, entry in due.items() if (pk, entry[1]) not in sent}
    if not due:
        return 0
    alerts = open_alerts_of(list(due))
    overdue = dict(
        Task.objects.filter(assignee_id__in=list(due), status=TaskStatus.OPEN, due_at__lt=now)
        .values_list("assignee_id")
        .annotate(count=Count("pk"))
        .values_list("assignee_id", "count")
    )
    inbox = default_inbox()
    deliveries: list[Delivery] = []
    records: list[PeriodicDigest] = []
    for pk, (person, day) in due.items():
        preference = preferences.get(pk)
        muted = {rule.pk for rule in preference.muted_rules.all()} if preference else set()
        mine = [alert for alert in alerts.get(pk, []) if alert.rule_id not in muted]
        late = overdue.get(pk, 0)
        made: list[Delivery] = []
        if mine or late:
            language = person.language or "zh-hans"
            payload = render_payload(
                briefing_items(mine, late, language),
                language,
                person,
                mentions_for([person], preferences),
                subject=briefing_subject(len(mine), late, language),
            )
            made = personal_deliveries(
                person, preference, inbox, payload, now, alert_events=[], urgent=False
            )
        deliveries += made
        records.append(
            PeriodicDigest(
                kind=DigestKind.DAILY_BRIEFING,
                period_start=day,
                recipient=person,
                deliveries=len(made),
                created_at=now,
            )
        )
    return save_digests(records, deliveries)


def save_digests(records: list[PeriodicDigest], deliveries: list[Delivery]) -> int:
    """Write the digests and their deliveries together; return how many digests were made."""
    with transaction.atomic():
        # a concurrent run has written the same rows: the unique constraint refuses the lot
        PeriodicDigest.objects.bulk_create(records, batch_size=2000)
        Delivery.objects.bulk_create(deliveries, batch_size=2000)
    return len(records)


def open_alerts_of(user_ids: Sequence[int]) -> dict[int, list[Alert]]:
    """Each person's open alerts: those they own and those they were told about this episode."""
    told = AlertRecipient.objects.filter(user_id__in=list(user_ids)).values("alert_id")
    alerts = list(
        Alert.objects.filter(state__in=OPEN_STATES, inhibited_by__isnull=True)
        .filter(Q(owner_id__in=list(user_ids)) | Q(pk__in=told))
        .select_related("rule")
    )
    wanted = set(user_ids)
    episodes = {alert.pk: alert.started_at for alert in alerts}
    readers: dict[int, set[int]] = defaultdict(set)
    for alert_id, user_id, episode in AlertRecipient.objects.filter(
        user_id__in=list(user_ids), alert_id__in=list(episodes)
    ).values_list("alert_id", "user_id", "episode"):
        if episodes[alert_id] == episode:
            readers[alert_id].add(user_id)
    found: dict[int, list[Alert]] = defaultdict(list)
    for alert in alerts:
        people = readers[alert.pk] | ({alert.owner_id} & wanted if alert.owner_id else set())
        for person in people:
            found[person].append(alert)
    return found


def briefing_subject(alerts: int, overdue: int, language: str) -> str:
    with translation.override(language):
        return _(
            "SalesRadar morning briefing: {alerts} open alerts, {overdue} overdue tasks"
        ).format(alerts=alerts, overdue=overdue)


def briefing_items(alerts: Iterable[Alert], overdue: int, language: str) -> list[dict[str, str]]:
    """The briefing's lines: overdue tasks, then open alerts most severe and oldest first."""
    ordered = sorted(
        alerts,
        key=lambda alert: (SEVERITY_ORDER.get(alert.severity, 2), alert.started_at, alert.pk),
    )
    with translation.override(language):
        items = []
        if overdue:
            items.append(
                summary_item(
                    ngettext(
                        "{count} of your tasks is overdue.",
                        "{count} of your tasks are overdue.",
                        overdue,
                    ).format(count=overdue)
                )
            )
        items += alert_items(ordered[:BRIEFING_ITEMS], language)
        hidden = len(ordered) - BRIEFING_ITEMS
        if hidden > 0:
            items.append(
                summary_item(
                    ngettext(
                        "…and {count} more open alert.", "…and {count} more open alerts.", hidden
                    ).format(count=hidden)
                )
            )
    return items


def alert_items(alerts: Sequence[Alert], language: str) -> list[dict[str, str]]:
    """Open alerts as digest lines in ``language``, described like every other surface."""
    wordings = describe_alerts(alerts, language)
    with translation.override(language):
        return [wording_item(alert, wordings[alert.pk], alert.severity, "open") for alert in alerts]


# --- Weekly summary -------------------------------------------------------------------------


@dataclass
class TeamWeek:
    """What happened to one team's alerts in one week."""

    opened: int = 0
    acknowledged: int = 0
    resolved: int = 0
    escalations: int = 0
    hours_to_acknowledge: float | None = None


def week_due(now: dt.datetime, zone: ZoneInfo, weekday: int, hour: int) -> dt.date | None:
    """Return the Monday of the week to summarise once this week's summary time has come."""
    local = now.astimezone(zone)
    monday = local.date() - dt.timedelta(days=local.weekday())
    due_at = dt.datetime.combine(monday + dt.timedelta(days=weekday - 1), dt.time(hour), zone)
    return monday - dt.timedelta(days=7) if local >= due_at else None


def send_weekly_summaries(*, now: dt.datetime) -> int:
    """Queue last week's summary for every team whose manager's summary time has come."""
    weekday = setting_weekday()
    hour = setting_hour("WEEKLY_SUMMARY_HOUR", "9")
    teams = list(
        Team.objects.filter(manager__isnull=False, manager__is_active=True).select_related(
            "manager"
        )
    )
    preferences = preferences_of([team.manager_id for team in teams if team.manager_id])
    due: list[tuple[Team, User, dt.date]] = []
    for team in teams:
        manager = team.manager
        preference = preferences.get(team.manager_id or 0)
        week = week_due(now, zone_of(manager), weekday, hour) if manager else None
        if manager and week and (preference is None or preference.weekly_summary):
            due.append((team, manager, week))
    sent = set(
        PeriodicDigest.objects.filter(
            kind=DigestKind.WEEKLY_SUMMARY, team_id__in=[team.pk for team, _m, _w in due]
        ).values_list("team_id", "recipient_id", "period_start")
    )
    due = [entry for entry in due if (entry[0].pk, entry[1].pk, entry[2]) not in sent]
    if not due:
        return 0
    bounds = {(team.pk, week): week_bounds(week, zone_of(manager)) for team, manager, week in due}
    start = min(begin for begin, _end in bounds.values())
    end = max(finish for _begin, finish in bounds.values())
    events = week_events(start, end)
    risks = open_risks()
    inbox = default_inbox()
    deliveries: list[Delivery] = []
    records: list[PeriodicDigest] = []
    for team, manager, week in due:
        begin, finish = bounds[(team.pk, week)]
        figures = summarise(team, events, begin, finish)
        top = [alert for path, alert in risks if path.startswith(team.path)][:TOP_RISKS]
        language = manager.language or "zh-hans"
        payload = render_payload(
            summary_items(figures, top, language),
            language,
            manager,
            mentions_for([manager], preferences),
            subject=summary_subject(team, week, figures, language),
        )
        made = personal_deliveries(
            manager, preferences.get(manager.pk), inbox, payload, now, alert_events=[], urgent=False
        )
        deliveries += made
        records.append(
            PeriodicDigest(
                kind=DigestKind.WEEKLY_SUMMARY,
                period_start=week,
                recipient=manager,
                team=team,
                deliveries=len(made),
                created_at=now,
            )
        )
    return save_digests(records, deliveries)


def week_bounds(monday: dt.date, zone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    begin = dt.datetime.combine(monday, dt.time(0), zone)
    return begin, dt.datetime.combine(monday + dt.timedelta(days=7), dt.time(0), zone)


EventRow = tuple[str, str, dt.datetime, dt.datetime | None]


def week_events(start: dt.datetime, end: dt.datetime) -> list[EventRow]:
    """The week's counted events (team path, kind, at, firing time for acknowledgements)."""
    fired = AlertEvent.objects.filter(
        alert=OuterRef("alert"), kind=EventKind.FIRING, at__lte=OuterRef("at")
    ).order_by("-at", "-id")
    kinds = (
        EventKind.OPENED,
        EventKind.REOPENED,
        EventKind.ACKNOWLEDGED,
        EventKind.RESOLVED,
        EventKind.ESCALATED,
    )
    rows = (
        AlertEvent.objects.filter(at__gte=start, at__lt=end, kind__in=kinds)
        .exclude(alert__team__isnull=True)
        .annotate(fired_at=Subquery(fired.values("at")[:1]))
        .values_list("alert__team__path", "kind", "at", "fired_at")
    )
    return list(rows)


def summarise(
    team: Team, events: Sequence[EventRow], begin: dt.datetime, end: dt.datetime
) -> TeamWeek:
    """Count one team subtree's events of one week; the median acknowledgement in hours."""
    kinds: Counter[str] = Counter()
    waits = []
    for path, kind, at, fired_at in events:
        if not path.startswith(team.path) or not begin <= at < end:
            continue
        kinds[kind] += 1
        if kind == EventKind.ACKNOWLEDGED and fired_at is not None:
            waits.append((at - fired_at).total_seconds() / 3600)
    return TeamWeek(
        opened=kinds[EventKind.OPENED] + kinds[EventKind.REOPENED],
        acknowledged=kinds[EventKind.ACKNOWLEDGED],
        resolved=kinds[EventKind.RESOLVED],
        escalations=kinds[EventKind.ESCALATED],
        hours_to_acknowledge=statistics.median(waits) if waits else None,
    )


def open_risks() -> list[tuple[str, Alert]]:
    """Open firing alerts with their team path, danger first, then longest firing."""
    alerts = (
        Alert.objects.filter(
            state__in=(AlertState.FIRING, AlertState.ACKNOWLEDGED, AlertState.SNOOZED),
            inhibited_by__isnull=True,
            team__isnull=False,
        )
        .select_related("rule", "team")
        .order_by("firing_since", "pk")
    )
    ranked = sorted(alerts, key=lambda alert: SEVERITY_ORDER.get(alert.severity, 2))
    return [(alert.team.path, alert) for alert in ranked if alert.team is not None]


def summary_subject(team: Team, week: dt.date, figures: TeamWeek, language: str) -> str:
    with translation.override(language):
        return _(
            "SalesRadar weekly summary, {team}, week of {week}: {opened} opened, "
            "{acknowledged} acknowledged, {resolved} resolved"
        ).format(
            team=team.name,
            week=week.isoformat(),
            opened=figures.opened,
            acknowledged=figures.acknowledged,
            resolved=figures.resolved,
        )


def summary_items(figures: TeamWeek, risks: Sequence[Alert], language: str) -> list[dict[str, str]]:
    with translation.override(language):
        median = (
            _("Median time to acknowledge: {hours} hours.").format(
                hours=f"{figures.hours_to_acknowledge:.1f}"
            )
            if figures.hours_to_acknowledge is not None
            else _("Median time to acknowledge: no acknowledgement this week.")
        )
        items = [
            summary_item(
                _(
                    "Alerts opened: {opened}; acknowledged: {acknowledged}; resolved: {resolved}."
                ).format(
                    opened=figures.opened,
                    acknowledged=figures.acknowledged,
                    resolved=figures.resolved,
                )
            ),
            summary_item(median),
            summary_item(_("Escalations: {count}.").format(count=figures.escalations)),
            summary_item(
                _("Top open risks:") if risks else _("No open risks: every alert is settled.")
            ),
        ]
        items += alert_items(list(risks), language)
    return items


# --- Housekeeping ---------------------------------------------------------------------------


@dataclass
class Housekeeping:
    silences: int = 0
    deliveries: int = 0
    inbox_messages: int = 0
    recipients: int = 0
    digests: int = 0


def housekeep(*, now: dt.datetime) -> Housekeeping:
    """Remove what is past the retention: never a failed, queued or unread message."""
    cutoff = now - retention()
    done = Housekeeping()
    with transaction.atomic():
        done.silences, _kinds = Silence.objects.filter(ends_at__lt=cutoff).delete()
        done.inbox_messages, _kinds = InboxMessage.objects.filter(
            read_at__isnull=False, read_at__lt=cutoff
        ).delete()
        # A sent delivery whose inbox message is still unread stays with it.
        done.deliveries, _kinds = Delivery.objects.filter(
            status=DeliveryStatus.SENT, sent_at__lt=cutoff, inbox_message__isnull=True
        ).delete()
        done.recipients, _kinds = AlertRecipient.objects.filter(
            Q(alert__state=AlertState.RESOLVED, alert__resolved_at__lt=cutoff)
            | (Q(first_told_at__lt=cutoff) & ~Q(episode=F("alert__started_at"))),
        ).delete()
        done.digests, _kinds = PeriodicDigest.objects.filter(
            period_start__lt=(cutoff - dt.timedelta(days=7)).date()
        ).delete()
    return done
