from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from salesradar.imports.presets import known_header_names
from salesradar.imports.readers import UnreadableFile, open_table
from salesradar.imports.schema import kind_named
from tests.imports.helpers import write_csv, write_xlsx

ROWS = [
    ["客户名称", "行业", "地区"],
    ["北京星辰科技有限公司", "制造", "华北"],
    ["上海海潮", "零售", "华东"],
]


@pytest.mark.parametrize(
    ("encoding", "delimiter"),
    [("utf-8", ","), ("utf-8-sig", ";"), ("gbk", "\t"), ("gb18030", "|"), ("utf-16", ",")],
)
def test_csv_in_common_encodings_and_delimiters_reads_the_same(
    tmp_path: Path, encoding: str, delimiter: str
) -> None:
    path = write_csv(tmp_path / "f.csv", ROWS, encoding=encoding, delimiter=delimiter)

    table = open_table(path)

    assert table.headers == ROWS[0]
    assert [cells for _number, cells in table.rows] == ROWS[1:]
    assert table.delimiter == delimiter


def test_gb18030_only_characters_are_read_without_loss(tmp_path: Path) -> None:
    rows = [["客户名称"], ["𠮷野家餐饮有限公司"], ["䶮记贸易"]]  # outside GBK, inside GB18030
    path = write_csv(tmp_path / "f.csv", rows, encoding="gb18030")

    assert [cells for _n, cells in open_table(path).rows] == rows[1:]


def test_a_file_in_no_recognisable_encoding_is_refused_with_a_reason(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(bytes(range(128, 256)) * 50 + b"\x00\x01")

    with pytest.raises(UnreadableFile, match=r"binary|encoding"):
        list(open_table(path).rows)


def test_rows_are_numbered_as_in_the_spreadsheet_and_blank_rows_skipped(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "f.csv", [ROWS[0], ROWS[1], ["", "", ""], ROWS[2]])

    assert [number for number, _cells in open_table(path).rows] == [2, 4]


def test_xlsx_with_a_title_row_and_merged_group_headers_finds_the_real_header(
    tmp_path: Path,
) -> None:
    path = write_xlsx(
        tmp_path / "f.xlsx",
        [
            ["2026年客户清单", None, None, None],
            ["外部编号", "客户信息", None, "负责人"],
            [None, "客户名称", "行业", None],
            ["X1", "北京星辰", "制造", "wangfang"],
            ["X2", "上海海潮", "零售", "lina"],
        ],
        merges=["A1:D1", "A2:A3", "B2:C2", "D2:D3"],
    )

    table = open_table(path, known_header_names(kind_named("customers")))

    assert table.headers == ["外部编号", "客户名称", "行业", "负责人"]
    assert [(number, cells[1]) for number, cells in table.rows] == [
        (4, "北京星辰"),
        (5, "上海海潮"),
    ]
    assert any("merged" in note for note in table.notes)


def test_xlsx_cells_keep_their_types_for_the_parsers(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "f.xlsx", [["客户名称", "创建时间"], ["甲", dt.datetime(2026, 3, 1, 9, 0)]]
    )

    assert list(open_table(path).rows) == [(2, ["甲", dt.datetime(2026, 3, 1, 9, 0)])]


@pytest.mark.parametrize(
    ("name", "content"),
    [("f.xls", b"\xd0\xcf\x11\xe0"), ("f.xlsx", b"PK no zip"), ("f.pdf", b"%PDF")],
)
def test_files_that_are_not_tables_are_refused_with_a_reason(
    tmp_path: Path, name: str, content: bytes
) -> None:
    path = tmp_path / name
    path.write_bytes(content)

    with pytest.raises(UnreadableFile):
        open_table(path)
