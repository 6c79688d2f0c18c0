"""Turn alert transitions into deliveries: who hears, through which channel, in one digest.

Alert events are the durable source: the engine appends them in the same transaction as the
alert changes. ``plan_notifications(at)`` reads the events of evaluations not planned yet,
routes each to its recipients (owner, manager, the team's manager chain, named users, team
channels; one level further up per escalation), groups them into one digest per recipient
and channel, and writes ``Delivery`` rows plus a ``NotificationBatch`` marker in one
transaction, so a crash plans the batch again rather than losing or doubling it.

Who was told about an alert's episode is kept (``AlertRecipient``): reminders and the
"resolved" notice go to exactly those people and team channels. Silenced alerts are not
announced; announced ones get ``last_notified_at``, which the engine's reminders count from.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from salesradar.accounts.choices import Role
from salesradar.accounts.models import Team, User
from salesradar.alerts.choices import EventKind
from salesradar.alerts.models import Alert, AlertCheck, AlertEvent, Silence
from salesradar.alerts.wording import (
    AlertWording,
    absolute,
    alerts_of,
    describe_alert,
    describe_alerts,
)
from salesradar.core import env
from salesradar.notify.models import (
    AlertRecipient,
    BatchState,
    Channel,
    Delivery,
    NotificationBatch,
    Preference,
)

NOTIFIED_KINDS = (
    EventKind.FIRING,
    EventKind.SEVERITY_CHANGED,
    EventKind.ESCALATED,
    EventKind.REMINDED,
    EventKind.RESOLVED,
)
TOLD_AGAIN_KINDS = (EventKind.REMINDED, EventKind.RESOLVED)  # go to whoever was told
ANNOUNCING_KINDS = (EventKind.FIRING, EventKind.SEVERITY_CHANGED, EventKind.ESCALATED)
SEVERITY_ORDER = {"danger": 0, "warning": 1, "": 2}
ABANDONED_PASS = dt.timedelta(hours=1)
"""A pass on the workers that has not finished after this long is planned as it stands."""
MENTION_KINDS = ("wecom", "dingtalk", "feishu")


@dataclass
class Route:
    """Where one event goes: people (each over their personal channels) and team channels."""

    users: set[int] = field(default_factory=set)
    channels: set[int] = field(default_factory=set)


def manager_chain(team_id: int | None, teams: dict[int, Team]) -> list[int]:
    """Managers from the team up to the root, nearest first, without repeats."""
    chain: list[int] = []
    team = teams.get(team_id) if team_id else None
    while team is not None:
        if team.manager_id and team.manager_id not in chain:
            chain.append(team.manager_id)
        team = teams.get(team.parent_id) if team.parent_id else None
    return chain


def route(
    alert: Alert,
    event: AlertEvent,
    teams: dict[int, Team],
    users_by_name: dict[str, int],
    team_channels: dict[int, list[int]],
) -> Route:
    """Resolve the rule's routing hints for one event of one alert."""
    result = Route()
    hints = (alert.rule.routing or {}).get("to") or ["owner"]
    chain = manager_chain(alert.team_id, teams)
    if alert.owner_id in chain:
        chain.remove(alert.owner_id)  # a manager's own alert goes to their manager
    for hint in hints:
        if hint == "owner" and alert.owner_id:
            result.users.add(alert.owner_id)
        elif hint in ("manager", "team_manager") and chain:
            result.users.add(chain[0])
        elif hint == "manager_chain":
            result.users.update(chain)
        elif isinstance(hint, str) and hint.startswith("user:"):
            user_id = users_by_name.get(hint.split(":", 1)[1])
            if user_id:
                result.users.add(user_id)
        elif hint == "team_channel" and alert.team_id:
            for team_id in [alert.team_id, *ancestors(alert.team_id, teams)]:
                result.channels.update(team_channels.get(team_id, []))
    if event.kind == EventKind.ESCALATED:
        # each escalation level reaches one manager further up the tree
        level = alert.escalation_level
        result.users.update(chain[: level + 1])
    if not result.users and not result.channels and alert.owner_id:
        result.users.add(alert.owner_id)
    return result


def ancestors(team_id: int, teams: dict[int, Team]) -> list[int]:
    found = []
    team = teams.get(team_id)
    while team is not None and team.parent_id:
        found.append(team.parent_id)
        team = teams.get(team.parent_id)
    return found


def in_quiet_hours(
    preference: Preference | None, user: User, at: dt.datetime
) -> dt.datetime | None:
    """Return when the recipient's quiet hours end, or None when they are not in them."""
    if preference is None or preference.quiet_from is None or preference.quiet_until is None:
        return None
    zone = ZoneInfo(user.time_zone or "Asia/Shanghai")
    local = at.astimezone(zone)
    start, end = preference.quiet_from, preference.quiet_until
    now = local.time()
    inside = start <= now < end if start < end else (now >= start or now < end)
    if not inside:
        return None
    day = local.date() if (start < end or now < end) else local.date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, end, zone)


def entity_link(alert: Alert, wording: AlertWording | None = None) -> str:
    """The absolute address of the app's page for the alert's entity (never the admin)."""
    base = env.get("BASE_URL", "http://127.0.0.1:8000")
    return absolute((wording or describe_alert(alert)).path, base)


def render_items(events: Sequence[tuple[AlertEvent, Alert]], language: str) -> list[dict[str, str]]:
    """Render digest items in ``language``, most severe first.

    Each names its entity in words, gives the value in its unit and links to the app's page
    (``alerts.wording``); the stored reason is in the evaluation's language, so it is not used.
    """
    wordings = describe_alerts(alerts_of(events), language)
    with translation.override(language):
        items = []
        for event, alert in events:
            severity = "" if event.kind == EventKind.RESOLVED else alert.severity
            items.append(wording_item(alert, wordings[alert.pk], severity, str(event.kind)))
    items.sort(key=lambda item: (SEVERITY_ORDER.get(item["severity"], 2), item["title"]))
    return items


def wording_item(
    alert: Alert, wording: AlertWording, severity: str, transition: str
) -> dict[str, str]:
    """One digest item from an alert's wording, in the active language."""
    return {
        "severity": severity,
        "severity_label": severity_label(severity, transition),
        "title": wording.title,
        "entity": wording.entity,
        "detail": wording.detail,
        "link": entity_link(alert, wording),
        "transition": transition,
    }


def severity_label(severity: str, transition: str) -> str:
    if transition == EventKind.RESOLVED:
        return _("Resolved")
    return {"danger": _("Danger"), "warning": _("Warning")}.get(severity, _("Notice"))


def summary_item(line: str) -> dict[str, str]:
    """A line of figures leading a briefing or summary, shown as is by every channel."""
    return {
        "severity": "",
        "severity_label": "",
        "title": line,
        "entity": "",
        "detail": "",
        "link": "",
        "transition": "summary",
    }


def render_payload(
    items: list[dict[str, str]],
    language: str,
    recipient: User | None,
    mentions: dict[str, dict[str, list[str]]] | None = None,
    *,
    subject: str = "",
) -> dict[str, object]:
    """Build the channel-neutral message: subject, text, markdown and html.

    Without ``subject`` it is an alert digest's ("SalesRadar: 3 alerts (1 danger)").
    """
    with translation.override(language):
        alerts = [item for item in items if item["transition"] != "summary"]
        dangers = sum(1 for item in alerts if item["severity"] == "danger")
        subject = subject or _("SalesRadar: {count} alerts ({dangers} danger)").format(
            count=len(alerts), dangers=dangers
        )
        lines, markdown, html_rows = [], [], []
        for item in items:
            if item["transition"] == "summary":
                lines.append(item["title"])
                markdown.append(item["title"])
                html_rows.append(f"<li>{escape(item['title'])}</li>")
                continue
            lines.append(
                "{label} · {title} · {entity}: {detail} {link}".format(
                    **item, label=item["severity_label"]
                )
            )
            markdown.append(
                "- **{label}** {title} · [{entity}]({link}): {detail}".format(
                    **item, label=item["severity_label"]
                )
            )
            html_rows.append(
                '<li><strong>{label}</strong> {title} · <a href="{link}">{entity}</a>: '
                "{detail}</li>".format(
                    **{key: escape(value) for key, value in item.items()},
                    label=escape(item["severity_label"]),
                )
            )
        body = "\n".join(markdown)
        return {
            "language": language,
            "subject": subject,
            "text": "\n".join(lines),
            "markdown": f"**{subject}**\n\n{body}",
            "html": f"<p><strong>{escape(subject)}</strong></p><ul>{''.join(html_rows)}</ul>",
            "items": items,
            "recipient_email": recipient.email if recipient else "",
            "recipient_name": str(recipient) if recipient else "",
            "mention_mobiles": [recipient.phone] if recipient and recipient.phone else [],
            "mentions": mentions or {},
        }


def mentions_for(
    people: Iterable[User], preferences: dict[int, Preference]
) -> dict[str, dict[str, list[str]]]:
    """Return who to @-mention on each IM platform: by user id, else by mobile number.

    WeCom and DingTalk mention by their own user id, or by mobile for people without one;
    Feishu only by its user id (or open_id).
    """
    found: dict[str, dict[str, list[str]]] = {
        kind: {"user_ids": [], "mobiles": []} for kind in MENTION_KINDS
    }
    for person in sorted(people, key=lambda user: user.pk):
        preference = preferences.get(person.pk)
        mobile = (preference.mobile if preference else "") or person.phone
        ids = {
            "wecom": preference.wecom_user_id if preference else "",
            "dingtalk": preference.dingtalk_user_id if preference else "",
            "feishu": preference.feishu_user_id if preference else "",
        }
        for kind, user_id in ids.items():
            if user_id:
                found[kind]["user_ids"].append(user_id)
            elif mobile and kind != "feishu":
                found[kind]["mobiles"].append(mobile)
    return {
        kind: {key: values for key, values in by.items() if values}
        for kind, by in found.items()
        if any(by.values())
    }


def escape(value: str) -> str:
    from django.utils.html import escape as django_escape

    return str(django_escape(value))


def pending_evaluations(until: dt.datetime) -> list[dt.datetime]:
    """Evaluation moments with notifiable events and no batch yet, oldest first.

    A moment whose pass is still running on the workers waits for its finishing task,
    unless the pass looks abandoned (a lost task): then it is planned as it stands.
    """
    settled = NotificationBatch.objects.filter(
        Q(state=BatchState.PLANNED) | Q(opened_at__gt=until - ABANDONED_PASS)
    ).values("evaluation_at")
    moments = (
        AlertEvent.objects.filter(kind__in=NOTIFIED_KINDS, at__lte=until)
        .exclude(at__in=settled)
        .values_list("at", flat=True)
        .distinct()
    )
    failures = (
        AlertCheck.objects.filter(new_failure=True, evaluated_at__lte=until)
        .exclude(evaluated_at__in=settled)
        .values_list("evaluated_at", flat=True)
        .distinct()
    )
    return sorted(set(moments) | set(failures))


def open_pass(at: dt.datetime, chunk_keys: Sequence[str]) -> bool:
    """Hold the notifications of a pass fanned out over workers until it finishes.

    Return False when the moment already has a batch (the pass ran or runs already).
    """
    _batch, created = NotificationBatch.objects.get_or_create(
        evaluation_at=at,
        defaults={
            "state": BatchState.EVALUATING,
            "chunks": len(set(chunk_keys)),
            "opened_at": at,
        },
    )
    return created


def sign_off_chunk(at: dt.datetime, key: str, *, rule_id: int, error: str = "") -> bool:
    """Count one chunk of a pass as done; return True when it was the last one.

    Chunks are counted by key, so a task delivered twice counts once.
    """
    with transaction.atomic():
        batch = NotificationBatch.objects.select_for_update().filter(evaluation_at=at).first()
        if batch is None or batch.state != BatchState.EVALUATING:
            return False
        if key not in batch.chunks_done:
            batch.chunks_done = [*batch.chunks_done, key]
        if error:
            batch.rule_errors = {**batch.rule_errors, str(rule_id): error}
        batch.save(update_fields=["chunks_done", "rule_errors"])
        return len(batch.chunks_done) >= batch.chunks


def pass_errors(at: dt.datetime) -> dict[int, str]:
    """The rules whose chunks failed in the pass at ``at``, with the error."""
    batch = NotificationBatch.objects.filter(evaluation_at=at).first()
    return {int(key): error for key, error in (batch.rule_errors if batch else {}).items()}


def plan_notifications(*, until: dt.datetime) -> int:
    """Plan deliveries for every evaluation up to ``until`` not planned yet; return how many."""
    return sum(plan_evaluation(moment) for moment in pending_evaluations(until))


@dataclass
class Plan:
    """Digests of one evaluation being assembled: pairs per person and per team channel."""

    per_user: dict[int, list[tuple[AlertEvent, Alert]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    per_channel: dict[int, list[tuple[AlertEvent, Alert]]] = field(
        default_factory=lambda: defaultdict(list)
    )


@transaction.atomic
def plan_evaluation(at: dt.datetime) -> int:
    """Turn the notifiable events of the evaluation at ``at`` into deliveries, once."""
    batch = NotificationBatch.objects.select_for_update().filter(evaluation_at=at).first()
    if batch is not None and batch.state == BatchState.PLANNED:
        return 0
    events = list(
        AlertEvent.objects.filter(at=at, kind__in=NOTIFIED_KINDS)
        .select_related("alert__rule")
        .order_by("alert_id", "id")
    )
    teams = {team.pk: team for team in Team.objects.all()}
    users_by_name = dict(User.objects.values_list("username", "pk"))
    team_channels: dict[int, list[int]] = defaultdict(list)
    for channel_id, team_id in Channel.objects.filter(enabled=True, team__isnull=False).values_list(
        "pk", "team_id"
    ):
        team_channels[team_id].append(channel_id)
    told = told_about({event.alert for event in events if event.kind in TOLD_AGAIN_KINDS})
    silences = list(Silence.objects.active(at))
    plan = Plan()
    for event in events:
        alert = event.alert
        if alert.inhibited_by_id is not None or silenced(alert, silences, teams):
            continue
        if event.kind == EventKind.SEVERITY_CHANGED and event.to_severity != "danger":
            continue  # a fall in severity is recorded, not announced
        if event.kind in TOLD_AGAIN_KINDS:
            target = told.get((alert.pk, alert.started_at), Route())
        else:
            target = route(alert, event, teams, users_by_name, team_channels)
        for user_id in target.users:
            plan.per_user[user_id].append((event, alert))
        for channel_id in target.channels:
            plan.per_channel[channel_id].append((event, alert))
    deliveries = (
        build_user_deliveries(plan.per_user, at)
        + build_channel_deliveries(plan.per_channel, at)
        + rule_failure_deliveries(at)
    )
    Delivery.objects.bulk_create(deliveries, batch_size=2000)
    remember_recipients(deliveries, {event.pk: event for event in events}, at)
    if batch is None:
        NotificationBatch.objects.create(evaluation_at=at, deliveries=len(deliveries), opened_at=at)
    else:
        batch.state, batch.deliveries = BatchState.PLANNED, len(deliveries)
        batch.planned_at = timezone.now()
        batch.save(update_fields=["state", "deliveries", "planned_at"])
    return len(deliveries)


def silenced(alert: Alert, silences: Sequence[Silence], teams: dict[int, Team]) -> bool:
    """Return whether one of the silences in force matches ``alert`` (team: its subtree)."""
    for silence in silences:
        if silence.rule_id is not None and silence.rule_id != alert.rule_id:
            continue
        if silence.entity_type is not None and (
            silence.entity_type != alert.entity_type or silence.entity_id != alert.entity_id
        ):
            continue
        if silence.team_id is not None:
            team = teams.get(alert.team_id) if alert.team_id else None
            cover = teams.get(silence.team_id)
            if team is None or cover is None or not team.path.startswith(cover.path):
                continue
        return True
    return False


def told_about(alerts: Iterable[Alert]) -> dict[tuple[int, dt.datetime], Route]:
    """Return who was told about each alert's current episode, keyed by (alert, episode)."""
    wanted = {alert.pk: alert.started_at for alert in alerts}
    found: dict[tuple[int, dt.datetime], Route] = defaultdict(Route)
    ids = list(wanted)
    for start in range(0, len(ids), 2000):
        rows = AlertRecipient.objects.filter(alert_id__in=ids[start : start + 2000]).values_list(
            "alert_id", "episode", "user_id", "channel_id"
        )
        for alert_id, episode, user_id, channel_id in rows:
            if wanted[alert_id] != episode:
                continue
            target = found[(alert_id, episode)]
            if user_id is not None:
                target.users.add(user_id)
            if channel_id is not None:
                target.channels.add(channel_id)
    return found


def remember_recipients(
    deliveries: Sequence[Delivery], events: dict[int, AlertEvent], at: dt.datetime
) -> None:
    """Record who was told about which episode, and when each alert was last announced."""
    told: dict[tuple[int, dt.datetime, int | None, int | None], None] = {}
    announced: set[int] = set()
    for delivery in deliveries:
        for event_id in delivery.alert_events:
            event = events[event_id]
            alert = event.alert
            if event.kind == EventKind.RESOLVED:
                continue
            announced.add(alert.pk)
            channel_id = None if delivery.recipient_id else delivery.channel_id
            told[(alert.pk, alert.started_at, delivery.recipient_id, channel_id)] = None
    AlertRecipient.objects.bulk_create(
        (
            AlertRecipient(
                alert_id=alert_id,
                episode=episode,
                user_id=user_id,
                channel_id=channel_id,
                first_told_at=at,
            )
            for alert_id, episode, user_id, channel_id in told
        ),
        batch_size=2000,
        ignore_conflicts=True,
    )
    ids = sorted(announced)
    for start in range(0, len(ids), 2000):
        Alert.objects.filter(pk__in=ids[start : start + 2000]).update(last_notified_at=at)


def build_user_deliveries(
    per_user: dict[int, list[tuple[AlertEvent, Alert]]], at: dt.datetime
) -> list[Delivery]:
    users = User.objects.in_bulk(list(per_user))
    preferences = preferences_of(list(per_user))
    inbox = default_inbox()
    deliveries = []
    for user_id, pairs in per_user.items():
        user = users.get(user_id)
        if user is None or not user.is_active:
            continue
        preference = preferences.get(user_id)
        if preference is not None:
            muted = {rule.pk for rule in preference.muted_rules.all()}
            pairs = [(event, alert) for event, alert in pairs if alert.rule_id not in muted]
        if not pairs:
            continue
        language = user.language or "zh-hans"
        items = render_items(pairs, language)
        payload = render_payload(items, language, user, mentions_for([user], preferences))
        has_danger = any(item["severity"] == "danger" for item in items)
        deliveries += personal_deliveries(
            user,
            preference,
            inbox,
            payload,
            at,
            alert_events=[event.pk for event, _alert in pairs],
            urgent=has_danger,
        )
    return deliveries


def rule_failure_deliveries(at: dt.datetime) -> list[Delivery]:
    """Tell ops and admins, once, about each rule that started failing in the pass at ``at``.

    Only the first failing check after a good one is announced (``new_failure``); a rule
    that keeps failing is shown on the rules page, not repeated every pass.
    """
    failures = {
        check.rule_id: check
        for check in AlertCheck.objects.filter(evaluated_at=at, new_failure=True)
        .select_related("rule")
        .order_by("rule__key", "chunk")
    }
    if not failures:
        return []
    people = list(User.objects.filter(is_active=True, role__in=[Role.OPS, Role.ADMIN]))
    preferences = preferences_of([person.pk for person in people])
    inbox = default_inbox()
    deliveries = []
    for person in people:
        language = person.language or "zh-hans"
        with translation.override(language):
            items = [
                summary_item(
                    _(
                        "Rule “{rule}” failed and was skipped; its alerts keep their state "
                        "until it works again. Error: {error}"
                    ).format(rule=str(check.rule), error=check.error)
                )
                for check in failures.values()
            ]
            subject = _("SalesRadar: {count} rules failed").format(count=len(items))
        payload = render_payload(items, language, person, subject=subject)
        deliveries += personal_deliveries(
            person,
            preferences.get(person.pk),
            inbox,
            payload,
            at,
            alert_events=[],
            urgent=False,
        )
    return deliveries


def preferences_of(user_ids: Sequence[int]) -> dict[int, Preference]:
    return {
        preference.user_id: preference
        for preference in Preference.objects.filter(user_id__in=list(user_ids)).prefetch_related(
            "channels", "muted_rules"
        )
    }


def personal_deliveries(
    user: User,
    preference: Preference | None,
    inbox: Channel,
    payload: dict[str, object],
    at: dt.datetime,
    *,
    alert_events: list[int],
    urgent: bool,
) -> list[Delivery]:
    """One delivery per channel the person chose, plus the inbox copy; held in quiet hours.

    An urgent (danger) message breaks through quiet hours when the person allows it; the
    inbox is never held, since it disturbs nobody.
    """
    channels = (
        [channel for channel in preference.channels.all() if channel.enabled] if preference else []
    )
    if inbox not in channels:
        channels.insert(0, inbox)  # the inbox always keeps a copy
    quiet_end = in_quiet_hours(preference, user, at)
    breaks = preference is not None and preference.danger_breaks_quiet and urgent
    deliveries = []
    for channel in channels:
        held = quiet_end is not None and not breaks and channel.kind != "inapp"
        deliveries.append(
            Delivery(
                channel=channel,
                recipient=user,
                evaluation_at=at,
                alert_events=alert_events,
                payload=payload,
                next_attempt_at=quiet_end if held and quiet_end else at,
            )
        )
    return deliveries


def build_channel_deliveries(
    per_channel: dict[int, list[tuple[AlertEvent, Alert]]], at: dt.datetime
) -> list[Delivery]:
    """One digest per team channel, mentioning the owners of its alerts."""
    channels = Channel.objects.in_bulk(list(per_channel))
    owner_ids = {alert.owner_id for pairs in per_channel.values() for _e, alert in pairs}
    owners = User.objects.in_bulk([pk for pk in owner_ids if pk is not None])
    preferences = preferences_of(list(owners))
    language = env.get("LANGUAGE_CODE", "zh-hans")
    deliveries = []
    for channel_id, pairs in per_channel.items():
        items = render_items(pairs, language)
        people = {owners[alert.owner_id] for _e, alert in pairs if alert.owner_id in owners}
        deliveries.append(
            Delivery(
                channel=channels[channel_id],
                evaluation_at=at,
                alert_events=[event.pk for event, _alert in pairs],
                payload=render_payload(items, language, None, mentions_for(people, preferences)),
                next_attempt_at=at,
            )
        )
    return deliveries


def default_inbox() -> Channel:
    inbox, _created = Channel.objects.get_or_create(name="inbox", defaults={"kind": "inapp"})
    return inbox


def unread_count(user: User) -> int:
    return user.inbox.filter(read_at__isnull=True).count()


def mark_read(user: User, message_ids: Iterable[int], *, at: dt.datetime) -> int:
    return user.inbox.filter(Q(pk__in=list(message_ids)), read_at__isnull=True).update(read_at=at)
