"""Two real Celery workers on the real Redis drain one outbox: no duplicate, no loss."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from celery import Celery
from django.db import connection
from django.utils import timezone

from salesradar.notify.models import Channel, Delivery
from tests.notify.servers import WEBHOOK_SECRET, WebhookReceiver

BROKER = "redis://127.0.0.1:6379/7"  # a database of its own, emptied around the test

pytestmark = pytest.mark.django_db(transaction=True)


def database_url() -> str:
    settings = connection.settings_dict
    if connection.vendor == "postgresql":
        user, host, port = settings["USER"], settings["HOST"], settings["PORT"] or 5432
        return f"postgres://{user}@{host}:{port}/{settings['NAME']}"
    return f"sqlite:///{settings['NAME']}"


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[list[subprocess.Popen[str]]]:
    redis.Redis.from_url(BROKER).flushdb()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SALESRADAR_")}
    environment.update(
        SALESRADAR_DATABASE_URL=database_url(),
        SALESRADAR_DATA_DIR=str(tmp_path),
        SALESRADAR_SECRET_KEY="tests-only",
        SALESRADAR_BROKER_URL=BROKER,
        DJANGO_SETTINGS_MODULE="salesradar.config.settings",
    )
    started = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "salesradar.cli",
                "worker",
                "--concurrency",
                "1",
                "--hostname",
                f"w{number}@%h",
                "--loglevel",
                "WARNING",
            ],
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=open(tmp_path / f"worker{number}.log", "w"),  # noqa: SIM115
            text=True,
        )
        for number in (1, 2)
    ]
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
            payload={"language": "en", "subject": f"digest {n}", "text": "t", "items": []},
        )
        for n in range(120)
    )
    sender = Celery(broker=BROKER)
    ready_by = time.monotonic() + 60
    while len(sender.control.ping(timeout=0.5)) < 2:  # both workers up before any work
        assert all(worker.poll() is None for worker in workers), "a worker died on start"
        assert time.monotonic() < ready_by, "the workers did not start within 60 s"
    for _task in range(12):
        sender.send_task("salesradar.notify.tasks.drain_outbox", kwargs={"batch": 5, "rounds": 2})

    deadline = time.monotonic() + 90
    while Delivery.objects.exclude(status="sent").exists():
        assert all(worker.poll() is None for worker in workers), "a worker died"
        assert time.monotonic() < deadline, "the outbox was not drained within 90 s"
        time.sleep(0.5)

    received = [request.headers["webhook-id"] for request in webhook_receiver.requests]
    expected = {str(pk) for pk in Delivery.objects.values_list("idempotency_id", flat=True)}
    assert sorted(received) == sorted(expected)  # every delivery exactly once
    assert not [request.problems for request in webhook_receiver.requests if request.problems]
    assert set(Delivery.objects.values_list("attempts", flat=True)) == {1}
    claimants = set(Delivery.objects.values_list("claimed_by", flat=True))
    assert len(claimants) == 2  # both workers took a share
