"""Ports of verification cases: the cases and their timelines, attachments, the context."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Protocol

from clearwatch.domain.monitor.cases import (
    Case,
    CaseEvent,
    CaseMove,
    CaseStatus,
    Explanation,
)
from clearwatch.domain.monitor.criteria import Criterion, ReviewerDesignation
from clearwatch.domain.monitor.findings import FindingCode
from clearwatch.domain.shared.errors import ClearwatchError
from clearwatch.services.monitor.run_ports import MonitorRunUnitOfWork
from clearwatch.services.shared.ports import Clock

if TYPE_CHECKING:
    from clearwatch.services.monitor.run_day import RunDayContext


class CaseConflict(ClearwatchError):
    """Another move of the same case committed first (its seq is taken): decide again."""


@dataclass(frozen=True)
class NewCase:
    institution_id: str
    business_date: date
    finding_code: FindingCode
    amount_fen: int
    region: str | None
    bureaus: tuple[str, ...]
    opened_at: datetime
    opened_by: str
    opened_in_version: int
    deadline_at: datetime


@dataclass(frozen=True)
class NewCaseEvent:
    case_id: int
    seq: int
    move: CaseMove
    status: CaseStatus
    actor: str
    at: datetime
    reason: str
    criterion: Criterion | None = None
    explanation: Explanation | None = None


class CaseRepository(Protocol):
    """Cases and their timelines; both append-only. A case's status is its last event's."""

    def open(self, case: NewCase) -> int | None:
        """Insert the case and its `open` event; None when it exists already."""
        ...

    def get(self, case_id: int) -> Case | None: ...

    def events(self, case_id: int) -> tuple[CaseEvent, ...]: ...

    def append(self, event: NewCaseEvent) -> None:
        """Append a move; `CaseConflict` when its seq was taken by a concurrent move."""
        ...

    def cases(
        self,
        *,
        business_date: date | None = None,
        institution_id: str | None = None,
        status: CaseStatus | None = None,
    ) -> list[Case]: ...

    def past_deadline(self, at: datetime) -> list[Case]:
        """Open cases whose deadline is at or before `at`."""
        ...

    def designations(self, business_date: date) -> list[ReviewerDesignation]:
        """The criteria review decisions added to D: falsified (M3), approved escalations."""
        ...


class CasesRunUnitOfWork(MonitorRunUnitOfWork, Protocol):
    @property
    def cases(self) -> CaseRepository: ...


class CasesRunUnitOfWorkFactory(Protocol):
    def __call__(self) -> CasesRunUnitOfWork: ...


class AttachmentStore(Protocol):
    """Explanations' attachments, content-addressed by sha256, written once, owner-only."""

    def put(self, data: bytes) -> str: ...

    def get(self, sha256: str) -> bytes: ...


@dataclass(frozen=True)
class CasesContext:
    clock: Clock  # business time: deadlines, moves (a replay's `--at` sets it)
    uow_factory: CasesRunUnitOfWorkFactory
    attachments: AttachmentStore
    # The daily run, to make the new result version a decision causes; None: no regrade (the
    # next `run-day` of D includes the decision).
    run_day: RunDayContext | None = None
