"""Turn the cell values people really put in spreadsheets into typed values.

Every parser takes what a CSV (a string) or an xlsx cell (str, int, float, date, datetime,
bool) holds and returns a Python value, or raises :class:`CellError` with a reason a person
can act on. An empty cell is ``None`` for every parser; "required" is the schema's business.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from salesradar.core.spreadsheet import unguard_cell

EXCEL_EPOCH = dt.date(1899, 12, 30)  # serial 1 = 1900-01-01, with Excel's 1900 leap-year bug
# Serials between these are read as dates (1954-10-03 .. 2119-01-05); other numbers are not.
EXCEL_SERIAL_RANGE = (20_000, 80_000)
UNIT_MULTIPLIERS = {"万": Decimal(10_000), "萬": Decimal(10_000), "亿": Decimal(10**8)}
UNIT_MULTIPLIERS["億"] = UNIT_MULTIPLIERS["亿"]
UNIT_MULTIPLIERS["千"] = Decimal(1_000)
MONEY_PLACES = Decimal("0.01")
EMPTY_MARKERS = frozenset({"", "-", "--", "—", "n/a", "N/A", "null", "NULL", "None", "无"})
TRUE_WORDS = frozenset({"1", "true", "yes", "y", "是", "有", "√", "x", "t"})
FALSE_WORDS = frozenset({"0", "false", "no", "n", "否", "无", "f"})


class CellError(ValueError):
    """A cell that cannot be read as the column's type; the message is shown to the user."""


def normalize_text(value: Any) -> str:
    """Return the cell as text: full-width letters and digits folded, spaces trimmed."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    # an apostrophe our own exports put before a formula-like cell is not part of the value
    return unguard_cell(unicodedata.normalize("NFKC", str(value)).strip())


def is_empty(value: Any) -> bool:
    return value is None or normalize_text(value) in EMPTY_MARKERS


_YMD = re.compile(
    r"^(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?"
    r"(?:[ T]+(?P<H>\d{1,2})[:时](?P<M>\d{1,2})(?:[:分](?P<S>\d{1,2})(?:\.\d+)?)?秒?)?"
    r"\s*(?P<tz>Z|[+-]\d{2}:?\d{2})?$"
)
_DMY_OR_MDY = re.compile(
    r"^(?P<a>\d{1,2})[/.-](?P<b>\d{1,2})[/.-](?P<y>\d{4}|\d{2})"
    r"(?:\s+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?\s*(?P<ampm>[AaPp][Mm])?)?$"
)
_COMPACT = re.compile(r"^(?P<y>(19|20)\d{2})(?P<m>\d{2})(?P<d>\d{2})$")


def _date_from_serial(serial: float) -> dt.datetime:
    low, high = EXCEL_SERIAL_RANGE
    if not low <= serial <= high:
        raise CellError(_("{value} is not a date").format(value=serial))
    return dt.datetime.combine(EXCEL_EPOCH, dt.time()) + dt.timedelta(days=serial)


DAY_FIRST = "dmy"
MONTH_FIRST = "mdy"


def day_month_evidence(value: Any) -> str | None:
    """Tell what a cell says about the file's day/month order.

    ``"dmy"`` or ``"mdy"`` when the cell can only be read one way (25/03/2024, 03/25/2024),
    ``"ambiguous"`` when both readings are dates (05.03.2024), None when the cell is not
    written day and month first in some order.
    """
    if not isinstance(value, str):
        return None
    match = _DMY_OR_MDY.match(normalize_text(value))
    if not match:
        return None
    first, second = int(match["a"]), int(match["b"])
    if first > 12 and second <= 12:
        return DAY_FIRST
    if second > 12 and first <= 12:
        return MONTH_FIRST
    if first == second or first > 12:
        return None  # 03/03 reads the same both ways; 13/13 is not a date at all
    return "ambiguous"


def _naive_datetime(
    value: Any, order: str | None = None
) -> tuple[dt.datetime, bool, dt.tzinfo | None]:
    """Return (datetime, has_time, tzinfo) for any accepted spelling of a date or time.

    ``order`` (``"dmy"`` or ``"mdy"``) reads 05.03.2024 and 02/03/24 as the file's order
    says; without it, month first (the US exports) unless the first number is over 12.
    """
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None), True, value.tzinfo
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time()), False, None
    if isinstance(value, bool):
        raise CellError(_("{value} is not a date").format(value=value))
    if isinstance(value, int | float):
        serial = float(value)
        return _date_from_serial(serial), not serial.is_integer(), None
    text = normalize_text(value)
    match = _YMD.match(text)
    if match:
        parts = match.groupdict()
        tzinfo: dt.tzinfo | None = None
        if parts["tz"]:
            tzinfo = dt.datetime.strptime(parts["tz"].replace("Z", "+0000"), "%z").tzinfo
        try:
            result = dt.datetime(
                int(parts["y"]),
                int(parts["m"]),
                int(parts["d"]),
                int(parts["H"] or 0),
                int(parts["M"] or 0),
                int(parts["S"] or 0),
            )
        except ValueError as error:
            raise CellError(_("{value} is not a valid date").format(value=text)) from error
        return result, parts["H"] is not None, tzinfo
    match = _DMY_OR_MDY.match(text)
    if match:
        parts = match.groupdict()
        first, second = int(parts["a"]), int(parts["b"])
        if order == DAY_FIRST:
            day, month = first, second
        elif order == MONTH_FIRST:
            month, day = first, second
        else:
            # Month first (the US exports of Salesforce, HubSpot, Zoho) unless that cannot be.
            month, day = (first, second) if first <= 12 else (second, first)
        year = int(parts["y"])
        if len(parts["y"]) == 2:
            year += 2000 if year < 70 else 1900
        hour = int(parts["H"] or 0)
        if parts["ampm"]:
            hour = hour % 12 + (12 if parts["ampm"].lower() == "pm" else 0)
        try:
            result = dt.datetime(year, month, day, hour, int(parts["M"] or 0), int(parts["S"] or 0))
        except ValueError as error:
            raise CellError(_("{value} is not a valid date").format(value=text)) from error
        return result, parts["H"] is not None, None
    match = _COMPACT.match(text)
    if match:
        try:
            result = dt.datetime(int(match["y"]), int(match["m"]), int(match["d"]))
        except ValueError as error:
            raise CellError(_("{value} is not a valid date").format(value=text)) from error
        return result, False, None
    try:
        return _date_from_serial(float(text)), False, None
    except ValueError:
        pass
    raise CellError(
        _("{value} is not a date (use 2026-03-01, 2026/3/1 or 2026年3月1日)").format(value=text)
    )


def parse_date(value: Any, order: str | None = None) -> dt.date | None:
    """Read a date: 2026-03-01, 2026/3/1, 2026.3.1, 2026年3月1日, 3/1/2026, 20260301, 45352."""
    if is_empty(value):
        return None
    moment, _has_time, _tz = _naive_datetime(value, order)
    return moment.date()


def parse_datetime(value: Any, *, zone: dt.tzinfo, order: str | None = None) -> dt.datetime | None:
    """Read a date or date-time; a time without a zone is taken to be in ``zone``."""
    if is_empty(value):
        return None
    moment, _has_time, tzinfo = _naive_datetime(value, order)
    if tzinfo is not None:
        return moment.replace(tzinfo=tzinfo)
    return moment.replace(tzinfo=zone)


# What an amount cell may carry besides the number, and the currency it names. "$" alone is
# read as USD: the exports that write it (Salesforce, HubSpot, Zoho in the US) mean dollars.
CURRENCY_MARKS = {
    "US$": "USD",
    "HK$": "HKD",
    "S$": "SGD",
    "$": "USD",
    "¥": "CNY",
    "元": "CNY",
    "圆": "CNY",
    "人民币": "CNY",
    "RMB": "CNY",
    "円": "JPY",
    "€": "EUR",
    "£": "GBP",
    "₹": "INR",
    "RS.": "INR",
    "RS": "INR",
}
_CODE = re.compile(r"(?<![A-Z])([A-Z]{3})(?![A-Z])")
_MARKS = re.compile(
    "|".join(re.escape(mark) for mark in sorted(CURRENCY_MARKS, key=len, reverse=True))
)
_THOUSANDS_COMMA = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?$")
_INDIAN_GROUPING = re.compile(r"^\d{1,2}(,\d{2})*,\d{3}(\.\d+)?$")
_THOUSANDS_DOT = re.compile(r"^\d{1,3}(\.\d{3}){2,}$")


def parse_money(value: Any) -> tuple[Decimal | None, str | None]:
    """Read an amount and the currency the cell itself names, if any.

    ``$12,000`` is (12000, USD), ``12.000,50 EUR`` (12000.50, EUR), ``₹ 5,00,000.00``
    (500000, INR), ``12.5万`` (125000, None). The decimal separator is the last of ``.`` and
    ``,`` when both appear; a lone comma followed by one or two digits is a decimal comma.
    """
    if is_empty(value) or not isinstance(value, str):
        return parse_amount(value), None
    text = normalize_text(value).upper().replace("￥", "¥")
    found: set[str] = set()
    for mark in _MARKS.findall(text):
        found.add(CURRENCY_MARKS[mark])
    text = _MARKS.sub(" ", text)
    for code in _CODE.findall(text):
        found.add(code)
    text = _CODE.sub(" ", text)
    if len(found) > 1:
        raise CellError(
            _("{value} names more than one currency").format(value=normalize_text(value))
        )
    return parse_amount(_decimal_point(text, original=value)), (found.pop() if found else None)


def _decimal_point(text: str, *, original: Any) -> str:
    """Rewrite the number with ``.`` as its decimal point and no grouping."""
    text = re.sub(r"[\s_']", "", text)
    units = ""
    while text and text[-1] in UNIT_MULTIPLIERS:
        units = text[-1] + units
        text = text[:-1]
    if "," in text and "." in text:
        if text.rfind(",") > text.rfind("."):
            text = text.replace(".", "").replace(",", ".")
        else:
            text = text.replace(",", "")
    elif "," in text:
        if _THOUSANDS_COMMA.match(text) or _INDIAN_GROUPING.match(text):
            text = text.replace(",", "")
        elif text.count(",") == 1 and re.match(r"^\d+,\d{1,2}$", text):
            text = text.replace(",", ".")
        else:
            raise CellError(
                _("{value} is not an amount (use 1234.56, 1,234.56 or 12.5万)").format(
                    value=normalize_text(original)
                )
            )
    elif _THOUSANDS_DOT.match(text):
        text = text.replace(".", "")
    return text + units


_AMOUNT_NOISE = re.compile(r"[\s,_'¥￥$€£₹元圆円]|RMB|CNY|USD|EUR|HKD|JPY|GBP|INR", re.IGNORECASE)


def parse_amount(value: Any) -> Decimal | None:
    """Read money: 1,234,567.89, ¥1,234, 12.5万, 1.2亿, 3万元; negative amounts are refused."""
    if is_empty(value):
        return None
    if isinstance(value, bool):
        raise CellError(_("{value} is not an amount").format(value=value))
    if isinstance(value, int | Decimal):
        amount = Decimal(value)
    elif isinstance(value, float):
        amount = Decimal(repr(value))
    else:
        text = _AMOUNT_NOISE.sub("", normalize_text(value))
        multiplier = Decimal(1)
        while text and text[-1] in UNIT_MULTIPLIERS:
            multiplier *= UNIT_MULTIPLIERS[text[-1]]
            text = text[:-1]
        try:
            amount = Decimal(text) * multiplier
        except InvalidOperation as error:
            raise CellError(
                _("{value} is not an amount (use 1234.56, 1,234.56 or 12.5万)").format(
                    value=normalize_text(value)
                )
            ) from error
    if not amount.is_finite():
        raise CellError(_("{value} is not an amount").format(value=value))
    if amount < 0:
        raise CellError(_("{value} is negative; amounts must be zero or more").format(value=value))
    if amount >= Decimal(10) ** 16:
        raise CellError(_("{value} is too large for an amount").format(value=value))
    return amount.quantize(MONEY_PLACES)


def parse_int(value: Any) -> int | None:
    """Read a whole number of zero or more (a duration, a version)."""
    if is_empty(value):
        return None
    amount = parse_amount(value)
    if amount is None or amount != amount.to_integral_value():
        raise CellError(_("{value} is not a whole number").format(value=value))
    return int(amount)


def parse_bool(value: Any) -> bool | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    text = normalize_text(value).lower()
    if text == "":
        return None
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise CellError(_("{value} is not yes or no").format(value=normalize_text(value)))
