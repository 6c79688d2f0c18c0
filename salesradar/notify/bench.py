"""Measure the notification path end to end: alert transitions planned into deliveries, then
the outbox drained into a webhook receiver on loopback.

The data set: ``reps`` people in one team, each with ``FAN_OUT - 1`` personal webhook
channels (plus the inbox copy every person gets), and one firing transition per person in
each of ten evaluations, so 10,000 transitions fan out to 50,000 deliveries. A run plans the
evaluations with ``workers`` processes (each takes its share of the moments),
then drains the outbox with ``workers`` processes running the dispatcher's claim-send-record
loop, exactly what a Celery worker's ``drain_outbox`` does. The receiver answers 204 to every
signed POST. Everything the bench creates is named ``bench-notify…`` and removed afterwards.
"""

from __future__ import annotations

import base64
import datetime as dt
import multiprocessing
import threading
import time
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from django.db import connections, transaction
from django.utils import timezone

SECRET = "whsec_" + base64.b64encode(b"bench-signing-key-of-32-bytes!!!").decode()
PREFIX = "bench-notify"


class _Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with self.server.lock:  # type: ignore[attr-defined]
            self.server.received += 1  # type: ignore[attr-defined]
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return None


def start_receiver() -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.daemon_threads = True
    server.received = 0  # type: ignore[attr-defined]
    server.lock = threading.Lock()  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server


def refuse_foreign_work() -> None:
    """Refuse to run where real deliveries wait: the bench's workers would send them."""
    from salesradar.notify.models import Delivery

    foreign = (
        Delivery.objects.filter(status__in=("pending", "sending"))
        .exclude(channel__name__startswith=PREFIX)
        .exclude(recipient__username__startswith=PREFIX)
    )
    if foreign.exists():
        raise RuntimeError(
            "This database has deliveries waiting to be sent; the benchmark's workers would "
            "send them. Point SALESRADAR_DATABASE_URL at a throw-away database."
        )


def remove_bench_data() -> None:
    from salesradar.accounts.models import Team, User
    from salesradar.alerts.models import Rule
    from salesradar.notify.models import Channel, Delivery, NotificationBatch

    with transaction.atomic():
        moments = Delivery.objects.filter(recipient__username__startswith=PREFIX).values(
            "evaluation_at"
        )
        NotificationBatch.objects.filter(evaluation_at__in=moments).delete()
        Delivery.objects.filter(recipient__username__startswith=PREFIX).delete()
        Delivery.objects.filter(channel__name__startswith=PREFIX).delete()
        Rule.objects.filter(key=PREFIX).delete()  # its alerts and their events with it
        User.objects.filter(username__startswith=PREFIX).delete()
        Team.objects.filter(code=PREFIX).delete()
        Channel.objects.filter(name__startswith=PREFIX).delete()


def build(transitions: int, fan_out: int, evaluations: int, url: str) -> list[dt.datetime]:
    """Create the people, channels, alerts and firing events; return the evaluation moments."""
    from salesradar.accounts.models import Team, User
    from salesradar.alerts.models import Alert, AlertEvent, Rule
    from salesradar.notify.models import Channel, Preference

    reps = transitions // evaluations
    start = timezone.now().replace(microsecond=0) - dt.timedelta(hours=1)
    moments = [start + dt.timedelta(minutes=n, microseconds=417) for n in range(evaluations)]
    with transaction.atomic():
        team = Team.objects.create(code=PREFIX, name="Bench")
        people = User.objects.bulk_create(
            (
                User(
                    username=f"{PREFIX}-{n:06d}",
                    password="!",
                    team=team,
                    language="en" if n % 2 else "zh-hans",
                )
                for n in range(reps)
            ),
            batch_size=5000,
        )
        channels = Channel.objects.bulk_create(
            Channel(
                name=f"{PREFIX}-{n}", kind="webhook", config={"url": f"{url}/{n}"}, secret=SECRET
            )
            for n in range(fan_out - 1)
        )
        preferences = Preference.objects.bulk_create(
            (Preference(user=person) for person in people), batch_size=5000
        )
        through = Preference.channels.through
        through.objects.bulk_create(
            (
                through(preference_id=preference.pk, channel_id=channel.pk)
                for preference in preferences
                for channel in channels
            ),
            batch_size=5000,
        )
        rule = Rule.objects.create(
            key=PREFIX,
            names={"en": "Bench rule", "zh-hans": "压测规则"},
            metric="opportunity_days_since_last_activity",
            grain="opportunity",
            routing={"to": ["owner"]},
            enabled=False,
        )
        alerts = Alert.objects.bulk_create(
            (
                Alert(
                    rule=rule,
                    fingerprint=f"{PREFIX}:opportunity:{n}",
                    entity_type="opportunity",
                    entity_id=n,
                    state="firing",
                    severity="danger" if n % 5 == 0 else "warning",
                    message=f"{n % 30} days without a follow-up",
                    owner=people[n % reps],
                    team=team,
                    started_at=moments[n // reps],
                    firing_since=moments[n // reps],
                    last_evaluated_at=moments[n // reps],
                )
                for n in range(reps * evaluations)
            ),
            batch_size=5000,
        )
        AlertEvent.objects.bulk_create(
            (
                AlertEvent(
                    alert=alert,
                    at=alert.started_at,
                    kind="firing",
                    from_state="pending",
                    to_state="firing",
                    to_severity=alert.severity,
                    reason=alert.message,
                )
                for alert in alerts
            ),
            batch_size=5000,
        )
    return moments


def plan_share(moments: Sequence[dt.datetime]) -> None:
    from salesradar.notify.services import plan_evaluation

    connections.close_all()  # a forked process opens its own connection
    for moment in moments:
        plan_evaluation(moment)


def drain_worker() -> None:
    from salesradar.notify.dispatch import dispatch_due

    connections.close_all()
    while True:
        report = dispatch_due(now=timezone.now(), limit=200)
        if report.claimed == 0:
            return


def in_processes(targets: Sequence[Callable[[], None]]) -> float:
    """Run each target in a forked process; return the seconds until all have finished."""
    connections.close_all()
    context = multiprocessing.get_context("fork")
    started = time.monotonic()
    processes = [context.Process(target=target) for target in targets]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    failed = [process.exitcode for process in processes if process.exitcode]
    if failed:
        raise RuntimeError(f"a benchmark worker failed with exit codes {failed}")
    return time.monotonic() - started


FAN_OUT = 5  # deliveries per transition: the inbox plus four personal webhooks
EVALUATIONS = 10


def run(deliveries: int, workers: int) -> dict[str, Any]:
    """Plan ``deliveries / FAN_OUT`` transitions into ``deliveries`` and drain them."""
    from salesradar.notify.models import Delivery

    transitions = deliveries // FAN_OUT
    if transitions < EVALUATIONS or deliveries % FAN_OUT:
        raise ValueError(f"deliveries must be a multiple of {FAN_OUT} and at least 50")
    refuse_foreign_work()
    remove_bench_data()
    receiver = start_receiver()
    url = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
    started = time.monotonic()
    moments = build(transitions, FAN_OUT, EVALUATIONS, url)
    setup = time.monotonic() - started
    try:
        shares = [moments[k::workers] for k in range(workers)]
        plan_seconds = in_processes([lambda share=share: plan_share(share) for share in shares])
        planned = Delivery.objects.filter(recipient__username__startswith=PREFIX).count()
        drain_seconds = in_processes([drain_worker] * workers)
        sent = Delivery.objects.filter(
            recipient__username__startswith=PREFIX, status="sent"
        ).count()
    finally:
        receiver.shutdown()
        remove_bench_data()
    return {
        "workers": workers,
        "setup_seconds": round(setup, 1),
        "transitions": transitions,
        "deliveries_planned": planned,
        "plan_seconds": round(plan_seconds, 2),
        "transitions_planned_per_second": round(transitions / plan_seconds),
        "deliveries_planned_per_second": round(planned / plan_seconds),
        "deliveries_sent": sent,
        "webhook_requests_received": receiver.received,  # type: ignore[attr-defined]
        "drain_seconds": round(drain_seconds, 2),
        "deliveries_sent_per_second": round(sent / drain_seconds),
        "end_to_end_deliveries_per_second": round(sent / (plan_seconds + drain_seconds)),
    }
