"""Reporting categories: lateness is strictly after the deadline; reminders name date and kind."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from clearwatch.domain.monitor.reporting import ReportingCategory, is_late, reminder_text
from clearwatch.domain.shared.calendar import SHANGHAI, BusinessCalendar, package_deadline_at


def test_a_friday_package_is_due_monday_nine_and_late_one_second_after() -> None:
    deadline = package_deadline_at(BusinessCalendar(), date(2026, 11, 20))
    assert deadline == datetime(2026, 11, 23, 9, tzinfo=SHANGHAI)
    assert not is_late(deadline, deadline)
    assert is_late(deadline + timedelta(seconds=1), deadline)


def test_a_holiday_pushes_the_deadline_to_the_next_business_day() -> None:
    calendar = BusinessCalendar.with_holidays([date(2026, 11, 23)])
    deadline = package_deadline_at(calendar, date(2026, 11, 20))
    assert deadline == datetime(2026, 11, 24, 9, tzinfo=SHANGHAI)


def test_the_reminder_names_the_date_and_package_kind() -> None:
    text = reminder_text(ReportingCategory.LATE, date(2026, 11, 20), "bank_daily")
    assert "口头提醒" in text and "2026-11-20" in text and "bank_daily" in text
