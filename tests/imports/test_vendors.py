"""One fixture per vendor, written here from the vendor's documented export headers, traps in.

Each fixture is the file a sales-ops person moving in would have: the vendor's own header
names, its stage and status spellings, its dates and amounts, and the junk its reports add.
The table of rows in / refused per fixture is in the imports note.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from salesradar.accounts.models import User
from salesradar.crm.models import Customer, Lead
from salesradar.imports.presets import detect_preset
from salesradar.imports.schema import kind_named
from salesradar.pipeline.models import Opportunity, Process, StageChange
from tests.factories import CustomerFactory, UserFactory
from tests.imports.helpers import import_file, write_csv

pytestmark = pytest.mark.django_db


@dataclass
class Fixture:
    name: str
    kind: str
    preset: str
    rows: list[list[Any]]
    options: dict[str, Any] = field(default_factory=dict)
    encoding: str = "utf-8"
    created: int = 0
    refused: int = 0


FIXTURES = [
    Fixture(
        "salesforce-opportunity-report",
        "opportunities",
        "salesforce-opportunities",
        [
            [
                "Opportunity Owner",
                "Account Name",
                "Opportunity Name",
                "Stage",
                "Amount",
                "Opportunity Currency",
                "Close Date",
                "Created Date",
                "Opportunity ID",
            ],
            [
                "Wei Zhang",
                "Acme",
                "ERP rollout",
                "Prospecting",
                "USD 12,000.00",
                "USD",
                "3/31/2026",
                "1/15/2026",
                "0065g00000A",
            ],
            [
                "Wei Zhang",
                "Acme",
                "Support",
                "Closed Won",
                "$3,500.00",
                "USD",
                "2/28/2026",
                "1/2/2026",
                "0065g00000B",
            ],
            [
                "Wei Zhang",
                "Acme",
                "Backdated",
                "Closed Lost",
                "100.00",
                "USD",
                "1/1/2026",
                "1/20/2026",
                "0065g00000C",
            ],
            ["", "", "", "", "", "", "", "", ""],
            ["Grand Totals (3 records)", "", "", "", "15,600.00", "", "", "", ""],
            ["Confidential Information - Do Not Distribute"],
            ["Copyright (c) 2000-2026 salesforce.com, inc. All rights reserved."],
        ],
        {"accept_suggested": True},
        created=2,
        refused=1,  # closed before it was created
    ),
    Fixture(
        "salesforce-data-loader-user",
        "users",
        "salesforce-api-user",
        [
            ["Id", "Username", "FirstName", "LastName", "Email", "IsActive", "ManagerId"],
            ["0055g00000M", "mgr@acme.example", "Li", "Na", "mgr@acme.example", "true", ""],
            [
                "0055g00000R",
                "rep@acme.example",
                "Wang",
                "Fang",
                "rep@acme.example",
                "false",
                "0055g00000M",
            ],
        ],
        created=2,
        refused=1,  # a manager needs a team: the file has no team column
    ),
    Fixture(
        "hubspot-deals",
        "opportunities",
        "hubspot-deals",
        [
            [
                "Record ID",
                "Deal Name",
                "Deal Stage",
                "Amount",
                "Currency",
                "Close Date",
                "Deal owner",
                "Create Date",
                "Associated Company",
            ],
            [
                "9001",
                "Pilot",
                "appointmentscheduled",
                "1200",
                "EUR",
                "2026-03-01",
                "owner@acme.example",
                "2026-01-05 10:00",
                "Acme",
            ],
            [
                "9002",
                "Renewal",
                "closedwon",
                "12.000,50",
                "EUR",
                "2026-02-01",
                "owner@acme.example",
                "2026-01-06 10:00",
                "Acme",
            ],
        ],
        {"accept_suggested": True, "create_owners": True},
        created=2,
    ),
    Fixture(
        "pipedrive-deals",
        "opportunities",
        "pipedrive-deals",
        [
            [
                "Deal - ID",
                "Deal - Title",
                "Deal - Value",
                "Deal - Currency",
                "Deal - Stage",
                "Deal - Status",
                "Deal - Owner",
                "Deal - Organization",
                "Deal - Deal created",
            ],
            [
                "71",
                "Licence",
                "1.200,50",
                "EUR",
                "Proposal Made",
                "open",
                "li",
                "Acme",
                "05.03.2026",
            ],
            [
                "72",
                "Pilot",
                "500",
                "EUR",
                "Negotiations Started",
                "won",
                "li",
                "Acme",
                "25.03.2026",
            ],
        ],
        {"accept_suggested": True},
        created=2,
    ),
    Fixture(
        "odoo-crm-lead",
        "opportunities",
        "odoo-crm-lead",
        [
            [
                "ID",
                "Opportunity",
                "Customer",
                "Stage",
                "Expected Revenue",
                "Salesperson",
                "Expected Closing",
                "Created on",
            ],
            [
                "__export__.crm_lead_1",
                "Website",
                "Acme",
                "New",
                "8,000.00",
                "li",
                "2026-04-01",
                "2026-01-10 08:00:00",
            ],
            [
                "__export__.crm_lead_2",
                "ERP",
                "Unknown Ltd",
                "Qualified",
                "9,000.00",
                "li",
                "2026-04-01",
                "2026-01-10 08:00:00",
            ],
        ],
        {"accept_suggested": True, "currency": "EUR"},
        created=1,
        refused=1,  # a customer SalesRadar does not have, and no --create-customers
    ),
    Fixture(
        "zoho-leads",
        "leads",
        "zoho-leads",
        [
            [
                "Record Id",
                "Company",
                "Full Name",
                "Lead Status",
                "Lead Source",
                "Phone",
                "Email",
                "Lead Owner",
                "Created Time",
            ],
            [
                "zcrm_1",
                "Globex",
                "Hank Scorpio",
                "Attempted to Contact",
                "",
                "",
                "h@globex.example",
                "li",
                "2026-01-03 09:00:00",
            ],
            [
                "zcrm_2",
                "Initech",
                "Bill Lumbergh",
                "Junk Lead",
                "",
                "",
                "b@initech.example",
                "li",
                "2026-01-04 09:00:00",
            ],
        ],
        created=2,
    ),
    Fixture(
        "fxiaoke-opportunities-gbk",
        "opportunities",
        "chinese-crm-opportunities",
        [
            [
                "商机名称",
                "客户名称",
                "商机阶段",
                "预计成交金额",
                "币种",
                "预计成交日期",
                "负责人",
                "创建时间",
            ],
            [
                "数据平台",
                "星云数据科技有限公司",
                "需求确定",
                "1.2万",
                "CNY",
                "2026年6月30日",
                "li",
                "2026年3月5日",
            ],
            [
                "运维服务",
                "星云数据科技有限公司",
                "赢单",
                "￥12,000.00",
                "",
                "2026年3月20日",
                "li",
                "2026年3月6日",
            ],
        ],
        {"accept_suggested": True, "create_customers": True},
        encoding="gb18030",
        created=2,
    ),
    Fixture(
        "dingtalk-customers",
        "customers",
        "chinese-crm-customers",
        [
            ["客户名称", "负责人", "所属行业", "省份", "客户级别", "创建时间"],
            ["杭州云帆网络有限公司", "li", "互联网", "浙江", "A", "2026/1/2"],
            ["云帆网络（杭州）", "li", "互联网", "浙江", "B", "2026/1/3"],
        ],
        created=2,  # the same company twice: both in, a similar name never refuses an import
    ),
]


def _prepare_people() -> None:
    UserFactory(username="li")
    UserFactory(username="zhang", first_name="Wei", last_name="Zhang")
    CustomerFactory(name="Acme")


@pytest.mark.parametrize("fixture", FIXTURES, ids=[fixture.name for fixture in FIXTURES])
def test_vendor_fixture_imports_its_good_rows_and_names_the_rest(
    tmp_path: Path, default_process: Process, fixture: Fixture
) -> None:
    _prepare_people()
    path = write_csv(tmp_path / f"{fixture.name}.csv", fixture.rows, encoding=fixture.encoding)
    options = dict(fixture.options)
    accept = options.pop("accept_suggested", False)
    preset = detect_preset(fixture.rows[0], kind_named(fixture.kind))
    assert preset is not None and preset.key == fixture.preset
    if accept:
        options["stage_map"] = dict(preset.stage_suggestions)

    report = import_file(path, fixture.kind, partial=True, **options)

    assert (report.created, report.refused_rows) == (fixture.created, fixture.refused), (
        report.errors
    )


def test_salesforce_people_first_then_deals_owned_by_their_vendor_ids(
    tmp_path: Path, default_process: Process
) -> None:
    CustomerFactory(name="Acme")
    users = write_csv(
        tmp_path / "User.csv",
        [
            ["Id", "Username", "FirstName", "LastName", "Email"],
            ["0055A", "wf", "Fang", "Wang", "wf@acme.example"],
        ],
    )
    deals = write_csv(
        tmp_path / "Opportunity.csv",
        [
            [
                "Id",
                "Name",
                "AccountId",
                "StageName",
                "Amount",
                "CurrencyIsoCode",
                "OwnerId",
                "CreatedDate",
            ],
            [
                "0065A",
                "ERP",
                "Acme",
                "Prospecting",
                "100",
                "USD",
                "0055A",
                "2026-01-15T09:00:00.000Z",
            ],
        ],
    )

    assert import_file(users, "users").committed
    report = import_file(deals, "opportunities", stage_map={"Prospecting": "initial_contact"})

    assert report.committed, report.errors
    assert Opportunity.objects.get().owner == User.objects.get(username="wf")


def test_fixture_side_effects_are_the_documented_ones(
    tmp_path: Path, default_process: Process
) -> None:
    _prepare_people()
    by_name = {fixture.name: fixture for fixture in FIXTURES}
    for name in ("hubspot-deals", "fxiaoke-opportunities-gbk", "zoho-leads"):
        fixture = by_name[name]
        path = write_csv(tmp_path / f"{name}.csv", fixture.rows, encoding=fixture.encoding)
        options = dict(fixture.options)
        if options.pop("accept_suggested", False):
            preset = detect_preset(fixture.rows[0], kind_named(fixture.kind))
            assert preset is not None
            options["stage_map"] = dict(preset.stage_suggestions)
        assert import_file(path, fixture.kind, **options).committed

    assert not User.objects.get(email="owner@acme.example").is_active  # --create-owners
    renewal = Opportunity.objects.get(name="Renewal")
    assert (renewal.amount, renewal.currency, renewal.stage.key) == (12000.50, "EUR", "won")
    assert Customer.objects.filter(name="星云数据科技有限公司").count() == 1  # created once
    service = Opportunity.objects.get(name="运维服务")
    assert (service.amount, service.currency) == (12000, "CNY")  # ￥ names the currency
    assert dict(Lead.objects.values_list("company_name", "status")) == {
        "Globex": "contacted",
        "Initech": "disqualified",
    }
    assert StageChange.objects.filter(opportunity=renewal).count() == 2  # opened, won
