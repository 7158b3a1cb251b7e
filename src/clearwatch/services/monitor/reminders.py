"""Use cases of verbal reminders as the bureau's tasks: list them in scope, mark one done.

A reminder is written with its reporting occurrence (run-day, the sweep, a rejected package, a
careless explanation); here it is read as its bureau's task, with its due time, and marked done
once by a user of that bureau. The mark is appended with who, when and the note, and audited.
"""

from __future__ import annotations

from clearwatch.domain.access.policy import Action, Resource
from clearwatch.domain.monitor.registry import RegistrySnapshot
from clearwatch.domain.monitor.reminders import (
    BureauReminder,
    ReminderMark,
    ReminderRule,
    check_note,
    reminder_due_at,
)
from clearwatch.domain.monitor.reporting import VerbalReminder
from clearwatch.domain.shared.calendar import BusinessCalendar
from clearwatch.domain.shared.errors import Refused
from clearwatch.services.access.authorize import Gate
from clearwatch.services.audit.audit_log import record_audit
from clearwatch.services.monitor.reminder_ports import ReminderContext, ReminderUnitOfWork

REMINDER_DONE_AUDIT = "monitor.reminder.done"


def reminder_resource(task: BureauReminder) -> Resource:
    """Whose the reminder is, and the bureau whose task it is: given to that bureau (released)
    when the run made it; a verbal reminder waits for no approval (spec platform §5)."""
    return Resource(
        institution=task.reminder.institution_id, bureau=task.bureau or None, released=True
    )


def _tasks(uow: ReminderUnitOfWork) -> list[BureauReminder]:
    registry = uow.registry.current()
    marks = uow.reminder_marks.marks()
    return [_task(r, registry, marks.get(r.reminder_id)) for r in uow.reporting.reminders()]


def _task(
    reminder: VerbalReminder, registry: RegistrySnapshot | None, mark: ReminderMark | None
) -> BureauReminder:
    institution = registry.institution(reminder.institution_id) if registry else None
    calendar = registry.calendar if registry else BusinessCalendar.with_holidays(())
    return BureauReminder(
        reminder=reminder,
        bureau=institution.region if institution else "",
        due_at=reminder_due_at(calendar, reminder.issued_at),
        mark=mark,
    )


def list_reminders(
    *,
    gate: Gate,
    context: ReminderContext,
    institution_id: str | None = None,
    open_only: bool = False,
) -> list[BureauReminder]:
    """The reminders the caller may read: a bureau its tasks, SIPF all, an institution its own."""
    sees = gate.lister(Action.REMINDERS_READ)
    with context.uow_factory() as uow:
        tasks = _tasks(uow)
    return [
        t
        for t in tasks
        if sees(reminder_resource(t))
        and (institution_id is None or t.reminder.institution_id == institution_id)
        and not (open_only and t.done)
    ]


def _task_of(uow: ReminderUnitOfWork, reminder_id: int) -> BureauReminder:
    found = next((t for t in _tasks(uow) if t.reminder.reminder_id == reminder_id), None)
    if found is None:
        raise Refused(ReminderRule.REMINDER_MUST_EXIST, f"reminder {reminder_id}")
    return found


def mark_reminder_done(
    *, reminder_id: int, note: str, gate: Gate, context: ReminderContext
) -> BureauReminder:
    """A user of the reminder's bureau marks it done, once, with a note."""
    kept = check_note(note)
    with context.uow_factory() as uow:
        task = _task_of(uow, reminder_id)
    gate.check(Action.REMINDERS_DONE, reminder_resource(task))
    actor = gate.caller.label
    at = context.clock.now()
    mark = ReminderMark(reminder_id, task.bureau, actor, at, kept)
    with context.uow_factory() as uow:
        if not uow.reminder_marks.add(mark):
            raise Refused(ReminderRule.REMINDER_MUST_NOT_BE_DONE, f"reminder {reminder_id}")
        record_audit(
            uow,
            actor=actor,
            action=REMINDER_DONE_AUDIT,
            object_ref=f"reminder:{reminder_id}",
            payload={
                "institution_id": task.reminder.institution_id,
                "category": task.reminder.category.value,
                "business_date": task.reminder.business_date.isoformat(),
                "bureau": task.bureau,
                "due_at": task.due_at.isoformat(),
                "note": kept,
            },
            recorded_at=at,
        )
        uow.commit()
    return BureauReminder(task.reminder, task.bureau, task.due_at, mark)
