"""The database itself refuses impossible rows, whoever writes them (ORM, bulk load, raw SQL).

Each refusal runs inside its own ``transaction.atomic()`` so the test can go on (PostgreSQL
aborts the whole transaction on an error otherwise), and the tests pass on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from salesradar.core.fields import NaiveDatetimeError
from salesradar.crm.models import Customer
from salesradar.pipeline.choices import TargetMeasure
from salesradar.pipeline.models import Opportunity, Process, Stage, StageChange, Target
from salesradar.pipeline.playbook import load_playbook, parse_playbook
from salesradar.pipeline.services import StageMoveRefused, move_stage
from tests.factories import (
    CREATED_AT,
    CustomerFactory,
    InvoiceFactory,
    OpportunityFactory,
    QuoteFactory,
    TeamFactory,
    UserFactory,
    days_after_creation,
)

pytestmark = pytest.mark.django_db

OTHER_PLAYBOOK = """\
process: {key: renewal, name: Renewal, version: 1}
stages:
  - {key: open, label: Open, probability: 30}
  - {key: won, label: Won, probability: 100, won: true}
  - {key: lost, label: Lost, probability: 0, lost: true}
"""


@pytest.fixture
def other_process() -> Process:
    """A second, non-default process whose stages must never mix with the default one's."""
    return Process.objects.get(pk=load_playbook(parse_playbook(OTHER_PLAYBOOK)).process_id)


def test_negative_opportunity_amount_is_refused() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        OpportunityFactory(amount=Decimal("-0.01"))


def test_negative_invoice_amount_is_refused() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        InvoiceFactory(amount=Decimal("-1.00"))


def test_quote_sent_before_it_was_requested_is_refused() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        QuoteFactory(requested_at=CREATED_AT, sent_at=CREATED_AT - dt.timedelta(minutes=1))


def test_quote_sent_when_requested_is_allowed() -> None:
    assert QuoteFactory(requested_at=CREATED_AT, sent_at=CREATED_AT).pk is not None


def target(**owner: object) -> Target:
    return Target.objects.create(
        period_start=dt.date(2024, 4, 1),
        measure=TargetMeasure.WON_AMOUNT,
        value=Decimal("1000000.00"),
        **owner,
    )


def test_target_for_both_a_user_and_a_team_is_refused() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        target(user=UserFactory(), team=TeamFactory())


def test_target_for_neither_user_nor_team_is_refused() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        target()


def test_target_for_exactly_one_of_user_or_team_is_allowed() -> None:
    assert target(user=UserFactory()).pk and target(team=TeamFactory()).pk


def test_duplicate_customer_code_is_refused() -> None:
    CustomerFactory(code="C-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        CustomerFactory(code="C-1")


def test_duplicate_credit_code_is_refused() -> None:
    CustomerFactory(credit_code="91310000MA1FL0000N")
    with pytest.raises(IntegrityError), transaction.atomic():
        CustomerFactory(credit_code="91310000MA1FL0000N")


def test_customers_without_credit_code_do_not_clash() -> None:
    CustomerFactory(credit_code=None)
    CustomerFactory(credit_code=None)
    assert Customer.objects.filter(credit_code__isnull=True).count() == 2


def test_moving_an_opportunity_to_another_process_stage_by_bulk_update_is_refused(
    default_process: Process, other_process: Process
) -> None:
    # given an opportunity in the default process
    opportunity = OpportunityFactory(process=default_process)
    foreign_stage = other_process.stages.get(key="open")
    # when a bulk update points it at a stage of another process
    with pytest.raises(IntegrityError), transaction.atomic():
        Opportunity.objects.filter(pk=opportunity.pk).update(stage=foreign_stage)
    # then the database trigger refused and the stage is unchanged
    opportunity.refresh_from_db()
    assert opportunity.stage.process_id == default_process.pk


def test_creating_an_opportunity_in_another_process_stage_is_refused(
    default_process: Process, other_process: Process
) -> None:
    foreign_stage = other_process.stages.get(key="open")
    with pytest.raises(IntegrityError), transaction.atomic():
        OpportunityFactory(process=default_process, stage=foreign_stage)
    assert not Opportunity.objects.exists()


def test_changing_only_the_process_of_an_opportunity_is_refused(
    default_process: Process, other_process: Process
) -> None:
    opportunity = OpportunityFactory(process=default_process)
    with pytest.raises(IntegrityError), transaction.atomic():
        Opportunity.objects.filter(pk=opportunity.pk).update(process=other_process)


def test_moving_to_a_stage_object_of_another_process_is_refused_by_the_service(
    default_process: Process, other_process: Process
) -> None:
    opportunity = OpportunityFactory(process=default_process)
    with pytest.raises(StageMoveRefused, match="another process"):
        move_stage(
            opportunity,
            other_process.stages.get(key="open"),
            by=opportunity.owner,
            at=days_after_creation(1),
        )


@pytest.fixture
def stage_change(stages: dict[str, Stage]) -> StageChange:
    opportunity = OpportunityFactory()
    return move_stage(
        opportunity, "lost", by=opportunity.owner, at=days_after_creation(1), lost_reason="price"
    )


def test_stage_history_cannot_be_updated_or_deleted_through_the_orm(
    stage_change: StageChange,
) -> None:
    with pytest.raises(TypeError, match="append-only"):
        StageChange.objects.filter(pk=stage_change.pk).update(note="x")
    with pytest.raises(TypeError, match="append-only"):
        StageChange.objects.filter(pk=stage_change.pk).delete()
    stage_change.note = "x"
    with pytest.raises(TypeError, match="append-only"):
        stage_change.save()
    with pytest.raises(TypeError, match="append-only"):
        stage_change.delete()
    assert StageChange.objects.get(pk=stage_change.pk).note == ""


def test_stage_history_cannot_be_updated_through_raw_sql(stage_change: StageChange) -> None:
    # when raw SQL bypasses the ORM guards
    with (
        pytest.raises((IntegrityError, DatabaseError)),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE pipeline_stagechange SET note='x'")
    # then the trigger refused and the row is untouched
    assert StageChange.objects.get(pk=stage_change.pk).note == ""


def test_naive_datetime_on_save_is_refused() -> None:
    with pytest.raises(NaiveDatetimeError, match="created_at"), transaction.atomic():
        OpportunityFactory(created_at=dt.datetime(2024, 3, 1, 9, 0))
    assert not Opportunity.objects.exists()


def test_naive_datetime_in_a_filter_is_refused_too() -> None:
    with pytest.raises(NaiveDatetimeError):
        list(Opportunity.objects.filter(updated_at__lt=dt.datetime(2024, 3, 1, 9, 0)))
