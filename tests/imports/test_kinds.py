"""Every kind imports from the SalesRadar template, and re-imports without duplicates."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from salesradar.activities.models import Activity
from salesradar.crm.models import Contact, Lead
from salesradar.pipeline.models import Invoice, Process, Quote, StageChange, Target
from tests.factories import (
    ContractFactory,
    CustomerFactory,
    OpportunityFactory,
    TeamFactory,
    UserFactory,
)
from tests.imports.helpers import import_file, write_csv

pytestmark = pytest.mark.django_db


def import_twice(tmp_path: Path, kind: str, rows: list[list[str]]) -> None:
    path = write_csv(tmp_path / f"{kind}.csv", rows)
    first = import_file(path, kind)
    assert first.committed, first.errors
    again = import_file(path, kind)
    assert (again.created, again.error_count) == (0, 0), again.errors


def test_contacts_activities_and_leads(tmp_path: Path) -> None:
    rep = UserFactory(username="li")
    customer = CustomerFactory(code="KH-1", owner=rep)
    import_twice(
        tmp_path,
        "contacts",
        [
            ["客户", "联系人姓名", "职位", "决策角色", "邮箱"],
            ["KH-1", "赵敏", "CIO", "决策人", "zm@example.com"],
        ],
    )
    import_twice(
        tmp_path,
        "activities",
        [
            [
                "Activity type",
                "Customer",
                "Owner",
                "Occurred at",
                "Duration (minutes)",
                "Decision maker present",
            ],
            ["Visit", "KH-1", "li", "2026-03-02 14:00", "90", "是"],
        ],
    )
    import_twice(
        tmp_path,
        "leads",
        [["线索编号", "公司名称", "线索来源", "负责人"], ["XS-9", "丙公司", "Exhibition", "li"]],
    )

    assert Contact.objects.get().decision_role == "decision_maker"
    activity = Activity.objects.get()
    assert (activity.customer, activity.kind, activity.duration_minutes) == (customer, "visit", 90)
    assert activity.decision_maker_present
    assert Lead.objects.get().source == "exhibition"


def test_stage_history_quotes_invoices_and_targets(
    tmp_path: Path, default_process: Process
) -> None:
    rep = UserFactory(username="li")
    team = TeamFactory(code="east")
    opportunity = OpportunityFactory(code="SJ-1", owner=rep)
    ContractFactory(code="HT-1", opportunity=opportunity)
    import_twice(
        tmp_path,
        "stage_history",
        [
            ["商机", "原阶段", "新阶段", "变更时间", "变更人"],
            ["SJ-1", "方案报价", "需求确认", "2026-03-05 10:00", "li"],
        ],
    )
    import_twice(
        tmp_path,
        "quotes",
        [
            ["商机", "版本", "客户要求报价时间", "报价发出时间", "金额", "币种"],
            ["SJ-1", "2", "2026/3/1", "2026/3/3", "8.8万", "CNY"],
        ],
    )
    import_twice(
        tmp_path,
        "invoices",
        [
            ["发票编号", "合同", "开票日期", "应收日期", "金额", "币种"],
            ["FP-1", "HT-1", "2026-03-01", "2026-04-01", "50,000", "CNY"],
        ],
    )
    import_twice(
        tmp_path,
        "targets",
        [
            ["销售", "团队", "周期", "周期开始日期", "指标", "目标值"],
            ["li", "", "月度", "2026-03-01", "赢单金额", "100万"],
            ["", "east", "季度", "2026-01-01", "won_amount", "500万"],
        ],
    )

    change = StageChange.objects.get()
    assert change.is_regression and change.changed_by == rep
    assert Quote.objects.get().amount == Decimal("88000.00")
    invoice = Invoice.objects.get()
    assert invoice.customer_id == opportunity.customer_id
    assert set(Target.objects.values_list("team_id", "value")) == {
        (None, Decimal("1000000.00")),
        (team.pk, Decimal("5000000.00")),
    }
