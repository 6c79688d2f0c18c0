"""Nurture sequences for "not now" leads: steps on their days, until a reply or the end."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from salesradar.activities.models import Task
from salesradar.crm.choices import LeadStatus, NurtureStatus
from salesradar.crm.models import NurtureSequence
from salesradar.crm.nurture import advance_nurture, lead_responded, mark_not_now
from salesradar.notify.models import Channel, Delivery
from tests.crm.factories import LeadFactory
from tests.factories import UserFactory, days_after_creation

pytestmark = pytest.mark.django_db
AT = days_after_creation(20)


def sequence() -> NurtureSequence:
    channel = Channel.objects.create(
        name="smtp", kind="email", config={"host": "127.0.0.1", "port": 2525, "from": "a@b.cn"}
    )
    return NurtureSequence.objects.create(
        name="Three steps",
        email_channel=channel,
        steps=[
            {"day": 1, "kind": "task", "title": "Send the case study"},
            {"day": 3, "kind": "email", "subject": "新品介绍", "text": "您好"},
            {"day": 7, "kind": "task", "title": "Call again"},
        ],
    )


def test_not_now_lead_gets_each_step_on_its_day_and_the_sequence_ends():
    rep = UserFactory()
    lead = LeadFactory(owner=rep, status=LeadStatus.CONTACTED, email="buyer@example.com")
    enrollment = mark_not_now(lead, at=AT, sequence=sequence())

    runs = [advance_nurture(at=AT + dt.timedelta(days=d)) for d in (0, 1, 2, 3, 7, 30)]

    assert [(r["tasks"], r["emails"]) for r in runs] == [
        (0, 0),
        (1, 0),
        (0, 0),
        (0, 1),
        (1, 0),
        (0, 0),
    ]
    assert Task.objects.filter(assignee=rep).count() == 2
    assert (
        Delivery.objects.get(channel__name="smtp").payload["recipient_email"] == "buyer@example.com"
    )
    enrollment.refresh_from_db()
    assert enrollment.status == NurtureStatus.FINISHED
    assert lead_status(lead) == LeadStatus.NURTURING


def lead_status(lead) -> str:  # type: ignore[no-untyped-def]
    lead.refresh_from_db()
    return lead.status


def test_a_reply_ends_the_sequence_and_gives_the_lead_back_to_its_owner():
    rep = UserFactory()
    lead = LeadFactory(owner=rep, status=LeadStatus.CONTACTED)
    enrollment = mark_not_now(lead, at=AT, sequence=sequence())

    lead_responded(lead, at=AT + dt.timedelta(days=2))
    later = advance_nurture(at=AT + dt.timedelta(days=10))

    enrollment.refresh_from_db()
    assert enrollment.status == NurtureStatus.RESPONDED
    assert lead.status == LeadStatus.CONTACTED
    assert later == {"tasks": 0, "emails": 0, "sms": 0, "finished": 0}


def test_malformed_sequence_is_refused_naming_the_step():
    bad = NurtureSequence.objects.create(name="Bad", steps=[{"day": 3, "kind": "task"}])

    with pytest.raises(ValidationError, match="step 1"):
        mark_not_now(LeadFactory(), at=AT, sequence=bad)


def sms_channel() -> Channel:
    return Channel.objects.create(
        name="sms-aliyun",
        kind="aliyun_sms",
        config={
            "access_key_id": "LTAI5t",
            "sign_name": "销售雷达",
            "template": "SMS_1",
            "variables": {"content": "text"},
            "quiet_hours": "21:00-08:00",
        },
        secret="s",
    )


def test_an_sms_step_queues_a_text_to_the_leads_phone_on_its_sms_channel():
    sms_channel()
    lead = LeadFactory(owner=UserFactory(), status=LeadStatus.CONTACTED, phone="13800138000")
    sequence = NurtureSequence.objects.create(
        name="SMS",
        steps=[{"day": 2, "kind": "sms", "channel": "sms-aliyun", "text": "新品试用邀请"}],
    )
    mark_not_now(lead, at=AT, sequence=sequence)

    counts = advance_nurture(at=AT + dt.timedelta(days=2))

    assert counts["sms"] == 1
    delivery = Delivery.objects.get(channel__name="sms-aliyun")
    assert delivery.payload["recipient_mobile"] == "13800138000"
    assert delivery.payload["text"] == "新品试用邀请"


def test_an_sms_step_naming_no_sms_channel_is_refused():
    with pytest.raises(ValidationError) as refused:
        mark_not_now(
            LeadFactory(status=LeadStatus.CONTACTED),
            at=AT,
            sequence=NurtureSequence.objects.create(
                name="Broken", steps=[{"day": 1, "kind": "sms", "channel": "nope", "text": "x"}]
            ),
        )
    assert "SMS channel" in str(refused.value)
