"""People first: users files, owner maps, unknown owners, customers a deal file names."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command

from salesradar.accounts.models import Team, User
from salesradar.crm.models import Customer
from salesradar.imports import services
from salesradar.imports.models import OwnerMapping
from salesradar.pipeline.models import Opportunity, Process
from tests.factories import CustomerFactory, UserFactory
from tests.imports.helpers import import_file, write_csv

pytestmark = pytest.mark.django_db

DEALS = [
    ["Opportunity ID", "Opportunity Name", "Account Name", "Stage", "Amount", "Opportunity Owner"],
    ["006A", "Licence", "Acme", "proposal", "100", "005XA"],
    ["006B", "Pilot", "Acme", "proposal", "200", "005XB"],
    ["006C", "Renewal", "Acme", "proposal", "300", "005XA"],
]


def test_users_file_creates_users_with_team_role_joined_date_and_team_manager(
    tmp_path: Path,
) -> None:
    east = Team.objects.create(code="east", name="华东")
    path = write_csv(
        tmp_path / "users.csv",
        [
            ["姓名", "邮箱", "团队", "角色", "上级", "入职日期"],
            ["王芳", "wangfang@example.com", "华东", "销售代表", "李强", "2024年3月5日"],
            ["李强", "liqiang@example.com", "east", "manager", "", "2020-01-01"],
        ],
    )

    report = import_file(path, "users")

    assert report.committed, report.errors
    wang = User.objects.get(email="wangfang@example.com")
    assert (wang.username, wang.last_name, wang.first_name) == ("wangfang", "王", "芳")
    assert (wang.team_id, wang.role, str(wang.hired_on)) == (east.pk, "rep", "2024-03-05")
    assert not wang.has_usable_password()
    east.refresh_from_db()
    assert east.manager == User.objects.get(username="liqiang")


def test_reimporting_users_keeps_their_passwords(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "users.csv", [["User name", "Name"], ["zhao", "Zhao Lei"]])
    import_file(path, "users")
    user = User.objects.get(username="zhao")
    user.set_password("s3cret-pass")
    user.save()

    report = import_file(path, "users")

    assert report.unchanged == 1
    assert User.objects.get(username="zhao").check_password("s3cret-pass")


def test_unknown_owners_are_refused_in_one_message_listing_each_once(
    tmp_path: Path, default_process: Process
) -> None:
    CustomerFactory(name="Acme")
    path = write_csv(tmp_path / "deals.csv", DEALS)

    report = import_file(path, "opportunities")

    assert not report.committed
    [error] = report.errors
    assert (error.row, error.column, report.refused_rows) == (2, "Opportunity Owner", 3)
    message = error.reason
    assert "005XA (2), 005XB (1)" in message
    assert "--owner-map" in message and "--create-owners" in message
    assert not Opportunity.objects.exists()


def test_create_owners_makes_inactive_users_and_remembers_them_for_the_source(
    tmp_path: Path, default_process: Process
) -> None:
    CustomerFactory(name="Acme")
    path = write_csv(tmp_path / "deals.csv", DEALS)

    report = import_file(path, "opportunities", create_owners=True, currency="CNY")

    assert report.committed, report.errors
    owners = User.objects.filter(username__in=["005xa", "005xb"])
    assert sorted(owner.is_active for owner in owners) == [False, False]
    assert Opportunity.objects.get(name="Licence").owner.username == "005xa"
    assert set(
        OwnerMapping.objects.filter(source="salesforce").values_list("value", flat=True)
    ) == {"005XA", "005XB"}


def test_owner_map_file_maps_vendor_ids_and_is_reused_by_the_next_import(
    tmp_path: Path, default_process: Process
) -> None:
    CustomerFactory(name="Acme")
    wang = UserFactory(username="wangfang")
    li = UserFactory(username="liqiang")
    owner_map = write_csv(
        tmp_path / "owners.csv", [["Salesforce user", "SalesRadar user"], ["005XA", "wangfang"]]
    )
    owner_map_b = write_csv(tmp_path / "owners-b.csv", [["005XB", "liqiang"]])
    path = write_csv(tmp_path / "deals.csv", DEALS)

    merged = tmp_path / "owners-all.csv"
    merged.write_text(owner_map.read_text() + owner_map_b.read_text())
    call_command(
        "import",
        str(path),
        kind="opportunities",
        owner_map=str(merged),
        currency="CNY",
        errors=str(tmp_path / "errors.csv"),
        no_progress=True,
    )
    report = import_file(path, "opportunities", currency="CNY")
    assert report.committed, report.errors
    assert Opportunity.objects.get(name="Licence").owner == wang
    assert Opportunity.objects.get(name="Pilot").owner == li

    assert report.unchanged == 3  # the second run had no map: the remembered one applied


def test_owner_map_naming_an_unknown_user_is_refused(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "deals.csv", DEALS)

    with pytest.raises(services.ImportRefused, match="nobody"):
        import_file(path, "opportunities", owner_map={"005XA": "nobody"})


def test_create_customers_creates_missing_ones_and_refuses_the_same_company_spelt_otherwise(
    tmp_path: Path, default_process: Process
) -> None:
    UserFactory(username="wangfang")
    existing = CustomerFactory(name="上海星云数据科技有限公司")
    path = write_csv(
        tmp_path / "deals.csv",
        [
            ["商机名称", "客户", "阶段", "金额", "负责人"],
            ["新商机", "全新客户有限公司", "方案报价", "100", "wangfang"],
            ["第二个", "全新客户有限公司", "方案报价", "100", "wangfang"],
            ["分公司", "星云数据科技（北京）", "方案报价", "100", "wangfang"],
        ],
    )

    report = import_file(path, "opportunities", create_customers=True, partial=True, currency="CNY")

    created = Customer.objects.get(name="全新客户有限公司")
    assert created.owner.username == "wangfang"
    assert Opportunity.objects.filter(customer=created).count() == 2
    [error] = report.errors
    assert error.row == 4 and existing.code in error.reason
    assert any("Created 1 customers" in note for note in report.notes)


def test_missing_customer_without_the_option_names_the_option(
    tmp_path: Path, default_process: Process
) -> None:
    UserFactory(username="wangfang")
    path = write_csv(
        tmp_path / "deals.csv",
        [["商机名称", "客户", "阶段", "负责人"], ["新商机", "全新客户", "方案报价", "wangfang"]],
    )

    report = import_file(path, "opportunities")

    assert "--create-customers" in report.errors[0].reason
    assert not Customer.objects.exists()
