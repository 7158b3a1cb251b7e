"""Review decisions on explained cases, and the new result version a decision makes.

accept, careless, falsified (M3) and escalate (M4, G7 or A7) are an analyst's or reviewer's;
an escalation takes effect only when a second reviewer, never the one who escalated, approves
it. A decision that adds a criterion, or a CARELESS_VERIFICATION occurrence, grades D again
through the daily run: a new result version, routed and approved like any other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from clearwatch.domain.access.policy import Action
from clearwatch.domain.monitor.cases import (
    Case,
    CaseMove,
    CaseRule,
    check_decision,
    check_reason,
    check_second_reviewer,
    escalation_of,
)
from clearwatch.domain.monitor.cases_notice import user_of
from clearwatch.domain.monitor.criteria import Criterion
from clearwatch.domain.shared.errors import Refused
from clearwatch.domain.shared.kinds import AuditAction
from clearwatch.services.access.authorize import Gate
from clearwatch.services.audit.audit_log import record_audit
from clearwatch.services.monitor.cases import (
    append_move,
    case_of,
    check_case,
    count_careless,
    read_case,
)
from clearwatch.services.monitor.cases_ports import CasesContext
from clearwatch.services.monitor.run_day import run_day


@dataclass(frozen=True)
class DecisionOutcome:
    case: Case
    criterion: Criterion | None  # what the decision added to D (M3, or the approved one)
    counted_careless: bool
    result_version: int | None  # the result version of D after it, when D was graded again


def regrade(context: CasesContext, business_date: date, actor: str) -> int | None:
    """Grade D again if it has been run (the next run would otherwise); its result version."""
    if context.run_day is None:
        return None
    with context.uow_factory() as uow:
        if uow.monitor_runs.latest(business_date) is None:
            return None
    return run_day(business_date=business_date, actor=actor, context=context.run_day).result_version


def _move_of(decision: str) -> CaseMove:
    try:
        return CaseMove(decision.strip().lower())
    except ValueError as error:
        raise Refused(CaseRule.DECISION_MUST_BE_A_REVIEW, repr(decision)) from error


def _criterion_of(text: str | None) -> Criterion | None:
    if text is None:
        return None
    try:
        return Criterion(text.strip().upper())
    except ValueError as error:
        raise Refused(CaseRule.ESCALATION_MUST_NAME_M4_G7_OR_A7, repr(text)) from error


def decide_case(
    *,
    case_id: int,
    decision: str,
    reason: str,
    criterion: str | None = None,
    gate: Gate,
    context: CasesContext,
) -> DecisionOutcome:
    """Accept, reject as careless, find falsified (M3), or escalate (M4, G7, A7) a case."""
    move = _move_of(decision)
    named = _criterion_of(criterion)
    added = check_decision(move, named)
    why = check_reason(reason)
    actor = check_case(gate, Action.CASES_DECIDE, read_case(context, case_id))
    at = context.clock.now()
    with context.uow_factory() as uow:
        case = case_of(uow, case_id)
        # An escalation keeps its criterion on its own event; it counts once approved.
        case = append_move(uow, case, move, actor=actor, at=at, reason=why, criterion=added)
        counted = move is CaseMove.CARELESS and count_careless(uow, case, move, at)
        record_audit(
            uow,
            actor=actor,
            action=AuditAction.MONITOR_CASE_DECIDED,
            object_ref=case.reference,
            payload={
                "decision": move.value,
                "criterion": None if added is None else added.value,
                "reason": why,
                "counted_careless": counted,
            },
            recorded_at=at,
        )
        uow.commit()
    effective = added if move is CaseMove.FALSIFIED else None
    version = regrade(context, case.business_date, actor) if effective or counted else None
    return DecisionOutcome(case, effective, counted, version)


def approve_escalation(
    *, case_id: int, reason: str, gate: Gate, context: CasesContext
) -> DecisionOutcome:
    """A second reviewer approves an escalation: its criterion enters D's result."""
    why = check_reason(reason)
    actor = check_case(gate, Action.CASES_APPROVE, read_case(context, case_id))
    at = context.clock.now()
    with context.uow_factory() as uow:
        case = case_of(uow, case_id)
        escalation = escalation_of(uow.cases.events(case_id))
        check_second_reviewer(user_of(escalation.actor), gate.user_id)
        case = append_move(
            uow, case, CaseMove.APPROVE, actor=actor, at=at, reason=why,
            criterion=escalation.criterion,
        )  # fmt: skip
        record_audit(
            uow,
            actor=actor,
            action=AuditAction.MONITOR_CASE_ESCALATION_APPROVED,
            object_ref=case.reference,
            payload={
                "criterion": None if escalation.criterion is None else escalation.criterion.value,
                "escalated_by": escalation.actor,
                "reason": why,
            },
            recorded_at=at,
        )
        uow.commit()
    version = regrade(context, case.business_date, actor)
    return DecisionOutcome(case, escalation.criterion, False, version)
