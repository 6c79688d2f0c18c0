"""A small, seeded sales history to train deal-outcome models on in tests.

Deals open every three days from 2024-06-03. An "engaged" deal gets a follow-up every five
days, meets the decision maker and moves through the stages to a win after 40 days; a
"neglected" one gets one call and is lost after 35 days. One deal in five does the
opposite of what its engagement suggests, so the outcome is learnable but not certain.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from salesradar.activities.models import Activity
from salesradar.pipeline.models import Opportunity, Process, Stage, StageChange
from tests.factories import CustomerFactory, UserFactory
from tests.metrics import SHANGHAI

START = dt.datetime(2024, 6, 3, 10, 0, tzinfo=SHANGHAI)
DAY = dt.timedelta(days=1)


def build_history(process: Process, *, deals: int = 120, seed: int = 7) -> dt.datetime:
    """Create the history; return the moment after the last deal closed (train ``at``)."""
    rng = random.Random(seed)
    stages = {stage.key: stage for stage in Stage.objects.filter(process=process)}
    reps = [UserFactory(date_joined=START - 30 * DAY) for _ in range(4)]
    customers = [CustomerFactory(owner=reps[i % 4]) for i in range(12)]
    changes: list[StageChange] = []
    activities: list[Activity] = []
    last_close = START
    for number in range(deals):
        created = START + 3 * number * DAY
        owner = reps[number % 4]
        customer = customers[number % 12]
        engaged = rng.random() < 0.5
        wins = engaged if rng.random() < 0.8 else not engaged
        path = (
            ["initial_contact", "needs_confirmed", "proposal"] if engaged else ["initial_contact"]
        )
        closed = created + (40 if engaged else 35) * DAY
        final = "won" if wins else "lost"
        deal = Opportunity.objects.create(
            code=f"H{number:05d}",
            name=f"history deal {number}",
            customer=customer,
            owner=owner,
            process=process,
            stage=stages[final],
            amount=Decimal(rng.randrange(50, 500) * 1000),
            created_at=created,
            updated_at=closed,
            stage_entered_at=closed,
            closed_at=closed,
            lost_reason="" if wins else "price",
        )
        previous = None
        for step, key in enumerate(path):
            moment = created + 10 * step * DAY
            changes.append(
                StageChange(
                    opportunity=deal,
                    from_stage=previous,
                    to_stage=stages[key],
                    changed_at=moment,
                )
            )
            previous = stages[key]
        changes.append(
            StageChange(
                opportunity=deal, from_stage=previous, to_stage=stages[final], changed_at=closed
            )
        )
        touches = range(0, 40, 5) if engaged else range(0, 1)
        for day in touches:
            activities.append(
                Activity(
                    kind="visit" if day % 10 == 0 else "call",
                    customer=customer,
                    opportunity=deal,
                    owner=owner,
                    occurred_at=created + day * DAY,
                    created_at=created + day * DAY,
                    decision_maker_present=engaged and day == 15,
                )
            )
        last_close = max(last_close, closed)
    StageChange.objects.bulk_create(changes)
    Activity.objects.bulk_create(activities)
    return last_close + DAY
