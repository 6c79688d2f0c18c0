"""Two real Celery workers on the real Redis drain one outbox: no duplicate, no loss."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from celery import Celery

from salesradar.notify.models import Delivery
from tests.notify.servers import WebhookReceiver
from tests.notify.workers import REDIS_BROKER as BROKER
from tests.notify.workers import (
    assert_every_delivery_received_once,
    fill_outbox,
    start_worker,
    wait_ready,
    wait_until_sent,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[list[subprocess.Popen[str]]]:
    redis.Redis.from_url(BROKER).flushdb()
    started = [start_worker(tmp_path, f"w{number}") for number in (1, 2)]
    try:
        yield started
    finally:
        for worker in started:
            worker.terminate()
        for worker in started:
            worker.wait(timeout=30)
        redis.Redis.from_url(BROKER).flushdb()


def test_two_workers_drain_one_outbox_with_no_duplicate_and_no_loss(
    workers: list[subprocess.Popen[str]], webhook_receiver: WebhookReceiver
) -> None:
    fill_outbox(webhook_receiver.base_url, 120)
    sender = Celery(broker=BROKER)
    wait_ready(sender, 2, workers)  # both workers up before any work
    for _task in range(12):
        sender.send_task("salesradar.notify.tasks.drain_outbox", kwargs={"batch": 5, "rounds": 2})

    wait_until_sent(workers)

    assert_every_delivery_received_once(webhook_receiver)
    assert set(Delivery.objects.values_list("attempts", flat=True)) == {1}
    claimants = set(Delivery.objects.values_list("claimed_by", flat=True))
    assert len(claimants) == 2  # both workers took a share


class SlowReceiver(WebhookReceiver):
    """Takes a moment per request, so a worker can be killed in the middle of a batch."""

    def handle_post(self, request):  # type: ignore[no-untyped-def]
        time.sleep(0.05)
        return super().handle_post(request)


def test_a_worker_killed_mid_batch_loses_nothing_and_sends_at_most_twice(
    tmp_path: Path,
) -> None:
    from tests.notify.servers import serving

    redis.Redis.from_url(BROKER).flushdb()
    with serving(SlowReceiver()) as receiver:
        fill_outbox(receiver.base_url, 60)
        sender = Celery(broker=BROKER)
        first = start_worker(tmp_path, "first", lease_seconds=1)
        second = None
        try:
            wait_ready(sender, 1, [first])
            sender.send_task(
                "salesradar.notify.tasks.drain_outbox", kwargs={"batch": 20, "rounds": 5}
            )
            deadline = time.monotonic() + 90  # generous: a loaded CI machine starts slowly
            while len(receiver.requests) < 10:  # killed part-way through its batch
                assert time.monotonic() < deadline, "the first worker sent nothing"
                time.sleep(0.02)
            first.kill()
            first.wait(timeout=10)
            assert Delivery.objects.exclude(status="sent").exists()

            second = start_worker(tmp_path, "second", lease_seconds=1)
            wait_ready(sender, 1, [second])
            deadline = time.monotonic() + 90
            while Delivery.objects.exclude(status="sent").exists():
                assert time.monotonic() < deadline, "the outbox was not drained after restart"
                sender.send_task(
                    "salesradar.notify.tasks.drain_outbox", kwargs={"batch": 20, "rounds": 5}
                )
                time.sleep(1.5)  # past the 1-second lease of the killed worker's claims
        finally:
            for process in (first, second):
                if process is not None and process.poll() is None:
                    process.terminate()
                    process.wait(timeout=30)
            redis.Redis.from_url(BROKER).flushdb()

        received = [request.headers["webhook-id"] for request in receiver.requests]
    expected = {str(pk) for pk in Delivery.objects.values_list("idempotency_id", flat=True)}
    assert set(received) == expected  # nothing lost
    assert max(received.count(identity) for identity in expected) <= 2  # at worst twice
