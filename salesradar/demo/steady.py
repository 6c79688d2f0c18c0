"""Fifteen minutes of a sales team's life, for timing the pass ``salesradar serve`` really runs.

``bench evaluate --steady`` evaluates once, then ``advance``\\ s: a share of the open deals get
a fresh follow-up and a stage move between the two moments, as reps would log them, and the
second pass is timed. Rows are written in bulk like the demo generator's, not through the
per-deal verbs: this is benchmark data, and the verbs' gates would refuse arbitrary moves.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q

from salesradar.activities.models import Activity
from salesradar.pipeline.models import Opportunity, Stage, StageChange


@dataclass(frozen=True)
class Advanced:
    deals: int
    activities: int
    stage_moves: int


def advance(at: dt.datetime, later: dt.datetime, *, share: float, seed: int = 1) -> Advanced:
    """Give ``share`` of the deals open at ``at`` a follow-up and a stage move before ``later``.

    Each chosen deal gets one call logged at a random moment in (at, later]; half of them
    also move one stage forward (or back from the last open stage), stamped the same way.
    """
    rng = random.Random(seed)
    open_deals = list(
        Opportunity.objects.filter(created_at__lte=at)
        .filter(Q(closed_at__isnull=True) | Q(closed_at__gt=at))
        .filter(stage__is_won=False, stage__is_lost=False)
        .order_by("pk")
        .values_list("pk", "customer_id", "owner_id", "process_id", "stage_id")
    )
    chosen = rng.sample(open_deals, round(len(open_deals) * share)) if open_deals else []
    open_stages: dict[int, list[Stage]] = {}
    for stage in Stage.objects.filter(is_won=False, is_lost=False).order_by("order"):
        open_stages.setdefault(stage.process_id, []).append(stage)
    span = (later - at).total_seconds()
    activities = []
    moves = []
    moved: list[tuple[int, int, dt.datetime]] = []
    for index, (pk, customer_id, owner_id, process_id, stage_id) in enumerate(chosen):
        moment = at + dt.timedelta(seconds=rng.uniform(1, span))
        activities.append(
            Activity(
                kind="call",
                customer_id=customer_id,
                opportunity_id=pk,
                owner_id=owner_id,
                occurred_at=moment,
                created_at=moment,
                summary="steady-state benchmark",
            )
        )
        stages = open_stages.get(process_id, [])
        position = next((n for n, stage in enumerate(stages) if stage.pk == stage_id), None)
        if index % 2 or position is None or len(stages) < 2:
            continue
        target = stages[position + 1] if position + 1 < len(stages) else stages[position - 1]
        moves.append(
            StageChange(
                opportunity_id=pk,
                from_stage_id=stage_id,
                to_stage_id=target.pk,
                changed_at=moment,
                changed_by_id=owner_id,
                is_regression=target.order < stages[position].order,
            )
        )
        moved.append((pk, target.pk, moment))
    with transaction.atomic():
        Activity.objects.bulk_create(activities, batch_size=2000)
        StageChange.objects.bulk_create(moves, batch_size=2000)
        updated = []
        for pk, stage_pk, moment in moved:
            updated.append(
                Opportunity(pk=pk, stage_id=stage_pk, stage_entered_at=moment, updated_at=moment)
            )
        Opportunity.objects.bulk_update(
            updated, ["stage", "stage_entered_at", "updated_at"], batch_size=2000
        )
    return Advanced(len(chosen), len(activities), len(moves))
