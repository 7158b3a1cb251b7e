"""Verbal reminders (口头提醒) as tasks of the institution's bureau: its due time, its done-mark.

Every reporting occurrence (LATE, BATCH_ERROR, CARELESS_VERIFICATION) records a reminder; the
bureau that supervises the institution (its registered region: a reporting issue is the
institution's, not a branch's) gives it verbally and marks it done. It is due at 17:00
Asia/Shanghai of the second business day after the day it was recorded, the same span an
institution has to explain a case, so that the bureau's register and the cases keep one rhythm.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from clearwatch.domain.monitor.reporting import VerbalReminder
from clearwatch.domain.shared.calendar import SHANGHAI, BusinessCalendar, explanation_deadline_at
from clearwatch.domain.shared.errors import Refused

note_chars_max = 2_000


class ReminderRule(StrEnum):
    REMINDER_MUST_EXIST = "reminder_must_exist"
    REMINDER_MUST_NOT_BE_DONE = "reminder_must_not_be_done_already"
    NOTE_MUST_BE_GIVEN = "reminder_note_must_be_given"


@dataclass(frozen=True)
class ReminderMark:
    """Who marked the reminder done, for which bureau, when, and what they noted."""

    reminder_id: int
    bureau: str
    done_by: str
    done_at: datetime
    note: str


@dataclass(frozen=True)
class BureauReminder:
    """A reminder as its bureau's task."""

    reminder: VerbalReminder
    bureau: str  # "" while the registry does not know the institution
    due_at: datetime
    mark: ReminderMark | None

    @property
    def done(self) -> bool:
        return self.mark is not None


def reminder_due_at(calendar: BusinessCalendar, issued_at: datetime) -> datetime:
    """17:00 Asia/Shanghai of the second business day after the day it was recorded."""
    return explanation_deadline_at(calendar, issued_at.astimezone(SHANGHAI).date())


def check_note(note: str) -> str:
    """The note of a done-mark: what was said to whom; required, bounded."""
    kept = note.strip()
    if not kept or len(kept) > note_chars_max:
        raise Refused(ReminderRule.NOTE_MUST_BE_GIVEN, f"1 to {note_chars_max} characters")
    return kept
