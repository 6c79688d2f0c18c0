"""Email over SMTP, with STARTTLS (``use_tls``) or implicit TLS (``use_ssl``, port 465).

Each digest is one ``multipart/alternative`` message (plain text and HTML) whose Message-ID
is derived from the delivery's idempotency id and which repeats that id in
``X-SalesRadar-Idempotency-Id``, so a retried delivery is recognisably the same mail. SMTP
4xx replies and lost connections are transient; 5xx replies, refused credentials and a
server that cannot do what the config asks (STARTTLS, AUTH) need a person and fail at once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from typing import Any, cast

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from salesradar.notify.channels import transport
from salesradar.notify.channels.base import (
    ChannelConfigError,
    ChannelKind,
    Message,
    SendResult,
    register,
)

IDEMPOTENCY_HEADER = "X-SalesRadar-Idempotency-Id"
# RFC 5322 dot-atom-text: what may stand left of the "@" in a Message-ID without quoting.
_DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


def smtp_port(config: Mapping[str, Any]) -> int:
    """Return the configured port, or the usual one for the chosen kind of TLS."""
    port = config.get("port")
    if port in (None, ""):
        if config.get("use_ssl"):
            return 465
        return 587 if config.get("use_tls") else 25
    return int(port)


def message_id(idempotency_id: str, from_address: str) -> str:
    """Return a Message-ID that is the same for every attempt of one delivery."""
    domain = parseaddr(from_address)[1].rpartition("@")[2] or "salesradar.invalid"
    local = idempotency_id
    if not _DOT_ATOM.fullmatch(local):
        local = hashlib.sha256(idempotency_id.encode()).hexdigest()[:40]
    return f"<{local}@{domain}>"


@register
class EmailChannel(ChannelKind):
    """Send the digest as an email through the organisation's SMTP server."""

    kind = "email"
    label = cast(str, _("Email"))

    @classmethod
    def validate(cls, config: Mapping[str, Any], secret: str) -> None:
        host = config.get("host")
        if not isinstance(host, str) or not host.strip() or any(c.isspace() for c in host):
            raise ChannelConfigError("host", gettext("Enter the SMTP server's host name."))
        port = config.get("port")
        if port not in (None, ""):
            valid = isinstance(port, int) and not isinstance(port, bool)
            valid = valid or (isinstance(port, str) and port.isdigit())
            if not valid or not 0 < int(port) < 65536:
                raise ChannelConfigError("port", gettext("Enter a port between 1 and 65535."))
        for flag in ("use_tls", "use_ssl"):
            if not isinstance(config.get(flag, False), bool):
                raise ChannelConfigError(flag, gettext("Choose yes or no."))
        if config.get("use_tls") and config.get("use_ssl"):
            raise ChannelConfigError(
                "use_tls",
                gettext("Use either STARTTLS or implicit TLS (SSL), not both."),
            )
        username = config.get("username", "")
        if not isinstance(username, str):
            raise ChannelConfigError("username", gettext("Enter a user name or leave it empty."))
        if username.strip() and not secret:
            raise ChannelConfigError(
                "secret", gettext("Enter the password for the SMTP user name.")
            )
        if not (username + secret).isascii():
            # smtplib encodes AUTH credentials as ASCII and cannot send anything else.
            raise ChannelConfigError(
                "secret" if username.isascii() else "username",
                gettext("SMTP user names and passwords can only use ASCII characters."),
            )
        from_address = config.get("from_address")
        if (
            not isinstance(from_address, str)
            or "@" not in parseaddr(from_address)[1]
            or "\n" in from_address
            or "\r" in from_address
        ):
            raise ChannelConfigError(
                "from_address", gettext("Enter the address alerts are sent from.")
            )

    @classmethod
    def destination(cls, config: Mapping[str, Any]) -> str:
        return f"{config.get('host', '')}:{smtp_port(config)}"

    def send(
        self, message: Message, config: Mapping[str, Any], secret: str, *, timeout: float = 10
    ) -> SendResult:
        if refused := transport.unusable_config(type(self), config, secret):
            return refused
        if not message.recipient_email:
            return SendResult(ok=False, response=gettext("The recipient has no email address."))
        try:
            email = compose(message, str(config["from_address"]))
        except ValueError as error:  # e.g. a line break smuggled into a header
            return SendResult(ok=False, response=str(error))
        try:
            self._deliver(email, message.recipient_email, config, secret, timeout=timeout)
        except smtplib.SMTPRecipientsRefused as error:
            code, reply = next(iter(error.recipients.values()), (0, b""))
            return _judge_reply(code, reply)
        except smtplib.SMTPResponseException as error:
            # Refused credentials (535), a refused sender or data, a bad greeting.
            return _judge_reply(error.smtp_code, error.smtp_error)
        except smtplib.SMTPServerDisconnected as error:
            return SendResult(ok=False, retry=True, response=str(error))
        except (smtplib.SMTPNotSupportedError, ssl.SSLCertVerificationError) as error:
            # The server lacks STARTTLS/AUTH/SMTPUTF8 or its certificate does not verify.
            return SendResult(ok=False, response=str(error))
        except smtplib.SMTPException as error:
            if type(error) is smtplib.SMTPException:  # "No suitable authentication method"
                return SendResult(ok=False, response=str(error))
            return SendResult(ok=False, retry=True, response=str(error))
        except OSError as error:  # refused, unreachable, timed out, TLS handshake
            return SendResult(ok=False, retry=True, response=repr(error))
        except UnicodeError as error:  # non-ASCII credentials, which smtplib cannot encode
            return SendResult(ok=False, response=str(error))
        return SendResult(ok=True, status=250)

    def _deliver(
        self,
        email: EmailMessage,
        recipient: str,
        config: Mapping[str, Any],
        secret: str,
        *,
        timeout: float,
    ) -> None:
        host, port = str(config["host"]), smtp_port(config)
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if config.get("use_ssl"):
            smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
        else:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
        with smtp:
            if config.get("use_tls"):
                smtp.starttls(context=context)
            username = str(config.get("username") or "").strip()
            if username:
                smtp.login(username, secret)
            smtp.send_message(
                email,
                from_addr=parseaddr(str(config["from_address"]))[1],
                to_addrs=[recipient],
            )


def compose(message: Message, from_address: str) -> EmailMessage:
    """Return the email for one digest: plain text with an HTML alternative."""
    email = EmailMessage()
    email["Subject"] = message.subject
    email["From"] = from_address
    email["To"] = formataddr((message.recipient_name, message.recipient_email))
    email["Date"] = format_datetime(dt.datetime.now(dt.UTC))
    email["Message-ID"] = message_id(message.idempotency_id, from_address)
    email[IDEMPOTENCY_HEADER] = message.idempotency_id
    email["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
    email.set_content(message.text)
    if message.html:
        email.add_alternative(message.html, subtype="html")
    email["Content-Language"] = message.language  # after set_content, which clears Content-*
    return email


def _judge_reply(code: int, reply: bytes | str) -> SendResult:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    response = f"{code} {text}".strip()[:500]
    # 4xx is the server's "try again later"; anything that is not 5xx is treated the same.
    transient = not 500 <= code < 600
    return SendResult(ok=False, retry=transient, status=code, response=response)
