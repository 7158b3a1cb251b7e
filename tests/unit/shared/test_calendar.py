"""Business days and the monitor's deadlines."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clearwatch.domain.shared.calendar import (
    SHANGHAI,
    BusinessCalendar,
    explanation_deadline_at,
    package_deadline_at,
)

NATIONAL_DAY = [date(2026, 10, d) for d in range(1, 8)]
calendar = BusinessCalendar.with_holidays(NATIONAL_DAY)


def test_weekends_and_holidays_are_not_business_days() -> None:
    assert calendar.is_business_day(date(2026, 11, 20))  # Friday
    assert not calendar.is_business_day(date(2026, 11, 21))  # Saturday
    assert not calendar.is_business_day(date(2026, 10, 1))  # National Day


def test_next_business_day_skips_the_weekend() -> None:
    assert calendar.next_business_day(date(2026, 11, 20)) == date(2026, 11, 23)


def test_next_business_day_skips_a_holiday_week() -> None:
    assert calendar.next_business_day(date(2026, 9, 30)) == date(2026, 10, 8)


def test_package_deadline_is_nine_oclock_shanghai_of_the_next_business_day() -> None:
    deadline = package_deadline_at(calendar, date(2026, 11, 20))
    assert deadline == datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)
    assert deadline.utcoffset() == timedelta(hours=8)


def test_explanation_deadline_is_five_pm_of_the_second_business_day_after() -> None:
    assert explanation_deadline_at(calendar, date(2026, 11, 19)) == datetime(
        2026, 11, 23, 17, 0, tzinfo=SHANGHAI
    )
    assert explanation_deadline_at(calendar, date(2026, 9, 30)) == datetime(
        2026, 10, 9, 17, 0, tzinfo=SHANGHAI
    )


def test_previous_business_day_skips_back_over_the_weekend() -> None:
    assert calendar.previous_business_day(date(2026, 11, 23)) == date(2026, 11, 20)


def test_business_days_between_counts_inclusively() -> None:
    assert len(calendar.business_days_between(date(2026, 11, 16), date(2026, 11, 22))) == 5


def test_adding_zero_business_days_is_refused() -> None:
    with pytest.raises(ValueError):
        calendar.add_business_days(date(2026, 11, 20), 0)


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)))
def test_next_business_day_is_later_and_open(day: date) -> None:
    following = calendar.next_business_day(day)
    assert following > day
    assert calendar.is_business_day(following)
    assert all(
        not calendar.is_business_day(day + timedelta(days=n))
        for n in range(1, (following - day).days)
    )


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)))
def test_deadlines_are_in_shanghai_time(day: date) -> None:
    deadline = calendar.deadline_at(day, business_days_after=1, at=time(9))
    assert deadline.tzinfo is SHANGHAI and deadline.time() == time(9)
