"""The alert budget: how many problems the rules put in front of each rep, and what they catch.

``measure_budget`` replays the enabled rules from a clean slate (inside a transaction that is
rolled back, so the real alerts stay) at every ``step`` over the ``weeks`` before ``at``, as
the scheduler would, and counts per rep: the alert groups (one per problem, see
``grouping``) opened in each week after the first pass (which only takes in the backlog
already there), and the groups open at ``at``. It scores the alerts open at ``at`` against a
ground truth such as the demo's ``ground_truth.json``. The issue's budget: at most 5 new
problems per rep per week and at most 30 open per rep, with every planted problem caught.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from django.db import transaction

from salesradar.accounts.choices import Role
from salesradar.accounts.models import User
from salesradar.alerts.engine import evaluate
from salesradar.alerts.models import Alert, AlertCheck, AlertEvent, AlertGroup, Rule
from salesradar.alerts.rules import RulePack, load_rule_pack
from salesradar.alerts.scoring import score

NEW_PER_REP_PER_WEEK = 5
OPEN_PER_REP = 30


def measure_budget(
    *,
    at: dt.datetime,
    truth: Sequence[Mapping[str, Any]],
    weeks: int = 4,
    step: dt.timedelta = dt.timedelta(days=1),
    pack: RulePack | None = None,
    progress: Callable[[str], None] = lambda message: None,
) -> dict[str, Any]:
    """Replay the rules over ``weeks`` before ``at`` and return the budget figures.

    ``pack`` is loaded first (and rolled back with the rest), to measure a pack as written.
    """
    if weeks < 2:
        raise ValueError("weeks must be at least 2: the first week only takes in the backlog")
    reps = set(User.objects.filter(role=Role.REP, is_active=True).values_list("pk", flat=True))
    start = at - dt.timedelta(weeks=weeks)
    with transaction.atomic():
        if pack is not None:
            load_rule_pack(pack)
        AlertEvent.objects.all()._raw_delete(AlertEvent.objects.db)
        Alert.objects.all().delete()
        AlertGroup.objects.all().delete()
        AlertCheck.objects.all().delete()
        Rule.objects.update(last_evaluated_at=None)
        moment = start
        while moment <= at:
            evaluate(at=moment)
            progress(f"evaluated at {moment.isoformat()}")
            moment += step
        weekly = []
        for week in range(1, weeks):
            begins = start + dt.timedelta(weeks=week)
            opened = Counter(
                AlertGroup.objects.filter(
                    opened_at__gt=begins, opened_at__lte=begins + dt.timedelta(weeks=1)
                )
                .filter(owner_id__in=reps)
                .values_list("owner_id", flat=True)
            )
            weekly.append([opened.get(rep, 0) for rep in sorted(reps)])
        measured = AlertGroup.objects.filter(
            opened_at__gt=start + dt.timedelta(weeks=1), owner_id__in=reps
        ).select_related("rule", "concern")
        new_by_concern = Counter(
            group.concern.key if group.concern else group.rule.key if group.rule else "?"
            for group in measured
        )
        open_by_concern = Counter(
            group.concern.key if group.concern else group.rule.key if group.rule else "?"
            for group in AlertGroup.objects.open()
            .filter(owner_id__in=reps)
            .select_related("rule", "concern")
        )
        open_now = Counter(
            AlertGroup.objects.open().filter(owner_id__in=reps).values_list("owner_id", flat=True)
        )
        open_alerts = Counter(
            Alert.objects.open().filter(owner_id__in=reps).values_list("owner_id", flat=True)
        )
        result = score(truth, at=at)
        transaction.set_rollback(True)
    per_rep_open = [open_now.get(rep, 0) for rep in sorted(reps)]
    per_rep_week = [count for week in weekly for count in week]
    return {
        "at": at.isoformat(),
        "reps": len(reps),
        "weeks": weeks,
        "step_hours": step.total_seconds() / 3600,
        "new_per_rep_per_week": {
            "max": max(per_rep_week, default=0),
            "mean": round(statistics.fmean(per_rep_week), 2) if per_rep_week else 0.0,
            "budget": NEW_PER_REP_PER_WEEK,
        },
        "open_per_rep": {
            "max": max(per_rep_open, default=0),
            "mean": round(statistics.fmean(per_rep_open), 2) if per_rep_open else 0.0,
            "budget": OPEN_PER_REP,
        },
        "open_rule_alerts_per_rep": {
            "max": max(open_alerts.values(), default=0),
            "mean": round(statistics.fmean([open_alerts.get(rep, 0) for rep in reps]), 2)
            if reps
            else 0.0,
        },
        "new_by_concern": dict(new_by_concern.most_common()),
        "open_by_concern": dict(open_by_concern.most_common()),
        "planted": result.planted,
        "caught": result.caught,
        "missed": result.missed,
        "within_budget": max(per_rep_week, default=0) <= NEW_PER_REP_PER_WEEK
        and max(per_rep_open, default=0) <= OPEN_PER_REP
        and result.caught == result.planted,
    }
