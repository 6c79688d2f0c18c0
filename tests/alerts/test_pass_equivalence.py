"""What the faster pass changes is only the work, never the result.

The default rule pack on the small demo, evaluated at a moment and again 15 minutes later
after fresh follow-ups and stage moves, opens, keeps and resolves exactly the alerts, with
exactly the events, that rule-by-rule computation does.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps
from django.core.management.color import no_style
from django.db import connection, transaction

from salesradar.alerts import engine
from salesradar.alerts.engine import evaluate
from salesradar.alerts.models import Alert, AlertEvent, AlertGroup
from salesradar.alerts.rules import ensure_default_rules
from salesradar.demo.services import build_demo
from salesradar.demo.steady import advance

TODAY = dt.date(2026, 11, 30)
AT = dt.datetime(2026, 11, 30, 9, tzinfo=ZoneInfo("Asia/Shanghai"))
LATER = AT + dt.timedelta(minutes=15)

pytestmark = pytest.mark.django_db


def snapshot() -> dict[str, Any]:
    """Everything an evaluation decides, keyed by fingerprint so row ids do not matter."""
    fields = [f.attname for f in Alert._meta.concrete_fields if f.attname not in ("id",)]
    fingerprints = dict(Alert.objects.values_list("pk", "fingerprint"))
    groups = dict(AlertGroup.objects.values_list("pk", "fingerprint"))
    alerts = {
        row["fingerprint"]: {
            **row,
            "inhibited_by_id": fingerprints.get(row["inhibited_by_id"]),
            "group_id": groups.get(row.get("group_id")),
        }
        for row in Alert.objects.values(*fields)
    }
    events = sorted(
        (fingerprints[row[0]], *row[1:])
        for row in AlertEvent.objects.values_list(
            "alert_id",
            "at",
            "kind",
            "from_state",
            "to_state",
            "from_severity",
            "to_severity",
            "reason",
            "value",
        )
    )
    return {"alerts": alerts, "events": events}


def restart_sequences() -> None:
    """Make both runs number their rows alike: PostgreSQL keeps sequences across rollbacks.

    Fingerprints carry entity ids, so without this the second build's ids (and so every
    fingerprint) would differ on PostgreSQL; SQLite reuses ids after a rollback anyway.
    """
    if connection.vendor != "postgresql":
        return
    statements = connection.ops.sequence_reset_sql(no_style(), apps.get_models())
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def two_passes() -> dict[str, Any]:
    with transaction.atomic():
        restart_sequences()
        build_demo(seed=11, size="small", today=TODAY, truth_path=None)
        ensure_default_rules()
        evaluate(at=AT)
        advance(AT, LATER, share=0.05, seed=3)
        evaluate(at=LATER)
        result = snapshot()
        transaction.set_rollback(True)
    return result


@pytest.fixture
def rule_by_rule(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(engine, "metric_pass", contextlib.nullcontext)
    yield


def test_shared_metrics_give_the_alerts_and_events_of_rule_by_rule_computation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shared = two_passes()
    with monkeypatch.context() as patched:
        patched.setattr(engine, "metric_pass", contextlib.nullcontext)
        separate = two_passes()

    assert shared["events"], "the demo raised no alert: nothing is compared"
    assert shared == separate
