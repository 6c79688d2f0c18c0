"""Measure how fast the outbox drains into a webhook receiver on loopback.

The receiver answers 204 to every signed POST; ``workers`` processes each run the
dispatcher's claim-send-record loop, exactly what a Celery worker's ``drain_outbox`` does.
"""

from __future__ import annotations

import base64
import multiprocessing
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from django.db import connections, transaction
from django.utils import timezone

SECRET = "whsec_" + base64.b64encode(b"bench-signing-key-of-32-bytes!!!").decode()


class _Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.received += 1  # type: ignore[attr-defined]
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return None


def start_receiver() -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.daemon_threads = True
    server.received = 0  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server


def queue(deliveries: int, url: str) -> None:
    from salesradar.notify.models import Channel, Delivery

    now = timezone.now()
    with transaction.atomic():
        Delivery.objects.filter(channel__name="bench-receiver").delete()
        channel, _created = Channel.objects.update_or_create(
            name="bench-receiver",
            defaults={"kind": "webhook", "config": {"url": url}, "secret": SECRET, "enabled": True},
        )
        payload = {"language": "en", "subject": "bench", "text": "bench", "items": []}
        Delivery.objects.bulk_create(
            (
                Delivery(channel=channel, evaluation_at=now, next_attempt_at=now, payload=payload)
                for _ in range(deliveries)
            ),
            batch_size=5000,
        )


def drain_worker() -> None:
    from salesradar.notify.dispatch import dispatch_due

    connections.close_all()  # a forked process opens its own connection
    while True:
        report = dispatch_due(now=timezone.now(), limit=200)
        if report.claimed == 0:
            return


def run(deliveries: int, workers: int) -> dict[str, Any]:
    from salesradar.notify.models import Delivery, RateBucket

    receiver = start_receiver()
    url = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
    queue(deliveries, url)
    RateBucket.objects.all().delete()
    connections.close_all()
    started = time.monotonic()
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=drain_worker) for _ in range(workers)]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    seconds = time.monotonic() - started
    sent = Delivery.objects.filter(channel__name="bench-receiver", status="sent").count()
    receiver.shutdown()
    return {
        "workers": workers,
        "deliveries": deliveries,
        "sent": sent,
        "received": receiver.received,  # type: ignore[attr-defined]
        "seconds": round(seconds, 2),
        "deliveries_per_second": round(sent / seconds) if seconds else None,
    }
