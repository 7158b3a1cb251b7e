"""Use cases of verification cases: open them from a run, explain, list and show, overdue.

Cases open in the daily run's own transaction (`open_day_cases`), once per (institution, D,
finding code). An institution's officer explains its own; the review decisions are in
`cases_review.py`, the deadline sweep in `cases_sweep.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

from clearwatch.domain.access.policy import Action, Resource
from clearwatch.domain.monitor.cases import (
    Attachment,
    Case,
    CaseEvent,
    CaseMove,
    CaseRule,
    CaseStatus,
    Explanation,
    case_deadline_at,
    check_attachment,
    explanation_of,
    transition,
)
from clearwatch.domain.monitor.criteria import Criterion
from clearwatch.domain.monitor.registry import InstitutionKind, RegistrySnapshot
from clearwatch.domain.monitor.report import DayResult, ReportedFinding
from clearwatch.domain.monitor.reporting import ReportingCategory
from clearwatch.domain.shared.errors import Refused
from clearwatch.domain.shared.kinds import AuditAction
from clearwatch.services.access.authorize import Gate
from clearwatch.services.audit.audit_log import record_audit
from clearwatch.services.monitor.cases_ports import (
    CaseConflict,
    CasesContext,
    CasesRunUnitOfWork,
    NewCase,
    NewCaseEvent,
)

CARELESS_DETAIL = {
    CaseMove.CARELESS: "explanation rejected as careless",
    CaseMove.DEADLINE: "no explanation by 17:00 of the second business day after D",
}


def case_resources(case: Case, released_to: frozenset[str] = frozenset()) -> tuple[Resource, ...]:
    """What the policy needs of a case: whose it is, and each bureau its findings go to,
    released to those of them an approved warning of its institution and day went to."""
    return tuple(
        Resource(institution=case.institution_id, bureau=b, released=b in released_to)
        for b in case.bureaus
    ) or (Resource(institution=case.institution_id),)


Released = dict[tuple[str, date], frozenset[str]]


def released_routes(uow: CasesRunUnitOfWork, business_date: date | None = None) -> Released:
    """(institution, D) → the bureaus its approved warnings went to: a bureau reads the cases
    behind the warnings routed to it (spec platform §3), and only once they are released."""
    routes: dict[tuple[str, date], set[str]] = {}
    for w in uow.monitor_runs.warnings(business_date=business_date, released_only=True):
        routes.setdefault((w.institution_id, w.business_date), set()).add(w.route_to)
    return {key: frozenset(bureaus) for key, bureaus in routes.items()}


def _released_to(released: Released, case: Case) -> frozenset[str]:
    return released.get((case.institution_id, case.business_date), frozenset())


def open_day_cases(
    uow: CasesRunUnitOfWork,
    *,
    result: DayResult,
    registry: RegistrySnapshot,
    actor: str,
    at: datetime,
) -> int:
    """Inside the run's transaction: a case per finding with an amount not yet a case."""
    deadline = case_deadline_at(registry.calendar, result.business_date)
    opened: list[list[object]] = []
    for entry in result.institutions:
        institution = registry.institution(entry.institution_id)
        home = institution.region if institution else ""
        is_bank = institution is not None and institution.kind is InstitutionKind.BANK
        for reported in entry.findings:
            finding = reported.finding
            if finding.is_count or finding.amount_fen <= 0:
                continue
            regions = _regions(reported) if is_bank else ()
            case_id = uow.cases.open(
                NewCase(
                    institution_id=entry.institution_id,
                    business_date=result.business_date,
                    finding_code=finding.code,
                    amount_fen=finding.amount_fen,
                    region=regions[0] if len(regions) == 1 else None,
                    bureaus=regions or ((home,) if home else ()),
                    opened_at=at,
                    opened_by=actor,
                    opened_in_version=result.result_version,
                    deadline_at=deadline,
                )
            )
            if case_id is not None:
                opened.append([case_id, entry.institution_id, finding.code.value])
    if opened:
        record_audit(
            uow,
            actor=actor,
            action=AuditAction.MONITOR_CASES_OPENED,
            object_ref=f"monitor_day:{result.business_date.isoformat()}",
            payload={"cases": opened, "deadline_at": deadline.isoformat()},
            recorded_at=at,
        )
    return len(opened)


def _regions(reported: ReportedFinding) -> tuple[str, ...]:
    if reported.by_region:
        return tuple(region for region, _ in reported.by_region)
    region = reported.finding.region
    return (region,) if region else ()


def case_of(uow: CasesRunUnitOfWork, case_id: int) -> Case:
    case = uow.cases.get(case_id)
    if case is None:
        raise Refused(CaseRule.CASE_MUST_EXIST, f"case {case_id}")
    return case


def read_case(context: CasesContext, case_id: int) -> Case:
    with context.uow_factory() as uow:
        return case_of(uow, case_id)


def check_case(
    gate: Gate, action: Action, case: Case, released_to: frozenset[str] = frozenset()
) -> str:
    """The policy asked for `action` on the case (any of its bureaus, released to those in
    `released_to`); the caller's label."""
    resources = case_resources(case, released_to)
    sees = gate.lister(action)
    allowed = next((r for r in resources if sees(r)), resources[0])
    gate.check(action, allowed)  # audits the denial when no resource of the case is allowed
    return gate.caller.label


def append_move(
    uow: CasesRunUnitOfWork,
    case: Case,
    move: CaseMove,
    *,
    actor: str,
    at: datetime,
    reason: str,
    criterion: Criterion | None = None,
    explanation: Explanation | None = None,
) -> Case:
    """Append `move` as the case's next event (the one transition decides the status)."""
    status = transition(case.status, move)
    seq = case.last_seq + 1
    try:
        uow.cases.append(
            NewCaseEvent(case.case_id, seq, move, status, actor, at, reason, criterion, explanation)
        )
    except CaseConflict as conflict:
        raise Refused(
            CaseRule.CASE_MUST_NOT_HAVE_CHANGED, f"{case.reference}: ask again"
        ) from conflict
    return replace(case, status=status, last_seq=seq)


def count_careless(uow: CasesRunUnitOfWork, case: Case, move: CaseMove, at: datetime) -> bool:
    """CARELESS_VERIFICATION for the institution on D, once per case; True when new."""
    return uow.reporting.record_occurrence(
        institution_id=case.institution_id,
        category=ReportingCategory.CARELESS_VERIFICATION,
        business_date=case.business_date,
        package_kind=f"case:{case.finding_code.value}",
        occurred_at=at,
        detail=f"{case.reference}: {CARELESS_DETAIL[move]}",
    )


def mark_overdue(
    uow: CasesRunUnitOfWork, case: Case, *, actor: str, at: datetime
) -> tuple[Case, bool]:
    """The deadline move on an open case whose deadline passed; True when it counted."""
    reason = f"no explanation by {case.deadline_at.isoformat()}"
    overdue = append_move(uow, case, CaseMove.DEADLINE, actor=actor, at=at, reason=reason)
    return overdue, count_careless(uow, case, CaseMove.DEADLINE, at)


@dataclass(frozen=True)
class ExplainOutcome:
    case: Case
    counted_overdue: bool  # the deadline had passed unmarked: marked first, and counted


def explain_case(
    *,
    case_id: int,
    category: str,
    text: str,
    responsible_party: str,
    attachments: Sequence[tuple[str, bytes]] = (),
    gate: Gate,
    context: CasesContext,
) -> ExplainOutcome:
    """The institution's officer explains its own case (also an overdue one)."""
    actor = check_case(gate, Action.CASES_EXPLAIN, read_case(context, case_id))
    kept = tuple(
        Attachment(check_attachment(name, len(data)), context.attachments.put(data), len(data))
        for name, data in attachments
    )
    explanation = explanation_of(
        category=category, text=text, responsible_party=responsible_party, attachments=kept
    )
    at = context.clock.now()
    with context.uow_factory() as uow:
        case = case_of(uow, case_id)
        counted = False
        if case.status is CaseStatus.OPEN and at > case.deadline_at:
            case, counted = mark_overdue(uow, case, actor=actor, at=at)
        case = append_move(
            uow, case, CaseMove.EXPLAIN, actor=actor, at=at, reason=explanation.category.value,
            explanation=explanation,
        )  # fmt: skip
        record_audit(
            uow,
            actor=actor,
            action=AuditAction.MONITOR_CASE_EXPLAINED,
            object_ref=case.reference,
            payload={
                "category": explanation.category.value,
                "responsible_party": explanation.responsible_party,
                "attachments": [[a.name, a.sha256] for a in kept],
                "counted_overdue": counted,
            },
            recorded_at=at,
        )
        uow.commit()
    return ExplainOutcome(case, counted)


def list_cases(
    *,
    gate: Gate,
    context: CasesContext,
    business_date: date | None = None,
    institution_id: str | None = None,
    status: CaseStatus | None = None,
) -> list[Case]:
    """The cases the caller may read, filtered."""
    sees = gate.lister(Action.CASES_READ)
    with context.uow_factory() as uow:
        found = uow.cases.cases(
            business_date=business_date, institution_id=institution_id, status=status
        )
        released = released_routes(uow, business_date)
    return [
        case
        for case in found
        if any(sees(r) for r in case_resources(case, _released_to(released, case)))
    ]


def show_case(
    *, case_id: int, gate: Gate, context: CasesContext
) -> tuple[Case, tuple[CaseEvent, ...]]:
    """One case with its whole timeline and explanations."""
    with context.uow_factory() as uow:
        case = case_of(uow, case_id)
        released = released_routes(uow, case.business_date)
    check_case(gate, Action.CASES_READ, case, _released_to(released, case))
    with context.uow_factory() as uow:
        return case_of(uow, case_id), uow.cases.events(case_id)


def attachment_bytes(*, case_id: int, sha256: str, gate: Gate, context: CasesContext) -> bytes:
    """An attachment of one of the case's explanations, for whoever may read the case."""
    case, events = show_case(case_id=case_id, gate=gate, context=context)
    names = {a.sha256 for e in events if e.explanation for a in e.explanation.attachments}
    if sha256 not in names:
        raise Refused("attachment_must_belong_to_the_case", f"{case.reference} {sha256[:12]}")
    return context.attachments.get(sha256)
