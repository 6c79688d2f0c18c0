"""WeCom group robot against a stand-in that checks the key and the markdown message."""

from __future__ import annotations

import pytest

from salesradar.notify.channels.base import ChannelConfigError, RateLimit
from salesradar.notify.channels.wecom import WeComChannel
from tests.notify.builders import HTTP_ERRORS, build_digest
from tests.notify.servers import WECOM_KEY, ProviderServer


def config(server: ProviderServer, key: str = WECOM_KEY) -> dict[str, str]:
    return {"url": f"{server.base_url}/cgi-bin/webhook/send?key={key}"}


def test_markdown_digest_with_mention_is_accepted(wecom_server: ProviderServer) -> None:
    message = build_digest(mention_mobiles=())

    result = WeComChannel().send(message, config(wecom_server), "")

    assert result.ok and result.status == 200
    [request] = wecom_server.requests
    assert request.problems == []
    content = request.json["markdown"]["content"]
    assert "**严重** 报价超时未回复" in content
    assert "<@zhangsan>" in content


def test_a_mention_by_mobile_goes_as_text_with_both_mention_lists(
    wecom_server: ProviderServer,
) -> None:
    result = WeComChannel().send(build_digest(), config(wecom_server), "")

    assert result.ok
    [request] = wecom_server.requests
    assert request.problems == []
    assert request.json["msgtype"] == "text"  # markdown cannot mention by mobile
    text = request.json["text"]
    assert text["content"].startswith("严重 报价超时未回复")
    assert (text["mentioned_list"], text["mentioned_mobile_list"]) == (
        ["zhangsan"],
        ["13800138000"],
    )


def test_long_digest_is_cut_to_4096_bytes_keeping_the_mentions(
    wecom_server: ProviderServer,
) -> None:
    message = build_digest(markdown="预警" * 3000, mention_mobiles=())

    result = WeComChannel().send(message, config(wecom_server), "")

    assert result.ok
    content = wecom_server.requests[0].json["markdown"]["content"]
    assert len(content.encode("utf-8")) <= 4096
    assert content.endswith("<@zhangsan>")


def test_wrong_key_fails_without_retry(wecom_server: ProviderServer) -> None:
    result = WeComChannel().send(build_digest(), config(wecom_server, key="revoked"), "")

    assert (result.ok, result.retry, result.disable) == (False, False, False)
    assert "93000" in result.response


def test_rate_limit_body_is_retried_after_a_minute(wecom_server: ProviderServer) -> None:
    wecom_server.mode = "rate_limit"

    result = WeComChannel().send(build_digest(), config(wecom_server), "")

    assert (result.ok, result.retry, result.retry_after) == (False, True, 60.0)
    assert "45009" in result.response


@pytest.mark.parametrize(
    ("mode", "status", "retry", "disable"),
    HTTP_ERRORS,
)
def test_http_errors_are_judged_by_status(
    wecom_server: ProviderServer, mode: str, status: int, retry: bool, disable: bool
) -> None:
    wecom_server.mode = mode

    result = WeComChannel().send(build_digest(), config(wecom_server), "")

    assert (result.ok, result.status, result.retry, result.disable) == (
        False,
        status,
        retry,
        disable,
    )
    if mode == "too_many_requests":
        assert result.retry_after == 7.0


def test_connection_refused_is_retried(refused_port: int) -> None:
    url = f"http://127.0.0.1:{refused_port}/cgi-bin/webhook/send?key={WECOM_KEY}"

    result = WeComChannel().send(build_digest(), {"url": url}, "")

    assert (result.ok, result.retry) == (False, True)


@pytest.mark.parametrize(
    "url",
    [
        "",
        "qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k",
        "https://qyapi.weixin.qq.com/cgi-bin/webhook/send",
        "https://qyapi.weixin.qq.com/x?key=",
    ],
)
def test_validate_requires_an_http_url_with_a_key(url: str) -> None:
    with pytest.raises(ChannelConfigError) as error:
        WeComChannel.validate({"url": url}, "")

    assert error.value.field == "url"


def test_unvalidated_config_fails_instead_of_raising() -> None:
    result = WeComChannel().send(build_digest(), {}, "")

    assert (result.ok, result.retry) == (False, False)
    assert result.response.startswith("url:")


def test_robot_may_send_twenty_messages_a_minute() -> None:
    assert WeComChannel.rate_limits == (RateLimit(count=20, seconds=60),)
    WeComChannel.validate(
        {"url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6"}, ""
    )
