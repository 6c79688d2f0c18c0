"""Email through a real SMTP server on loopback."""

from __future__ import annotations

from typing import Any

import pytest

from salesradar.notify.channels.base import ChannelConfigError
from salesradar.notify.channels.email import EmailChannel
from tests.notify.builders import build_digest
from tests.notify.smtp_server import SMTP_PASSWORD, SMTP_USER, SmtpServer


def config(server: SmtpServer, **overrides: Any) -> dict[str, Any]:
    return {
        "host": "127.0.0.1",
        "port": server.port,
        "use_tls": False,
        "username": SMTP_USER,
        "from_address": "销售雷达 <radar@example.cn>",
        **overrides,
    }


def test_digest_arrives_with_text_and_html_and_the_idempotency_id(
    smtp_server: SmtpServer,
) -> None:
    message = build_digest()

    result = EmailChannel().send(message, config(smtp_server), SMTP_PASSWORD)

    assert result.ok
    [mail] = smtp_server.received
    assert (mail.username, mail.mail_from, mail.rcpt_to) == (
        SMTP_USER,
        "radar@example.cn",
        ("zhang.san@example.cn",),
    )
    email = mail.message
    assert email["Subject"] == "销售预警：2 条新告警"
    assert email["To"].addresses[0].display_name == "张三"
    assert email["From"].addresses[0].addr_spec == "radar@example.cn"
    assert email["X-SalesRadar-Idempotency-Id"] == message.idempotency_id
    assert email["Message-ID"] == f"<{message.idempotency_id}@example.cn>"
    assert email["Content-Language"] == "zh-hans"
    assert email.get_content_type() == "multipart/alternative"
    text = email.get_body(preferencelist=("plain",))
    html = email.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    assert "严重 报价超时未回复" in text.get_content()
    assert "<strong>警告</strong> 阶段停留过久" in html.get_content()


def test_a_retry_reuses_the_message_id(smtp_server: SmtpServer) -> None:
    message = build_digest(idempotency_id="d 42/重试")  # not usable as-is in a Message-ID

    for _attempt in range(2):
        assert EmailChannel().send(message, config(smtp_server), SMTP_PASSWORD).ok

    first, second = (mail.message["Message-ID"] for mail in smtp_server.received)
    assert first == second and first.endswith("@example.cn>") and " " not in first


def test_missing_recipient_address_fails_without_connecting(smtp_server: SmtpServer) -> None:
    result = EmailChannel().send(
        build_digest(recipient_email=""), config(smtp_server), SMTP_PASSWORD
    )

    assert (result.ok, result.retry) == (False, False)
    assert smtp_server.sessions == 0


def test_wrong_password_fails_without_retry(smtp_server: SmtpServer) -> None:
    result = EmailChannel().send(build_digest(), config(smtp_server), "wrong-password")

    assert (result.ok, result.retry, result.status) == (False, False, 535)
    assert smtp_server.received == []


@pytest.mark.parametrize(
    ("reply", "retry"), [("450 4.2.1 Mailbox busy", True), ("550 5.1.1 No such user", False)]
)
def test_refused_recipient_retries_on_4xx_and_fails_on_5xx(
    smtp_server: SmtpServer, reply: str, retry: bool
) -> None:
    smtp_server.rcpt_reply = reply

    result = EmailChannel().send(build_digest(), config(smtp_server), SMTP_PASSWORD)

    assert (result.ok, result.retry, result.status) == (False, retry, int(reply[:3]))


def test_busy_server_greeting_is_retried(smtp_server: SmtpServer) -> None:
    smtp_server.greeting = "421 4.3.2 Too many connections, try later"

    result = EmailChannel().send(build_digest(), config(smtp_server), SMTP_PASSWORD)

    assert (result.ok, result.retry, result.status) == (False, True, 421)


def test_starttls_on_a_server_without_it_fails_without_retry(smtp_server: SmtpServer) -> None:
    result = EmailChannel().send(build_digest(), config(smtp_server, use_tls=True), SMTP_PASSWORD)

    assert (result.ok, result.retry) == (False, False)
    assert "STARTTLS" in result.response


def test_connection_refused_is_retried(smtp_server: SmtpServer, refused_port: int) -> None:
    result = EmailChannel().send(
        build_digest(), config(smtp_server, port=refused_port), SMTP_PASSWORD
    )

    assert (result.ok, result.retry) == (False, True)


@pytest.mark.parametrize(
    ("overrides", "secret", "field"),
    [
        ({"host": ""}, "pw", "host"),
        ({"port": 70000}, "pw", "port"),
        ({"port": "smtp"}, "pw", "port"),
        ({"use_tls": "yes"}, "pw", "use_tls"),
        ({"use_tls": True, "use_ssl": True}, "pw", "use_tls"),
        ({}, "", "secret"),
        ({}, "密码", "secret"),
        ({"from_address": "radar"}, "pw", "from_address"),
        ({"from_address": "radar@example.cn\r\nBcc: x@example.cn"}, "pw", "from_address"),
    ],
)
def test_validate_names_the_unusable_field(
    smtp_server: SmtpServer, overrides: dict[str, Any], secret: str, field: str
) -> None:
    with pytest.raises(ChannelConfigError) as error:
        EmailChannel.validate(config(smtp_server, **overrides), secret)

    assert error.value.field == field


def test_server_without_login_needs_no_password() -> None:
    settings = {"host": "smtp.example.cn", "from_address": "radar@example.cn"}

    EmailChannel.validate(settings, "")

    assert EmailChannel.destination(settings) == "smtp.example.cn:25"
    assert EmailChannel.destination({**settings, "use_tls": True}) == "smtp.example.cn:587"
