"""Handover when a rep leaves: everything moves with its history, once, to the successors."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from salesradar.accounts.choices import Role
from salesradar.accounts.models import User
from salesradar.activities.models import ActionCard, Task
from salesradar.alerts.models import Alert
from salesradar.api.models import ApiToken
from salesradar.api.tokens import issue_token
from salesradar.core.errors import Forbidden, Invalid
from salesradar.crm.choices import LeadStatus, Tier
from salesradar.crm.models import Assignment, Customer, Lead
from salesradar.handover.models import Handover, HandoverStatus, Split
from salesradar.handover.services import hand_over, plan_handover, run_due_handovers
from salesradar.pipeline.models import Opportunity
from tests.api.factories import Org, build_org, firing_alert
from tests.crm.factories import LeadFactory
from tests.factories import ActivityFactory, CustomerFactory, OpportunityFactory, UserFactory

pytestmark = pytest.mark.django_db
AT = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def org() -> Org:
    return build_org()


@pytest.fixture
def book(org: Org) -> dict[str, object]:
    """The leaving rep's book: customers A, B, C, a deal, a lead, a task, a card, an alert."""
    rep = org.rep
    a = CustomerFactory(name="甲公司", owner=rep, tier=Tier.A, region="华东")
    b = CustomerFactory(name="乙公司", owner=rep, tier=Tier.B, region="华南")
    c = CustomerFactory(name="丙公司", owner=rep, tier=Tier.C, region="华东")
    deal = OpportunityFactory(customer=a, owner=rep, name="甲公司 ERP")
    ActivityFactory(opportunity=deal, summary="谈了报价", next_step="周三前发方案")
    lead = LeadFactory(owner=rep, status=LeadStatus.CONTACTED, company_name="丁公司")
    task = Task.objects.create(
        title="回访", assignee=rep, due_at=AT + dt.timedelta(days=2), customer=b
    )
    card = ActionCard.objects.create(
        owner=rep, what="补齐决策链", deliverable="名单", due_at=AT, opportunity=deal
    )
    alert = firing_alert(rep)
    Alert.objects.filter(pk=alert.pk).update(entity_type="opportunity", entity_id=deal.pk)
    return {"a": a, "b": b, "c": c, "deal": deal, "lead": lead, "task": task, "card": card,
            "alert": alert}  # fmt: skip


def test_preview_lists_what_moves_and_writes_nothing(org: Org, book: dict[str, object]) -> None:
    plan = plan_handover(org.rep, successors=[org.peer], split=Split.ONE, by=org.manager)

    kinds = sorted((move.kind, move.label) for move in plan.moves)
    assert ("customer", "甲公司") in kinds and ("opportunity", "甲公司 ERP") in kinds
    assert plan.counts()[org.peer.pk] == {
        "customer": 3, "opportunity": 1, "lead": 1, "task": 1, "action_card": 1, "alert": 1,
    }  # fmt: skip
    assert Customer.objects.filter(owner=org.rep).count() == 3
    assert not Handover.objects.exists()


def test_handover_moves_everything_restarts_the_countdown_and_deactivates_the_rep(
    org: Org, book: dict[str, object]
) -> None:
    issue_token(org.rep, name="phone", scopes=["read"])

    handover = hand_over(
        org.rep, successors=[org.peer], split=Split.ONE, effective_at=AT, by=org.manager, at=AT
    )

    assert handover.status == HandoverStatus.DONE
    assert handover.moved == {
        "customer": 3, "opportunity": 1, "lead": 1, "task": 1, "action_card": 1, "alert": 1,
    }  # fmt: skip
    a = Customer.objects.get(pk=book["a"].pk)  # type: ignore[attr-defined]
    assert (a.owner_id, a.owned_since, a.previous_owner_id) == (org.peer.pk, AT, org.rep.pk)
    assert Opportunity.objects.get(pk=book["deal"].pk).owner_id == org.peer.pk  # type: ignore[attr-defined]
    assert Lead.objects.get(pk=book["lead"].pk).owner_id == org.peer.pk  # type: ignore[attr-defined]
    assert Alert.objects.get(pk=book["alert"].pk).owner_id == org.peer.pk  # type: ignore[attr-defined]
    history = Assignment.objects.filter(customer=a).get()
    assert (history.owner_id, history.previous_owner_id, history.by_id) == (
        org.peer.pk, org.rep.pk, org.manager.pk,
    )  # fmt: skip
    assert not User.objects.get(pk=org.rep.pk).is_active
    assert not ApiToken.objects.filter(user=org.rep, revoked_at__isnull=True).exists()
    briefs = Task.objects.filter(assignee=org.peer, origin_ref__startswith="handover:")
    assert briefs.count() == 3
    brief = briefs.get(customer=book["a"])
    assert "谈了报价" in brief.description and "周三前发方案" in brief.description
    assert "甲公司 ERP" in brief.description


def test_repeating_a_handover_moves_nothing_twice(org: Org, book: dict[str, object]) -> None:
    first = hand_over(
        org.rep, successors=[org.peer], split=Split.ONE, effective_at=AT, by=org.manager, at=AT
    )
    User.objects.filter(pk=org.rep.pk).update(is_active=True)
    again = hand_over(
        org.rep, successors=[org.peer], split=Split.ONE, effective_at=AT, by=org.manager, at=AT
    )

    assert sum(first.moved.values()) == 8
    assert sum(again.moved.values()) == 0
    assert Assignment.objects.filter(customer__isnull=False).count() == 3


def test_round_robin_shares_each_tier_and_a_customers_deal_follows_it(
    org: Org, book: dict[str, object]
) -> None:
    third = UserFactory(username="third", team=org.east)

    plan = plan_handover(
        org.rep, successors=[org.peer, third], split=Split.ROUND_ROBIN, by=org.manager
    )

    to = {(m.kind, m.object_id): m.to_id for m in plan.moves}
    a, b, c = book["a"].pk, book["b"].pk, book["c"].pk  # type: ignore[attr-defined]
    assert [to[("customer", a)], to[("customer", b)], to[("customer", c)]] == [
        org.peer.pk, third.pk, org.peer.pk,
    ]  # fmt: skip
    assert to[("opportunity", book["deal"].pk)] == to[("customer", a)]  # type: ignore[attr-defined]
    assert to[("action_card", book["card"].pk)] == to[("customer", a)]  # type: ignore[attr-defined]
    assert to[("task", book["task"].pk)] == to[("customer", b)]  # type: ignore[attr-defined]


def test_region_split_sends_each_region_to_its_successor(org: Org, book: dict[str, object]) -> None:
    third = UserFactory(username="third", team=org.east)

    plan = plan_handover(
        org.rep,
        successors=[org.peer, third],
        split=Split.REGION,
        mapping={"华南": third.pk},
        by=org.manager,
    )

    to = {(m.kind, m.object_id): m.to_id for m in plan.moves}
    assert to[("customer", book["b"].pk)] == third.pk  # type: ignore[attr-defined]
    assert to[("customer", book["a"].pk)] == org.peer.pk  # type: ignore[attr-defined]


def test_a_future_handover_waits_for_its_date(org: Org, book: dict[str, object]) -> None:
    later = AT + dt.timedelta(days=14)
    handover = hand_over(
        org.rep, successors=[org.peer], split=Split.ONE, effective_at=later, by=org.manager, at=AT
    )

    assert handover.status == HandoverStatus.SCHEDULED
    assert run_due_handovers(at=AT + dt.timedelta(days=1)) == 0
    assert User.objects.get(pk=org.rep.pk).is_active
    assert run_due_handovers(at=later) == 1
    assert Customer.objects.filter(owner=org.peer).count() == 3


def test_a_rep_cannot_hand_over_a_peer_and_an_outside_manager_cannot_either(org: Org) -> None:
    with pytest.raises(Forbidden):
        plan_handover(org.rep, successors=[org.peer], split=Split.ONE, by=org.peer)
    west_manager = UserFactory(username="westm", role=Role.MANAGER, team=org.west)
    with pytest.raises(Forbidden):
        plan_handover(org.rep, successors=[org.peer], split=Split.ONE, by=west_manager)


@pytest.mark.parametrize("problem", ["self", "inactive", "stray_mapping", "no_one", "split"])
def test_bad_successors_are_refused_naming_the_problem(org: Org, problem: str) -> None:
    gone = UserFactory(username="gone", is_active=False)
    kwargs: dict[str, object] = {"successors": [org.peer], "split": Split.ONE}
    if problem == "self":
        kwargs["successors"] = [org.rep]
    elif problem == "inactive":
        kwargs["successors"] = [gone]
    elif problem == "stray_mapping":
        kwargs.update(split=Split.TIER, mapping={"A": org.outsider.pk})
    elif problem == "no_one":
        kwargs["successors"] = []
    else:
        kwargs["split"] = "alphabetical"
    with pytest.raises(Invalid) as refused:
        plan_handover(org.rep, by=org.director, **kwargs)  # type: ignore[arg-type]
    assert refused.value.fields


def test_scheduled_handover_runs_with_its_author_gone(org: Org, book: dict[str, object]) -> None:
    handover = hand_over(
        org.rep,
        successors=[org.peer],
        split=Split.ONE,
        effective_at=timezone.now() + dt.timedelta(days=1),
        by=org.manager,
        at=timezone.now(),
    )
    Handover.objects.filter(pk=handover.pk).update(created_by=None)

    assert run_due_handovers(at=timezone.now() + dt.timedelta(days=2)) == 1
    assert Customer.objects.filter(owner=org.peer).count() == 3
