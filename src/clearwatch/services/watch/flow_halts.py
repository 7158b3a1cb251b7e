"""The risk desk halts a flow an alert names, and lifts it: each step maker-checked.

The same machinery as a client halt (`review.py`): an operator of the broker's back office
asks (`watch.halt` on the broker's books), a checker of the same back office approves — never
the maker, never an admin; a duty officer through an emergency grant of `checker` — and the
approval and the halt commit together with their audit records. The back office refuses every
withdrawal through a halt in force (`flow_must_not_be_halted`). Lifting is an `override`
request for the halt, approved the same way; the halt's row stays, a lift is a row of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from clearwatch.domain.access.approvals import AccessRefused, ApprovalRequest
from clearwatch.domain.access.policy import Action
from clearwatch.domain.shared.errors import Refused
from clearwatch.domain.watch.alerts import Alert
from clearwatch.domain.watch.events import WatchEvent
from clearwatch.domain.watch.flow_halts import (
    FLOW_HALT_KIND,
    LIFT_KIND,
    LIFT_SUBJECT_PREFIX,
    Flow,
    FlowAudit,
    FlowHalt,
    FlowRule,
    check_flow_halt,
    check_lift,
    flow_halt_content,
    flow_subject,
    lift_subject,
    parse_flow_subject,
)
from clearwatch.domain.watch.live import flow_halt_event, flow_lift_event
from clearwatch.services.access.approvals import (
    approve,
    approved_content_for,
    approved_request_for,
    request_approval,
)
from clearwatch.services.access.authorize import denials_audited, require
from clearwatch.services.audit.audit_log import record_audit
from clearwatch.services.watch.ports import NO_PUBLISHER, EventPublisher, WatchUnitOfWork
from clearwatch.services.watch.review import (
    ask_for_alert_halt,
    books_of,
    check_asked_by_confirmed_alert,
)


@dataclass(frozen=True)
class FlowOutcome:
    """What a flow step did: the request, and the halt once applied (None: awaits a checker)."""

    request: ApprovalRequest
    halt: FlowHalt | None

    def told(self, publisher: EventPublisher) -> FlowOutcome:
        """Tell the watch the halt in force or lifted (once committed; its key is the halt's,
        so telling it again, as a request asked again does, changes nothing)."""
        if self.halt is not None:
            events: list[WatchEvent] = [flow_halt_event(self.halt)]
            if not self.halt.in_force:
                events.append(flow_lift_event(self.halt))
            publisher.occurred(events)
        return self


def request_flow_halt(
    *,
    uow: WatchUnitOfWork,
    alert: Alert,
    flow: Flow,
    maker: str,
    at: datetime,
    publisher: EventPublisher = NO_PUBLISHER,
) -> FlowOutcome:
    """Ask a checker to halt a flow a confirmed alert names. Asked again once a checker
    approved it through `approvals approve`, it applies the halt; a halt in force is kept."""
    subject = flow_subject(flow)
    with denials_audited(uow, at=at), uow:
        require(uow, user_id=maker, action=Action.WATCH_HALT,
                resource=books_of(alert.broker_id), at=at)  # fmt: skip
        check_flow_halt(alert, uow.watch_reviews.review(alert.key), flow)
        try:
            approved = approved_content_for(
                uow, kind=FLOW_HALT_KIND, subject_ref=subject, content=flow_halt_content(flow)
            )
        except AccessRefused:
            approved = None
        if approved is not None:
            done = uow.flow_halts.by_approval(approved.request_id)
            if done is None or done.in_force:
                halt = done or _halt(uow, approved, at)
                uow.commit()
                return FlowOutcome(approved, halt).told(publisher)
        request = ask_for_alert_halt(
            uow, alert=alert, kind=FLOW_HALT_KIND, subject=subject,
            content={**flow_halt_content(flow), "counterparty": flow.counterparty},
            audit_action=FlowAudit.FLOW_HALT_REQUESTED, maker=maker, at=at,
        )  # fmt: skip
        uow.commit()
    return FlowOutcome(request, None)


def approve_flow_halt(
    *,
    uow: WatchUnitOfWork,
    request_id: int,
    checker: str,
    at: datetime,
    publisher: EventPublisher = NO_PUBLISHER,
) -> FlowOutcome:
    """A checker approves a flow halt: the approval and the halt commit together."""
    with denials_audited(uow, at=at), uow:
        pending = uow.access.request(request_id)
        if pending is None or pending.kind.value != FLOW_HALT_KIND:
            raise Refused(FlowRule.REQUEST_MUST_BE_FLOW_HALT, f"approval #{request_id}")
        flow = parse_flow_subject(pending.subject_ref)
        check_asked_by_confirmed_alert(uow, pending, flow.broker_id)
        decided = approve(uow=uow, request_id=request_id, checker=checker, at=at)
        halt = _halt(uow, decided, at)
        uow.commit()
    return FlowOutcome(decided, halt).told(publisher)


def _halt(uow: WatchUnitOfWork, approved: ApprovalRequest, at: datetime) -> FlowHalt:
    flow = parse_flow_subject(approved.subject_ref)
    by = approved.checker or approved.maker
    alert_key = str(approved.payload.get("alert", ""))
    halt_id = uow.flow_halts.add(
        flow, approval_id=approved.request_id, alert_key=alert_key, at=at, by=by
    )
    record_audit(
        uow,
        actor=by,
        action=FlowAudit.FLOW_HALTED,
        object_ref=f"flow:{flow.broker_id}/{flow.account}/{flow.counterparty}",
        payload={
            "halt": halt_id,
            "alert": alert_key,
            "approval": approved.request_id,
            "maker": approved.maker,
            "checker": approved.checker,
        },
        recorded_at=at,
    )
    halt = uow.flow_halts.halt(halt_id)
    assert halt is not None  # written just above, in this transaction
    return halt


def request_lift(
    *,
    uow: WatchUnitOfWork,
    halt_id: int,
    reason: str,
    maker: str,
    at: datetime,
    publisher: EventPublisher = NO_PUBLISHER,
) -> FlowOutcome:
    """Ask to lift a halt in force (an override, with a reason); asked again once approved
    through `approvals approve`, it lifts."""
    subject = lift_subject(halt_id)
    with denials_audited(uow, at=at), uow:
        found = uow.flow_halts.halt(halt_id)
        broker_id = found.flow.broker_id if found is not None else ""
        if found is not None:
            require(uow, user_id=maker, action=Action.WATCH_HALT,
                    resource=books_of(broker_id), at=at)  # fmt: skip
        halt = check_lift(found, halt_id, reason)
        approved = approved_request_for(uow, kind=LIFT_KIND, subject_ref=subject)
        if approved is not None:
            lifted = _lift(uow, halt, approved, at)
            uow.commit()
            return FlowOutcome(approved, lifted).told(publisher)
        request = request_approval(
            uow=uow,
            kind=LIFT_KIND,
            subject_ref=subject,
            payload={
                "halt": halt_id,
                "broker_id": broker_id,
                "account": halt.flow.account,
                "counterparty": halt.flow.counterparty,
                "reason": reason.strip(),
            },
            maker=maker,
            at=at,
        )
        record_audit(
            uow,
            actor=maker,
            action=FlowAudit.FLOW_LIFT_REQUESTED,
            object_ref=f"flow_halt:{halt_id}",
            payload={"approval": request.request_id, "reason": reason.strip()},
            recorded_at=at,
        )
        uow.commit()
    return FlowOutcome(request, halt)


def approve_lift(
    *,
    uow: WatchUnitOfWork,
    request_id: int,
    checker: str,
    at: datetime,
    publisher: EventPublisher = NO_PUBLISHER,
) -> FlowOutcome:
    """A checker approves lifting a halt: the approval and the lift commit together."""
    with denials_audited(uow, at=at), uow:
        pending = uow.access.request(request_id)
        if pending is None or not pending.subject_ref.startswith(LIFT_SUBJECT_PREFIX):
            raise Refused(FlowRule.REQUEST_MUST_BE_FLOW_HALT, f"approval #{request_id}")
        named = pending.subject_ref.removeprefix(LIFT_SUBJECT_PREFIX)
        if not (named.isascii() and named.isdigit()):
            raise Refused(FlowRule.HALT_MUST_EXIST, f"flow halt {named!r}")
        halt_id = int(named)
        found = uow.flow_halts.halt(halt_id)
        if found is not None:
            # The subject names no broker: the maker (and so the checker, asked in the maker's
            # organisation) must be of the halted broker's back office, as when asked to lift.
            require(uow, user_id=pending.maker, action=Action.WATCH_HALT,
                    resource=books_of(found.flow.broker_id), at=at)  # fmt: skip
        halt = check_lift(found, halt_id, str(pending.payload.get("reason", "")))
        decided = approve(uow=uow, request_id=request_id, checker=checker, at=at)
        lifted = _lift(uow, halt, decided, at)
        uow.commit()
    return FlowOutcome(decided, lifted).told(publisher)


def _lift(
    uow: WatchUnitOfWork, halt: FlowHalt, approved: ApprovalRequest, at: datetime
) -> FlowHalt:
    by = approved.checker or approved.maker
    if not uow.flow_halts.lift(halt.halt_id, approval_id=approved.request_id, at=at, by=by):
        raise Refused(FlowRule.HALT_MUST_BE_IN_FORCE, f"flow halt #{halt.halt_id} was lifted")
    record_audit(
        uow,
        actor=by,
        action=FlowAudit.FLOW_LIFTED,
        object_ref=f"flow_halt:{halt.halt_id}",
        payload={"approval": approved.request_id, "maker": approved.maker, "checker": by},
        recorded_at=at,
    )
    lifted = uow.flow_halts.halt(halt.halt_id)
    assert lifted is not None
    return lifted


def flow_halts(*, uow: WatchUnitOfWork, in_force: bool = True) -> list[FlowHalt]:
    """The flow halts (in force only, by default) of every broker; callers filter by scope."""
    with uow:
        return uow.flow_halts.halts(in_force=in_force)
