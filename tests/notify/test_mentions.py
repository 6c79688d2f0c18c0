"""People are @-mentioned by the identities kept on their preference, on the wire."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from salesradar.notify import dispatch
from salesradar.notify.models import Channel, Preference
from salesradar.notify.services import plan_notifications
from tests.notify.factories import T0, fire, make_rule
from tests.notify.servers import (
    DINGTALK_SECRET,
    DINGTALK_TOKEN,
    FEISHU_HOOK,
    FEISHU_SECRET,
    WECOM_KEY,
    ProviderServer,
)

pytestmark = pytest.mark.django_db


def robots(
    wecom: ProviderServer, dingtalk: ProviderServer, feishu: ProviderServer
) -> list[Channel]:
    return [
        Channel.objects.create(
            name="wecom",
            kind="wecom",
            config={"url": f"{wecom.base_url}/cgi-bin/webhook/send?key={WECOM_KEY}"},
        ),
        Channel.objects.create(
            name="dingtalk",
            kind="dingtalk",
            config={"url": f"{dingtalk.base_url}/robot/send?access_token={DINGTALK_TOKEN}"},
            secret=DINGTALK_SECRET,
        ),
        Channel.objects.create(
            name="feishu",
            kind="feishu",
            config={"url": f"{feishu.base_url}/open-apis/bot/v2/hook/{FEISHU_HOOK}"},
            secret=FEISHU_SECRET,
        ),
    ]


def test_a_personal_digest_mentions_the_recipient_by_each_platforms_identity(
    org: dict[str, Any],
    wecom_server: ProviderServer,
    dingtalk_server: ProviderServer,
    feishu_server: ProviderServer,
) -> None:
    preference = Preference.objects.create(
        user=org["rep"],
        wecom_user_id="LiLei",
        mobile="13900001111",  # no DingTalk user id: DingTalk mentions the mobile instead
        feishu_user_id="ou_7d8a6e6df7621556ce0d21922b676706",
    )
    preference.channels.add(*robots(wecom_server, dingtalk_server, feishu_server))
    fire(make_rule(to=["owner"]), org, 1, severity="danger")

    plan_notifications(until=T0)
    report = dispatch.dispatch_due(now=T0)

    assert report.sent == 4  # inbox, WeCom, DingTalk, Feishu
    [wecom], [dingtalk], [feishu] = (
        wecom_server.requests,
        dingtalk_server.requests,
        feishu_server.requests,
    )
    assert [wecom.problems, dingtalk.problems, feishu.problems] == [[], [], []]
    assert wecom.json["msgtype"] == "markdown"
    assert wecom.json["markdown"]["content"].endswith("<@LiLei>")
    assert dingtalk.json["at"] == {"atMobiles": ["13900001111"], "isAtAll": False}
    assert dingtalk.json["markdown"]["text"].endswith("@13900001111")
    blocks = [element["text"]["content"] for element in feishu.json["card"]["elements"]]
    assert "<at id=ou_7d8a6e6df7621556ce0d21922b676706></at>" in blocks


def test_a_team_channel_digest_mentions_the_alert_owners(
    org: dict[str, Any],
    wecom_server: ProviderServer,
    dingtalk_server: ProviderServer,
    feishu_server: ProviderServer,
) -> None:
    Preference.objects.create(user=org["rep"], dingtalk_user_id="rep-li_01", mobile="13912345678")
    wecom, dingtalk, _feishu = robots(wecom_server, dingtalk_server, feishu_server)
    Channel.objects.filter(pk__in=[wecom.pk, dingtalk.pk]).update(team=org["east"])
    fire(make_rule(to=["team_channel"]), org, 1)

    plan_notifications(until=T0)
    dispatch.dispatch_due(now=T0)

    [wecom_request], [dingtalk_request] = wecom_server.requests, dingtalk_server.requests
    assert wecom_request.problems == [] and dingtalk_request.problems == []
    # WeCom knows the owner only by mobile, which a text message can mention
    assert wecom_request.json["text"]["mentioned_mobile_list"] == ["13912345678"]
    assert dingtalk_request.json["at"]["atUserIds"] == ["rep-li_01"]
    assert "@rep-li_01" in dingtalk_request.json["markdown"]["text"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("mobile", "138-0013-8000"),
        ("mobile", "12"),
        ("wecom_user_id", "li lei"),
        ("dingtalk_user_id", "x" * 65),
        ("feishu_user_id", "<at id=all>"),
    ],
)
def test_a_malformed_identity_is_refused_when_saved_naming_the_field(
    org: dict[str, Any], field: str, value: str
) -> None:
    preference = Preference(user=org["rep"], **{field: value})

    with pytest.raises(ValidationError) as refused:
        preference.full_clean()

    assert field in refused.value.message_dict
    assert not Preference.objects.filter(user=org["rep"]).exists()
