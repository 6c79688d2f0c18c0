"""Slack incoming webhook against a stand-in that checks text and blocks."""

from __future__ import annotations

import pytest

from salesradar.notify.channels import slack
from salesradar.notify.channels.base import ChannelConfigError, RateLimit
from salesradar.notify.channels.slack import SlackChannel
from tests.notify.builders import ITEMS, build_digest
from tests.notify.servers import SLACK_PATH, ProviderServer, SlackServer


def config(server: ProviderServer, path: str = SLACK_PATH) -> dict[str, str]:
    return {"url": f"{server.base_url}{path}"}


def test_digest_with_a_section_per_alert_is_accepted(slack_server: SlackServer) -> None:
    result = SlackChannel().send(build_digest(), config(slack_server), "")

    assert result.ok and (result.status, result.response) == (200, "ok")
    [request] = slack_server.requests
    assert request.problems == []
    document = request.json
    assert document["text"].startswith("<@zhangsan> 严重 报价超时未回复")
    header, first, second, mentions = document["blocks"]
    assert header["text"] == {"type": "plain_text", "text": "销售预警：2 条新告警"}
    assert first["text"]["text"].startswith("*严重* 报价超时未回复\n商机 O0001234")
    assert "<https://radar.example.cn/opportunities/1234/|" in first["text"]["text"]
    assert second["text"]["text"].startswith("*警告* 阶段停留过久")
    assert mentions["text"]["text"] == "<@zhangsan>"


def test_control_characters_are_escaped() -> None:
    assert slack.escape("<b> & <!channel>") == "&lt;b&gt; &amp; &lt;!channel&gt;"


def test_many_alerts_stay_within_fifty_blocks(slack_server: SlackServer) -> None:
    message = build_digest(items=ITEMS * 40, language="en")

    result = SlackChannel().send(message, config(slack_server), "")

    assert result.ok
    blocks = slack_server.requests[0].json["blocks"]
    assert len(blocks) == 50
    assert blocks[-2]["text"]["text"] == "…and 33 more alerts"


def test_rate_limited_is_retried_after_the_header(slack_server: SlackServer) -> None:
    slack_server.mode = "rate_limit"
    slack_server.retry_after = "30"

    result = SlackChannel().send(build_digest(), config(slack_server), "")

    assert (result.ok, result.retry, result.retry_after, result.status) == (False, True, 30, 429)


def test_server_error_is_retried(slack_server: SlackServer) -> None:
    slack_server.mode = "server_error"

    result = SlackChannel().send(build_digest(), config(slack_server), "")

    assert (result.ok, result.retry, result.status) == (False, True, 500)


def test_archived_channel_disables_the_webhook(slack_server: SlackServer) -> None:
    slack_server.mode = "gone"

    result = SlackChannel().send(build_digest(), config(slack_server), "")

    assert (result.ok, result.retry, result.disable, result.status) == (False, False, True, 410)


def test_revoked_webhook_is_disabled(slack_server: SlackServer) -> None:
    result = SlackChannel().send(build_digest(), config(slack_server, "/services/T/B/gone"), "")

    assert (result.ok, result.disable, result.status, result.response) == (
        False,
        True,
        404,
        "no_service",
    )


def test_refused_payload_fails_without_retry(slack_server: SlackServer) -> None:
    message = build_digest(subject="")  # Slack refuses an empty header

    result = SlackChannel().send(message, config(slack_server), "")

    assert (result.ok, result.retry, result.disable, result.status) == (False, False, False, 400)


def test_connection_refused_is_retried(refused_port: int) -> None:
    url = {"url": f"http://127.0.0.1:{refused_port}{SLACK_PATH}"}

    result = SlackChannel().send(build_digest(), url, "")

    assert (result.ok, result.retry) == (False, True)


@pytest.mark.parametrize("url", [None, "hooks.slack.com/services/T/B/X", "mailto:a@b.c"])
def test_validate_requires_an_http_url(url: str | None) -> None:
    with pytest.raises(ChannelConfigError) as error:
        SlackChannel.validate({"url": url}, "")

    assert error.value.field == "url"


def test_webhook_may_post_once_a_second() -> None:
    assert SlackChannel.rate_limits == (RateLimit(count=1, seconds=1),)
