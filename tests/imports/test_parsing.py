from __future__ import annotations

import contextlib
import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from salesradar.imports.parsing import (
    CellError,
    parse_amount,
    parse_bool,
    parse_date,
    parse_datetime,
    parse_int,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    "cell",
    [
        "2026/3/1",
        "2026-03-01",
        "2026.3.1",
        "2026年3月1日",
        "46082",
        46082,
        46082.0,
        "3/1/2026",
        "20260301",
        "２０２６年３月１日",
        dt.date(2026, 3, 1),
        dt.datetime(2026, 3, 1, 10, 30),
    ],
)
def test_every_common_spelling_of_the_first_of_march_2026_reads_as_that_date(cell: object) -> None:
    assert parse_date(cell) == dt.date(2026, 3, 1)


def test_the_excel_serial_45352_is_the_first_of_march_2024() -> None:
    assert parse_date(45352) == dt.date(2024, 3, 1)


def test_a_day_first_date_is_read_when_month_first_is_impossible() -> None:
    assert parse_date("25/3/2026") == dt.date(2026, 3, 25)


@pytest.mark.parametrize("cell", ["2026-02-30", "yesterday", "13/13/2026", "1", True])
def test_an_impossible_date_is_refused_with_a_reason(cell: object) -> None:
    with pytest.raises(CellError):
        parse_date(cell)


def test_a_time_without_zone_is_in_the_importing_zone_and_an_explicit_zone_is_kept() -> None:
    local = parse_datetime("2026-03-01 09:30", zone=SHANGHAI)
    explicit = parse_datetime("2026-03-01T09:30:00Z", zone=SHANGHAI)

    assert local == dt.datetime(2026, 3, 1, 1, 30, tzinfo=dt.UTC)
    assert explicit == dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("cell", "amount"),
    [
        ("1,234,567.89", "1234567.89"),
        ("¥1,234", "1234.00"),
        ("12.5万", "125000.00"),
        ("3万元", "30000.00"),
        ("1.2亿", "120000000.00"),
        ("RMB 8,000", "8000.00"),
        ("１２３", "123.00"),
        (45000, "45000.00"),
        (0.1, "0.10"),
    ],
)
def test_amounts_with_separators_currency_marks_and_chinese_units(
    cell: object, amount: str
) -> None:
    assert parse_amount(cell) == Decimal(amount)


@pytest.mark.parametrize("cell", ["-5", "abc", "1.2.3", "万", "1e400"])
def test_a_negative_or_unreadable_amount_is_refused(cell: str) -> None:
    with pytest.raises(CellError):
        parse_amount(cell)


@pytest.mark.parametrize("cell", ["", None, "-", "N/A", "  "])
def test_empty_markers_read_as_no_value(cell: object) -> None:
    assert parse_amount(cell) is None and parse_date(cell) is None


def test_yes_no_cells_in_both_languages() -> None:
    assert [parse_bool(cell) for cell in ("是", "否", "yes", "0", True, "")] == [
        True,
        False,
        True,
        False,
        True,
        None,
    ]
    with pytest.raises(CellError):
        parse_bool("maybe")
    with pytest.raises(CellError):
        parse_int("1.5")


@given(st.decimals(min_value=0, max_value=10**12, places=2, allow_nan=False))
def test_an_amount_written_with_thousands_separators_reads_back_exactly(value: Decimal) -> None:
    assert parse_amount(f"{value:,.2f}") == value


@given(st.dates(min_value=dt.date(1960, 1, 1), max_value=dt.date(2100, 12, 31)))
def test_a_date_reads_back_from_each_spelling_and_its_excel_serial(day: dt.date) -> None:
    serial = (day - dt.date(1899, 12, 30)).days
    spellings = [
        day.isoformat(),
        f"{day.year}/{day.month}/{day.day}",
        f"{day.year}年{day.month}月{day.day}日",
        serial,
        str(serial),
    ]
    assert {parse_date(spelling) for spelling in spellings} == {day}


@given(st.text(max_size=30))
def test_no_text_makes_a_parser_crash(text: str) -> None:
    for parser in (parse_amount, parse_date, parse_bool, parse_int):
        with contextlib.suppress(CellError):
            parser(text)
