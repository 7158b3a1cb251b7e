"""The day's submission grid: every registered institution × package kind, and what arrived.

A cell is the package due from that institution for the day: on time or late when a package
is in force (naming how many earlier sequences it superseded), rejected when only rejections
came, missing when nothing did. A kind the institution does not send has no cell. It is the
whole monitor's view, so only SIPF's readers get it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from clearwatch.domain.access.policy import Action, Resource
from clearwatch.domain.monitor.assessment import PACKAGE_KIND_OF
from clearwatch.domain.monitor.registry import RegistrySnapshot
from clearwatch.domain.shared.kinds import PackageKind
from clearwatch.services.access.authorize import Gate
from clearwatch.services.monitor.ports import MonitorUnitOfWork, ReceiptRow


class Submission(StrEnum):
    ON_TIME = "on_time"
    LATE = "late"
    REJECTED = "rejected"
    MISSING = "missing"


@dataclass(frozen=True)
class GridCell:
    kind: PackageKind
    submission: Submission
    superseded: int = 0  # earlier sequences the package in force replaced
    rejected: int = 0  # rejections received for it, whatever came after


@dataclass(frozen=True)
class GridRow:
    institution_id: str
    name: str
    cells: tuple[GridCell | None, ...]  # one per the grid's kinds; None: not due from it


@dataclass(frozen=True)
class SubmissionGrid:
    business_date: date
    kinds: tuple[PackageKind, ...]
    rows: tuple[GridRow, ...]

    def count(self, submission: Submission) -> int:
        return sum(1 for r in self.rows for c in r.cells if c and c.submission is submission)


def _cell(kind: PackageKind, receipts: Sequence[ReceiptRow]) -> GridCell:
    accepted = [r for r in receipts if r.status == "accepted"]
    superseded = sum(1 for r in receipts if r.status == "superseded")
    rejected = sum(1 for r in receipts if r.status == "rejected")
    if accepted:
        in_force = max(accepted, key=lambda r: r.sequence or 0)
        on_time = Submission.LATE if in_force.late else Submission.ON_TIME
        return GridCell(kind, on_time, superseded, rejected)
    if rejected:
        return GridCell(kind, Submission.REJECTED, superseded, rejected)
    return GridCell(kind, Submission.MISSING, superseded, rejected)


def grid_of(
    registry: RegistrySnapshot, business_date: date, receipts: Sequence[ReceiptRow]
) -> SubmissionGrid:
    """The grid from the registry and the day's receipts (pure)."""
    kinds = tuple(sorted(set(PACKAGE_KIND_OF.values()), key=str))
    # Grouped once: each institution's receipts by key, not a pass over all of them per row.
    by_sender: dict[tuple[str | None, str | None], list[ReceiptRow]] = {}
    for receipt in receipts:
        by_sender.setdefault((receipt.institution_id, receipt.kind), []).append(receipt)
    rows = []
    for institution in sorted(registry.institutions, key=lambda i: i.institution_id):
        due = PACKAGE_KIND_OF[institution.kind]
        own = by_sender.get((institution.institution_id, due.value), [])
        cells = tuple(_cell(kind, own) if kind is due else None for kind in kinds)
        rows.append(GridRow(institution.institution_id, institution.name, cells))
    return SubmissionGrid(business_date, kinds, tuple(rows))


def submission_grid(
    *, gate: Gate, uow: MonitorUnitOfWork, business_date: date
) -> SubmissionGrid | None:
    """The day's grid for SIPF's readers (PolicyDenied otherwise); None before a registry."""
    # An empty resource: only the whole monitor's scope reaches every institution at once.
    gate.check(Action.PACKAGES_LIST, Resource())
    with uow:
        registry = uow.registry.current()
        receipts = uow.packages.receipts(business_date=business_date)
    if registry is None:
        return None
    return grid_of(registry, business_date, receipts)
