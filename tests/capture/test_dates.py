"""Due dates read from notes, resolved against the note's own day (weeks start on Monday)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from salesradar.capture.dates import find_due_dates

MONDAY = dt.date(2026, 12, 7)
THURSDAY = dt.date(2026, 12, 10)


def due(text: str, day: dt.date) -> dt.date | None:
    found = find_due_dates(text, day)
    return found[0].day if found else None


@pytest.mark.parametrize(
    ("text", "day", "expected"),
    [
        ("已承诺周三前提供定制化TCO分析", MONDAY, dt.date(2026, 12, 9)),
        ("已承诺周三前提供定制化TCO分析", THURSDAY, dt.date(2026, 12, 16)),
        ("下周一给报价", THURSDAY, dt.date(2026, 12, 14)),
        ("下下周二", MONDAY, dt.date(2026, 12, 22)),
        ("月底前签合同", dt.date(2026, 11, 27), dt.date(2026, 11, 30)),
        ("3天内回复", MONDAY, dt.date(2026, 12, 10)),
        ("三天内回复", MONDAY, dt.date(2026, 12, 10)),
        ("5个工作日内", THURSDAY, dt.date(2026, 12, 17)),
        ("下个月初启动", dt.date(2026, 12, 7), dt.date(2027, 1, 1)),
        ("12月20日前", MONDAY, dt.date(2026, 12, 20)),
        ("1月5号前", MONDAY, dt.date(2027, 1, 5)),
        ("by Wednesday", THURSDAY, dt.date(2026, 12, 16)),
        ("next Monday", MONDAY, dt.date(2026, 12, 14)),
        ("by the end of the month", MONDAY, dt.date(2026, 12, 31)),
        ("within 5 business days", THURSDAY, dt.date(2026, 12, 17)),
        ("in two weeks", MONDAY, dt.date(2026, 12, 21)),
        ("Dec 18", MONDAY, dt.date(2026, 12, 18)),
    ],
)
def test_relative_date_resolves_against_the_note_day(
    text: str, day: dt.date, expected: dt.date
) -> None:
    assert due(text, day) == expected


def test_a_weekday_in_the_past_is_not_a_due_date() -> None:
    found = find_due_dates("上周三拜访过，下周三再去", MONDAY)
    assert [d.day for d in found] == [dt.date(2026, 12, 16)]
    assert due("met them last Monday and yesterday", MONDAY) is None


def test_a_day_that_does_not_exist_is_not_invented() -> None:
    assert due("2月30日前", MONDAY) is None
    assert due("2026-02-30", MONDAY) is None


@given(st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2035, 12, 31)))
def test_coming_weekday_is_within_the_next_seven_days_and_on_that_weekday(day: dt.date) -> None:
    for index, name in enumerate("一二三四五六日"):
        resolved = due(f"周{name}前", day)
        assert resolved is not None
        assert resolved.weekday() == index
        assert 1 <= (resolved - day).days <= 7


@given(st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2035, 12, 31)))
def test_month_end_is_the_last_day_of_the_note_month(day: dt.date) -> None:
    resolved = due("月底前", day)
    assert resolved is not None
    assert resolved.month == day.month
    assert (resolved + dt.timedelta(days=1)).day == 1
