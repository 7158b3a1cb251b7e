"""Business days and deadlines in Asia/Shanghai."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
_SATURDAY = 5


@dataclass(frozen=True)
class BusinessCalendar:
    """Weekends and listed holidays are closed; every other day is a business day."""

    holidays: frozenset[date] = field(default_factory=frozenset)

    @classmethod
    def with_holidays(cls, holidays: Iterable[date]) -> BusinessCalendar:
        return cls(frozenset(holidays))

    def is_business_day(self, day: date) -> bool:
        return day.weekday() < _SATURDAY and day not in self.holidays

    def next_business_day(self, day: date) -> date:
        """The first business day strictly after `day`."""
        return self.add_business_days(day, 1)

    def previous_business_day(self, day: date) -> date:
        """The last business day strictly before `day`."""
        candidate = day - timedelta(days=1)
        while not self.is_business_day(candidate):
            candidate -= timedelta(days=1)
        return candidate

    def add_business_days(self, day: date, count: int) -> date:
        """The `count`-th business day strictly after `day` (count ≥ 1)."""
        if count < 1:
            raise ValueError("count must be at least 1")
        candidate = day
        for _ in range(count):
            candidate += timedelta(days=1)
            while not self.is_business_day(candidate):
                candidate += timedelta(days=1)
        return candidate

    def deadline_at(self, day: date, *, business_days_after: int, at: time) -> datetime:
        """`at` o'clock Asia/Shanghai on the n-th business day after `day`.

        `deadline_at(D, business_days_after=1, at=time(9))` is the package deadline;
        `deadline_at(D, business_days_after=2, at=time(17))` is the explanation deadline.
        """
        target = self.add_business_days(day, business_days_after)
        return datetime.combine(target, at, tzinfo=SHANGHAI)

    def business_days_between(self, first: date, last: date) -> tuple[date, ...]:
        """Business days in [first, last]."""
        days: list[date] = []
        candidate = first
        while candidate <= last:
            if self.is_business_day(candidate):
                days.append(candidate)
            candidate += timedelta(days=1)
        return tuple(days)


PACKAGE_DEADLINE = time(9, 0)
EXPLANATION_DEADLINE = time(17, 0)


def package_deadline_at(calendar: BusinessCalendar, business_date: date) -> datetime:
    """Packages for D are due by 09:00 Asia/Shanghai of the next business day."""
    return calendar.deadline_at(business_date, business_days_after=1, at=PACKAGE_DEADLINE)


def explanation_deadline_at(calendar: BusinessCalendar, business_date: date) -> datetime:
    """Explanations for D are due by 17:00 of the second business day after D."""
    return calendar.deadline_at(business_date, business_days_after=2, at=EXPLANATION_DEADLINE)
