"""The traps real exports hold: money without a currency, day/month order, report junk."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from salesradar.crm.models import Customer
from salesradar.imports import services
from salesradar.imports.parsing import CellError, parse_money
from salesradar.pipeline.models import Opportunity, Process
from tests.factories import CustomerFactory, UserFactory
from tests.imports.helpers import import_file, write_csv, write_xlsx

DEAL_HEADER = ["商机名称", "客户", "阶段", "金额", "负责人", "创建时间"]


@pytest.mark.parametrize(
    ("cell", "amount", "currency"),
    [
        ("$12,000", "12000", "USD"),
        ("12.000,50 EUR", "12000.50", "EUR"),
        ("₹ 5,00,000.00", "500000", "INR"),
        ("1.234.567,8", "1234567.80", None),
        ("12,5", "12.50", None),
        ("RMB 8,000", "8000", "CNY"),
        ("3万元", "30000", "CNY"),
        ("HK$ 300", "300", "HKD"),
    ],
)
def test_money_cells_keep_their_currency_and_separators(cell, amount, currency) -> None:
    assert parse_money(cell) == (Decimal(amount).quantize(Decimal("0.01")), currency)


def test_a_cell_naming_two_currencies_is_refused() -> None:
    with pytest.raises(CellError, match="more than one currency"):
        parse_money("USD 12 EUR")


@pytest.fixture
def deal_file(tmp_path: Path, default_process: Process):
    UserFactory(username="li")
    CustomerFactory(name="Acme")

    def write(*rows: list[str], header: list[str] = DEAL_HEADER) -> Path:
        return write_csv(tmp_path / "deals.csv", [header, *rows])

    return write


@pytest.mark.django_db
def test_amounts_without_any_currency_are_refused_in_one_message(deal_file) -> None:
    path = deal_file(
        ["A", "Acme", "方案报价", "12,000", "li", "2026-01-05"],
        ["B", "Acme", "方案报价", "500", "li", "2026-01-05"],
    )

    report = import_file(path, "opportunities")

    assert not report.committed and report.refused_rows == 2
    [error] = report.errors
    assert "2 rows have an amount but no currency (rows 2, 3)" in error.reason
    assert not Opportunity.objects.exists()


@pytest.mark.django_db
def test_currency_default_and_the_amounts_own_currency(deal_file) -> None:
    path = deal_file(
        ["A", "Acme", "方案报价", "$12,000", "li", "2026-01-05"],
        ["B", "Acme", "方案报价", "500", "li", "2026-01-05"],
    )

    report = import_file(path, "opportunities", currency="CNY")

    assert report.committed, report.errors
    assert dict(Opportunity.objects.values_list("name", "currency")) == {"A": "USD", "B": "CNY"}


@pytest.mark.django_db
def test_currency_column_contradicting_the_amount_is_refused(deal_file) -> None:
    path = deal_file(
        ["A", "Acme", "方案报价", "$12,000", "li", "2026-01-05", "CNY"],
        header=[*DEAL_HEADER, "币种"],
    )

    report = import_file(path, "opportunities")

    assert "written in USD" in report.errors[0].reason


@pytest.mark.django_db
def test_day_month_order_is_decided_by_the_unambiguous_rows(deal_file) -> None:
    path = deal_file(
        ["A", "Acme", "方案报价", "1", "li", "05.03.2024"],
        ["B", "Acme", "方案报价", "1", "li", "25.03.2024"],
    )

    report = import_file(path, "opportunities", currency="CNY")

    assert report.committed, report.errors
    created = Opportunity.objects.get(name="A").created_at
    assert created.astimezone(dt.timezone(dt.timedelta(hours=8))).date() == dt.date(2024, 3, 5)
    assert any("day first" in note and "row 3" in note for note in report.notes)


@pytest.mark.django_db
def test_only_ambiguous_dates_are_refused_unless_the_order_is_given(deal_file) -> None:
    path = deal_file(["A", "Acme", "方案报价", "1", "li", "02/03/24"])

    with pytest.raises(services.ImportRefused, match="--dayfirst or --monthfirst"):
        import_file(path, "opportunities", currency="CNY")
    report = import_file(path, "opportunities", currency="CNY", date_order="mdy")

    assert report.committed, report.errors
    created = Opportunity.objects.get().created_at
    assert created.astimezone(dt.timezone(dt.timedelta(hours=8))).date() == dt.date(2024, 2, 3)


@pytest.mark.django_db
def test_a_file_mixing_day_first_and_month_first_is_refused(deal_file) -> None:
    path = deal_file(
        ["A", "Acme", "方案报价", "1", "li", "25/03/2024"],
        ["B", "Acme", "方案报价", "1", "li", "03/25/2024"],
    )

    with pytest.raises(services.ImportRefused, match="both day first"):
        import_file(path, "opportunities", currency="CNY")


@pytest.mark.django_db
def test_report_footers_blank_rows_and_a_repeated_header_are_skipped_with_a_note(
    tmp_path: Path,
) -> None:
    header = ["Account ID", "Account Name", "Industry"]
    path = write_csv(
        tmp_path / "accounts.csv",
        [
            header,
            ["001A", "Acme", "Retail"],
            ["", "", ""],
            header,
            ["001B", "Globex", "Energy"],
            ["Grand Totals (2 records)", "", ""],
            ["Confidential Information - Do Not Distribute"],
            ["Copyright (c) 2000-2026 salesforce.com, inc. All rights reserved."],
        ],
    )

    report = import_file(path, "customers")

    assert report.committed, report.errors
    assert sorted(Customer.objects.values_list("name", flat=True)) == ["Acme", "Globex"]
    assert "skipped 1 blank rows (rows 3)" in report.notes
    assert "skipped 3 report footer or totals rows (rows 6, 7, 8)" in report.notes
    assert "skipped 1 rows repeating the header (rows 4)" in report.notes


@pytest.mark.django_db
def test_a_formula_without_a_saved_value_is_reported_per_cell(
    tmp_path: Path, default_process: Process
) -> None:
    UserFactory(username="li")
    CustomerFactory(name="Acme")
    # openpyxl writes formulas without calculating them, as report generators do
    path = write_xlsx(
        tmp_path / "deals.xlsx",
        [DEAL_HEADER, ["A", "Acme", "方案报价", "=B9*2", "li", "2026-01-05"]],
    )

    report = import_file(path, "opportunities", currency="CNY")

    [error] = report.errors
    assert (error.row, error.column) == (2, "金额")
    assert "=B9*2" in error.reason and "no saved value" in error.reason


@pytest.mark.django_db
def test_a_deal_closed_before_it_was_created_is_refused_not_clamped(deal_file) -> None:
    path = deal_file(
        ["A", "Acme", "赢单", "1", "li", "2026-03-05", "2026-01-31"],
        header=[*DEAL_HEADER, "预计成交日期"],
    )

    report = import_file(path, "opportunities", currency="CNY")

    assert not report.committed
    assert "closed before it was created (2026-03-05)" in report.errors[0].reason


@pytest.mark.django_db
def test_the_refused_rows_come_back_as_they_were_with_an_error_column(deal_file, tmp_path) -> None:
    path = deal_file(
        ["好行", "Acme", "方案报价", "1", "li", "2026-01-05"],
        ["坏行", "Acme", "方案报价", "-5", "li", "2026-01-05"],
    )
    report = import_file(path, "opportunities", currency="CNY")
    assert report.error_file is not None
    target = tmp_path / "fix.csv"

    written = services.write_rejected_rows(path, report.error_file, target, "opportunities")

    lines = target.read_text("utf-8-sig").splitlines()
    assert written == 1 and lines[0] == ",".join([*DEAL_HEADER, "error"])
    assert lines[1].startswith("坏行,Acme,方案报价,-5,li,2026-01-05,金额: ")
