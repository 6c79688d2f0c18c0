"""An opportunity import writes the deal's stage history through the pipeline's verbs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.utils import timezone

from salesradar.pipeline.models import Opportunity, Process, StageChange
from tests.factories import CustomerFactory, UserFactory
from tests.imports.helpers import import_file, write_csv

pytestmark = pytest.mark.django_db

PIPEDRIVE_HEADER = [
    "Deal - ID",
    "Deal - Title",
    "Deal - Value",
    "Deal - Currency",
    "Deal - Stage",
    "Deal - Status",
    "Deal - Owner",
    "Deal - Organization",
    "Deal - Deal created",
    "Deal - Expected close date",
]


def history(opportunity: Opportunity) -> list[tuple[str | None, str, str]]:
    return [
        (
            change.from_stage.key if change.from_stage else None,
            change.to_stage.key,
            timezone.localtime(change.changed_at).date().isoformat(),
        )
        for change in StageChange.objects.filter(opportunity=opportunity).order_by("pk")
    ]


def test_won_deal_gets_creation_entry_move_to_its_last_stage_and_win_at_close_date(
    tmp_path: Path, default_process: Process
) -> None:
    UserFactory(username="li")
    CustomerFactory(name="Acme")
    path = write_csv(
        tmp_path / "deals.csv",
        [
            PIPEDRIVE_HEADER,
            [
                "9",
                "Pilot",
                "500",
                "CNY",
                "Negotiations Started",
                "won",
                "li",
                "Acme",
                "2026-01-05",
                "2026-02-10",
            ],
        ],
    )

    report = import_file(path, "opportunities", stage_map={"Negotiations Started": "negotiation"})

    assert report.committed, report.errors
    deal = Opportunity.objects.get()
    assert history(deal) == [
        (None, "initial_contact", "2026-01-05"),
        ("initial_contact", "negotiation", "2026-01-05"),
        ("negotiation", "won", "2026-02-10"),
    ]
    assert deal.stage.key == "won"
    assert timezone.localtime(deal.closed_at).date() == dt.date(2026, 2, 10)


def test_backfilled_moves_skip_the_gates_and_say_so_in_the_note(
    tmp_path: Path, default_process: Process
) -> None:
    UserFactory(username="li")
    CustomerFactory(name="Acme")
    path = write_csv(
        tmp_path / "deals.csv",
        [
            ["商机名称", "客户", "阶段", "负责人", "创建时间"],
            ["ERP", "Acme", "商务谈判", "li", "2026-01-05"],
        ],
    )

    report = import_file(path, "opportunities")

    assert report.committed, report.errors  # the negotiation gate (an NDA, ...) is not asked for
    move = StageChange.objects.get(from_stage__isnull=False)
    assert move.to_stage.key == "negotiation"
    assert "gates not checked" in move.note


def test_deal_closed_in_the_future_is_refused_naming_the_row(
    tmp_path: Path, default_process: Process
) -> None:
    UserFactory(username="li")
    CustomerFactory(name="Acme")
    path = write_csv(
        tmp_path / "deals.csv",
        [
            PIPEDRIVE_HEADER,
            [
                "9",
                "Pilot",
                "500",
                "CNY",
                "Lead In",
                "won",
                "li",
                "Acme",
                "2026-01-05",
                "2099-01-01",
            ],
        ],
    )

    report = import_file(path, "opportunities", stage_map={"Lead In": "initial_contact"})

    assert not report.committed
    [error] = report.errors
    assert error.row == 2 and "future" in error.reason
    assert not Opportunity.objects.exists()


def test_hubspot_date_entered_columns_become_the_deals_stage_history(
    tmp_path: Path, default_process: Process
) -> None:
    UserFactory(username="li")
    CustomerFactory(name="Acme")
    path = write_csv(
        tmp_path / "hubspot.csv",
        [
            [
                "Record ID",
                "Deal Name",
                "Deal Stage",
                "Amount",
                "Currency",
                "Deal owner",
                "Create Date",
                "Associated Company",
                'Date entered "Appointment Scheduled (Sales Pipeline)"',
                'Date entered "Qualified To Buy (Sales Pipeline)"',
                'Date entered "Contract Sent (Sales Pipeline)"',
                'Time in "Qualified To Buy (Sales Pipeline)"',
            ],
            [
                "1",
                "ERP",
                "Contract Sent",
                "100",
                "CNY",
                "li",
                "2026-01-02",
                "Acme",
                "2026-01-02",
                "2026-01-10",
                "2026-02-01",
                "22 days",
            ],
        ],
    )
    stage_map = {
        "Appointment Scheduled": "initial_contact",
        "Qualified To Buy": "needs_confirmed",
        "Contract Sent": "negotiation",
    }

    report = import_file(path, "opportunities", stage_map=stage_map)

    assert report.committed, report.errors
    assert history(Opportunity.objects.get()) == [
        (None, "initial_contact", "2026-01-02"),
        ("initial_contact", "needs_confirmed", "2026-01-10"),
        ("needs_confirmed", "negotiation", "2026-02-01"),
    ]
    assert any("date-entered columns" in note for note in report.notes)
