"""Ports of special-account filings: the filings and their decisions, and the use cases' context."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from clearwatch.domain.monitor.filings import Filing, FilingKind, FilingStatus
from clearwatch.domain.monitor.registry import SpecialAccountFiling
from clearwatch.domain.shared.errors import ClearwatchError
from clearwatch.services.monitor.ports import MonitorUnitOfWork
from clearwatch.services.shared.ports import Clock


class FilingConflict(ClearwatchError):
    """Another decision of the same filing committed first: it is no longer pending."""


@dataclass(frozen=True)
class NewFiling:
    kind: FilingKind
    account: SpecialAccountFiling
    institution_id: str
    reason: str
    filed_by: str
    filed_at: datetime


@dataclass(frozen=True)
class NewFilingDecision:
    filing_id: int
    status: FilingStatus  # approved or rejected
    decided_by: str
    decided_at: datetime
    reason: str
    registry_version: int | None  # the version an approval made


class FilingRepository(Protocol):
    """Filings and their decisions, both append-only; a filing without one is pending."""

    def lock(self) -> None:
        """Serialise filing and deciding with each other for the rest of the transaction."""
        ...

    def add(self, filing: NewFiling) -> int: ...

    def decide(self, decision: NewFilingDecision) -> None:
        """Record the decision; `FilingConflict` when the filing was decided already."""
        ...

    def get(self, filing_id: int) -> Filing | None: ...

    def filings(
        self, *, institution_id: str | None = None, status: FilingStatus | None = None
    ) -> list[Filing]: ...

    def pending_accounts(self) -> set[str]:
        """The account numbers that pending filings name."""
        ...


class FilingsUnitOfWork(MonitorUnitOfWork, Protocol):
    @property
    def filings(self) -> FilingRepository: ...


class FilingsUnitOfWorkFactory(Protocol):
    def __call__(self) -> FilingsUnitOfWork: ...


@dataclass(frozen=True)
class FilingsContext:
    clock: Clock  # when a filing is made and decided: the server's real clock
    uow_factory: FilingsUnitOfWorkFactory
    read_uow_factory: FilingsUnitOfWorkFactory | None = None
