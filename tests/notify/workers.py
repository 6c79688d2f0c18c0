"""Real Celery workers for the tests: ``salesradar worker`` processes on the test database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from celery import Celery
from django.db import connection
from django.utils import timezone

from salesradar.notify.models import Channel, Delivery
from tests.notify.servers import WEBHOOK_SECRET, WebhookReceiver

REDIS_BROKER = "redis://127.0.0.1:6379/7"  # a database of its own, emptied around the tests


def database_url() -> str:
    settings = connection.settings_dict
    if connection.vendor == "postgresql":
        user, host, port = settings["USER"], settings["HOST"], settings["PORT"] or 5432
        return f"postgres://{user}@{host}:{port}/{settings['NAME']}"
    return f"sqlite:///{settings['NAME']}"


def start_worker(
    tmp_path: Path,
    name: str,
    lease_seconds: int = 300,
    *,
    broker: str = REDIS_BROKER,
    queue: str = "",
) -> subprocess.Popen[str]:
    """Start ``salesradar worker`` in a process of its own, on the test database."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SALESRADAR_")}
    environment.update(
        SALESRADAR_DATABASE_URL=database_url(),
        SALESRADAR_DATA_DIR=str(tmp_path),
        SALESRADAR_SECRET_KEY="tests-only",
        SALESRADAR_BROKER_URL=broker,
        SALESRADAR_DELIVERY_LEASE_SECONDS=str(lease_seconds),
        DJANGO_SETTINGS_MODULE="salesradar.config.settings",
    )
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "salesradar.cli",
            "worker",
            "--concurrency",
            "1",
            "--hostname",
            f"{name}@%h",
            "--loglevel",
            "WARNING",
            *(["--queues", queue] if queue else []),
        ],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / f"{name}.log", "w"),
        text=True,
    )


def wait_ready(
    sender: Celery,
    count: int,
    processes: list[subprocess.Popen[str]],
    destination: list[str] | None = None,
) -> None:
    """Wait until ``count`` workers answer a ping (only those named, when given)."""
    ready_by = time.monotonic() + 60
    while len(sender.control.ping(timeout=0.5, destination=destination)) < count:
        assert all(p.poll() is None for p in processes), "a worker died on start"
        assert time.monotonic() < ready_by, "the workers did not start within 60 s"


def fill_outbox(
    receiver_url: str, count: int, *, language: str = "en", subject: str = "digest"
) -> None:
    """Queue ``count`` webhook digests, due now, for the receiver at ``receiver_url``."""
    channel = Channel.objects.create(
        name="receiver",
        kind="webhook",
        config={"url": receiver_url},
        secret=WEBHOOK_SECRET,
    )
    now = timezone.now()
    Delivery.objects.bulk_create(
        Delivery(
            channel=channel,
            evaluation_at=now,
            next_attempt_at=now,
            payload={"language": language, "subject": f"{subject} {n}", "text": "t", "items": []},
        )
        for n in range(count)
    )


def wait_until_sent(processes: list[subprocess.Popen[str]], seconds: int = 90) -> None:
    """Wait until the workers have sent every delivery; fail if one dies or time runs out."""
    deadline = time.monotonic() + seconds
    while Delivery.objects.exclude(status="sent").exists():
        assert all(p.poll() is None for p in processes), "a worker died"
        assert time.monotonic() < deadline, f"the outbox was not drained within {seconds} s"
        time.sleep(0.5)


def assert_every_delivery_received_once(receiver: WebhookReceiver) -> None:
    """Check the receiver got each delivery exactly once, every request well signed."""
    received = [request.headers["webhook-id"] for request in receiver.requests]
    expected = {str(pk) for pk in Delivery.objects.values_list("idempotency_id", flat=True)}
    assert sorted(received) == sorted(expected)
    assert not [request.problems for request in receiver.requests if request.problems]
