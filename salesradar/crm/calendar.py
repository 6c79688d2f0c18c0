"""The working calendar for response deadlines: China's holidays and swapped working weekends.

Source of truth, in order: an admin's ``WorkingDayOverride`` for the day; the
``chinese-calendar`` package (holidays AND the weekends made working days) for the years it
covers; for a year it does not cover yet, weekends plus the days off from ``holidays.China``
(which does not know the swapped working weekends) with a warning that says so. Upgrading
either package extends the calendar without a code change: coverage is found by asking the
package, never from a hand-kept list of years.

Working hours are ``SALESRADAR_WORKING_HOURS`` (default ``09:00-18:00``) in the
organisation's time zone.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from functools import lru_cache
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils.translation import gettext as _

from salesradar.core import env

logger = logging.getLogger(__name__)


def _package_workday(day: dt.date) -> bool | None:
    """Ask chinese-calendar; None when it has no data for the year."""
    import chinese_calendar

    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return None


@lru_cache(maxsize=64)
def _fallback_holidays(year: int) -> frozenset[dt.date]:
    import holidays

    return frozenset(holidays.China(years=year).keys())


@lru_cache(maxsize=64)
def year_is_covered(year: int) -> bool:
    """Tell whether chinese-calendar knows ``year`` (holidays and swapped working days)."""
    return _package_workday(dt.date(year, 6, 1)) is not None


def coverage_warning(year: int) -> str | None:
    """Return the warning to show for ``year``, or None when the calendar is exact."""
    if year_is_covered(year):
        return None
    return _(
        "The working calendar has no official data for {year}: it counts weekends and the "
        "public holidays it knows as days off, but not the weekend days China swaps to working "
        "days. Enter those as working-day overrides in the admin, or upgrade chinese-calendar."
    ).format(year=year)


def parse_working_hours(text: str) -> tuple[dt.time, dt.time]:
    """Parse "09:00-18:00"; a malformed value is refused with the value in the message."""
    try:
        start_text, end_text = text.split("-")
        start, end = (
            dt.time.fromisoformat(start_text.strip()),
            dt.time.fromisoformat(end_text.strip()),
        )
    except ValueError:
        raise ValueError(
            _("Working hours {value!r} must look like 09:00-18:00.").format(value=text)
        ) from None
    if end <= start:
        raise ValueError(_("Working hours {value!r} end before they start.").format(value=text))
    return start, end


@dataclass
class WorkingCalendar:
    """Working days and hours; build one per batch with ``load()`` (one query for overrides)."""

    overrides: dict[dt.date, bool] = field(default_factory=dict)
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo(settings.TIME_ZONE))
    start: dt.time = dt.time(9, 0)
    end: dt.time = dt.time(18, 0)
    warnings: set[str] = field(default_factory=set)
    _cache: dict[dt.date, bool] = field(default_factory=dict)

    @classmethod
    def load(cls) -> WorkingCalendar:
        from salesradar.crm.models import WorkingDayOverride

        start, end = parse_working_hours(env.get("WORKING_HOURS", "09:00-18:00"))
        overrides = dict(WorkingDayOverride.objects.values_list("day", "is_working_day"))
        return cls(overrides=overrides, start=start, end=end)

    def is_working_day(self, day: dt.date) -> bool:
        cached = self._cache.get(day)
        if cached is not None:
            return cached
        if day in self.overrides:
            answer = self.overrides[day]
        else:
            known = _package_workday(day)
            if known is None:
                warning = coverage_warning(day.year)
                if warning and warning not in self.warnings:
                    self.warnings.add(warning)
                    logger.warning(warning)
                answer = day.weekday() < 5 and day not in _fallback_holidays(day.year)
            else:
                answer = known
        self._cache[day] = answer
        return answer

    def add_working_hours(self, start: dt.datetime, hours: float) -> dt.datetime:
        """Return the moment ``hours`` working hours after ``start`` (aware in, aware out)."""
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        remaining = dt.timedelta(hours=hours)
        moment = start.astimezone(self.zone)
        for _day in range(3660):  # ten years of days: a calendar with no working day at all
            day = moment.date()
            if self.is_working_day(day):
                opens = dt.datetime.combine(day, self.start, self.zone)
                closes = dt.datetime.combine(day, self.end, self.zone)
                begin = max(moment, opens)
                if begin < closes:
                    available = closes - begin
                    if remaining <= available:
                        return (begin + remaining).astimezone(dt.UTC)
                    remaining -= available
            next_day = day + dt.timedelta(days=1)
            moment = dt.datetime.combine(next_day, dt.time(0, 0), self.zone)
        raise ValueError(_("The working calendar has no working day in the next ten years."))

    def deadline(
        self, start: dt.datetime, hours: float, *, working_hours_only: bool
    ) -> dt.datetime:
        """Return the response deadline: wall-clock or working hours after ``start``."""
        if not working_hours_only:
            return start + dt.timedelta(hours=hours)
        return self.add_working_hours(start, hours)
