"""A loopback receiver for domain-event webhooks, verifying Standard Webhooks signatures."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator

import pytest

from tests.notify.servers import (
    WEBHOOK_SECRET,
    ProviderServer,
    Recorded,
    Reply,
    reference_hmac_sha256,
    serving,
)


class EventReceiver(ProviderServer):
    """Answer 204 to a correctly signed ``{type, timestamp, data}`` document, 4xx otherwise."""

    tolerance = 300

    def check(self, request: Recorded) -> Reply:
        webhook_id = request.headers.get("webhook-id", "")
        timestamp = request.headers.get("webhook-timestamp", "")
        if not webhook_id or not timestamp.isdigit():
            request.problems.append("webhook-id or webhook-timestamp missing")
            return Reply(400)
        if abs(time.time() - int(timestamp)) > self.tolerance:
            request.problems.append("timestamp outside tolerance")
            return Reply(401)
        key = base64.b64decode(WEBHOOK_SECRET.removeprefix("whsec_"))
        signed = webhook_id.encode() + b"." + timestamp.encode() + b"." + request.body
        expected = "v1," + base64.b64encode(reference_hmac_sha256(key, signed)).decode()
        if expected not in request.headers.get("webhook-signature", "").split(" "):
            request.problems.append("no valid v1 signature")
            return Reply(401)
        document = request.json
        if not isinstance(document.get("type"), str) or not isinstance(document.get("data"), dict):
            request.problems.append("not a {type, timestamp, data} document")
        return Reply(400 if request.problems else 204)


@pytest.fixture
def event_receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[EventReceiver]:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    with serving(EventReceiver()) as server:
        yield server
