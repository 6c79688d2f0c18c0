"""From alert events to deliveries (routing, digests, preferences) and the dispatcher that
drains them (claims, retries, backoff, failure, rate limits, the in-app inbox)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from salesradar.accounts.choices import Role
from salesradar.alerts.choices import EventKind
from salesradar.alerts.models import Alert, AlertEvent
from salesradar.notify import dispatch
from salesradar.notify.channels import base
from salesradar.notify.channels.base import ChannelKind, Message, RateLimit, SendResult
from salesradar.notify.models import Channel, Delivery, InboxMessage, Preference
from salesradar.notify.services import plan_notifications, unread_count
from tests.factories import UserFactory
from tests.notify.factories import SHANGHAI, T0, fire, make_rule

pytestmark = pytest.mark.django_db


def deliveries_to(user: Any) -> list[Delivery]:
    return list(Delivery.objects.filter(recipient=user).select_related("channel"))


def test_a_firing_alert_reaches_the_owner_and_the_owners_manager(org):
    fire(make_rule(), org, 1)

    planned = plan_notifications(until=T0)

    assert planned == 2
    assert [d.channel.kind for d in deliveries_to(org["rep"])] == ["inapp"]
    assert [d.channel.kind for d in deliveries_to(org["manager"])] == ["inapp"]
    assert deliveries_to(org["director"]) == []


def test_one_digest_per_recipient_per_evaluation_with_danger_first(org):
    rule = make_rule(to=["owner"])
    fire(rule, org, 1, severity="warning")
    fire(rule, org, 2, severity="danger")

    plan_notifications(until=T0)

    (delivery,) = deliveries_to(org["rep"])
    items = delivery.payload["items"]
    assert [item["severity"] for item in items] == ["danger", "warning"]
    assert items[0]["severity_label"] == "Danger"  # the rep reads English
    alert = Alert.objects.get(entity_type="quote", entity_id=2)
    assert items[0]["link"].endswith(f"/alerts/{alert.pk}/")  # no quote page: the alert's own
    assert delivery.payload["subject"] == "SalesRadar: 2 alerts (1 danger)"


def test_planning_the_same_evaluation_twice_adds_nothing(org):
    fire(make_rule(), org, 1)

    first = plan_notifications(until=T0)
    second = plan_notifications(until=T0)

    assert (first, second) == (2, 0)
    assert Delivery.objects.count() == 2


def test_a_pass_still_running_on_the_workers_is_planned_only_when_it_ends_or_is_abandoned(org):
    from salesradar.notify.services import open_pass, sign_off_chunk

    fire(make_rule(), org, 1)
    open_pass(T0, ["1:team-1", "1:rest"])

    assert plan_notifications(until=T0 + dt.timedelta(minutes=5)) == 0  # half a pass: wait
    assert sign_off_chunk(T0, "1:team-1", rule_id=1) is False
    assert sign_off_chunk(T0, "1:team-1", rule_id=1) is False  # a redelivered task counts once
    assert plan_notifications(until=T0 + dt.timedelta(hours=2)) == 2  # abandoned: plan it


def test_inhibited_alerts_and_muted_rules_are_not_announced(org):
    rule, other = make_rule(), make_rule("invoice-overdue")
    cause = fire(other, org, 9).alert
    inhibited = fire(rule, org, 1).alert
    inhibited.inhibited_by = cause
    inhibited.save()
    Preference.objects.create(user=org["manager"]).muted_rules.add(other)

    plan_notifications(until=T0)

    rep_items = [item for d in deliveries_to(org["rep"]) for item in d.payload["items"]]
    assert [item["entity"] for item in rep_items] == ["Quote #9"]
    assert deliveries_to(org["manager"]) == []  # the only event left was muted


def test_an_escalation_reaches_one_manager_further_up(org):
    rule = make_rule(to=["owner"])
    fire(rule, org, 1, kind=EventKind.ESCALATED, level=1)

    plan_notifications(until=T0)

    assert deliveries_to(org["manager"]) and deliveries_to(org["director"])


def test_quiet_hours_hold_warnings_but_danger_breaks_through(org):
    night = dt.datetime(2025, 6, 2, 23, 0, tzinfo=SHANGHAI)
    email = Channel.objects.create(name="mail", kind="inapp-test")
    preference = Preference.objects.create(
        user=org["rep"], quiet_from=dt.time(22, 0), quiet_until=dt.time(8, 0)
    )
    preference.channels.add(email)
    rule = make_rule(to=["owner"])
    fire(rule, org, 1, severity="warning", at=night)
    plan_notifications(until=night)
    held = Delivery.objects.get(recipient=org["rep"], channel=email)
    assert held.next_attempt_at == dt.datetime(2025, 6, 3, 8, 0, tzinfo=SHANGHAI)

    later = night + dt.timedelta(minutes=30)
    fire(rule, org, 2, severity="danger", at=later)
    plan_notifications(until=later)
    urgent = Delivery.objects.get(recipient=org["rep"], channel=email, evaluation_at=later)
    assert urgent.next_attempt_at == later


def test_resolved_and_falling_severity_events_are_announced_only_when_meaningful(org):
    rule = make_rule(to=["owner"])
    fire(rule, org, 1, severity="danger")
    plan_notifications(until=T0)
    later = T0 + dt.timedelta(hours=1)
    event = fire(rule, org, 1, kind=EventKind.RESOLVED, at=later)
    AlertEvent.objects.create(
        alert=event.alert,
        at=later,
        kind=EventKind.SEVERITY_CHANGED,
        from_severity="danger",
        to_severity="warning",
    )

    plan_notifications(until=later)

    (delivery,) = Delivery.objects.filter(recipient=org["rep"], evaluation_at=later)
    assert [item["transition"] for item in delivery.payload["items"]] == ["resolved"]
    assert delivery.payload["items"][0]["severity_label"] == "Resolved"


def test_an_alert_nobody_was_told_about_resolves_without_a_notice(org):
    fire(make_rule(to=["owner"]), org, 1, kind=EventKind.RESOLVED)

    assert plan_notifications(until=T0) == 0


def test_the_resolved_notice_goes_to_whoever_was_told_even_after_an_owner_change(org):
    rule = make_rule(to=["owner", "manager"])
    alert = fire(rule, org, 1).alert
    plan_notifications(until=T0)
    newcomer = UserFactory(username="newcomer", team=org["east"])
    Alert.objects.filter(pk=alert.pk).update(owner=newcomer)  # the deal changed hands
    later = T0 + dt.timedelta(hours=2)

    fire(rule, org, 1, kind=EventKind.RESOLVED, at=later)
    plan_notifications(until=later)

    told = set(Delivery.objects.filter(evaluation_at=later).values_list("recipient", flat=True))
    assert told == {org["rep"].pk, org["manager"].pk}


def test_reminders_go_to_whoever_was_told_through_escalation_and_no_one_else(org):
    rule = make_rule(to=["owner"])
    alert = fire(rule, org, 1).alert
    plan_notifications(until=T0)
    escalated_at = T0 + dt.timedelta(hours=4)
    Alert.objects.filter(pk=alert.pk).update(escalation_level=1)
    fire(rule, org, 1, kind=EventKind.ESCALATED, at=escalated_at)
    plan_notifications(until=escalated_at)
    successor = UserFactory(username="successor", role=Role.MANAGER, team=org["east"])
    org["east"].manager = successor  # the team got a new manager meanwhile
    org["east"].save()
    reminded_at = T0 + dt.timedelta(days=1)

    fire(rule, org, 1, kind=EventKind.REMINDED, at=reminded_at)
    plan_notifications(until=reminded_at)

    told = Delivery.objects.filter(evaluation_at=reminded_at).values_list("recipient", flat=True)
    assert set(told) == {org["rep"].pk, org["manager"].pk, org["director"].pk}
    alert.refresh_from_db()
    assert alert.last_notified_at == reminded_at  # the next reminder counts from here


def test_silenced_alerts_are_not_announced(org):
    from salesradar.alerts.models import Silence

    rule = make_rule(to=["owner"])
    Silence.objects.create(
        team=org["root"], starts_at=T0 - dt.timedelta(hours=1), ends_at=T0 + dt.timedelta(hours=1)
    )
    fire(rule, org, 1)

    assert plan_notifications(until=T0) == 0


# --------------------------------------------------------------------------- dispatcher


class Scripted(ChannelKind):
    """A channel whose answers the test scripts, to exercise the dispatcher's decisions."""

    kind = "inapp-test"
    label = "scripted"
    rate_limits = (RateLimit(count=2, seconds=60),)
    answers: list[SendResult] = []
    sent: list[Message] = []

    @classmethod
    def validate(cls, config: Mapping[str, Any], secret: str) -> None:
        return None

    def send(
        self, message: Message, config: Mapping[str, Any], secret: str, *, timeout: float = 10
    ) -> SendResult:
        Scripted.sent.append(message)
        return Scripted.answers.pop(0) if Scripted.answers else SendResult(ok=True)


@pytest.fixture(autouse=True)
def scripted_channel(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[Scripted]]:
    monkeypatch.setitem(base.CHANNELS, Scripted.kind, Scripted)
    Scripted.answers, Scripted.sent = [], []
    yield Scripted


def queued(org: dict[str, Any], count: int = 1, kind: str = "inapp-test") -> list[Delivery]:
    channel, _created = Channel.objects.get_or_create(name=f"c-{kind}", kind=kind)
    return [
        Delivery.objects.create(
            channel=channel,
            recipient=org["rep"],
            evaluation_at=T0,
            next_attempt_at=T0,
            payload={"language": "en", "subject": f"digest {n}", "text": "t", "items": []},
        )
        for n in range(count)
    ]


def test_inbox_deliveries_land_in_the_inbox_and_count_as_unread(org):
    fire(make_rule(to=["owner"]), org, 1)
    plan_notifications(until=T0)

    report = dispatch.dispatch_due(now=T0)

    assert report.sent == 1
    message = InboxMessage.objects.get(user=org["rep"])
    assert message.subject.startswith("SalesRadar: 1 alerts")
    assert unread_count(org["rep"]) == 1


def test_a_transient_failure_retries_later_with_backoff_then_fails_visibly(org):
    (delivery,) = queued(org)
    delivery.max_attempts = 3
    delivery.save()
    Scripted.answers = [SendResult(ok=False, retry=True, status=503)] * 3

    now = T0
    for _attempt in range(3):
        dispatch.dispatch_due(now=now)
        delivery.refresh_from_db()
        now = max(now, delivery.next_attempt_at)

    assert delivery.status == "failed"
    assert delivery.attempts == 3
    assert delivery.last_status == 503
    assert len(Scripted.sent) == 3
    dispatch.retry(delivery, now=now)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("pending", 0)


def test_retry_after_from_the_provider_is_honoured(org):
    (delivery,) = queued(org)
    Scripted.answers = [SendResult(ok=False, retry=True, retry_after=3600, status=429)]

    dispatch.dispatch_due(now=T0)

    delivery.refresh_from_db()
    assert delivery.status == "pending"
    assert delivery.next_attempt_at >= T0 + dt.timedelta(hours=1)


def test_a_gone_endpoint_disables_the_channel_and_fails_fast(org):
    (delivery,) = queued(org)
    Scripted.answers = [SendResult(ok=False, disable=True, status=410, response="gone")]

    dispatch.dispatch_due(now=T0)

    delivery.refresh_from_db()
    delivery.channel.refresh_from_db()
    assert delivery.status == "failed" and delivery.attempts == 1
    assert delivery.channel.enabled is False
    assert delivery.channel.disabled_reason == "gone"


def test_claimed_rows_are_not_claimed_again_until_the_lease_expires(org):
    queued(org, count=3)

    first = dispatch.claim(T0, limit=10, worker="a")
    second = dispatch.claim(T0, limit=10, worker="b")
    after_lease = dispatch.claim(
        T0 + dispatch.LEASE + dt.timedelta(seconds=1), limit=10, worker="c"
    )

    assert len(first) == 3 and second == []
    assert sorted(d.pk for d in after_lease) == sorted(d.pk for d in first)
    assert {d.claimed_by for d in Delivery.objects.all()} == {"c"}


def test_the_destinations_rate_limit_defers_the_rest(org):
    queued(org, count=3)  # the scripted channel allows 2 per minute

    report = dispatch.dispatch_due(now=T0)

    assert (report.sent, report.deferred) == (2, 1)
    waiting = Delivery.objects.get(status="pending")
    assert T0 < waiting.next_attempt_at <= T0 + dt.timedelta(seconds=31)


def test_a_malformed_channel_config_is_refused_when_saved_naming_the_field(db) -> None:
    from django.core.exceptions import ValidationError

    channel = Channel(name="robot", kind="dingtalk", config={"url": "ftp://robot"}, secret="SECx")

    with pytest.raises(ValidationError) as refused:
        channel.full_clean()

    assert "url" in str(refused.value)
    assert not Channel.objects.filter(name="robot").exists()


def test_marking_inbox_messages_read_lowers_the_unread_count(org):
    from salesradar.notify.services import mark_read

    fire(make_rule(to=["owner"]), org, 1)
    plan_notifications(until=T0)
    dispatch.dispatch_due(now=T0)
    (message,) = InboxMessage.objects.filter(user=org["rep"])

    assert mark_read(org["rep"], [message.pk], at=T0) == 1
    assert unread_count(org["rep"]) == 0
    assert mark_read(org["rep"], [message.pk], at=T0) == 0  # already read
