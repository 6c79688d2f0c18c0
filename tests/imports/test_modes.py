"""Create, update or both, and the key an existing record is matched on."""

from __future__ import annotations

from pathlib import Path

import pytest

from salesradar.crm.models import Customer
from tests.factories import UserFactory
from tests.imports.helpers import import_file, write_csv

pytestmark = pytest.mark.django_db

HEADER = ["客户名称", "行业", "负责人"]


def _file(tmp_path: Path, name: str, *rows: list[str]) -> Path:
    return write_csv(tmp_path / name, [HEADER, *rows])


def test_an_edited_row_without_an_id_updates_the_record_it_names(tmp_path: Path) -> None:
    UserFactory(username="li")
    import_file(_file(tmp_path, "a.csv", ["甲公司", "制造", "li"]), "customers")

    report = import_file(_file(tmp_path, "b.csv", ["甲公司", "零售", "li"]), "customers")

    assert (report.created, report.updated) == (0, 1)
    assert list(Customer.objects.values_list("name", "industry")) == [("甲公司", "零售")]


def test_update_mode_refuses_rows_that_match_nothing(tmp_path: Path) -> None:
    UserFactory(username="li")
    import_file(_file(tmp_path, "a.csv", ["甲公司", "制造", "li"]), "customers")

    report = import_file(
        _file(tmp_path, "b.csv", ["甲公司", "零售", "li"], ["乙公司", "能源", "li"]),
        "customers",
        mode="update",
        partial=True,
    )

    assert (report.updated, report.created, report.refused_rows) == (1, 0, 1)
    assert "only updates" in report.errors[0].reason
    assert Customer.objects.count() == 1


def test_create_mode_leaves_existing_records_alone(tmp_path: Path) -> None:
    UserFactory(username="li")
    import_file(_file(tmp_path, "a.csv", ["甲公司", "制造", "li"]), "customers")

    report = import_file(
        _file(tmp_path, "b.csv", ["甲公司", "零售", "li"], ["乙公司", "能源", "li"]),
        "customers",
        mode="create",
    )

    assert (report.created, report.updated, report.unchanged) == (1, 0, 1)
    assert Customer.objects.get(name="甲公司").industry == "制造"
    assert any("left alone" in note for note in report.notes)


def test_matching_on_the_external_id_only_never_adopts_a_record_by_number(
    tmp_path: Path,
) -> None:
    UserFactory(username="li")
    header = ["外部编号", "客户编号", "客户名称", "负责人"]
    import_file(
        write_csv(tmp_path / "a.csv", [header, ["A-1", "KH-1", "甲公司", "li"]]), "customers"
    )

    report = import_file(
        write_csv(tmp_path / "b.csv", [header, ["B-9", "KH-1", "甲公司", "li"]]),
        "customers",
        match="external_id",
    )

    assert not report.committed  # a second KH-1 is refused by the database, named per row
    assert report.errors[0].row == 2
