"""The daily and weekly jobs: a morning briefing per person, a weekly summary per team, and
housekeeping; each period is sent once however often the jobs run."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from salesradar.activities.models import Task
from salesradar.alerts.choices import AlertState, EventKind
from salesradar.alerts.models import Alert, AlertEvent, Silence
from salesradar.config import jobs
from salesradar.notify import tasks
from salesradar.notify.models import Channel, Delivery, InboxMessage, PeriodicDigest, Preference
from salesradar.notify.periodic import (
    housekeep,
    send_morning_briefings,
    send_weekly_summaries,
)
from tests.notify.factories import SHANGHAI, fire, make_rule

pytestmark = pytest.mark.django_db

MORNING = dt.datetime(2025, 6, 3, 8, 30, tzinfo=SHANGHAI)  # a Tuesday


@pytest.fixture(autouse=True)
def schedule(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SALESRADAR_BRIEFING_HOUR", "8")
    monkeypatch.setenv("SALESRADAR_WEEKLY_SUMMARY_DAY", "1")
    monkeypatch.setenv("SALESRADAR_WEEKLY_SUMMARY_HOUR", "9")
    monkeypatch.setenv("SALESRADAR_RETENTION_DAYS", "30")


def overdue_task(person: Any, due: dt.datetime, status: str = "open") -> Task:
    return Task.objects.create(title="回访客户", assignee=person, due_at=due, status=status)


def test_the_morning_briefing_lists_open_alerts_and_overdue_tasks_once_a_day(org):
    rule = make_rule(to=["owner"])
    fire(rule, org, 1, severity="warning")
    fire(rule, org, 2, severity="danger")
    resolved = fire(rule, org, 3).alert
    muted = make_rule("invoice-overdue", to=["owner"])
    fire(muted, org, 4)
    Preference.objects.create(user=org["rep"]).muted_rules.add(muted)
    Alert.objects.filter(pk=resolved.pk).update(state=AlertState.RESOLVED, resolved_at=MORNING)
    overdue_task(org["rep"], MORNING - dt.timedelta(days=1))
    overdue_task(org["rep"], MORNING - dt.timedelta(days=1), status="done")
    overdue_task(org["rep"], MORNING + dt.timedelta(days=1))  # not due yet

    assert send_morning_briefings(now=MORNING - dt.timedelta(hours=1)) == 0  # 7:30, too early
    send_morning_briefings(now=MORNING)
    send_morning_briefings(now=MORNING + dt.timedelta(hours=3))  # later the same day

    (briefing,) = Delivery.objects.filter(recipient=org["rep"])
    payload = briefing.payload
    assert payload["subject"] == "SalesRadar morning briefing: 2 open alerts, 1 overdue tasks"
    assert payload["items"][0]["title"] == "1 of your tasks is overdue."
    assert [item["entity"] for item in payload["items"][1:]] == ["Quote #2", "Quote #1"]
    assert payload["items"][1]["severity_label"] == "Danger"

    send_morning_briefings(now=MORNING + dt.timedelta(days=1))  # the next day: a new one
    assert Delivery.objects.filter(recipient=org["rep"]).count() == 2


def test_the_briefing_speaks_the_persons_language_and_waits_out_quiet_hours(org):
    fire(make_rule(to=["owner", "manager"]), org, 1)
    robot = Channel.objects.create(name="robot", kind="inapp-robot")
    preference = Preference.objects.create(
        user=org["manager"], quiet_from=dt.time(7, 0), quiet_until=dt.time(9, 0)
    )
    preference.channels.add(robot)
    from salesradar.notify.services import plan_notifications

    plan_notifications(until=MORNING)  # the manager was told about it
    Delivery.objects.all().delete()
    Preference.objects.create(user=org["director"], daily_briefing=False)
    overdue_task(org["director"], MORNING - dt.timedelta(days=2))

    send_morning_briefings(now=MORNING)

    inbox, held = Delivery.objects.filter(recipient=org["manager"]).order_by("channel__name")
    assert held.channel == robot and held.next_attempt_at == MORNING.replace(hour=9, minute=0)
    assert inbox.next_attempt_at == MORNING
    assert inbox.payload["subject"] == "销售雷达晨报：1 条未关闭告警，0 项逾期任务"
    assert not Delivery.objects.filter(recipient=org["director"]).exists()  # opted out


def test_a_person_with_nothing_open_gets_no_briefing_and_is_not_asked_again(org):
    assert send_morning_briefings(now=MORNING) == 3
    assert send_morning_briefings(now=MORNING) == 0
    assert not Delivery.objects.exists()
    assert PeriodicDigest.objects.filter(deliveries=0).count() == 3


def event(alert: Alert, kind: str, at: dt.datetime) -> None:
    AlertEvent.objects.create(alert=alert, at=at, kind=kind, from_state="", to_state="")


def test_the_weekly_summary_reports_the_teams_week_to_its_manager_once(org):
    rule = make_rule(to=["owner"])
    week = dt.datetime(2025, 6, 2, 9, 0, tzinfo=SHANGHAI)  # Monday of the week summarised
    first = fire(rule, org, 1, severity="danger", at=week).alert
    second = fire(rule, org, 2, at=week).alert
    for alert, waited in ((first, 2), (second, 4)):
        event(alert, EventKind.OPENED, week)
        event(alert, EventKind.ACKNOWLEDGED, week + dt.timedelta(hours=waited))
    event(second, EventKind.ESCALATED, week + dt.timedelta(hours=3))
    event(second, EventKind.RESOLVED, week + dt.timedelta(days=2))
    Alert.objects.filter(pk=second.pk).update(state=AlertState.RESOLVED, resolved_at=week)
    event(first, EventKind.RESOLVED, week - dt.timedelta(days=3))  # the week before: not counted
    monday = dt.datetime(2025, 6, 9, 9, 30, tzinfo=SHANGHAI)

    assert send_weekly_summaries(now=monday - dt.timedelta(hours=1)) == 0  # before 9:00
    assert send_weekly_summaries(now=monday) == 2  # east for its manager, the root for its
    assert send_weekly_summaries(now=monday + dt.timedelta(days=2)) == 0  # same week: once

    (summary,) = Delivery.objects.filter(recipient=org["manager"])
    payload = summary.payload
    assert payload["language"] == "zh-hans"  # the manager reads Chinese
    assert payload["subject"] == (
        "销售雷达周报 · " + org["east"].name + " · 2025-06-02 当周：新增 2 条，确认 2 条，解决 1 条"
    )
    lines = [item["title"] for item in payload["items"]]
    assert "确认用时中位数：3.0 小时。" in lines
    assert "升级次数：1。" in lines
    assert payload["items"][-1]["entity"] == "报价 #1"  # the open danger, a top risk


def test_the_beat_task_and_the_scheduler_job_send_the_same_briefing(org, monkeypatch):
    monkeypatch.setenv("SALESRADAR_BRIEFING_HOUR", "0")  # due whenever the test runs
    fire(make_rule(to=["owner"]), org, 1)
    scheduled = {job.name: job for job in jobs.default_scheduler().jobs}

    tasks.send_periodic_digests.apply()
    scheduled["briefings"].run()

    assert Delivery.objects.filter(recipient=org["rep"]).count() == 1
    assert {"briefings", "housekeeping"} <= set(scheduled)


def test_housekeeping_removes_only_what_is_past_the_retention_and_settled(org):
    now = MORNING
    old = now - dt.timedelta(days=45)
    inbox = Channel.objects.create(name="inbox", kind="inapp")

    def delivery(status: str, sent: dt.datetime | None) -> Delivery:
        return Delivery.objects.create(
            channel=inbox, recipient=org["rep"], evaluation_at=old, status=status, sent_at=sent
        )

    sent_old, sent_recent = delivery("sent", old), delivery("sent", now)
    failed, queued = delivery("failed", None), delivery("pending", None)
    unread, read = delivery("sent", old), delivery("sent", old)
    InboxMessage.objects.create(user=org["rep"], delivery=unread, subject="s", body="b")
    InboxMessage.objects.create(user=org["rep"], delivery=read, subject="s", body="b", read_at=old)
    ended = Silence.objects.create(rule=make_rule(), starts_at=old, ends_at=old + dt.timedelta(1))
    running = Silence.objects.create(team=org["east"], starts_at=old, ends_at=now)

    done = housekeep(now=now)

    left = set(Delivery.objects.values_list("pk", flat=True))
    assert left == {sent_recent.pk, failed.pk, queued.pk, unread.pk}
    assert not Delivery.objects.filter(pk__in=[sent_old.pk, read.pk]).exists()
    assert list(Silence.objects.values_list("pk", flat=True)) == [running.pk]
    assert (done.inbox_messages, done.silences) == (1, 1)
    assert ended.pk not in set(Silence.objects.values_list("pk", flat=True))


def test_a_malformed_schedule_setting_is_refused_with_its_name(org, monkeypatch):
    monkeypatch.setenv("SALESRADAR_BRIEFING_HOUR", "8am")

    with pytest.raises(ValueError, match="SALESRADAR_BRIEFING_HOUR"):
        send_morning_briefings(now=MORNING)
