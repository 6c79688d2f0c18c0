"""Feishu custom bot against a stand-in that recomputes the signature and checks the card."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import pytest

from salesradar.notify.channels import feishu
from salesradar.notify.channels.base import ChannelConfigError, RateLimit
from salesradar.notify.channels.feishu import FeishuChannel
from tests.notify.builders import HTTP_ERRORS, ITEMS, build_digest
from tests.notify.servers import FEISHU_HOOK, FEISHU_SECRET, FeishuServer, ProviderServer


def config(server: ProviderServer) -> dict[str, str]:
    return {"url": f"{server.base_url}/open-apis/bot/v2/hook/{FEISHU_HOOK}"}


def test_signed_card_with_severity_words_is_accepted(feishu_server: FeishuServer) -> None:
    result = FeishuChannel().send(build_digest(), config(feishu_server), FEISHU_SECRET)

    assert result.ok and result.status == 200
    [request] = feishu_server.requests
    assert request.problems == []
    card = request.json["card"]
    assert card["header"]["title"]["content"] == "销售预警：2 条新告警"
    assert card["header"]["template"] == "red"
    lines = [element["text"]["content"] for element in card["elements"]]
    assert lines[0].startswith("**严重** 报价超时未回复\n商机 O0001234")
    assert lines[1].startswith("**警告** 阶段停留过久")
    assert "(https://radar.example.cn/opportunities/1234/)" in lines[0]
    assert lines[2] == "<at id=zhangsan></at>"


def test_links_are_labelled_in_the_recipients_language(feishu_server: FeishuServer) -> None:
    FeishuChannel().send(build_digest(language="en"), config(feishu_server), FEISHU_SECRET)

    first_line = feishu_server.requests[0].json["card"]["elements"][0]["text"]["content"]
    assert "[Open](https://radar.example.cn/opportunities/1234/)" in first_line


@pytest.mark.parametrize(
    ("severities", "template"),
    [(("warning", "warning"), "orange"), (("", ""), "green"), (("danger", "warning"), "red")],
)
def test_header_colour_follows_the_worst_severity(
    severities: tuple[str, str], template: str
) -> None:
    transition = "resolved" if severities == ("", "") else "firing"
    items = tuple(
        dataclasses.replace(item, severity=severity, transition=transition)
        for item, severity in zip(ITEMS, severities, strict=True)
    )

    assert feishu.header_template(items) == template


def test_bot_without_signature_check_gets_no_sign(feishu_server: FeishuServer) -> None:
    feishu_server.signed = False

    result = FeishuChannel().send(build_digest(), config(feishu_server), "")

    assert result.ok
    assert "sign" not in feishu_server.requests[0].json


def test_wrong_secret_gets_sign_match_fail_and_fails(feishu_server: FeishuServer) -> None:
    result = FeishuChannel().send(build_digest(), config(feishu_server), "not-the-secret")

    assert (result.ok, result.retry, result.status) == (False, False, 200)
    assert "19021" in result.response


def test_clock_an_hour_off_is_refused(
    feishu_server: FeishuServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(feishu, "time", SimpleNamespace(time=lambda: 1_000_000_000.0))

    result = FeishuChannel().send(build_digest(), config(feishu_server), FEISHU_SECRET)

    assert (result.ok, result.retry) == (False, False)
    assert feishu_server.requests[0].problems == ["sign match fail"]


def test_frequency_limit_is_retried(feishu_server: FeishuServer) -> None:
    feishu_server.mode = "rate_limit"

    result = FeishuChannel().send(build_digest(), config(feishu_server), FEISHU_SECRET)

    assert (result.ok, result.retry, result.retry_after) == (False, True, 60.0)
    assert "11232" in result.response


def test_huge_digest_stays_under_the_body_limit(feishu_server: FeishuServer) -> None:
    message = build_digest(items=ITEMS * 60, language="en")

    result = FeishuChannel().send(message, config(feishu_server), FEISHU_SECRET)

    assert result.ok
    elements = feishu_server.requests[0].json["card"]["elements"]
    assert elements[-2]["text"]["content"] == "…and 80 more alerts"


@pytest.mark.parametrize(
    ("mode", "status", "retry", "disable"),
    HTTP_ERRORS,
)
def test_http_errors_are_judged_by_status(
    feishu_server: FeishuServer, mode: str, status: int, retry: bool, disable: bool
) -> None:
    feishu_server.mode = mode

    result = FeishuChannel().send(build_digest(), config(feishu_server), FEISHU_SECRET)

    assert (result.ok, result.status, result.retry, result.disable) == (
        False,
        status,
        retry,
        disable,
    )


def test_wrong_hook_is_refused_under_http_400(feishu_server: FeishuServer) -> None:
    url = {"url": f"{feishu_server.base_url}/open-apis/bot/v2/hook/deleted"}

    result = FeishuChannel().send(build_digest(), url, FEISHU_SECRET)

    assert (result.ok, result.retry, result.status) == (False, False, 400)
    assert "19001" in result.response


def test_connection_refused_is_retried(refused_port: int) -> None:
    url = f"http://127.0.0.1:{refused_port}/open-apis/bot/v2/hook/{FEISHU_HOOK}"

    result = FeishuChannel().send(build_digest(), {"url": url}, FEISHU_SECRET)

    assert (result.ok, result.retry) == (False, True)


@pytest.mark.parametrize("url", [None, "", "open.feishu.cn/open-apis/bot/v2/hook/x", "file:///x"])
def test_validate_requires_an_http_url(url: str | None) -> None:
    with pytest.raises(ChannelConfigError) as error:
        FeishuChannel.validate({"url": url}, "")

    assert error.value.field == "url"


def test_bot_may_send_100_a_minute_and_5_a_second() -> None:
    assert FeishuChannel.rate_limits == (
        RateLimit(count=100, seconds=60),
        RateLimit(count=5, seconds=1),
    )
