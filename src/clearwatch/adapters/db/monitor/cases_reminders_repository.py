"""The bureau's done-marks on verbal reminders: one per reminder, append-only."""

from __future__ import annotations

from sqlalchemy import Connection, select

from clearwatch.adapters.db.monitor.cases_repository import insert_ignoring_conflict
from clearwatch.adapters.db.monitor.cases_tables import reminder_marks
from clearwatch.adapters.db.monitor.intake_repository import from_db, to_utc
from clearwatch.domain.monitor.reminders import ReminderMark


class SqlReminderMarks:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def marks(self) -> dict[int, ReminderMark]:
        rows = self._connection.execute(select(reminder_marks).order_by(reminder_marks.c.mark_id))
        return {
            int(row.reminder_id): ReminderMark(
                reminder_id=int(row.reminder_id),
                bureau=row.bureau,
                done_by=row.done_by,
                done_at=from_db(row.done_at),
                note=row.note,
            )
            for row in rows
        }

    def add(self, mark: ReminderMark) -> bool:
        # Two bureau users marking at once: the unique reminder id lets one in, quietly.
        inserted = self._connection.execute(
            insert_ignoring_conflict(self._connection, reminder_marks)
            .values(
                reminder_id=mark.reminder_id,
                bureau=mark.bureau,
                done_by=mark.done_by,
                done_at=to_utc(mark.done_at),
                note=mark.note,
            )
            .returning(reminder_marks.c.mark_id)
        ).scalar()
        return inserted is not None
