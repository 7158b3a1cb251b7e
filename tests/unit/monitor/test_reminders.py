"""A verbal reminder's due time and the note of its done-mark."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from clearwatch.domain.monitor.reminders import ReminderRule, check_note, reminder_due_at
from clearwatch.domain.shared.calendar import SHANGHAI, BusinessCalendar
from clearwatch.domain.shared.errors import Refused

FRIDAY_EVENING = datetime(2026, 11, 20, 18, 30, tzinfo=SHANGHAI)


def test_a_reminder_is_due_at_17_00_of_the_second_business_day_after_it_was_recorded() -> None:
    due = reminder_due_at(BusinessCalendar(), FRIDAY_EVENING)
    assert due == datetime(2026, 11, 24, 17, 0, tzinfo=SHANGHAI)  # Fri → Mon, Tue


def test_holidays_push_the_due_day_and_the_day_is_shanghais() -> None:
    calendar = BusinessCalendar.with_holidays([date(2026, 11, 23)])
    assert reminder_due_at(calendar, FRIDAY_EVENING).date() == date(2026, 11, 25)
    # 07:00 Monday in Shanghai is still Sunday in UTC: the day counted is Shanghai's.
    monday_early = datetime(2026, 11, 23, 7, 0, tzinfo=SHANGHAI)
    assert reminder_due_at(BusinessCalendar(), monday_early).date() == date(2026, 11, 25)


@pytest.mark.parametrize("note", ["", "   ", "x" * 2001])
def test_a_done_mark_needs_a_note_of_bounded_length(note: str) -> None:
    with pytest.raises(Refused) as refused:
        check_note(note)
    assert refused.value.rule == ReminderRule.NOTE_MUST_BE_GIVEN


def test_a_note_is_kept_without_surrounding_blanks() -> None:
    assert check_note("  已电话提醒  ") == "已电话提醒"
