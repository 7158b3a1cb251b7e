"""Ports of the bureau's reminder tasks: the done-marks, next to the reminders themselves."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from clearwatch.domain.monitor.reminders import ReminderMark
from clearwatch.services.monitor.cases_ports import CasesRunUnitOfWork
from clearwatch.services.shared.ports import Clock


class ReminderMarkRepository(Protocol):
    """Done-marks, append-only: at most one per reminder."""

    def marks(self) -> dict[int, ReminderMark]: ...

    def add(self, mark: ReminderMark) -> bool:
        """Record the mark; False when the reminder was marked done already."""
        ...


class ReminderUnitOfWork(CasesRunUnitOfWork, Protocol):
    @property
    def reminder_marks(self) -> ReminderMarkRepository: ...


class ReminderUnitOfWorkFactory(Protocol):
    def __call__(self) -> ReminderUnitOfWork: ...


@dataclass(frozen=True)
class ReminderContext:
    clock: Clock  # when a mark is made
    uow_factory: ReminderUnitOfWorkFactory
