"""Ports of the monitor's daily run: the findings engine, the stored results, the rules."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from clearwatch.domain.monitor.findings import EngineRequest, EngineResult
from clearwatch.domain.shared.errors import ClearwatchError
from clearwatch.services.monitor.ports import MonitorUnitOfWork


class ComparisonFailed(ClearwatchError):
    """The engine could not compare the files it was given (unreadable, or a value it could not
    handle); `reason` is the engine's message. The run finds whose files caused it."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class FindingsEngine(Protocol):
    """Computes findings F1–F9 from the stored files of one business date; raises
    `ComparisonFailed` when the data, not the engine's set-up, stops the comparison."""

    @property
    def backend(self) -> str: ...

    def compute(self, request: EngineRequest) -> EngineResult: ...


@dataclass(frozen=True)
class StoredWarning:
    business_date: date
    result_version: int
    institution_id: str
    level: str
    criteria: tuple[str, ...]
    route_to: str
    cc: str
    special_report: bool
    problem_amount_fen: int
    rules_version: str
    evidence_json: str
    # A reviewer approved it (this very content): bureaus, institutions and CSRC may see it.
    released: bool = False


@dataclass(frozen=True)
class StoredRun:
    run_id: int
    business_date: date
    result_version: int
    input_key: str
    result_sha256: str
    rules_version: str
    registry_version: int
    engine: str
    ran_at: str
    document_json: str


@dataclass(frozen=True)
class NewRun:
    business_date: date
    result_version: int
    input_key: str
    result_sha256: str
    rules_version: str
    registry_version: int
    package_ids: tuple[int, ...]
    engine: str
    ran_at: datetime
    ran_by: str
    document_json: str
    warnings: Sequence[StoredWarning]


class MonitorRunRepository(Protocol):
    """Result versions of daily runs and their warnings; append-only."""

    def latest(self, business_date: date) -> StoredRun | None: ...

    def latest_between(self, first: date, last: date) -> list[StoredRun]:
        """The latest result version of each date from `first` to `last` that was run, by
        date, in one query (a trend reads a month at once)."""
        ...

    def add(self, run: NewRun) -> int: ...

    def warnings(
        self,
        *,
        business_date: date | None = None,
        level: str | None = None,
        route_to: str | None = None,
        released_only: bool = False,
    ) -> list[StoredWarning]:
        """Warnings of the latest result version of each date, filtered; each says whether
        it is released (approved), and `released_only` keeps only those."""
        ...


class MonitorRunUnitOfWork(MonitorUnitOfWork, Protocol):
    @property
    def monitor_runs(self) -> MonitorRunRepository: ...
