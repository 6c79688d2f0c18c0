"""Undoing an import: what it created goes, what it updated comes back, or it says why not."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from salesradar.accounts.models import User
from salesradar.crm.models import Customer
from salesradar.imports.models import ExternalRef, ImportRun
from salesradar.imports.undo import UndoRefused, undo_import
from salesradar.pipeline.models import Opportunity, Process, StageChange
from tests.factories import ActivityFactory, CustomerFactory, UserFactory
from tests.imports.helpers import import_file, write_csv

pytestmark = pytest.mark.django_db

HEADER = ["外部编号", "客户名称", "行业", "负责人"]


def _customers(tmp_path: Path, name: str, *rows: list[str]) -> Path:
    return write_csv(tmp_path / name, [HEADER, *rows])


def test_undo_removes_created_records_and_restores_updated_ones(tmp_path: Path) -> None:
    UserFactory(username="li")
    first = import_file(_customers(tmp_path, "a.csv", ["X1", "甲公司", "制造", "li"]), "customers")
    second = import_file(
        _customers(
            tmp_path, "b.csv", ["X1", "甲公司", "零售", "li"], ["X2", "乙公司", "能源", "li"]
        ),
        "customers",
    )
    assert (second.created, second.updated) == (1, 1)

    report = undo_import(ImportRun.objects.get(pk=second.run_id))

    assert report.deleted == {"crm.customer": 1} and report.restored == 1
    assert list(Customer.objects.values_list("name", "industry")) == [("甲公司", "制造")]
    assert not ExternalRef.objects.filter(external_id="X2").exists()
    assert ImportRun.objects.get(pk=second.run_id).status == ImportRun.Status.UNDONE
    assert ImportRun.objects.get(pk=first.run_id).status == ImportRun.Status.COMMITTED


def test_undo_is_refused_naming_a_later_follow_up_on_an_imported_customer(tmp_path: Path) -> None:
    rep = UserFactory(username="li")
    run = import_file(_customers(tmp_path, "a.csv", ["X1", "甲公司", "制造", "li"]), "customers")
    customer = Customer.objects.get()
    ActivityFactory(customer=customer, owner=rep)

    with pytest.raises(UndoRefused, match="later changes depend on it") as refused:
        undo_import(ImportRun.objects.get(pk=run.run_id))

    assert "#" + str(customer.pk) in str(refused.value)
    assert Customer.objects.exists()


def test_undo_is_refused_when_an_updated_record_changed_again(tmp_path: Path) -> None:
    UserFactory(username="li")
    import_file(_customers(tmp_path, "a.csv", ["X1", "甲公司", "制造", "li"]), "customers")
    run = import_file(_customers(tmp_path, "b.csv", ["X1", "甲公司", "零售", "li"]), "customers")
    Customer.objects.update(industry="金融")

    with pytest.raises(UndoRefused, match="changed again since"):
        undo_import(ImportRun.objects.get(pk=run.run_id))


def test_undo_after_thirty_days_is_refused(tmp_path: Path) -> None:
    UserFactory(username="li")
    run = import_file(_customers(tmp_path, "a.csv", ["X1", "甲公司", "制造", "li"]), "customers")

    with pytest.raises(UndoRefused, match="30 days"):
        undo_import(ImportRun.objects.get(pk=run.run_id), at=timezone.now() + dt.timedelta(days=31))


def test_undo_of_a_deal_import_takes_its_history_and_created_owners_and_customers(
    tmp_path: Path, default_process: Process
) -> None:
    path = write_csv(
        tmp_path / "deals.csv",
        [
            ["商机名称", "客户", "阶段", "金额", "负责人", "创建时间"],
            ["ERP", "全新客户有限公司", "商务谈判", "100", "老系统用户", "2026-01-05"],
        ],
    )
    run = import_file(
        path, "opportunities", currency="CNY", create_owners=True, create_customers=True
    )
    assert run.committed, run.errors
    assert StageChange.objects.count() == 2

    call_command("import", undo=run.run_id)

    assert not Opportunity.objects.exists() and not StageChange.objects.exists()
    assert not Customer.objects.exists() and not User.objects.exists()
    with pytest.raises(CommandError, match="Only an import that was written"):
        call_command("import", undo=run.run_id)


def test_undo_button_on_the_result_page(client, tmp_path: Path) -> None:
    ops = UserFactory(username="ops", role="ops")
    UserFactory(username="li")
    CustomerFactory(name="其他公司")
    run = import_file(_customers(tmp_path, "a.csv", ["X1", "甲公司", "制造", "li"]), "customers")
    client.force_login(ops)

    page = client.get(reverse("imports:result", args=[run.run_id]))
    response = client.post(reverse("imports:undo", args=[run.run_id]))

    assert "imports:undo" not in page.content.decode() and response.status_code == 302
    assert list(Customer.objects.values_list("name", flat=True)) == ["其他公司"]
