"""Working calendar: China's holidays and swapped weekends, the fallback, admin overrides."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from salesradar.crm.calendar import WorkingCalendar, coverage_warning, parse_working_hours
from salesradar.crm.choices import LeadSource
from salesradar.crm.models import SourcePolicy, WorkingDayOverride
from salesradar.crm.pool import claim
from tests.crm.factories import LeadFactory
from tests.factories import UserFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)


def test_a_swapped_working_saturday_counts_and_a_national_holiday_does_not():
    calendar = WorkingCalendar()

    assert calendar.is_working_day(dt.date(2026, 2, 14))  # Saturday before Spring Festival
    assert not calendar.is_working_day(dt.date(2026, 10, 1))  # National Day
    assert calendar.warnings == set()


def test_a_year_without_official_data_falls_back_to_weekends_and_holidays_with_a_warning():
    calendar = WorkingCalendar()

    assert not calendar.is_working_day(dt.date(2027, 10, 1))  # holidays.China knows it
    assert not calendar.is_working_day(dt.date(2027, 1, 2))  # a Saturday
    assert calendar.is_working_day(dt.date(2027, 3, 3))
    assert len(calendar.warnings) == 1
    assert "2027" in next(iter(calendar.warnings))
    assert coverage_warning(2026) is None


def test_admin_override_beats_the_package():
    calendar = WorkingCalendar(overrides={dt.date(2027, 2, 20): True, dt.date(2026, 3, 4): False})

    assert calendar.is_working_day(dt.date(2027, 2, 20))  # a Saturday made a working day
    assert not calendar.is_working_day(dt.date(2026, 3, 4))


def test_24_working_hours_from_friday_afternoon_skip_the_weekend():
    calendar = WorkingCalendar()

    # Friday 2026-03-06 15:00: 3 h that day, 9 h Monday, 9 h Tuesday, 3 h Wednesday
    due = calendar.add_working_hours(at(2026, 3, 6, 15, 0), 24)

    assert due == at(2026, 3, 11, 12, 0)


def test_working_hours_skip_the_spring_festival_and_count_the_swapped_saturday():
    calendar = WorkingCalendar()

    # Friday 2026-02-13 17:00: 1 h, then Saturday 02-14 is a working day (9 h)
    due = calendar.add_working_hours(at(2026, 2, 13, 17, 0), 10)

    assert due == at(2026, 2, 14, 18, 0)


def test_malformed_working_hours_are_refused_with_the_value():
    with pytest.raises(ValueError, match="9-6"):
        parse_working_hours("9-6")
    with pytest.raises(ValueError, match="end before"):
        parse_working_hours("18:00-09:00")


@pytest.mark.django_db
def test_a_source_with_working_hours_gets_its_deadline_on_the_calendar():
    SourcePolicy.objects.create(
        source=LeadSource.EXHIBITION, response_hours=4, working_hours_only=True
    )
    WorkingDayOverride.objects.create(day=dt.date(2026, 3, 9), is_working_day=False)
    lead = LeadFactory(source=LeadSource.EXHIBITION)

    claim(lead, by=UserFactory(), at=at(2026, 3, 6, 16, 0))

    # 2 h on Friday, Monday overridden as a day off, 2 h on Tuesday
    assert lead.response_due_at == at(2026, 3, 10, 11, 0)


@pytest.mark.django_db
def test_leads_calendar_command_warns_about_an_uncovered_year(capsys):
    from django.core.management import call_command

    call_command("leads", "calendar", "--year", "2027")
    uncovered = capsys.readouterr().out
    call_command("leads", "calendar", "--year", "2025")
    covered = capsys.readouterr().out

    assert "no official data for 2027" in uncovered
    assert "2025: official holidays and swapped working days known" in covered
