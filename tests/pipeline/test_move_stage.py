"""move_stage: the only way an opportunity changes stage, gated, ordered in time, all or nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from salesradar.crm.choices import DecisionRole
from salesradar.pipeline.choices import LostReason
from salesradar.pipeline.models import Opportunity, Stage, StageChange
from salesradar.pipeline.services import StageMoveRefused, move_stage
from tests.factories import (
    CREATED_AT,
    ContactFactory,
    ContractFactory,
    EvidenceFactory,
    OpportunityFactory,
    QuoteFactory,
    UserFactory,
    days_after_creation,
)

pytestmark = pytest.mark.django_db

Stages = dict[str, Stage]


def meet_needs_confirmed_gate(opportunity: Opportunity) -> None:
    EvidenceFactory(opportunity=opportunity, kind="pain_points")
    ContactFactory(customer=opportunity.customer, decision_role=DecisionRole.DECISION_MAKER)


def meet_proposal_gate(opportunity: Opportunity) -> None:
    opportunity.amount = Decimal("250000.00")
    opportunity.expected_close_date = dt.date(2024, 6, 30)
    opportunity.save()


def meet_negotiation_gate(opportunity: Opportunity) -> None:
    QuoteFactory(opportunity=opportunity, sent_at=days_after_creation(1))
    EvidenceFactory(opportunity=opportunity, kind="nda")


def assert_nothing_written(opportunity: Opportunity, stage: Stage) -> None:
    opportunity.refresh_from_db()
    assert opportunity.stage == stage
    assert opportunity.stage_entered_at == CREATED_AT
    assert opportunity.closed_at is None
    assert not StageChange.objects.filter(opportunity=opportunity).exists()


def test_forward_move_appends_history_and_updates_the_opportunity(stages: Stages) -> None:
    # given an opportunity in initial_contact whose needs_confirmed gate is met
    opportunity = OpportunityFactory()
    meet_needs_confirmed_gate(opportunity)
    mover = UserFactory()
    at = days_after_creation(3)
    # when it moves to needs_confirmed
    change = move_stage(opportunity, "needs_confirmed", by=mover, at=at, note="客户确认痛点")
    # then one change records from, to, by and at
    assert list(StageChange.objects.filter(opportunity=opportunity)) == [change]
    assert (change.from_stage, change.to_stage) == (
        stages["initial_contact"],
        stages["needs_confirmed"],
    )
    assert (change.changed_by, change.changed_at, change.note) == (mover, at, "客户确认痛点")
    assert change.is_regression is False
    # and the opportunity, in memory and in the database, is in the new stage since `at`
    for current in (opportunity, Opportunity.objects.get(pk=opportunity.pk)):
        assert current.stage == stages["needs_confirmed"]
        assert current.stage_entered_at == at
        assert current.updated_at == at
        assert current.closed_at is None


def test_moving_without_evidence_or_decision_maker_is_refused_naming_both(
    stages: Stages,
) -> None:
    # given an opportunity with neither pain-point evidence nor a decision-maker contact
    opportunity = OpportunityFactory()
    ContactFactory(customer=opportunity.customer, decision_role=DecisionRole.INFLUENCER)
    # when it is moved to needs_confirmed
    with pytest.raises(StageMoveRefused) as refused:
        move_stage(opportunity, "needs_confirmed", by=opportunity.owner, at=days_after_creation(1))
    # then the refusal names both missing requirements and nothing was written
    assert refused.value.missing == [
        "evidence “Pain-point list”",
        "a contact who is Decision maker",
    ]
    assert_nothing_written(opportunity, stages["initial_contact"])


def test_meeting_only_half_the_gate_names_only_the_other_half(stages: Stages) -> None:
    opportunity = OpportunityFactory()
    EvidenceFactory(opportunity=opportunity, kind="pain_points")
    with pytest.raises(StageMoveRefused) as refused:
        move_stage(opportunity, "needs_confirmed", by=opportunity.owner, at=days_after_creation(1))
    assert refused.value.missing == ["a contact who is Decision maker"]
    assert_nothing_written(opportunity, stages["initial_contact"])


def test_skipping_stages_requires_every_gate_on_the_way(stages: Stages) -> None:
    # given an opportunity in initial_contact that meets only negotiation's own gate
    opportunity = OpportunityFactory()
    meet_negotiation_gate(opportunity)
    # when it jumps to negotiation
    with pytest.raises(StageMoveRefused) as refused:
        move_stage(opportunity, "negotiation", by=opportunity.owner, at=days_after_creation(2))
    # then the gates of needs_confirmed and proposal are still required
    assert refused.value.missing == [
        "evidence “Pain-point list”",
        "a contact who is Decision maker",
        "the field “amount”",
        "the field “expected close date”",
    ]
    assert_nothing_written(opportunity, stages["initial_contact"])
    # and once every gate on the way is met, the jump succeeds in one change
    meet_needs_confirmed_gate(opportunity)
    meet_proposal_gate(opportunity)
    change = move_stage(opportunity, "negotiation", by=opportunity.owner, at=days_after_creation(2))
    assert (change.from_stage, change.to_stage) == (
        stages["initial_contact"],
        stages["negotiation"],
    )


def test_a_zero_amount_does_not_meet_the_amount_requirement(stages: Stages) -> None:
    opportunity = OpportunityFactory(amount=Decimal("0"), expected_close_date=dt.date(2024, 6, 30))
    meet_needs_confirmed_gate(opportunity)
    with pytest.raises(StageMoveRefused) as refused:
        move_stage(opportunity, "proposal", by=opportunity.owner, at=days_after_creation(1))
    assert len(refused.value.missing) == 1
    assert "amount" in refused.value.missing[0]


def test_moving_backwards_needs_no_gate_and_is_marked_as_regression(stages: Stages) -> None:
    # given an opportunity in proposal that no longer meets any gate
    opportunity = OpportunityFactory(stage=stages["proposal"])
    # when it moves back to initial_contact
    change = move_stage(
        opportunity, "initial_contact", by=opportunity.owner, at=days_after_creation(1)
    )
    # then the move is recorded as a regression
    assert change.is_regression is True
    opportunity.refresh_from_db()
    assert opportunity.stage == stages["initial_contact"]
    assert opportunity.closed_at is None


def test_losing_requires_a_lost_reason(stages: Stages) -> None:
    opportunity = OpportunityFactory()
    with pytest.raises(StageMoveRefused) as refused:
        move_stage(opportunity, "lost", by=opportunity.owner, at=days_after_creation(1))
    assert len(refused.value.missing) == 1
    assert "lost reason" in refused.value.missing[0]
    assert_nothing_written(opportunity, stages["initial_contact"])


def test_losing_with_a_reason_closes_the_opportunity(stages: Stages) -> None:
    # given an open opportunity in negotiation
    opportunity = OpportunityFactory(stage=stages["negotiation"])
    at = days_after_creation(5)
    # when it is lost for price, without meeting any open gate
    change = move_stage(
        opportunity, "lost", by=opportunity.owner, at=at, lost_reason=LostReason.PRICE
    )
    # then it is closed at `at` with the reason, and the move is not a regression
    opportunity.refresh_from_db()
    assert (opportunity.stage, opportunity.closed_at, opportunity.lost_reason) == (
        stages["lost"],
        at,
        LostReason.PRICE,
    )
    assert change.is_regression is False
    assert Opportunity.objects.open().filter(pk=opportunity.pk).exists() is False


def test_an_unknown_lost_reason_is_refused_and_nothing_is_written(stages: Stages) -> None:
    opportunity = OpportunityFactory()
    with pytest.raises(ValidationError):
        move_stage(
            opportunity,
            "lost",
            by=opportunity.owner,
            at=days_after_creation(1),
            lost_reason="bored",
        )
    assert_nothing_written(opportunity, stages["initial_contact"])
    assert Opportunity.objects.get(pk=opportunity.pk).lost_reason == ""


def test_winning_requires_a_signed_contract(stages: Stages) -> None:
    # given an opportunity in negotiation without a contract
    opportunity = OpportunityFactory(stage=stages["negotiation"])
    # when it is moved to won, it is refused naming the contract
    with pytest.raises(StageMoveRefused) as refused:
        move_stage(opportunity, "won", by=opportunity.owner, at=days_after_creation(1))
    assert refused.value.missing == ["a signed contract"]
    assert_nothing_written(opportunity, stages["negotiation"])
    # and with a contract, it is won and closed
    ContractFactory(opportunity=opportunity)
    at = days_after_creation(2)
    move_stage(opportunity, "won", by=opportunity.owner, at=at)
    opportunity.refresh_from_db()
    assert (opportunity.stage, opportunity.closed_at) == (stages["won"], at)


def test_winning_from_the_first_stage_still_passes_every_open_gate(stages: Stages) -> None:
    opportunity = OpportunityFactory()
    ContractFactory(opportunity=opportunity)
    with pytest.raises(StageMoveRefused) as refused:
        move_stage(opportunity, "won", by=opportunity.owner, at=days_after_creation(1))
    assert "evidence “NDA”" in refused.value.missing
    assert "a signed contract" not in refused.value.missing


@pytest.mark.parametrize("closed_stage", ["won", "lost"])
def test_a_closed_opportunity_cannot_move(stages: Stages, closed_stage: str) -> None:
    opportunity = OpportunityFactory(stage=stages[closed_stage], closed_at=CREATED_AT)
    with pytest.raises(StageMoveRefused, match="closed"):
        move_stage(opportunity, "initial_contact", by=opportunity.owner, at=days_after_creation(1))
    assert not StageChange.objects.filter(opportunity=opportunity).exists()


def test_moving_to_the_current_stage_is_refused(stages: Stages) -> None:
    opportunity = OpportunityFactory()
    with pytest.raises(StageMoveRefused, match="already"):
        move_stage(opportunity, "initial_contact", by=opportunity.owner, at=days_after_creation(1))


def test_an_unknown_stage_key_is_refused_naming_the_known_keys(stages: Stages) -> None:
    opportunity = OpportunityFactory()
    with pytest.raises(StageMoveRefused) as refused:
        move_stage(opportunity, "signed", by=opportunity.owner, at=days_after_creation(1))
    message = refused.value.messages[0]
    assert "'signed'" in message
    assert "initial_contact, needs_confirmed, proposal, negotiation, won, lost" in message
    assert_nothing_written(opportunity, stages["initial_contact"])


def test_a_naive_time_is_refused_before_anything_is_read(stages: Stages) -> None:
    opportunity = OpportunityFactory(stage=stages["proposal"])
    with pytest.raises(ValidationError) as refused:
        move_stage(
            opportunity, "initial_contact", by=opportunity.owner, at=dt.datetime(2024, 3, 5, 10, 0)
        )
    assert refused.value.code == "naive_datetime"
    assert not isinstance(refused.value, StageMoveRefused)
    assert_nothing_written(opportunity, stages["proposal"])


def test_a_time_before_entering_the_current_stage_is_refused(stages: Stages) -> None:
    opportunity = OpportunityFactory(stage=stages["proposal"])
    with pytest.raises(StageMoveRefused, match="before the last stage change"):
        move_stage(
            opportunity,
            "initial_contact",
            by=opportunity.owner,
            at=CREATED_AT - dt.timedelta(seconds=1),
        )
    assert_nothing_written(opportunity, stages["proposal"])


def test_a_time_in_the_future_is_refused(stages: Stages) -> None:
    opportunity = OpportunityFactory(stage=stages["proposal"])
    with pytest.raises(StageMoveRefused, match="future"):
        move_stage(
            opportunity,
            "initial_contact",
            by=opportunity.owner,
            at=timezone.now() + dt.timedelta(hours=1),
        )
    assert_nothing_written(opportunity, stages["proposal"])


def test_successive_moves_build_an_ordered_history(stages: Stages) -> None:
    # given an opportunity that meets the first two gates
    opportunity = OpportunityFactory()
    meet_needs_confirmed_gate(opportunity)
    meet_proposal_gate(opportunity)
    # when it moves forward twice and back once
    move_stage(opportunity, "needs_confirmed", by=opportunity.owner, at=days_after_creation(1))
    move_stage(opportunity, "proposal", by=opportunity.owner, at=days_after_creation(2))
    move_stage(opportunity, "needs_confirmed", by=opportunity.owner, at=days_after_creation(3))
    # then the history lists each move in order, chained from one stage to the next
    history = list(
        opportunity.stage_changes.values_list("from_stage__key", "to_stage__key", "is_regression")
    )
    assert history == [
        ("initial_contact", "needs_confirmed", False),
        ("needs_confirmed", "proposal", False),
        ("proposal", "needs_confirmed", True),
    ]
