"""A small real ESMTP server on loopback, from the standard library only.

It speaks enough of RFC 5321 to receive mail from ``smtplib``: EHLO/HELO, AUTH PLAIN (RFC
4954, with or without an initial response), MAIL FROM, RCPT TO, DATA with dot-unstuffing,
RSET, NOOP and QUIT. It requires authentication, records each accepted message, and can be
told to greet with or refuse recipients with a given reply. (aiosmtpd is not a dependency.)
"""

from __future__ import annotations

import base64
import binascii
import socketserver
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import cast

import pytest

SMTP_USER = "radar@example.cn"
SMTP_PASSWORD = "s3cret-p@ss word"


@dataclass(frozen=True)
class ReceivedMail:
    username: str
    mail_from: str
    rcpt_to: tuple[str, ...]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return cast(EmailMessage, message_from_bytes(self.data, policy=policy.default))


class SmtpServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SmtpSession)
        self.received: list[ReceivedMail] = []
        self.sessions = 0
        self.greeting = "220 smtp.test ESMTP ready"
        self.rcpt_reply = ""  # e.g. "450 4.2.1 mailbox busy"; empty accepts
        self.lock = threading.Lock()

    @property
    def port(self) -> int:
        return int(self.server_address[1])


class _SmtpSession(socketserver.StreamRequestHandler):
    server: SmtpServer

    def reply(self, *lines: str) -> None:
        code, texts = lines[0][:3], [line[4:] for line in lines]
        for index, text in enumerate(texts):
            separator = " " if index == len(texts) - 1 else "-"
            self.wfile.write(f"{code}{separator}{text}\r\n".encode())

    def read_line(self) -> str | None:
        raw = self.rfile.readline(4096)
        return raw.rstrip(b"\r\n").decode("utf-8", "replace") if raw else None

    def handle(self) -> None:
        with self.server.lock:
            self.server.sessions += 1
        self.reply(self.server.greeting)
        if not self.server.greeting.startswith("220"):
            return
        greeted, username, mail_from = False, "", ""
        rcpt_to: list[str] = []
        while (line := self.read_line()) is not None:
            verb, _, argument = line.partition(" ")
            verb = verb.upper()
            if verb == "EHLO":
                greeted = True
                self.reply("250 smtp.test", "250 AUTH PLAIN", "250 8BITMIME", "250 SMTPUTF8")
            elif verb == "HELO":
                greeted = True
                self.reply("250 smtp.test")
            elif verb == "AUTH":
                username = self.authenticate(argument)
            elif verb == "MAIL":
                if not greeted:
                    self.reply("503 5.5.1 EHLO first")
                elif not username:
                    self.reply("530 5.7.0 Authentication required")
                else:
                    mail_from = _address(argument, "FROM:")
                    rcpt_to = []
                    self.reply("250 2.1.0 OK")
            elif verb == "RCPT":
                if not mail_from:
                    self.reply("503 5.5.1 MAIL first")
                elif self.server.rcpt_reply:
                    self.reply(self.server.rcpt_reply)
                else:
                    rcpt_to.append(_address(argument, "TO:"))
                    self.reply("250 2.1.5 OK")
            elif verb == "DATA":
                if not rcpt_to:
                    self.reply("503 5.5.1 RCPT first")
                    continue
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                mail = ReceivedMail(username, mail_from, tuple(rcpt_to), self.read_data())
                with self.server.lock:
                    self.server.received.append(mail)
                mail_from, rcpt_to = "", []
                self.reply("250 2.0.0 OK queued")
            elif verb == "RSET":
                mail_from, rcpt_to = "", []
                self.reply("250 2.0.0 OK")
            elif verb == "NOOP":
                self.reply("250 2.0.0 OK")
            elif verb == "QUIT":
                self.reply("221 2.0.0 Bye")
                return
            else:
                self.reply("502 5.5.2 Command not recognised")

    def authenticate(self, argument: str) -> str:
        mechanism, _, initial = argument.partition(" ")
        if mechanism.upper() != "PLAIN":
            self.reply("504 5.5.4 Unrecognised authentication type")
            return ""
        if not initial:
            self.reply("334 ")
            initial = self.read_line() or ""
        try:
            _authzid, user, password = base64.b64decode(initial).decode().split("\0")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            self.reply("501 5.5.2 Cannot decode response")
            return ""
        if (user, password) != (SMTP_USER, SMTP_PASSWORD):
            self.reply("535 5.7.8 Authentication credentials invalid")
            return ""
        self.reply("235 2.7.0 Authentication successful")
        return user

    def read_data(self) -> bytes:
        lines = []
        while (raw := self.rfile.readline()) not in (b".\r\n", b""):
            lines.append(raw[1:] if raw.startswith(b".") else raw)
        return b"".join(lines)


def _address(argument: str, prefix: str) -> str:
    """Return the path between the angle brackets of ``FROM:<a@b> SIZE=..``."""
    path = argument[len(prefix) :] if argument.upper().startswith(prefix) else argument
    return path.strip().split(" ")[0].strip("<>")


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
