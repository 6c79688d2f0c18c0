"""Refreshing health: stored scores, the action of each tier, and the block on new deals."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from salesradar.activities.choices import TaskOrigin
from salesradar.activities.models import Task
from salesradar.health.models import CustomerHealth, HealthAction, HealthCalibration
from salesradar.health.services import (
    OpportunityBlocked,
    clear_block,
    current_weights,
    ensure_can_open_opportunity,
    open_block,
    refresh_health,
)
from salesradar.notify.models import Delivery
from salesradar.pipeline.services import open_opportunity
from tests.health.builders import AT, red_customer, worked_customer

pytestmark = pytest.mark.django_db


def test_yellow_customer_gets_a_joint_visit_task_for_owner_and_presales(org, stages) -> None:
    customer = worked_customer(org["rep"], stages)

    run = refresh_health(at=AT)

    health = CustomerHealth.objects.get(customer=customer)
    assert (health.score, health.tier, health.weakest) == (54, "yellow", "depth")  # 215 / 4
    tasks = Task.objects.filter(customer=customer, origin=TaskOrigin.HEALTH)
    assert {task.assignee for task in tasks} == {org["rep"], org["presales"]}
    assert all(task.due_at == AT + dt.timedelta(days=14) for task in tasks)
    assert run.entered["yellow"] == [customer.pk]


def test_a_tier_action_is_taken_once_per_move_into_the_tier(org, stages) -> None:
    worked_customer(org["rep"], stages)
    refresh_health(at=AT)

    again = refresh_health(at=AT + dt.timedelta(hours=1))

    assert again.tasks == 0 and not again.entered
    assert HealthAction.objects.count() == 1


def test_red_customer_is_blocked_and_the_director_told(org, stages) -> None:
    customer = red_customer(org["rep"])

    refresh_health(at=AT)

    assert CustomerHealth.objects.get(customer=customer).tier == "red"
    block = open_block(customer)
    assert block is not None and block.clearable_by == org["manager"]
    message = Delivery.objects.get(recipient=org["director"], channel__kind="inapp")
    assert customer.name in message.payload["text"]
    assert Delivery.objects.filter(recipient=org["manager"]).exists()


def test_blocked_customer_refuses_a_new_opportunity_naming_who_can_clear(org, stages) -> None:
    customer = red_customer(org["rep"])
    refresh_health(at=AT)

    with pytest.raises(OpportunityBlocked) as refused:
        open_opportunity(customer, owner=org["rep"], name="new deal", by=org["rep"], at=AT)

    assert str(org["manager"]) in refused.value.messages[0]
    assert customer.opportunities.count() == 0


def test_only_a_manager_clears_a_block_and_only_with_a_reason(org, stages) -> None:
    customer = red_customer(org["rep"])
    refresh_health(at=AT)
    block = open_block(customer)

    with pytest.raises(PermissionDenied):
        clear_block(block, by=org["rep"], note="please", at=AT)
    with pytest.raises(ValidationError):
        clear_block(block, by=org["manager"], note=" ", at=AT)
    clear_block(block, by=org["manager"], note="Visited the CFO, payment plan agreed", at=AT)

    ensure_can_open_opportunity(customer)  # no longer refused
    assert open_block(customer) is None
    refresh_health(at=AT + dt.timedelta(days=1))  # still red, but no new move: no new block
    assert open_block(customer) is None


def test_healthy_customer_owner_gets_one_nurture_digest(org, stages) -> None:
    customer = worked_customer(org["rep"], stages)
    applied = HealthCalibration.objects.create(
        computed_at=AT,
        samples=100,
        renewals=50,
        applied=True,
        weights={"potential": 0.5, "depth": 0, "relationship": 0, "risk": 0.5},
        pillar_auc={},
    )
    assert current_weights()["potential"] == applied.weights["potential"]

    refresh_health(at=AT)

    health = CustomerHealth.objects.get(customer=customer)
    assert (health.score, health.tier) == (62, "blue")  # (53 + 70) / 2 = 61.5
    message = Delivery.objects.get(recipient=org["rep"], channel__kind="inapp")
    assert customer.name in message.payload["text"]
    assert not Task.objects.filter(customer=customer).exists()
