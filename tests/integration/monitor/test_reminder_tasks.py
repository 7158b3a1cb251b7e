"""Verbal reminders as the bureau's tasks, through the real service on SQLite and PostgreSQL.

The reminder goes to the bureau of the institution's registered region; a user of that bureau
marks it done once, with a note; anyone else is refused, audited, with nothing changed; the
done-mark cannot be edited or deleted, even at a database console.
"""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from clearwatch.adapters.clock import FixedClock
from clearwatch.bootstrap import Application
from clearwatch.domain.access.callers import local_caller
from clearwatch.domain.access.roles import Role
from clearwatch.domain.monitor.reminders import ReminderRule
from clearwatch.domain.monitor.reporting import ReportingCategory
from clearwatch.domain.shared.calendar import SHANGHAI
from clearwatch.domain.shared.errors import Refused
from clearwatch.services.access.authorize import PolicyDenied
from clearwatch.services.monitor.reminder_ports import ReminderContext
from clearwatch.services.monitor.reminders import list_reminders, mark_reminder_done
from tests.integration.monitor.conftest import load
from tests.scenarios.test_monitor_day import DAY, FILINGS, INSTITUTIONS
from tests.support.identities import gate_of, registered
from tests.support.packages import write_registry

RECORDED_AT = datetime(2026, 11, 23, 9, 0, 1, tzinfo=SHANGHAI)  # Monday, LATE at 09:00


@pytest.fixture
def reminded(app: Application, clock: FixedClock, tmp_path: Path) -> Application:
    """B002 (CITY-SZ) late with its package of D: one reminder."""
    assert load(app, write_registry(tmp_path / "registry", INSTITUTIONS, FILINGS)).loaded
    with app.uow() as uow:
        uow.reporting.record_occurrence(
            institution_id="B002", category=ReportingCategory.LATE, business_date=DAY,
            package_kind="broker_daily", occurred_at=RECORDED_AT, detail="not by 09:00",
        )  # fmt: skip
        uow.commit()
    clock.at = datetime(2026, 11, 24, 10, 0, tzinfo=SHANGHAI)
    return app


def _context(app: Application) -> ReminderContext:
    return ReminderContext(clock=app.clock, uow_factory=app.uow)


def _counts(app: Application) -> tuple[int, int]:
    with app.engine.connect() as connection:
        marks = connection.execute(text("SELECT count(*) FROM monitor_reminder_marks")).scalar()
        audit = connection.execute(text("SELECT count(*) FROM audit_log")).scalar()
    return int(marks or 0), int(audit or 0)


def test_the_institutions_bureau_sees_the_reminder_due_and_marks_it_done_once(
    reminded: Application,
) -> None:
    app = reminded
    bureau = gate_of(app, "CITY-SZ", Role.BUREAU_ANALYST)
    [task] = list_reminders(gate=bureau, context=_context(app))
    assert (task.bureau, task.done) == ("CITY-SZ", False)
    assert task.due_at == datetime(2026, 11, 25, 17, 0, tzinfo=SHANGHAI)
    assert list_reminders(gate=gate_of(app, "CN-SH", Role.BUREAU_HEAD), context=_context(app)) == []
    assert len(list_reminders(gate=gate_of(app, "SIPF", Role.ANALYST), context=_context(app))) == 1
    assert len(list_reminders(gate=gate_of(app, "B002", Role.VIEWER), context=_context(app))) == 1

    done = mark_reminder_done(
        reminder_id=task.reminder.reminder_id, note=" 已电话提醒 ", gate=bureau,
        context=_context(app),
    )  # fmt: skip
    assert done.mark is not None
    assert (done.mark.done_by, done.mark.note, done.mark.bureau) == (
        "city-sz-bureau_analyst", "已电话提醒", "CITY-SZ",
    )  # fmt: skip
    assert done.mark.done_at == app.clock.now()
    with pytest.raises(Refused) as again:
        mark_reminder_done(
            reminder_id=task.reminder.reminder_id, note="again",
            gate=gate_of(app, "CITY-SZ", Role.BUREAU_HEAD), context=_context(app),
        )  # fmt: skip
    assert again.value.rule == ReminderRule.REMINDER_MUST_NOT_BE_DONE
    assert list_reminders(gate=bureau, context=_context(app), open_only=True) == []


@pytest.mark.parametrize(
    ("organisation", "role"),
    [("CN-SH", Role.BUREAU_ANALYST), ("B002", Role.OFFICER), ("SIPF", Role.REVIEWER)],
)
def test_anyone_but_the_reminders_bureau_is_refused_audited_and_changes_nothing(
    reminded: Application, organisation: str, role: Role
) -> None:
    app = reminded
    gate = gate_of(app, organisation, role)
    [task] = list_reminders(gate=gate_of(app, "SIPF", Role.ANALYST), context=_context(app))
    marks, audit = _counts(app)
    with pytest.raises(PolicyDenied):
        mark_reminder_done(
            reminder_id=task.reminder.reminder_id, note="done", gate=gate, context=_context(app)
        )
    assert _counts(app) == (marks, audit + 1)  # the denial's own record, nothing else


def test_an_unknown_reminder_is_refused_by_name(reminded: Application) -> None:
    with pytest.raises(Refused) as refused:
        mark_reminder_done(
            reminder_id=9999, note="done", gate=gate_of(reminded, "CITY-SZ", Role.BUREAU_HEAD),
            context=_context(reminded),
        )  # fmt: skip
    assert refused.value.rule == ReminderRule.REMINDER_MUST_EXIST


def test_a_done_mark_is_append_only_in_the_database(reminded: Application) -> None:
    app = reminded
    gate = gate_of(app, "CITY-SZ", Role.BUREAU_HEAD)
    [task] = list_reminders(gate=gate, context=_context(app))
    mark_reminder_done(reminder_id=task.reminder.reminder_id, note="ok", gate=gate,
                       context=_context(app))  # fmt: skip
    for statement in ("UPDATE monitor_reminder_marks SET note = 'forged'",
                      "DELETE FROM monitor_reminder_marks"):  # fmt: skip
        with pytest.raises(DBAPIError), app.engine.begin() as connection:
            connection.execute(text(statement))


def test_two_bureau_users_marking_at_once_leave_one_mark(reminded: Application) -> None:
    app = reminded
    users = [registered(app, f"city-sz-analyst-{n}", "CITY-SZ", Role.BUREAU_ANALYST)
             for n in range(2)]  # fmt: skip
    [task] = list_reminders(gate=gate_of(app, "SIPF", Role.ANALYST), context=_context(app))
    outcomes: list[str] = []
    start = threading.Barrier(2)

    def mark(user: str) -> None:
        start.wait()
        try:
            gate = app.gate(local_caller(user))
            reminder_id = task.reminder.reminder_id
            mark_reminder_done(reminder_id=reminder_id, note=user, gate=gate, context=_context(app))
            outcomes.append("done")
        except Refused as refusal:
            outcomes.append(refusal.rule)

    threads = [threading.Thread(target=mark, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["done", ReminderRule.REMINDER_MUST_NOT_BE_DONE.value]
    assert _counts(app)[0] == 1
