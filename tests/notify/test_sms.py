"""Alibaba Cloud and Tencent Cloud SMS against loopback servers that check the signature."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import urllib.parse

import pytest
from django.utils import timezone

from salesradar.notify import dispatch, optout
from salesradar.notify.channels import sms
from salesradar.notify.channels.aliyun_sms import AliyunSmsChannel
from salesradar.notify.channels.base import ChannelConfigError
from salesradar.notify.channels.tencent_sms import TencentSmsChannel
from salesradar.notify.models import Channel, Delivery
from tests.notify.builders import build_digest
from tests.notify.sms_servers import (
    ALIYUN_KEY_ID,
    ALIYUN_SECRET,
    TENCENT_APP_ID,
    TENCENT_SECRET_ID,
    TENCENT_SECRET_KEY,
    AliyunSmsServer,
    TencentSmsServer,
)

VARIABLES = {"count": "count", "title": "first_title", "link": "first_link"}
MESSAGE = dataclasses.replace(build_digest(), recipient_mobile="13800138000")


def aliyun_config(server: AliyunSmsServer, **extra: object) -> dict[str, object]:
    return {
        "endpoint": server.base_url + "/",
        "access_key_id": ALIYUN_KEY_ID,
        "sign_name": "销售雷达",
        "template": "SMS_100000001",
        "variables": VARIABLES,
        **extra,
    }


def tencent_config(server: TencentSmsServer, **extra: object) -> dict[str, object]:
    return {
        "endpoint": server.base_url + "/",
        "secret_id": TENCENT_SECRET_ID,
        "sdk_app_id": TENCENT_APP_ID,
        "sign_name": "销售雷达",
        "template": "1000001",
        "variables": VARIABLES,
        **extra,
    }


@pytest.mark.django_db
def test_aliyun_signed_template_sms_is_accepted_with_its_variables(
    aliyun_sms_server: AliyunSmsServer,
) -> None:
    result = AliyunSmsChannel().send(MESSAGE, aliyun_config(aliyun_sms_server), ALIYUN_SECRET)

    assert result.ok, result.response
    [request] = aliyun_sms_server.requests
    assert request.problems == []
    form = dict(urllib.parse.parse_qsl(request.body.decode()))
    assert form["PhoneNumbers"] == "13800138000"
    assert form["SignName"] == "销售雷达"
    assert json.loads(form["TemplateParam"]) == {
        "count": "2",
        "title": "报价超时未回复",
        "link": "https://radar.example.cn/opportunities/1234/",
    }
    assert form["OutId"] == MESSAGE.idempotency_id


@pytest.mark.django_db
def test_aliyun_wrong_secret_is_refused_for_good(aliyun_sms_server: AliyunSmsServer) -> None:
    result = AliyunSmsChannel().send(MESSAGE, aliyun_config(aliyun_sms_server), "wrong")

    assert (result.ok, result.retry) == (False, False)
    assert "SignatureDoesNotMatch" in result.response


@pytest.mark.django_db
def test_aliyun_flow_control_is_retried_later(aliyun_sms_server: AliyunSmsServer) -> None:
    aliyun_sms_server.mode = "rate_limit"

    result = AliyunSmsChannel().send(MESSAGE, aliyun_config(aliyun_sms_server), ALIYUN_SECRET)

    assert (result.ok, result.retry, result.retry_after) == (False, True, 60.0)


@pytest.mark.django_db
def test_a_long_variable_is_cut_to_the_providers_limit_and_the_cut_is_said(
    aliyun_sms_server: AliyunSmsServer,
) -> None:
    config = aliyun_config(aliyun_sms_server, variables={"detail": "text"})

    result = AliyunSmsChannel().send(MESSAGE, config, ALIYUN_SECRET)

    assert result.ok, result.response
    form = dict(urllib.parse.parse_qsl(aliyun_sms_server.requests[0].body.decode()))
    sent = json.loads(form["TemplateParam"])
    assert len(sent["detail"]) == sms.VARIABLE_LIMIT and sent["detail"].endswith("…")
    assert "Shortened to 35 characters: detail" in result.response


@pytest.mark.django_db
def test_tencent_tc3_signed_sms_is_accepted(tencent_sms_server: TencentSmsServer) -> None:
    result = TencentSmsChannel().send(
        MESSAGE, tencent_config(tencent_sms_server), TENCENT_SECRET_KEY
    )

    assert result.ok, result.response
    [request] = tencent_sms_server.requests
    assert request.problems == []
    body = request.json
    assert body["PhoneNumberSet"] == ["+8613800138000"]
    assert body["TemplateParamSet"] == [
        "2",
        "报价超时未回复",
        "https://radar.example.cn/opportunities/1234/",
    ]


@pytest.mark.django_db
def test_tencent_wrong_key_gets_signature_failure_inside_http_200(
    tencent_sms_server: TencentSmsServer,
) -> None:
    result = TencentSmsChannel().send(MESSAGE, tencent_config(tencent_sms_server), "wrong")

    assert (result.ok, result.retry, result.status) == (False, False, 200)
    assert "AuthFailure.SignatureFailure" in result.response


@pytest.mark.django_db
def test_tencent_per_number_limit_is_retried(tencent_sms_server: TencentSmsServer) -> None:
    tencent_sms_server.mode = "rate_limit"

    result = TencentSmsChannel().send(
        MESSAGE, tencent_config(tencent_sms_server), TENCENT_SECRET_KEY
    )

    assert (result.ok, result.retry) == (False, True)


@pytest.mark.django_db
def test_a_number_that_opted_out_is_never_sent_to(tencent_sms_server: TencentSmsServer) -> None:
    assert optout.handle_reply("+86 138-0013-8000", "退订", at=timezone.now())

    result = TencentSmsChannel().send(
        MESSAGE, tencent_config(tencent_sms_server), TENCENT_SECRET_KEY
    )

    assert (result.ok, result.retry) == (False, False)
    assert "opted out" in result.response
    assert tencent_sms_server.requests == []


@pytest.mark.django_db
def test_an_ordinary_reply_does_not_opt_out() -> None:
    assert not optout.handle_reply("13800138000", "好的，明天见", at=timezone.now())
    assert not optout.is_opted_out("13800138000")


@pytest.mark.django_db
def test_no_mobile_number_fails_without_calling_the_provider(
    aliyun_sms_server: AliyunSmsServer,
) -> None:
    message = dataclasses.replace(MESSAGE, recipient_mobile="", mention_mobiles=())

    result = AliyunSmsChannel().send(message, aliyun_config(aliyun_sms_server), ALIYUN_SECRET)

    assert not result.ok and not result.retry
    assert aliyun_sms_server.requests == []


def test_quiet_hours_hold_a_message_until_they_end() -> None:
    tz = dt.timezone(dt.timedelta(hours=8))
    late = dt.datetime(2026, 12, 7, 23, 30, tzinfo=tz)
    assert sms.quiet_wait("21:00-08:00", late) == 8.5 * 3600
    assert sms.quiet_wait("21:00-08:00", dt.datetime(2026, 12, 7, 12, 0, tzinfo=tz)) == 0
    assert sms.quiet_wait("12:00-13:30", dt.datetime(2026, 12, 7, 12, 15, tzinfo=tz)) == 75 * 60


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"sign_name": ""}, "sign_name"),
        ({"variables": {"x": "password"}}, "variables"),
        ({"quiet_hours": "9pm-8am"}, "quiet_hours"),
        ({"sdk_app_id": "abc"}, "sdk_app_id"),
    ],
)
def test_config_the_provider_would_refuse_is_refused_naming_the_field(
    change: dict[str, object], field: str
) -> None:
    config = {
        "secret_id": TENCENT_SECRET_ID,
        "sdk_app_id": TENCENT_APP_ID,
        "sign_name": "销售雷达",
        "template": "1000001",
        "variables": VARIABLES,
        **change,
    }
    with pytest.raises(ChannelConfigError) as refused:
        TencentSmsChannel.validate(config, TENCENT_SECRET_KEY)
    assert refused.value.field == field


@pytest.mark.django_db
def test_rate_limit_is_per_recipient_number_so_one_busy_number_holds_no_one_else(
    tencent_sms_server: TencentSmsServer,
) -> None:
    channel = Channel.objects.create(
        name="sms-tencent",
        kind="tencent_sms",
        config=tencent_config(tencent_sms_server),
        secret=TENCENT_SECRET_KEY,
    )
    now = timezone.now()

    def queue(mobile: str) -> Delivery:
        return Delivery.objects.create(
            channel=channel,
            evaluation_at=now,
            next_attempt_at=now,
            payload={"subject": "s", "text": "t", "items": [], "recipient_mobile": mobile},
        )

    first, second, other = queue("13800138000"), queue("13800138000"), queue("13900139000")
    report = dispatch.dispatch_due(now=now)

    assert (report.sent, report.deferred) == (2, 1)
    statuses = {d.pk: d.status for d in Delivery.objects.all()}
    assert statuses[first.pk] == "sent" and statuses[other.pk] == "sent"
    assert statuses[second.pk] == "pending"
