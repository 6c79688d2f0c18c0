"""The generic webhook, checked by a receiver verifying Standard Webhooks signatures."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from types import SimpleNamespace

import pytest

from salesradar.notify.channels import webhook
from salesradar.notify.channels.base import ChannelConfigError
from salesradar.notify.channels.webhook import WebhookChannel
from tests.notify.builders import build_digest
from tests.notify.servers import WEBHOOK_SECRET, ProviderServer, reference_hmac_sha256


def config(server: ProviderServer) -> dict[str, str]:
    return {"url": f"{server.base_url}/hooks/salesradar"}


def test_signed_digest_is_accepted_by_an_independent_verifier(
    webhook_receiver: ProviderServer,
) -> None:
    message = build_digest()

    result = WebhookChannel().send(message, config(webhook_receiver), WEBHOOK_SECRET)

    assert result.ok and result.status == 204
    [request] = webhook_receiver.requests
    assert request.problems == []
    assert request.headers["webhook-id"] == message.idempotency_id
    assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 60
    assert request.headers["webhook-signature"].startswith("v1,")
    document = request.json
    assert document["type"] == "alert.digest"
    assert document["subject"] == "销售预警：2 条新告警"
    assert [item["title"] for item in document["items"]] == ["报价超时未回复", "阶段停留过久"]
    assert document["items"][0]["severity"] == "danger"


def test_secret_without_whsec_prefix_signs_the_same() -> None:
    key = base64.b64decode(WEBHOOK_SECRET.removeprefix("whsec_"))

    signature = webhook.sign(key, "msg_1", 1700000000, b'{"a":1}')

    expected = reference_hmac_sha256(key, b'msg_1.1700000000.{"a":1}')
    assert signature == "v1," + base64.b64encode(expected).decode()
    assert webhook.decode_signing_key(WEBHOOK_SECRET.removeprefix("whsec_")) == key


def test_reference_hmac_agrees_with_the_standard_library() -> None:
    assert reference_hmac_sha256(b"k" * 100, b"body") == (
        hmac.new(b"k" * 100, b"body", hashlib.sha256).digest()
    )


def test_wrong_key_is_refused_and_not_retried(webhook_receiver: ProviderServer) -> None:
    wrong = "whsec_" + base64.b64encode(b"another-key-of-thirty-two-bytes!").decode()

    result = WebhookChannel().send(build_digest(), config(webhook_receiver), wrong)

    assert (result.ok, result.retry, result.status) == (False, False, 401)
    assert webhook_receiver.requests[0].problems == ["no valid v1 signature"]


def test_stale_timestamp_is_refused(
    webhook_receiver: ProviderServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webhook, "time", SimpleNamespace(time=lambda: 1_000_000_000.0))

    result = WebhookChannel().send(build_digest(), config(webhook_receiver), WEBHOOK_SECRET)

    assert not result.ok and not result.retry
    assert webhook_receiver.requests[0].problems == ["timestamp outside tolerance"]


@pytest.mark.parametrize(
    ("retry_after", "expected_wait"), [("7", 7.0), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0)]
)
def test_429_is_retried_after_the_providers_delay(
    webhook_receiver: ProviderServer, retry_after: str, expected_wait: float
) -> None:
    webhook_receiver.mode = "too_many_requests"
    webhook_receiver.retry_after = retry_after

    result = WebhookChannel().send(build_digest(), config(webhook_receiver), WEBHOOK_SECRET)

    assert (result.ok, result.retry, result.status) == (False, True, 429)
    assert result.retry_after == expected_wait


def test_server_error_is_retried(webhook_receiver: ProviderServer) -> None:
    webhook_receiver.mode = "server_error"

    result = WebhookChannel().send(build_digest(), config(webhook_receiver), WEBHOOK_SECRET)

    assert (result.ok, result.retry, result.status) == (False, True, 500)


def test_gone_endpoint_is_disabled(webhook_receiver: ProviderServer) -> None:
    webhook_receiver.mode = "gone"

    result = WebhookChannel().send(build_digest(), config(webhook_receiver), WEBHOOK_SECRET)

    assert (result.ok, result.retry, result.disable, result.status) == (False, False, True, 410)


def test_other_client_error_fails_without_retry(webhook_receiver: ProviderServer) -> None:
    url = {"url": f"{webhook_receiver.base_url}/hooks/x"}
    bad_body = build_digest(idempotency_id="")  # the receiver insists on a webhook-id

    result = WebhookChannel().send(bad_body, url, WEBHOOK_SECRET)

    assert (result.ok, result.retry, result.status) == (False, False, 400)


def test_connection_refused_is_retried(refused_port: int) -> None:
    result = WebhookChannel().send(
        build_digest(), {"url": f"http://127.0.0.1:{refused_port}/hook"}, WEBHOOK_SECRET
    )

    assert (result.ok, result.retry) == (False, True)


@pytest.mark.parametrize(
    ("config_", "secret", "field"),
    [
        ({}, WEBHOOK_SECRET, "url"),
        ({"url": "ftp://example.cn/hook"}, WEBHOOK_SECRET, "url"),
        ({"url": "https://example.cn/hook"}, "", "secret"),
        ({"url": "https://example.cn/hook"}, "whsec_not base64!", "secret"),
        ({"url": "https://example.cn/hook"}, base64.b64encode(b"short").decode(), "secret"),
    ],
)
def test_validate_names_the_unusable_field(
    config_: dict[str, str], secret: str, field: str
) -> None:
    with pytest.raises(ChannelConfigError) as error:
        WebhookChannel.validate(config_, secret)

    assert error.value.field == field


def test_validate_accepts_a_url_and_a_whsec_key() -> None:
    WebhookChannel.validate({"url": "https://hooks.example.cn/in"}, WEBHOOK_SECRET)
