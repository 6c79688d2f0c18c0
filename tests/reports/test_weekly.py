"""The weekly process-health report, worked out by hand for one week (3–9 June 2024)."""

from __future__ import annotations

import datetime as dt
import subprocess
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import translation
from openpyxl import load_workbook

from salesradar.activities.choices import ActionCardStatus, ActivityKind
from salesradar.activities.models import ActionCard
from salesradar.alerts.models import AlertEvent
from salesradar.pipeline.choices import TargetMeasure
from salesradar.pipeline.models import Opportunity, StageChange, Target
from salesradar.reports.mail import send_weekly_reports
from salesradar.reports.render import render_pdf, render_xlsx
from salesradar.reports.weekly import build_weekly_report
from tests.factories import SHANGHAI, ActivityFactory, CustomerFactory, OpportunityFactory
from tests.web.support import Company, alert_on, build_company, default_rule

pytestmark = pytest.mark.django_db

WEEK = dt.date(2024, 6, 3)


def at(day: int, hour: int = 10, month: int = 6) -> dt.datetime:
    return dt.datetime(2024, month, day, hour, 0, tzinfo=SHANGHAI)


def walk(opportunity: Opportunity, moves: list[tuple[Any, dt.datetime, bool]]) -> None:
    previous = None
    for stage, when, back in moves:
        StageChange.objects.create(
            opportunity=opportunity,
            from_stage=previous,
            to_stage=stage,
            changed_at=when,
            is_regression=back,
        )
        previous = stage


@pytest.fixture
def company(stages) -> Company:
    company = build_company()
    company.east.name, company.west.name = "华东", "华西"
    company.east.save()
    company.west.save()
    east_deal = OpportunityFactory(owner=company.east_rep, created_at=at(20, month=5))
    walk(
        east_deal,
        [
            (stages["initial_contact"], at(20, month=5), False),
            (stages["needs_confirmed"], at(4), False),  # 15 days in initial contact
            (stages["initial_contact"], at(5), True),  # 1 day in needs confirmed, backwards
        ],
    )
    west_deal = OpportunityFactory(owner=company.west_rep, created_at=at(3))
    walk(west_deal, [(stages["initial_contact"], at(3), False), (stages["lost"], at(6), False)])
    Opportunity.objects.filter(pk=west_deal.pk).update(stage=stages["lost"], closed_at=at(6))
    OpportunityFactory(
        owner=company.east_rep,
        stage=stages["won"],
        amount=Decimal("30000"),
        created_at=at(1, month=5),
        closed_at=at(4),
    )
    Target.objects.create(
        user=company.east_rep,
        period_start=dt.date(2024, 6, 1),
        measure=TargetMeasure.WON_AMOUNT,
        value=Decimal("100000"),
    )
    key, other = (CustomerFactory(owner=company.east_rep, tier="A") for _ in range(2))
    for day in (3, 4, 5):
        ActivityFactory(owner=company.east_rep, customer=key, occurred_at=at(day))
    ActivityFactory(
        owner=company.east_rep, customer=other, occurred_at=at(4), kind=ActivityKind.NOTE
    )
    ActivityFactory(owner=company.east_rep, customer=key, occurred_at=at(10))  # next week
    alert = alert_on(default_rule(), owner=company.east_rep, entity_id=key.pk)
    for kind, when in (("opened", at(3, 9)), ("firing", at(3, 9)), ("acknowledged", at(3, 13))):
        AlertEvent.objects.create(alert=alert, kind=kind, at=when)
    AlertEvent.objects.create(alert=alert, kind="resolved", at=at(5))
    ActionCard.objects.create(
        owner=company.east_rep, what="call", deliverable="notes", due_at=at(5)
    )
    ActionCard.objects.create(
        owner=company.east_rep,
        what="visit",
        deliverable="minutes",
        due_at=at(10),
        status=ActionCardStatus.VERIFIED,
        verified_at=at(4),
    )
    return company


def rows_of(report: Any, key: str) -> list[list[Any]]:
    return report.section(key).rows


def test_every_section_matches_the_hand_count(company: Company) -> None:
    report = build_weekly_report(week_start=WEEK)

    assert rows_of(report, "dwell") == [
        ["华东", "Initial contact", 1, 15.0],
        ["华东", "Needs confirmed", 1, 1.0],
        ["华西", "Initial contact", 1, 3.0],
    ]
    assert report.section("dwell").chart["values"][:2] == [9.0, 1.0]  # (15 + 3) / 2
    assert rows_of(report, "regressions") == [["华东", 2, 1, 50.0], ["华西", 1, 0, 0.0]]
    assert report.section("regressions").total == ["Total", 3, 1, 33.3]
    funnel = report.section("funnel")
    assert funnel.columns[1:4] == ["Initial contact", "Needs confirmed", "Proposal / quote"]
    assert funnel.total[1:3] == [2, 1] and funnel.total[-1] == 0.0  # one close, lost
    assert rows_of(report, "touch_density") == [["华东", 2, 3, 1, 1.5, 50.0]]
    assert rows_of(report, "targets") == [["华东", 100000.0, 30000.0, 30.0]]
    assert rows_of(report, "alerts") == [["华东", 1, 1, 1, 4.0]]
    assert rows_of(report, "action_cards") == [["华东", 1, 1, 1]]
    assert report.section("forecast").total[1] == 1  # the east deal still open


def test_a_team_report_covers_its_subtree_only(company: Company) -> None:
    report = build_weekly_report(week_start=WEEK, team=company.east)

    assert [row[0] for row in rows_of(report, "regressions")] == ["华东"]
    assert report.scope == "华东"


def test_a_week_must_start_on_monday(company: Company) -> None:
    with pytest.raises(ValueError, match="not a Monday"):
        build_weekly_report(week_start=dt.date(2024, 6, 4))


def test_xlsx_has_a_sheet_per_section_with_numbers_that_add_up(company: Company) -> None:
    book = load_workbook(BytesIO(render_xlsx(build_weekly_report(week_start=WEEK))))

    assert {"dwell", "regressions", "funnel", "alerts", "action_cards"} <= set(book.sheetnames)
    sheet = list(book["regressions"].iter_rows(min_row=3, values_only=True))
    teams, total = sheet[:-1], sheet[-1]
    assert all(isinstance(value, int) for row in teams for value in row[1:3])
    assert sum(row[1] for row in teams) == total[1] == 3
    assert sum(row[2] for row in teams) == total[2] == 1


def test_pdf_in_chinese_contains_the_chinese_text(company: Company, tmp_path: Path) -> None:
    with translation.override("zh-hans"):
        pdf = render_pdf(build_weekly_report(week_start=WEEK))
    path = tmp_path / "weekly.pdf"
    path.write_bytes(pdf)

    text = subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout

    assert "流程健康周报" in text
    assert "华东" in text and "跨阶段退回率" in text


def test_cli_writes_the_xlsx(company: Company, tmp_path: Path) -> None:
    path = tmp_path / "week.xlsx"

    call_command(
        "report", "weekly", "--week", "2024-06-05", "--format", "xlsx", "--output", str(path)
    )

    assert load_workbook(path)["report"]["B2"].value.date() == WEEK


def test_monday_mail_goes_once_to_the_manager_and_the_director(company: Company) -> None:
    monday = at(10, 9)

    assert send_weekly_reports(now=monday) == 2  # the east manager and the director
    assert send_weekly_reports(now=monday) == 0
    from salesradar.notify.models import Delivery

    html = Delivery.objects.get(recipient=company.manager, channel__kind="inapp").payload["html"]
    assert "华东" in html and "华西" not in html
