"""Imported leads and customers pass the same duplicate guard as the web form and the API."""

from __future__ import annotations

from pathlib import Path

import pytest

from salesradar.crm.dedup import Incoming, guard_duplicates, keys_of
from salesradar.crm.models import Lead
from tests.imports.helpers import import_file, write_csv

pytestmark = pytest.mark.django_db

HEADER = ["外部编号", "线索编号", "公司名称", "电话", "邮箱", "线索来源"]


def test_a_lead_whose_phone_is_already_known_is_refused_naming_the_existing_lead(
    tmp_path: Path,
) -> None:
    first = write_csv(
        tmp_path / "a.csv", [HEADER, ["L1", "XS-1", "甲公司", "138 0013 8000", "", "展会"]]
    )
    import_file(first, "leads")
    second = write_csv(
        tmp_path / "b.csv",
        [
            HEADER,
            ["M1", "XS-9", "乙公司", "+86 13800138000", "", "展会"],
            ["M2", "XS-10", "丙公司", "", "sales@bing.example", "展会"],
        ],
    )

    report = import_file(second, "leads", partial=True)

    assert report.created == 1 and report.refused_rows == 1
    assert report.errors[0].row == 2
    assert "XS-1" in report.errors[0].reason
    assert sorted(Lead.objects.values_list("code", flat=True)) == ["XS-1", "XS-10"]


def test_imported_leads_carry_match_keys_so_the_guard_finds_them_later(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "a.csv", [HEADER, ["L1", "XS-1", "上海某某科技有限公司", "", "", "展会"]]
    )
    import_file(path, "leads")

    [check] = guard_duplicates([keys_of(Incoming(company_name="某某科技（上海）"))])

    assert [candidate.code for candidate in check.similar] == ["XS-1"]
