from __future__ import annotations

import csv
from pathlib import Path

import pytest
from django.core.management import call_command
from openpyxl import load_workbook

from salesradar.accounts.choices import Role
from salesradar.crm.models import Customer
from salesradar.imports.exports import export_rows
from tests.factories import CustomerFactory, OpportunityFactory, TeamFactory, UserFactory
from tests.imports.helpers import import_file

pytestmark = pytest.mark.django_db


def test_a_rep_exports_only_own_customers_and_a_director_all() -> None:
    rep, other = UserFactory(username="rep"), UserFactory(username="other")
    director = UserFactory(username="boss", role=Role.DIRECTOR)
    CustomerFactory(name="甲公司", owner=rep)
    CustomerFactory(name="乙公司", owner=other)

    rep_rows = list(export_rows(rep, "customers"))
    director_rows = list(export_rows(director, "customers"))

    name_at = rep_rows[0].index("客户名称")
    assert [row[name_at] for row in rep_rows[1:]] == ["甲公司"]
    assert sorted(row[name_at] for row in director_rows[1:]) == ["乙公司", "甲公司"]


def test_a_manager_exports_the_team_subtree_opportunities(tmp_path: Path) -> None:
    manager = UserFactory(username="mgr", role=Role.MANAGER)
    team = TeamFactory(manager=manager)
    member = UserFactory(team=team)
    OpportunityFactory(name="团队商机", owner=member)
    OpportunityFactory(name="别人的商机")
    target = tmp_path / "opps.xlsx"

    call_command("export", kind="opportunities", user="mgr", output=str(target), language="en")

    rows = list(load_workbook(target, read_only=True).worksheets[0].iter_rows(values_only=True))
    name_at = rows[0].index("Opportunity name")
    assert [row[name_at] for row in rows[1:]] == ["团队商机"]


def test_an_exported_csv_reimports_without_mapping_and_changes_nothing(tmp_path: Path) -> None:
    admin = UserFactory(username="admin", role=Role.ADMIN)
    CustomerFactory(name="甲公司", owner=admin, tier="A")
    target = tmp_path / "customers.csv"
    call_command("export", kind="customers", user="admin", output=str(target))

    with target.open(encoding="utf-8-sig") as handle:
        header = next(csv.reader(handle))
    report = import_file(target, "customers")

    assert "客户名称" in header
    assert (report.created, report.updated, report.error_count) == (0, 0, 0), report.errors
    assert report.unchanged == 1
    assert Customer.objects.count() == 1
