"""Loopback stand-ins for the providers, strict about what the real ones check.

Each server listens on 127.0.0.1 on a free port, checks every request the way its provider
documents (path and key, signature recomputed here with an independent HMAC, timestamp within
an hour, JSON fields and message type), records it with the problems found, and answers as
the provider would. ``mode`` makes it answer with a provider rate-limit body
(``"rate_limit"``), a 429 with ``Retry-After`` (``"too_many_requests"``), a 500
(``"server_error"``) or a 410 (``"gone"``) instead.
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

import pytest

WECOM_KEY = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
DINGTALK_TOKEN = "0f4c6b8e2d"
DINGTALK_SECRET = "SEC2f6b4e0d6b5b9c1a7e3f0d2c8a4b6e1f9d3c7a5b8e2f4d6c9a1b3e5f7d0c2a4b6"
FEISHU_HOOK = "2d6e1a8c-4b3f-4e5d-9c7a-1f0e2d3c4b5a"
FEISHU_SECRET = "qK8sTz3vR1wYp6xN"
SLACK_PATH = "/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"salesradar-test-signing-key-32b!").decode()
SIGNATURE_TOLERANCE = 3600  # the IM providers refuse timestamps an hour off


def reference_hmac_sha256(key: bytes, message: bytes) -> bytes:
    """HMAC-SHA256 written out from RFC 2104, so the servers do not share the channels' code."""
    block_size = 64
    if len(key) > block_size:
        key = hashlib.sha256(key).digest()
    key = key.ljust(block_size, b"\0")
    inner = hashlib.sha256(bytes(byte ^ 0x36 for byte in key) + message).digest()
    return hashlib.sha256(bytes(byte ^ 0x5C for byte in key) + inner).digest()


@dataclass
class Recorded:
    """One request as the server saw it, with what was wrong with it."""

    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    problems: list[str] = field(default_factory=list)

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, document: dict[str, Any], status: int = 200) -> Reply:
        return cls(status, json.dumps(document).encode(), {"Content-Type": "application/json"})


class ProviderServer(ThreadingHTTPServer):
    """Base class: record each POST, then answer from ``mode`` or the provider's checks."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[Recorded] = []
        self.mode = "accept"
        self.retry_after = "7"
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def handle_post(self, request: Recorded) -> Reply:
        with self._lock:
            self.requests.append(request)
        if self.mode == "too_many_requests":
            return Reply(429, b"too many requests", {"Retry-After": self.retry_after})
        if self.mode == "server_error":
            return Reply(500, b"internal error")
        if self.mode == "gone":
            return Reply(410, b"gone")
        if self.mode == "rate_limit":
            return self.rate_limit_reply()
        return self.check(request)

    def check(self, request: Recorded) -> Reply:
        raise NotImplementedError

    def rate_limit_reply(self) -> Reply:
        raise NotImplementedError


class _Handler(BaseHTTPRequestHandler):
    server: ProviderServer

    def do_POST(self) -> None:
        parts = urllib.parse.urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        request = Recorded(
            path=parts.path,
            query=dict(urllib.parse.parse_qsl(parts.query)),
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
        )
        if not request.headers.get("content-type", "").startswith("application/json"):
            request.problems.append("content-type is not application/json")
        reply = self.server.handle_post(request)
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""


def _fresh(timestamp: float) -> bool:
    return abs(time.time() - timestamp) <= SIGNATURE_TOLERANCE


def _json_body(request: Recorded) -> dict[str, Any]:
    try:
        document = request.json
    except ValueError:
        request.problems.append("body is not JSON")
        return {}
    if not isinstance(document, dict):
        request.problems.append("body is not a JSON object")
        return {}
    return document


class WeComServer(ProviderServer):
    """``POST /cgi-bin/webhook/send?key=KEY`` with a markdown or text message; errors in
    ``errcode``. Text messages may carry ``mentioned_list`` and ``mentioned_mobile_list``."""

    def check(self, request: Recorded) -> Reply:
        if request.path != "/cgi-bin/webhook/send" or request.query.get("key") != WECOM_KEY:
            request.problems.append("invalid webhook url")
            return Reply.json({"errcode": 93000, "errmsg": "invalid webhook url"})
        document = _json_body(request)
        kind = document.get("msgtype")
        limit = {"markdown": 4096, "text": 2048}.get(str(kind))
        if limit is None:
            request.problems.append("msgtype is neither markdown nor text")
            limit = 0
        body = document.get(str(kind), {})
        content = body.get("content")
        if not isinstance(content, str) or not content:
            request.problems.append(f"{kind}.content is empty")
        elif len(content.encode("utf-8")) > limit:
            request.problems.append(f"{kind}.content exceeds {limit} bytes")
        for key in ("mentioned_list", "mentioned_mobile_list"):
            if key in body and (
                kind != "text" or not all(isinstance(item, str) for item in body[key])
            ):
                request.problems.append(f"{key} is only a list of strings in a text message")
        if request.problems:
            return Reply.json({"errcode": 40008, "errmsg": "invalid message type"})
        return Reply.json({"errcode": 0, "errmsg": "ok"})

    def rate_limit_reply(self) -> Reply:
        return Reply.json({"errcode": 45009, "errmsg": "api freq out of limit"})


class DingTalkServer(ProviderServer):
    """``POST /robot/send?access_token=..&timestamp=..&sign=..``; errors in ``errcode``."""

    signed = True  # the robot's security setting is 加签; False stands for keyword or IP

    def check(self, request: Recorded) -> Reply:
        if request.path != "/robot/send" or request.query.get("access_token") != DINGTALK_TOKEN:
            request.problems.append("token is not exist")
            return Reply.json({"errcode": 300001, "errmsg": "token is not exist"})
        return self._check_signature(request) or self._check_message(request)

    def _check_signature(self, request: Recorded) -> Reply | None:
        if not self.signed:
            return None
        timestamp = request.query.get("timestamp", "")
        if not timestamp.isdigit() or not _fresh(int(timestamp) / 1000):
            request.problems.append("invalid timestamp")
            return Reply.json({"errcode": 310000, "errmsg": "invalid timestamp"})
        string_to_sign = f"{timestamp}\n{DINGTALK_SECRET}".encode()
        expected = base64.b64encode(
            reference_hmac_sha256(DINGTALK_SECRET.encode(), string_to_sign)
        ).decode()
        if request.query.get("sign") != expected:
            request.problems.append("sign not match")
            return Reply.json({"errcode": 310000, "errmsg": "sign not match"})
        return None

    def _check_message(self, request: Recorded) -> Reply:
        document = _json_body(request)
        markdown = document.get("markdown", {})
        at = document.get("at", {})
        if document.get("msgtype") != "markdown":
            request.problems.append("msgtype is not markdown")
        for key in ("title", "text"):
            if not isinstance(markdown.get(key), str) or not markdown[key]:
                request.problems.append(f"markdown.{key} is empty")
        if not isinstance(at.get("isAtAll"), bool):
            request.problems.append("at.isAtAll is not a boolean")
        for who in [*at.get("atMobiles", []), *at.get("atUserIds", [])]:
            if f"@{who}" not in markdown.get("text", ""):
                request.problems.append(f"@{who} is not in the text")
        if request.problems:
            return Reply.json({"errcode": 400105, "errmsg": "不支持的消息类型"})
        return Reply.json({"errcode": 0, "errmsg": "ok"})

    def rate_limit_reply(self) -> Reply:
        return Reply.json(
            {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"}
        )


class FeishuServer(ProviderServer):
    """``POST /open-apis/bot/v2/hook/ID`` with a signed interactive card; errors in ``code``."""

    signed = True  # the bot has 签名校验 turned on

    def check(self, request: Recorded) -> Reply:
        if request.path != f"/open-apis/bot/v2/hook/{FEISHU_HOOK}":
            request.problems.append("incoming webhook access token invalid")
            return Reply.json({"code": 19001, "msg": "param invalid: access token invalid"}, 400)
        document = _json_body(request)
        return self._check_signature(request, document) or self._check_card(request, document)

    def _check_signature(self, request: Recorded, document: dict[str, Any]) -> Reply | None:
        if not self.signed:
            return None
        timestamp = document.get("timestamp")
        if not isinstance(timestamp, str) or not timestamp.isdigit():
            request.problems.append("timestamp is not a string of digits")
            return Reply.json({"code": 19021, "msg": "sign match fail"})
        key = f"{timestamp}\n{FEISHU_SECRET}".encode()
        expected = base64.b64encode(reference_hmac_sha256(key, b"")).decode()
        if not _fresh(int(timestamp)) or document.get("sign") != expected:
            request.problems.append("sign match fail")
            return Reply.json(
                {
                    "code": 19021,
                    "msg": "sign match fail or timestamp is not within one hour from current time",
                }
            )
        return None

    def _check_card(self, request: Recorded, document: dict[str, Any]) -> Reply:
        card = document.get("card", {})
        header = card.get("header", {})
        if document.get("msg_type") != "interactive":
            request.problems.append("msg_type is not interactive")
        if header.get("title", {}).get("tag") != "plain_text" or not header["title"].get("content"):
            request.problems.append("header.title is not plain_text")
        if header.get("template") not in {"red", "orange", "green", "blue", "grey"}:
            request.problems.append("header.template is not a known colour")
        elements = card.get("elements")
        if not isinstance(elements, list) or not elements:
            request.problems.append("card has no elements")
        for element in elements or []:
            text = element.get("text", {})
            if element.get("tag") != "div" or text.get("tag") != "lark_md":
                request.problems.append(f"element is not a lark_md div: {element}")
        if len(request.body) > 20 * 1024:
            request.problems.append("body exceeds 20 KB")
        if request.problems:
            return Reply.json({"code": 9499, "msg": "Bad Request"}, 400)
        return Reply.json(
            {"StatusCode": 0, "StatusMessage": "success", "code": 0, "data": {}, "msg": "success"}
        )

    def rate_limit_reply(self) -> Reply:
        return Reply.json({"code": 11232, "msg": "frequency limited psm[lark.oapi]appID[1]"})


class SlackServer(ProviderServer):
    """``POST /services/T/B/X`` with text and blocks; answers ``ok`` or an error word."""

    def check(self, request: Recorded) -> Reply:
        if request.path != SLACK_PATH:
            request.problems.append("no_service")
            return Reply(404, b"no_service")
        document = _json_body(request)
        blocks = document.get("blocks")
        if not isinstance(document.get("text"), str) or not document["text"]:
            request.problems.append("text is empty")
        if not isinstance(blocks, list) or not 0 < len(blocks) <= 50:
            request.problems.append("blocks must be 1 to 50")
            blocks = []
        for block in blocks:
            kind, text = block.get("type"), block.get("text", {})
            if kind == "header" and not (
                text.get("type") == "plain_text" and 0 < len(text.get("text", "")) <= 150
            ):
                request.problems.append("header text must be plain_text of 1 to 150 chars")
            elif kind == "section" and not (
                text.get("type") == "mrkdwn" and 0 < len(text.get("text", "")) <= 3000
            ):
                request.problems.append("section text must be mrkdwn of 1 to 3000 chars")
            elif kind not in {"header", "section"}:
                request.problems.append(f"unexpected block {kind}")
        if request.problems:
            return Reply(400, b"invalid_blocks")
        return Reply(200, b"ok", {"Content-Type": "text/html"})

    def rate_limit_reply(self) -> Reply:
        return Reply(429, b"rate_limited", {"Retry-After": self.retry_after})


class WebhookReceiver(ProviderServer):
    """A receiver verifying Standard Webhooks signatures; answers 204, or 401 when unsigned."""

    tolerance = 300  # the Standard Webhooks reference libraries' default

    def check(self, request: Recorded) -> Reply:
        webhook_id = request.headers.get("webhook-id", "")
        timestamp = request.headers.get("webhook-timestamp", "")
        signatures = request.headers.get("webhook-signature", "").split(" ")
        key = base64.b64decode(WEBHOOK_SECRET.removeprefix("whsec_"))
        if not webhook_id or not timestamp.isdigit():
            request.problems.append("webhook-id or webhook-timestamp missing")
            return Reply(400, b"missing headers")
        if abs(time.time() - int(timestamp)) > self.tolerance:
            request.problems.append("timestamp outside tolerance")
            return Reply(401, b"timestamp too old or new")
        signed = webhook_id.encode() + b"." + timestamp.encode() + b"." + request.body
        expected = base64.b64encode(reference_hmac_sha256(key, signed)).decode()
        versions = [signature.partition(",") for signature in signatures]
        if not any(version == "v1" and value == expected for version, _, value in versions):
            request.problems.append("no valid v1 signature")
            return Reply(401, b"invalid signature")
        document = _json_body(request)
        if document.get("type") != "alert.digest":
            request.problems.append("type is not alert.digest")
        if document.get("idempotency_id") != webhook_id:
            request.problems.append("idempotency_id differs from webhook-id")
        for key_name in ("language", "subject", "text"):
            if not isinstance(document.get(key_name), str):
                request.problems.append(f"{key_name} is missing")
        if not isinstance(document.get("items"), list):
            request.problems.append("items is not a list")
        return Reply(400 if request.problems else 204)

    def rate_limit_reply(self) -> Reply:
        return Reply(429, b"slow down", {"Retry-After": self.retry_after})


ServerT = TypeVar("ServerT", bound=ProviderServer)


@contextmanager
def serving(server: ServerT) -> Iterator[ServerT]:
    """Run ``server`` in a background thread for the duration of the block."""
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def wecom_server() -> Iterator[WeComServer]:
    with serving(WeComServer()) as server:
        yield server


@pytest.fixture
def dingtalk_server() -> Iterator[DingTalkServer]:
    with serving(DingTalkServer()) as server:
        yield server


@pytest.fixture
def feishu_server() -> Iterator[FeishuServer]:
    with serving(FeishuServer()) as server:
        yield server


@pytest.fixture
def slack_server() -> Iterator[SlackServer]:
    with serving(SlackServer()) as server:
        yield server


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    with serving(WebhookReceiver()) as server:
        yield server


@pytest.fixture
def refused_port() -> int:
    """A loopback port nothing listens on, so connecting is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
