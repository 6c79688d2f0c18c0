"""What the HTTP channels share: Retry-After, body codes, size limits, the registry."""

from __future__ import annotations

import datetime as dt

import pytest

from salesradar.notify.channels import transport
from salesradar.notify.channels.base import CHANNELS, SendResult
from salesradar.notify.channels.inapp import InAppChannel
from salesradar.notify.channels.transport import HttpAnswer
from tests.notify.builders import build_digest

NOW = dt.datetime(2025, 6, 2, 2, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        (" 5 ", 5.0),
        ("Mon, 02 Jun 2025 02:01:30 GMT", 90.0),
        ("Mon, 02 Jun 2025 01:00:00 GMT", 0.0),  # already past: retry at once
        ("soon", None),
        ("-3", None),
        (None, None),
    ],
)
def test_retry_after_reads_seconds_or_an_http_date(header: str | None, seconds: float) -> None:
    assert transport.parse_retry_after(header, now=NOW) == seconds


@pytest.mark.parametrize(
    ("body", "status", "expected"),
    [
        (b'{"errcode":0,"errmsg":"ok"}', 200, SendResult(ok=True)),
        (b'{"errcode":45009}', 200, SendResult(ok=False, retry=True, retry_after=60.0)),
        (b'{"errcode":-1}', 200, SendResult(ok=False, retry=True)),
        (b'{"errcode":93000}', 200, SendResult(ok=False)),
        (b"<html>portal</html>", 200, SendResult(ok=False)),  # a 2xx without a code
        (b'{"errcode":0}', 503, SendResult(ok=False, retry=True)),
        (b"", 404, SendResult(ok=False)),
    ],
)
def test_body_code_decides_unless_the_status_speaks_for_itself(
    body: bytes, status: int, expected: SendResult
) -> None:
    answer = HttpAnswer(status=status, body=body)

    result = transport.judge_coded(
        answer,
        code_keys=("errcode",),
        rate_limit_codes=frozenset({45009}),
        busy_codes=frozenset({-1}),
        rate_limit_wait=60.0,
    )

    assert (result.ok, result.retry, result.retry_after) == (
        expected.ok,
        expected.retry,
        expected.retry_after,
    )


def test_utf8_truncation_never_splits_a_character() -> None:
    cut = transport.truncate_utf8("销售预警" * 10, 20)

    assert len(cut.encode("utf-8")) <= 20 and cut.endswith("…")
    assert transport.truncate_utf8("短", 20) == "短"


def test_signing_parameters_are_percent_encoded() -> None:
    url = transport.with_query("https://x.cn/robot/send?access_token=t", sign="a+b/c=")

    assert url == "https://x.cn/robot/send?access_token=t&sign=a%2Bb%2Fc%3D"


def test_unparseable_url_fails_instead_of_raising() -> None:
    result = transport.post("not a url", b"{}")

    assert isinstance(result, SendResult) and (result.ok, result.retry) == (False, False)


def test_every_channel_kind_is_registered() -> None:
    assert {"inapp", "email", "webhook", "wecom", "dingtalk", "feishu", "slack"} <= set(CHANNELS)
    assert all(str(CHANNELS[kind].label) for kind in CHANNELS)


def test_inbox_needs_no_config_and_always_accepts() -> None:
    InAppChannel.validate({}, "")

    assert InAppChannel().send(build_digest(), {}, "") == SendResult(ok=True)
