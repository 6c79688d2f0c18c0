"""Resolve the due dates people write in notes against the note's own date.

"周三前" written on Monday 7 December means Wednesday 9 December, "下周一" the Monday of the
following week, "月底" the last day of the note's month, "3天内" three days on. English
phrases ("by Wednesday", "next Monday", "end of the month", "within 3 days") resolve the
same way. Weeks start on Monday, as on a Chinese calendar.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

_CN_DIGITS = {
    "零": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
    "十": 10,
}
_CN_WEEKDAYS = {
    "一": 0,
    "二": 1,
    "三": 2,
    "四": 3,
    "五": 4,
    "六": 5,
    "日": 6,
    "天": 6,
    "1": 0,
    "2": 1,
    "3": 2,
    "4": 3,
    "5": 4,
    "6": 5,
    "7": 6,
}
_EN_WEEKDAYS = {
    name: index
    for index, names in enumerate(
        [
            ("monday", "mon"),
            ("tuesday", "tue", "tues"),
            ("wednesday", "wed"),
            ("thursday", "thu", "thur", "thurs"),
            ("friday", "fri"),
            ("saturday", "sat"),
            ("sunday", "sun"),
        ]
    )
    for name in names
}
_EN_NUMBERS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "a": 1,
    "an": 1,
    "a couple of": 2,
}
_EN_MONTHS = {
    name: index
    for index, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}


@dataclass(frozen=True)
class DueDate:
    """A resolved due date and the words it was read from."""

    day: dt.date
    phrase: str
    start: int


def _cn_number(text: str) -> int | None:
    """Read a small number written in digits or Chinese numerals (一 to 九十九)."""
    if text.isdigit():
        return int(text)
    if not text or any(char not in _CN_DIGITS for char in text):
        return None
    if text == "十":
        return 10
    if "十" in text:
        tens, _sep, units = text.partition("十")
        return (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[units] if units else 0)
    return _CN_DIGITS[text] if len(text) == 1 else None


def _en_number(text: str) -> int | None:
    text = text.strip().lower()
    if text.isdigit():
        return int(text)
    return _EN_NUMBERS.get(text)


def _coming(weekday: int, after: dt.date) -> dt.date:
    """Return the next ``weekday`` strictly after ``after``."""
    return after + dt.timedelta(days=(weekday - after.weekday() - 1) % 7 + 1)


def _in_week(weekday: int, note_day: dt.date, weeks_ahead: int) -> dt.date:
    monday = note_day - dt.timedelta(days=note_day.weekday())
    return monday + dt.timedelta(days=7 * weeks_ahead + weekday)


def _month_end(year: int, month: int) -> dt.date:
    while month > 12:
        year, month = year + 1, month - 12
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def _month_start(year: int, month: int) -> dt.date:
    while month > 12:
        year, month = year + 1, month - 12
    return dt.date(year, month, 1)


def _next_date(month: int, day: int, note_day: dt.date) -> dt.date | None:
    """Return month/day in the note's year, or next year's when it is already past."""
    for year in (note_day.year, note_day.year + 1):
        try:
            candidate = dt.date(year, month, day)
        except ValueError:
            return None
        if candidate >= note_day:
            return candidate
    return None


def _add_working_days(start: dt.date, count: int) -> dt.date:
    day = start
    while count > 0:
        day += dt.timedelta(days=1)
        if day.weekday() < 5:
            count -= 1
    return day


_NUM = r"(\d{1,3}|[一二两三四五六七八九十]{1,3})"
_CN_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(
            r"上上?(?:个)?(?:周|星期|礼拜)[一二三四五六日天1-7]?|上(?:个)?月|昨天|前天|昨日|去年"
        ),
        "past",
    ),
    (re.compile(r"(\d{4})[-/年.](\d{1,2})[-/月.](\d{1,2})[日号]?"), "ymd"),
    (
        re.compile(
            r"(\d{1,2}|[一二三四五六七八九十]{1,3})月(\d{1,2}|[一二三四五六七八九十]{1,3})[日号]"
        ),
        "md",
    ),
    (re.compile(r"下下(?:周|星期|礼拜)([一二三四五六日天1-7])"), "week2"),
    (re.compile(r"下(?:个)?(?:周|星期|礼拜)([一二三四五六日天1-7])"), "week1"),
    (re.compile(r"(?:本|这|这个)(?:周|星期|礼拜)([一二三四五六日天1-7])"), "week0"),
    (re.compile(r"(?:周|星期|礼拜)([一二三四五六日天1-7])"), "coming"),
    (re.compile(r"大后天"), "plus3"),
    (re.compile(r"后天"), "plus2"),
    (re.compile(r"明天|明日|明早|明天上午|明天下午"), "plus1"),
    (re.compile(r"今天|今日|今晚|当天"), "plus0"),
    (re.compile(_NUM + r"个?工作日(?:内|之内|以内)?"), "workdays"),
    (re.compile(_NUM + r"(?:天|日)(?:内|之内|以内|后)"), "days"),
    (re.compile(_NUM + r"(?:个)?(?:周|星期|礼拜)(?:内|之内|以内|后)"), "weeks"),
    (re.compile(r"下(?:个)?月(?:底|末)"), "nextmonthend"),
    (re.compile(r"下(?:个)?月(?:初)"), "nextmonthstart"),
    (re.compile(r"(?:本月|这个月|月)(?:底|末)"), "monthend"),
    (re.compile(r"(?:年底|年末|今年底)"), "yearend"),
    (re.compile(r"下(?:个)?(?:周|星期|礼拜)"), "nextweek"),
    (re.compile(r"(?:本周|这周|这个星期|本星期)(?:内|之内)?"), "thisweek"),
    (re.compile(r"(\d{1,2})[日号](?:前|之前|以前)"), "dom"),
]
_EN_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(
            r"\b(?:last\s+(?:week|month|year|" + "|".join(_EN_WEEKDAYS) + r")|yesterday|ago)\b",
            re.I,
        ),
        "past",
    ),
    (re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b"), "ymd"),
    (
        re.compile(
            r"\b("
            + "|".join(sorted(_EN_MONTHS, key=len, reverse=True))
            + r")\.?\s+(\d{1,2})(?:st|nd|rd|th)?\b",
            re.I,
        ),
        "en_md",
    ),
    (
        re.compile(
            r"\b(\d{1,2})(?:st|nd|rd|th)?\s+("
            + "|".join(sorted(_EN_MONTHS, key=len, reverse=True))
            + r")\b",
            re.I,
        ),
        "en_dm",
    ),
    (re.compile(r"\bthe\s+day\s+after\s+tomorrow\b", re.I), "plus2"),
    (re.compile(r"\b(?:tomorrow|tmrw|tmr)\b", re.I), "plus1"),
    (re.compile(r"\b(?:today|tonight|end of (?:the )?day|eod)\b", re.I), "plus0"),
    (re.compile(r"\bnext\s+week'?s?\s+(" + "|".join(_EN_WEEKDAYS) + r")\b", re.I), "en_wkday1"),
    (re.compile(r"\bnext\s+(" + "|".join(_EN_WEEKDAYS) + r")\b", re.I), "en_wkday1"),
    (re.compile(r"\bthis\s+(" + "|".join(_EN_WEEKDAYS) + r")\b", re.I), "en_wkday0"),
    (
        re.compile(
            r"\b(?:by|before|on|until|till|due)\s+(" + "|".join(_EN_WEEKDAYS) + r")\b", re.I
        ),
        "en_coming",
    ),
    (
        re.compile(
            r"\b(\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten|a)\s+(?:business|working)\s+days?\b",
            re.I,
        ),
        "en_workdays",
    ),
    (
        re.compile(
            r"\b(?:within|in|inside)\s+"
            r"(\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten|a couple of)\s+days?\b",
            re.I,
        ),
        "en_days",
    ),
    (
        re.compile(
            r"\b(?:within|in|inside)\s+(\d{1,2}|one|two|three|four|a couple of|a)\s+weeks?\b", re.I
        ),
        "en_weeks",
    ),
    (re.compile(r"\b(?:end of next month|next month'?s end)\b", re.I), "nextmonthend"),
    (
        re.compile(r"\b(?:early next month|beginning of next month|start of next month)\b", re.I),
        "nextmonthstart",
    ),
    (re.compile(r"\b(?:end of (?:the |this )?month|month[- ]end|eom)\b", re.I), "monthend"),
    (re.compile(r"\b(?:end of (?:the |this )?year|year[- ]end)\b", re.I), "yearend"),
    (re.compile(r"\bnext\s+week\b", re.I), "nextweek"),
    (re.compile(r"\b(?:this\s+week|end of (?:the )?week)\b", re.I), "thisweek"),
    (re.compile(r"\b(" + "|".join(_EN_WEEKDAYS) + r")\b", re.I), "en_coming"),
]


def _resolve(kind: str, match: re.Match[str], note_day: dt.date) -> dt.date | None:
    groups = match.groups()
    if kind == "ymd":
        try:
            return dt.date(int(groups[0]), int(groups[1]), int(groups[2]))
        except ValueError:
            return None
    if kind == "md":
        month, day = _cn_number(groups[0]), _cn_number(groups[1])
        return _next_date(month, day, note_day) if month and day else None
    if kind in {"en_md", "en_dm"}:
        month_name, day_text = (groups[0], groups[1]) if kind == "en_md" else (groups[1], groups[0])
        return _next_date(_EN_MONTHS[month_name.lower()], int(day_text), note_day)
    if kind.startswith("week") and kind[4:].isdigit():
        return _in_week(_CN_WEEKDAYS[groups[0]], note_day, int(kind[4:]))
    if kind == "coming":
        return _coming(_CN_WEEKDAYS[groups[0]], note_day)
    if kind.startswith("en_wkday"):
        return _in_week(_EN_WEEKDAYS[groups[0].lower()], note_day, int(kind[-1]))
    if kind == "en_coming":
        return _coming(_EN_WEEKDAYS[groups[0].lower()], note_day)
    if kind.startswith("plus"):
        return note_day + dt.timedelta(days=int(kind[4:]))
    if kind in {"workdays", "days", "weeks"}:
        count = _cn_number(groups[0])
    elif kind in {"en_workdays", "en_days", "en_weeks"}:
        count = _en_number(groups[0])
    else:
        count = None
    if kind in {"workdays", "en_workdays"} and count:
        return _add_working_days(note_day, count)
    if kind in {"days", "en_days"} and count:
        return note_day + dt.timedelta(days=count)
    if kind in {"weeks", "en_weeks"} and count:
        return note_day + dt.timedelta(weeks=count)
    if kind == "monthend":
        return _month_end(note_day.year, note_day.month)
    if kind == "nextmonthend":
        return _month_end(note_day.year, note_day.month + 1)
    if kind == "nextmonthstart":
        return _month_start(note_day.year, note_day.month + 1)
    if kind == "yearend":
        return dt.date(note_day.year, 12, 31)
    if kind == "nextweek":
        return _in_week(4, note_day, 1)
    if kind == "thisweek":
        friday = _in_week(4, note_day, 0)
        return friday if friday >= note_day else _in_week(6, note_day, 0)
    if kind == "dom":
        day = int(groups[0])
        for month_offset in (0, 1):
            year, month = note_day.year, note_day.month + month_offset
            if month > 12:
                year, month = year + 1, 1
            try:
                candidate = dt.date(year, month, day)
            except ValueError:
                continue
            if candidate >= note_day:
                return candidate
    return None


def find_due_dates(text: str, note_day: dt.date) -> list[DueDate]:
    """Return every date phrase in ``text`` resolved against ``note_day``, in reading order.

    Where phrases overlap, the one listed first among the patterns (the more specific:
    "下周三" before "周三") wins; phrases about the past ("上周三", "yesterday") are not due
    dates and hide the weekday inside them.
    """
    taken: list[tuple[int, int]] = []
    found: list[DueDate] = []
    for pattern, kind in _CN_PATTERNS + _EN_PATTERNS:
        for match in pattern.finditer(text):
            start, end = match.span()
            if any(start < other_end and other_start < end for other_start, other_end in taken):
                continue
            if kind == "past":
                taken.append((start, end))
                continue
            day = _resolve(kind, match, note_day)
            taken.append((start, end))  # an impossible date ("2月30日") hides its parts too
            if day is None:
                continue
            found.append(DueDate(day=day, phrase=match.group(0), start=start))
    return sorted(found, key=lambda due: due.start)
