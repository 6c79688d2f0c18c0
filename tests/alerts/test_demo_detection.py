"""The default rule pack on the default demo organisation: every planted problem is caught,
and danger alerts concern real problems (the acceptance figures of the engine)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction

from salesradar.alerts.engine import evaluate
from salesradar.alerts.rules import ensure_default_rules
from salesradar.alerts.scoring import Score, score
from salesradar.demo.services import build_demo

TODAY = dt.date(2026, 11, 30)
AT = dt.datetime(2026, 11, 30, tzinfo=ZoneInfo("Asia/Shanghai"))

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def scored(django_db_setup: None, django_db_blocker) -> Iterator[Score]:
    with django_db_blocker.unblock(), transaction.atomic():
        demo = build_demo(seed=42, size="medium", today=TODAY, truth_path=None)
        ensure_default_rules()
        evaluate(at=AT)
        yield score([dataclasses.asdict(item) for item in demo.ground_truth], at=AT)
        transaction.set_rollback(True)


def test_every_planted_problem_raises_an_alert(scored: Score) -> None:
    assert scored.planted >= 30
    assert scored.missed == []
    assert scored.recall == 1.0


def test_every_kind_of_planted_problem_is_covered(scored: Score) -> None:
    assert len(scored.recall_by_kind) == 8
    assert all(hit == total for hit, total in scored.recall_by_kind.values())


def test_at_least_four_in_five_danger_alerts_concern_real_problems(scored: Score) -> None:
    assert scored.danger_alerts > 0
    assert scored.danger_precision >= 0.8, scored.unjustified
