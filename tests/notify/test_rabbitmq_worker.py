"""A real Celery worker on the real RabbitMQ drains an outbox: every delivery sent once."""

from __future__ import annotations

import socket
import time
import uuid
from pathlib import Path

import pytest
from celery import Celery
from django.utils import timezone

from salesradar.notify.models import Channel, Delivery
from tests.notify.servers import WEBHOOK_SECRET, WebhookReceiver
from tests.notify.workers import start_worker, wait_ready

RABBITMQ = "amqp://guest:guest@127.0.0.1:5672//"

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_worker_on_rabbitmq_drains_the_outbox_exactly_once(
    tmp_path: Path, webhook_receiver: WebhookReceiver
) -> None:
    channel = Channel.objects.create(
        name="receiver",
        kind="webhook",
        config={"url": webhook_receiver.base_url},
        secret=WEBHOOK_SECRET,
    )
    now = timezone.now()
    Delivery.objects.bulk_create(
        Delivery(
            channel=channel,
            evaluation_at=now,
            next_attempt_at=now,
            payload={"language": "zh-hans", "subject": f"摘要 {n}", "text": "t", "items": []},
        )
        for n in range(40)
    )
    # A queue and a worker name of this run's own, so nothing else on the broker interferes.
    queue = f"salesradar-test-{uuid.uuid4().hex[:8]}"
    name = f"rabbit-{uuid.uuid4().hex[:6]}"
    sender = Celery(broker=RABBITMQ)
    worker = start_worker(tmp_path, name, broker=RABBITMQ, queue=queue)
    try:
        wait_ready(sender, 1, [worker], destination=[f"{name}@{socket.gethostname()}"])
        for _task in range(4):
            sender.send_task(
                "salesradar.notify.tasks.drain_outbox",
                kwargs={"batch": 5, "rounds": 3},
                queue=queue,
            )
        deadline = time.monotonic() + 90
        while Delivery.objects.exclude(status="sent").exists():
            assert worker.poll() is None, "the worker died"
            assert time.monotonic() < deadline, "the outbox was not drained within 90 s"
            time.sleep(0.5)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        with sender.connection_for_write() as connection:
            connection.default_channel.queue_delete(queue)

    received = [request.headers["webhook-id"] for request in webhook_receiver.requests]
    expected = {str(pk) for pk in Delivery.objects.values_list("idempotency_id", flat=True)}
    assert sorted(received) == sorted(expected)
    assert not [request.problems for request in webhook_receiver.requests if request.problems]
    assert set(Delivery.objects.values_list("claimed_by", flat=True)) != {""}
