"""The halts of a broker's day with their state; asking to lift one; lifting it once approved.

The request is the existing maker-checker (`request_approval`): its rules (an operator
asks, one pending request per client and day) and the policy for the maker's organisation;
the halt must be of the maker's own broker. A checker's approval in the approvals queue
(`approve_halt_lift`, which every entrypoint's approve calls for a lift) records the lift in
the same transaction; the nodes read it with the halts at their next order batch. The generic
`approve_committed` refuses a lift by name, so every approve that succeeds lifts; `lift_halt`
applies, under the same rules, a lift approved before that was so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from clearwatch.domain.access.approvals import ApprovalRequest
from clearwatch.domain.access.policy import Action, Resource
from clearwatch.domain.intraday.halt_lifts import (
    HALT_LIFT_KIND,
    HaltState,
    LiftRule,
    check_lift,
    halt_lift_subject,
    halt_state,
    is_halt_lift,
    lifted_halt_id,
)
from clearwatch.domain.shared.errors import Refused
from clearwatch.domain.shared.kinds import AuditAction
from clearwatch.domain.watch.live import halt_lift_event
from clearwatch.services.access.approvals import approve, approve_committed, request_approval
from clearwatch.services.access.authorize import Gate, denials_audited, require
from clearwatch.services.audit.audit_log import record_audit
from clearwatch.services.intraday.ports import HaltRecord, IntradayUnitOfWork
from clearwatch.services.watch.ports import NO_PUBLISHER, EventPublisher

HALT_MUST_EXIST = "halt_must_exist"
LIFT_MUST_HAVE_REASON = "halt_lift_must_have_reason"


@dataclass(frozen=True)
class HaltView:
    record: HaltRecord
    state: HaltState
    lift: ApprovalRequest | None  # the lift request that decides the state, if any

    @property
    def why(self) -> str:
        return str(self.record.evidence.get("rule", ""))


def broker_halts(
    *, gate: Gate, uow: IntradayUnitOfWork, broker_id: str, business_date: date
) -> list[HaltView]:
    """The broker's halts of the day, in the order they were raised, with their state."""
    gate.check(Action.INTRADAY_HALTS, Resource(institution=broker_id))
    with uow:
        records = uow.intraday.halts(business_date=business_date, broker_id=broker_id)
        lifts = [r for r in uow.access.requests() if r.kind is HALT_LIFT_KIND]
    views = []
    for record in records:
        subject = halt_lift_subject(broker_id, record.fund_account, business_date)
        state, lift = halt_state(
            [r for r in lifts if r.subject_ref == subject],
            halt_id=record.halt_id,
            lifted_by=record.lifted_by_approval,
        )
        views.append(HaltView(record, state, lift))
    return views


def find_halt(uow: IntradayUnitOfWork, *, business_date: date, halt_id: int) -> HaltRecord:
    with uow:
        found = [r for r in uow.intraday.halts(business_date=business_date)
                 if r.halt_id == halt_id]  # fmt: skip
    if not found:
        raise Refused(HALT_MUST_EXIST, f"{business_date} #{halt_id}")
    return found[0]


def request_halt_lift(
    *, uow: IntradayUnitOfWork, halt: HaltRecord, reason: str, maker: str, at: datetime
) -> ApprovalRequest:
    """An operator of the halt's broker asks to lift it, with a reason; a checker decides."""
    if not reason.strip():
        raise Refused(LIFT_MUST_HAVE_REASON, f"halt #{halt.halt_id}")
    with denials_audited(uow, at=at), uow:
        require(uow, user_id=maker, action=Action.INTRADAY_HALTS,
                resource=Resource(institution=halt.broker_id), at=at)  # fmt: skip
        request = request_approval(
            uow=uow,
            kind=HALT_LIFT_KIND.value,
            subject_ref=halt_lift_subject(halt.broker_id, halt.fund_account, halt.business_date),
            payload={
                "broker_id": halt.broker_id,
                "fund_account": halt.fund_account,
                "business_date": halt.business_date.isoformat(),
                "halt_id": halt.halt_id,
                "halted_because": halt.evidence.get("rule"),
                "reason": reason.strip(),
            },
            maker=maker,
            at=at,
        )
        uow.commit()
    return request


def _halt_named(uow: IntradayUnitOfWork, request: ApprovalRequest, halt_id: int) -> HaltRecord:
    named = str(request.payload.get("business_date"))
    try:
        day = date.fromisoformat(named)
    except ValueError:
        raise Refused(HALT_MUST_EXIST, f"{named} #{halt_id}") from None
    found = [h for h in uow.intraday.halts(business_date=day) if h.halt_id == halt_id]
    if not found:
        raise Refused(HALT_MUST_EXIST, f"{day} #{halt_id}")
    return found[0]


def lift_halt_in(
    uow: IntradayUnitOfWork, *, request_id: int, halt_id: int, actor: str, at: datetime
) -> HaltRecord:
    """Record that an approved lift lifted its halt (inside the caller's unit of work); the
    halt as it was. One approval lifts one halt, once."""
    request = uow.access.request(request_id)
    if request is None or not is_halt_lift(request):
        raise Refused(LiftRule.APPROVAL_MUST_BE_A_HALT_LIFT, f"approval #{request_id}")
    halt = _halt_named(uow, request, halt_id)
    # The request may come by the generic approvals path: maker and lifter must both be of
    # the halt's own broker, whatever organisation the request was raised in.
    for user_id in (request.maker, actor):
        require(uow, user_id=user_id, action=Action.INTRADAY_HALTS,
                resource=Resource(institution=halt.broker_id), at=at)  # fmt: skip
    check_lift(
        request,
        halt_id=halt.halt_id,
        halt_subject=halt_lift_subject(halt.broker_id, halt.fund_account, halt.business_date),
        lifted_by=halt.lifted_by_approval,
        approvals_used={
            h.lifted_by_approval
            for h in uow.intraday.halts(business_date=halt.business_date)
            if h.lifted_by_approval is not None
        },
    )
    if not uow.intraday.add_lift(
        halt_id=halt.halt_id, approval_request_id=request_id, lifted_at=at, lifted_by=actor
    ):
        # Another transaction used this approval or lifted this halt between read and write.
        raise Refused(LiftRule.OVERRIDE_APPROVAL_MUST_NOT_BE_REUSED, f"approval #{request_id}")
    record_audit(
        uow,
        actor=actor,
        action=AuditAction.INTRADAY_HALT_LIFTED,
        object_ref=f"client:{halt.broker_id}/{halt.fund_account}/{halt.business_date}",
        payload={
            "halt_id": halt.halt_id,
            "seq": halt.seq,
            "approval": request_id,
            "maker": request.maker,
            "checker": request.checker,
            "halted_because": halt.evidence.get("rule"),
        },
        recorded_at=at,
    )
    return halt


def _tell_lifted(
    publisher: EventPublisher, halt: HaltRecord, request_id: int, actor: str, at: datetime
) -> None:
    publisher.occurred(
        [
            halt_lift_event(
                broker_id=halt.broker_id,
                business_date=halt.business_date,
                fund_account=halt.fund_account,
                halt_id=halt.halt_id,
                seq=halt.seq,
                approval_id=request_id,
                lifted_by=actor,
                at=at,
            )
        ]
    )


def approve_halt_lift(
    *,
    uow: IntradayUnitOfWork,
    request_id: int,
    checker: str,
    at: datetime,
    publisher: EventPublisher = NO_PUBLISHER,
) -> ApprovalRequest:
    """A checker (never the maker) approves a lift: the approval and the lift commit together,
    so an approved lift is never left unapplied by this path; the watch hears once committed."""
    with denials_audited(uow, at=at), uow:
        pending = uow.access.request(request_id)
        if pending is None or not is_halt_lift(pending):
            raise Refused(LiftRule.APPROVAL_MUST_BE_A_HALT_LIFT, f"approval #{request_id}")
        decided = approve(uow=uow, request_id=request_id, checker=checker, at=at)
        halt = lift_halt_in(
            uow, request_id=request_id, halt_id=lifted_halt_id(decided) or 0, actor=checker, at=at
        )
        uow.commit()
    _tell_lifted(publisher, halt, request_id, checker, at)
    return decided


def approve_request(
    *,
    uow: IntradayUnitOfWork,
    request_id: int,
    checker: str,
    at: datetime,
    publisher: EventPublisher = NO_PUBLISHER,
) -> ApprovalRequest:
    """The approvals queue's approve: a halt lift is lifted with its approval; any other
    request is approved as it always was."""
    with uow:
        found = uow.access.request(request_id)
    if found is not None and is_halt_lift(found):
        return approve_halt_lift(
            uow=uow, request_id=request_id, checker=checker, at=at, publisher=publisher
        )
    return approve_committed(uow=uow, request_id=request_id, checker=checker, at=at)


def lift_halt(
    *,
    uow: IntradayUnitOfWork,
    request_id: int,
    halt_id: int,
    actor: str,
    at: datetime,
    publisher: EventPublisher = NO_PUBLISHER,
) -> HaltRecord:
    """Apply an approved lift decided by a path that did not apply it (its own rules: the
    approval names this halt, is approved and unused); committed, audited, told."""
    with denials_audited(uow, at=at), uow:
        request = uow.access.request(request_id)
        if request is None or not is_halt_lift(request):
            raise Refused(LiftRule.APPROVAL_MUST_BE_A_HALT_LIFT, f"approval #{request_id}")
        halt = lift_halt_in(uow, request_id=request_id, halt_id=halt_id, actor=actor, at=at)
        uow.commit()
    _tell_lifted(publisher, halt, request_id, actor, at)
    return halt
