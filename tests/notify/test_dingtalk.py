"""DingTalk custom robot against a stand-in that recomputes the 加签 signature."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from salesradar.notify.channels import dingtalk
from salesradar.notify.channels.base import ChannelConfigError, RateLimit
from salesradar.notify.channels.dingtalk import DingTalkChannel
from tests.notify.builders import HTTP_ERRORS, build_digest
from tests.notify.servers import DINGTALK_SECRET, DINGTALK_TOKEN, DingTalkServer, ProviderServer


def config(server: ProviderServer) -> dict[str, str]:
    return {"url": f"{server.base_url}/robot/send?access_token={DINGTALK_TOKEN}"}


def test_signed_markdown_digest_mentioning_by_mobile_is_accepted(
    dingtalk_server: ProviderServer,
) -> None:
    result = DingTalkChannel().send(build_digest(), config(dingtalk_server), DINGTALK_SECRET)

    assert result.ok and result.status == 200
    [request] = dingtalk_server.requests
    assert request.problems == []
    document = request.json
    assert document["markdown"]["title"] == "销售预警：2 条新告警"
    assert "**警告** 阶段停留过久" in document["markdown"]["text"]
    assert document["at"] == {
        "atMobiles": ["13800138000"],
        "atUserIds": ["zhangsan"],
        "isAtAll": False,
    }
    assert "@13800138000" in document["markdown"]["text"]
    assert "@zhangsan" in document["markdown"]["text"]


def test_robot_secured_by_keyword_needs_no_signature(dingtalk_server: DingTalkServer) -> None:
    dingtalk_server.signed = False

    result = DingTalkChannel().send(build_digest(), config(dingtalk_server), "")

    assert result.ok
    assert "sign" not in dingtalk_server.requests[0].query


def test_wrong_secret_gets_sign_not_match_and_fails(dingtalk_server: ProviderServer) -> None:
    result = DingTalkChannel().send(build_digest(), config(dingtalk_server), "SECwrong")

    assert (result.ok, result.retry, result.status) == (False, False, 200)
    assert "310000" in result.response
    assert dingtalk_server.requests[0].problems == ["sign not match"]


def test_clock_an_hour_off_gets_invalid_timestamp(
    dingtalk_server: ProviderServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dingtalk, "time", SimpleNamespace(time=lambda: 1_000_000_000.0))

    result = DingTalkChannel().send(build_digest(), config(dingtalk_server), DINGTALK_SECRET)

    assert (result.ok, result.retry) == (False, False)
    assert dingtalk_server.requests[0].problems == ["invalid timestamp"]


def test_send_too_fast_is_retried_after_a_minute(dingtalk_server: ProviderServer) -> None:
    dingtalk_server.mode = "rate_limit"

    result = DingTalkChannel().send(build_digest(), config(dingtalk_server), DINGTALK_SECRET)

    assert (result.ok, result.retry, result.retry_after) == (False, True, 60.0)
    assert "130101" in result.response


@pytest.mark.parametrize(
    ("mode", "status", "retry", "disable"),
    HTTP_ERRORS,
)
def test_http_errors_are_judged_by_status(
    dingtalk_server: ProviderServer, mode: str, status: int, retry: bool, disable: bool
) -> None:
    dingtalk_server.mode = mode

    result = DingTalkChannel().send(build_digest(), config(dingtalk_server), DINGTALK_SECRET)

    assert (result.ok, result.status, result.retry, result.disable) == (
        False,
        status,
        retry,
        disable,
    )


def test_connection_refused_is_retried(refused_port: int) -> None:
    url = f"http://127.0.0.1:{refused_port}/robot/send?access_token={DINGTALK_TOKEN}"

    result = DingTalkChannel().send(build_digest(), {"url": url}, DINGTALK_SECRET)

    assert (result.ok, result.retry) == (False, True)


@pytest.mark.parametrize(
    ("config_", "secret", "field"),
    [
        ({}, "", "url"),
        ({"url": "https://oapi.dingtalk.com/robot/send"}, "", "url"),
        ({"url": "https://oapi.dingtalk.com/robot/send?access_token=abc"}, "abc123", "secret"),
    ],
)
def test_validate_names_the_unusable_field(
    config_: dict[str, str], secret: str, field: str
) -> None:
    with pytest.raises(ChannelConfigError) as error:
        DingTalkChannel.validate(config_, secret)

    assert error.value.field == field


def test_robot_may_send_twenty_messages_a_minute() -> None:
    assert DingTalkChannel.rate_limits == (RateLimit(count=20, seconds=60),)
