"""The sweep: at their deadlines, open cases become overdue and missing packages LATE.

Idempotent: a case is marked once (its move is refused from `overdue`), an occurrence is
recorded once per key, so the same sweep twice records nothing new and audits nothing. Each
date that gained an occurrence and has a result is graded again (G6 on a fifth occurrence).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from clearwatch.domain.access.policy import Action, Resource
from clearwatch.domain.monitor.assessment import missing_packages
from clearwatch.domain.monitor.registry import RegistrySnapshot
from clearwatch.domain.monitor.reporting import ReportingCategory
from clearwatch.domain.shared.calendar import SHANGHAI
from clearwatch.domain.shared.kinds import AuditAction
from clearwatch.services.access.authorize import Gate
from clearwatch.services.audit.audit_log import record_audit
from clearwatch.services.monitor.cases import mark_overdue
from clearwatch.services.monitor.cases_ports import CasesContext, CasesRunUnitOfWork
from clearwatch.services.monitor.cases_review import regrade
from clearwatch.services.monitor.run_day import LATE_DETAIL

# How far back the sweep looks for packages that never came (calendar days before its time).
late_days_back_max = 14


@dataclass(frozen=True)
class SweepOutcome:
    at: datetime
    overdue: tuple[int, ...]  # the cases marked overdue now
    late: tuple[tuple[str, str, date], ...]  # (institution, kind, D) newly recorded LATE
    regraded: tuple[tuple[date, int], ...]  # (D, result version) graded again

    @property
    def recorded(self) -> bool:
        return bool(self.overdue or self.late)


def sweep(*, gate: Gate, context: CasesContext) -> SweepOutcome:
    """Mark what passed its deadline at the business clock's time; grade those days again."""
    gate.check(Action.MONITOR_SWEEP, Resource())
    actor = gate.caller.label
    at = context.clock.now()
    with context.uow_factory() as uow:
        overdue, counted_days = _overdue_cases(uow, actor, at)
        late = _late_packages(uow, at)
        if overdue or late:
            record_audit(
                uow,
                actor=actor,
                action=AuditAction.MONITOR_SWEEP,
                object_ref=f"sweep:{at.isoformat()}",
                payload={
                    "overdue": list(overdue),
                    "late": [[i, k, d.isoformat()] for i, k, d in late],
                },
                recorded_at=at,
            )
        uow.commit()
    days = sorted(counted_days | {d for _, _, d in late})
    regraded = tuple(
        (day, version) for day in days if (version := regrade(context, day, actor)) is not None
    )
    return SweepOutcome(at, overdue, late, regraded)


def _overdue_cases(
    uow: CasesRunUnitOfWork, actor: str, at: datetime
) -> tuple[tuple[int, ...], set[date]]:
    marked: list[int] = []
    counted: set[date] = set()
    for case in uow.cases.past_deadline(at):
        _, new = mark_overdue(uow, case, actor=actor, at=at)
        marked.append(case.case_id)
        if new:
            counted.add(case.business_date)
    return tuple(marked), counted


def _sweep_days(registry: RegistrySnapshot, first: date, at: datetime) -> tuple[date, ...]:
    """Business days from the registry's first load (and at most the window back) to today."""
    today = at.astimezone(SHANGHAI).date()
    start = max(first, today - timedelta(days=late_days_back_max))
    return registry.calendar.business_days_between(start, today)


def _late_packages(uow: CasesRunUnitOfWork, at: datetime) -> tuple[tuple[str, str, date], ...]:
    registry = uow.registry.current()
    history = uow.registry.history()
    if registry is None or not history:
        return ()
    first = min(v.loaded_at for v in history).astimezone(SHANGHAI).date()
    recorded: list[tuple[str, str, date]] = []
    for day in _sweep_days(registry, first, at):
        submitted = frozenset((p.institution_id, p.kind) for p in uow.packages.latest_accepted(day))
        for missing in missing_packages(registry, day, submitted, at):
            if missing.late and uow.reporting.record_occurrence(
                institution_id=missing.institution_id,
                category=ReportingCategory.LATE,
                business_date=day,
                package_kind=missing.kind,
                occurred_at=at,
                detail=LATE_DETAIL,
            ):
                recorded.append((missing.institution_id, str(missing.kind), day))
    return tuple(recorded)
