"""Every domain event kind reaches a subscriber exactly once when its verb runs in bulk.

The verbs announce their rows through ``core.outbox`` in their own transaction; no model
signal is involved, so ``bulk_create`` and ``.update()`` paths are covered. Each test drives
the bulk path of one kind, sends everything due twice, and counts what the receiver got.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from django.utils import timezone

from salesradar.api.models import OutboundEvent
from salesradar.crm.choices import LeadStatus
from salesradar.crm.intake import LeadInput, intake_leads
from salesradar.crm.periodic import recall_overdue_leads
from salesradar.crm.routing import route_leads
from salesradar.notify.dispatch import dispatch_due
from salesradar.pipeline.models import Process, StageChange
from salesradar.pipeline.services import record_stage_moves
from tests.api.receivers import EventReceiver
from tests.api.test_outbound_webhooks import subscribe
from tests.crm.factories import LeadFactory, routing_rule
from tests.factories import OpportunityFactory, UserFactory

pytestmark = pytest.mark.django_db


def received(receiver: EventReceiver) -> Counter[tuple[str, str]]:
    """Send everything due twice; count (type, record) pairs the receiver got."""
    dispatch_due(now=timezone.now())
    dispatch_due(now=timezone.now() + dt.timedelta(seconds=1))
    assert all(request.problems == [] for request in receiver.requests)
    counts: Counter[tuple[str, str]] = Counter()
    for request in receiver.requests:
        data = request.json["data"]
        record = data["lead"]["code"] if "lead" in data else data["opportunity"]["code"]
        counts[(request.json["type"], record)] += 1
    return counts


def test_a_batch_intake_announces_each_new_lead_once(event_receiver: EventReceiver) -> None:
    subscribe(["lead.created"], url=f"{event_receiver.base_url}/hooks")
    rows = [LeadInput(f"批量线索{n}号有限公司", code=f"LB{n}") for n in range(3)]

    intake_leads(rows, source="api", route=False)

    assert received(event_receiver) == {("lead.created", f"LB{n}"): 1 for n in range(3)}


def test_a_routing_pass_announces_each_assigned_lead_once(event_receiver: EventReceiver) -> None:
    subscribe(["lead.assigned"], url=f"{event_receiver.base_url}/hooks")
    routing_rule("All", [UserFactory(), UserFactory()])
    leads = [LeadFactory() for _ in range(4)]

    route_leads(at=timezone.now())
    route_leads(at=timezone.now())  # nothing left to route: nothing announced again

    assert received(event_receiver) == {("lead.assigned", lead.code): 1 for lead in leads}


def test_a_recall_announces_each_recalled_lead_once(event_receiver: EventReceiver) -> None:
    subscribe(["lead.recalled"], url=f"{event_receiver.base_url}/hooks")
    rep = UserFactory()
    past = timezone.now() - dt.timedelta(days=2)
    leads = [
        LeadFactory(
            owner=rep,
            status=LeadStatus.ASSIGNED,
            created_at=past,
            assigned_at=past,
            response_due_at=past + dt.timedelta(hours=24),
        )
        for _ in range(3)
    ]

    recall_overdue_leads(at=timezone.now())

    assert received(event_receiver) == {("lead.recalled", lead.code): 1 for lead in leads}


def test_imported_stage_changes_are_announced_once_each(
    default_process: Process, event_receiver: EventReceiver
) -> None:
    subscribe(["opportunity.stage_changed", "deal.won"], url=f"{event_receiver.base_url}/hooks")
    stages = list(default_process.stages.order_by("order"))
    first, second = stages[0], stages[1]
    won = default_process.stages.get(is_won=True)
    deals = [OpportunityFactory(process=default_process) for _ in range(3)]
    at = timezone.now()
    moves = [
        StageChange(opportunity=deal, from_stage=first, to_stage=target, changed_at=at)
        for deal, target in zip(deals, (second, second, won), strict=True)
    ]

    record_stage_moves(moves, at=at)
    record_stage_moves([], at=at)

    assert received(event_receiver) == {
        **{("opportunity.stage_changed", deal.code): 1 for deal in deals},
        ("deal.won", deals[2].code): 1,
    }
    assert OutboundEvent.objects.count() == 4


def test_the_opening_entry_of_a_deal_is_not_announced_as_a_move(
    default_process: Process, event_receiver: EventReceiver
) -> None:
    subscribe(["opportunity.stage_changed"], url=f"{event_receiver.base_url}/hooks")
    deal = OpportunityFactory(process=default_process)

    record_stage_moves(
        [StageChange(opportunity=deal, to_stage=deal.stage, changed_at=timezone.now())],
        at=timezone.now(),
    )

    assert received(event_receiver) == {}
