"""A real Celery worker on the real RabbitMQ drains an outbox: every delivery sent once."""

from __future__ import annotations

import socket
import uuid
from pathlib import Path

import pytest
from celery import Celery

from salesradar.notify.models import Delivery
from tests.notify.servers import WebhookReceiver
from tests.notify.workers import (
    assert_every_delivery_received_once,
    fill_outbox,
    start_worker,
    wait_ready,
    wait_until_sent,
)

RABBITMQ = "amqp://guest:guest@127.0.0.1:5672//"

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_worker_on_rabbitmq_drains_the_outbox_exactly_once(
    tmp_path: Path, webhook_receiver: WebhookReceiver
) -> None:
    fill_outbox(webhook_receiver.base_url, 40, language="zh-hans", subject="摘要")
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
        wait_until_sent([worker])
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        with sender.connection_for_write() as connection:
            connection.default_channel.queue_delete(queue)

    assert_every_delivery_received_once(webhook_receiver)
    assert set(Delivery.objects.values_list("claimed_by", flat=True)) != {""}
