from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from salesradar.accounts.models import User
from salesradar.crm.models import Customer, Lead
from salesradar.imports.models import ExternalRef, ImportRun
from salesradar.imports.services import ImportRefused
from salesradar.pipeline.models import Opportunity, Process, StageChange
from tests.factories import CustomerFactory, UserFactory
from tests.imports.helpers import import_file, write_csv

pytestmark = pytest.mark.django_db

CUSTOMER_HEADER = ["外部编号", "客户名称", "行业", "客户等级", "负责人", "创建时间"]


def test_customers_from_a_gbk_template_are_created_with_their_external_ids(tmp_path: Path) -> None:
    owner = UserFactory(username="wangfang")
    path = write_csv(
        tmp_path / "customers.csv",
        [
            CUSTOMER_HEADER,
            ["X-1", "北京星辰科技有限公司", "制造", "A", "wangfang", "2026/3/1"],
            ["X-2", "上海海潮贸易有限公司", "零售", "B", "wangfang", "2026年3月2日"],
        ],
        encoding="gbk",
    )

    report = import_file(path, "customers")

    assert report.committed and report.created == 2 and report.error_count == 0
    star = Customer.objects.get(name="北京星辰科技有限公司")
    assert (star.tier, star.owner_id, star.industry) == ("A", owner.pk, "制造")
    assert star.created_at.astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat() == "2026-03-01"
    assert star.normalized_name
    assert ExternalRef.objects.filter(source="salesradar", external_id="X-1", object_id=star.pk)


def test_reimporting_the_same_file_changes_nothing_and_an_edited_row_is_updated(
    tmp_path: Path,
) -> None:
    UserFactory(username="wangfang")
    rows = [CUSTOMER_HEADER, ["X-1", "北京星辰科技有限公司", "制造", "A", "wangfang", "2026-03-01"]]
    path = write_csv(tmp_path / "c.csv", rows)
    import_file(path, "customers")

    again = import_file(path, "customers")
    rows[1][2] = "能源"
    edited = import_file(write_csv(tmp_path / "c2.csv", rows), "customers")

    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)
    assert (edited.created, edited.updated) == (0, 1)
    assert Customer.objects.get().industry == "能源"
    assert ExternalRef.objects.count() == 1


def test_one_bad_row_refuses_the_whole_file_and_names_row_column_and_reason(
    tmp_path: Path,
) -> None:
    UserFactory(username="wangfang")
    path = write_csv(
        tmp_path / "c.csv",
        [
            CUSTOMER_HEADER,
            ["X-1", "北京星辰科技有限公司", "制造", "A", "wangfang", "2026-03-01"],
            ["X-2", "上海海潮贸易有限公司", "零售", "Z", "wangfang", "2026-03-01"],
            ["X-3", "", "零售", "B", "nobody", "yesterday"],
        ],
    )

    report = import_file(path, "customers")

    assert not report.committed
    assert Customer.objects.count() == 0
    found = {(error.row, error.column) for error in report.errors}
    assert found == {(3, "客户等级"), (4, "客户名称"), (4, "创建时间")}
    assert report.refused_rows == 2
    assert ImportRun.objects.get(pk=report.run_id).status == ImportRun.Status.ROLLED_BACK
    assert report.error_file is not None and "客户等级" in report.error_file.read_text("utf-8-sig")


def test_partial_import_keeps_the_valid_rows_and_reports_the_rest(tmp_path: Path) -> None:
    UserFactory(username="wangfang")
    path = write_csv(
        tmp_path / "c.csv",
        [
            CUSTOMER_HEADER,
            ["X-1", "北京星辰科技有限公司", "制造", "A", "wangfang", "2026-03-01"],
            ["X-2", "上海海潮贸易有限公司", "零售", "Z", "wangfang", "2026-03-01"],
        ],
    )

    report = import_file(path, "customers", partial=True)

    assert report.committed and report.created == 1 and report.refused_rows == 1
    assert list(Customer.objects.values_list("name", flat=True)) == ["北京星辰科技有限公司"]


def test_an_external_id_twice_in_one_file_is_reported_on_its_second_row(tmp_path: Path) -> None:
    UserFactory(username="wangfang")
    path = write_csv(
        tmp_path / "c.csv",
        [
            CUSTOMER_HEADER,
            ["X-1", "北京星辰科技有限公司", "制造", "A", "wangfang", "2026-03-01"],
            ["X-9", "广州云帆有限公司", "制造", "A", "wangfang", "2026-03-01"],
            ["X-1", "北京星辰科技有限公司（重复）", "制造", "A", "wangfang", "2026-03-01"],
        ],
    )

    # a batch of one row makes the second occurrence meet the first through the database
    for batch_size in (1, 100):
        report = import_file(path, "customers", batch_size=batch_size, dry_run=True)
        assert [(e.row, e.column, e.value) for e in report.errors] == [(4, "外部编号", "X-1")]
        assert "row 2" in report.errors[0].reason
    assert Customer.objects.count() == 0


def test_dry_run_reports_what_would_happen_and_writes_nothing(tmp_path: Path) -> None:
    UserFactory(username="wangfang")
    path = write_csv(
        tmp_path / "c.csv",
        [CUSTOMER_HEADER, ["X-1", "北京星辰科技有限公司", "制造", "A", "wangfang", "2026-03-01"]],
    )

    report = import_file(path, "customers", dry_run=True)

    assert (report.committed, report.created) == (False, 1)
    assert not Customer.objects.exists() and not ExternalRef.objects.exists()


def test_salesforce_opportunities_map_stages_and_amounts_in_wan(
    tmp_path: Path, default_process: Process
) -> None:
    owner = UserFactory(username="zhang", first_name="Wei", last_name="Zhang")
    customer = CustomerFactory(name="Acme 上海有限公司", owner=owner)
    path = write_csv(
        tmp_path / "sf.csv",
        [
            [
                "Opportunity ID",
                "Opportunity Name",
                "Account Name",
                "Stage",
                "Amount",
                "Close Date",
                "Opportunity Owner",
                "Created Date",
            ],
            [
                "006A",
                "ERP",
                "Acme 上海有限公司",
                "Prospecting",
                "12.5万",
                "3/31/2026",
                "Wei Zhang",
                "1/15/2026",
            ],
            [
                "006B",
                "CRM",
                "Acme 上海有限公司",
                "Closed Won",
                "1,234,567.80",
                "2026-02-28",
                "zhang",
                "2026-01-02",
            ],
        ],
    )

    report = import_file(
        path,
        "opportunities",
        stage_map={"Prospecting": "initial_contact", "Closed Won": "won"},
        currency="CNY",  # the report has no currency column: say which (issue 17)
    )

    assert report.committed, report.errors
    erp = Opportunity.objects.get(name="ERP")
    assert (erp.customer_id, erp.stage.key, erp.amount) == (
        customer.pk,
        "initial_contact",
        Decimal("125000.00"),
    )
    crm = Opportunity.objects.get(name="CRM")
    assert crm.stage.key == "won" and crm.closed_at is not None
    assert crm.amount == Decimal("1234567.80")
    assert ExternalRef.objects.filter(source="salesforce", external_id="006B").exists()


def test_a_stage_that_maps_to_nothing_is_reported_per_row(
    tmp_path: Path, default_process: Process
) -> None:
    UserFactory(username="zhang")
    CustomerFactory(name="Acme")
    path = write_csv(
        tmp_path / "sf.csv",
        [
            ["Opportunity ID", "Opportunity Name", "Account Name", "Stage", "Opportunity Owner"],
            ["006A", "ERP", "Acme", "Perception Analysis", "zhang"],
        ],
    )

    report = import_file(path, "opportunities")

    assert [(e.row, e.column, e.value) for e in report.errors] == [
        (2, "Stage", "Perception Analysis")
    ]
    assert not Opportunity.objects.exists()


def test_reimport_with_a_new_stage_appends_a_stage_change(
    tmp_path: Path, default_process: Process
) -> None:
    UserFactory(username="zhang")
    CustomerFactory(name="Acme")
    header = ["外部编号", "商机名称", "客户", "阶段", "负责人", "创建时间"]
    first = write_csv(
        tmp_path / "a.csv", [header, ["D1", "ERP", "Acme", "初步接洽", "zhang", "2026-01-01"]]
    )
    second = write_csv(
        tmp_path / "b.csv", [header, ["D1", "ERP", "Acme", "需求确认", "zhang", "2026-01-01"]]
    )
    import_file(first, "opportunities")

    report = import_file(second, "opportunities")

    assert report.updated == 1
    opportunity = Opportunity.objects.get()
    assert opportunity.stage.key == "needs_confirmed"
    # the first import wrote the creation entry (issue 17); the re-import appended the move
    change = StageChange.objects.get(opportunity=opportunity, from_stage__isnull=False)
    assert (change.from_stage.key, change.to_stage.key) == ("initial_contact", "needs_confirmed")


CELLS = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["A", "B", "Z", "2026/3/1", "45352", "12.5万", "-", "", "wangfang", "X-1"]),
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rows=st.lists(st.lists(CELLS, min_size=6, max_size=6), min_size=1, max_size=6))
def test_any_cells_are_either_all_imported_or_nothing_is_written_and_nothing_crashes(
    tmp_path_factory: pytest.TempPathFactory, rows: list[list[str]]
) -> None:
    UserFactory(username="wangfang") if not User.objects.filter(username="wangfang") else None
    before = Customer.objects.count()
    path = write_csv(tmp_path_factory.mktemp("fuzz") / "c.csv", [CUSTOMER_HEADER, *rows])

    try:
        report = import_file(path, "customers")
    except ImportRefused:  # a file that is no table at all (a NUL byte) is refused whole
        assert Customer.objects.count() == before
        return

    written = Customer.objects.count() - before
    if report.committed:
        assert report.error_count == 0 and written == report.created
    else:
        assert written == 0 and report.error_count > 0


def test_row_errors_are_reported_in_the_importing_users_language(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", [CUSTOMER_HEADER, ["X-1", "", "制造", "A", "", ""]])

    with translation.override("zh-hans"):
        report = import_file(path, "customers")

    assert report.errors[0].reason == "必填，但为空"


def test_a_reimport_without_a_column_keeps_what_the_record_has_there(tmp_path: Path) -> None:
    UserFactory(username="wangfang")
    header = ["外部编号", "线索编号", "公司名称", "线索来源"]
    import_file(write_csv(tmp_path / "a.csv", [header, ["L1", "XS-1", "甲公司", "展会"]]), "leads")
    without_source = write_csv(tmp_path / "b.csv", [header[:3], ["L1", "XS-1", "甲公司（新）"]])

    report = import_file(without_source, "leads")

    lead = Lead.objects.get()
    assert report.updated == 1
    assert (lead.company_name, lead.source) == ("甲公司（新）", "exhibition")
