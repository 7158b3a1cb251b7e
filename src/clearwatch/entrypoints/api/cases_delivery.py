"""Warning approval, the outbox, inboxes and the bureau's reminders over HTTP.

The same use cases as `clearwatch cases warnings|deliveries|inbox|reminders`: a reviewer other
than the proposer approves or withdraws a proposed warning (its deliveries enter the outbox in
that transaction); SIPF's readers see the outbox and what is parked; each organisation reads its
own inbox; a bureau marks its verbal reminders done.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from clearwatch.domain.access.policy import Action
from clearwatch.domain.monitor.cases_notice import WarningStatus
from clearwatch.domain.monitor.evidence_masking import masked_notice_body
from clearwatch.domain.monitor.reminders import BureauReminder, ReminderRule, note_chars_max
from clearwatch.domain.shared.money import format_fen
from clearwatch.entrypoints.api.cases import answered_by_rule
from clearwatch.entrypoints.api.problems import problems
from clearwatch.entrypoints.api.security import CallerGate, Wired, may_ask
from clearwatch.entrypoints.api.values import BusinessDate, Reason
from clearwatch.services.monitor.delivery import list_deliveries, read_inbox
from clearwatch.services.monitor.delivery_approval import (
    ApprovalOutcome,
    approve_warning,
    review_warnings,
    withdraw_warning,
)
from clearwatch.services.monitor.delivery_ports import Delivery, InboxMessage, ReviewWarning
from clearwatch.services.monitor.reminder_ports import ReminderContext
from clearwatch.services.monitor.reminders import list_reminders, mark_reminder_done

router = APIRouter(tags=["cases"])
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]


class ReviewWarningOut(BaseModel):
    warning_id: int
    business_date: date
    result_version: int
    institution_id: str
    level: str
    criteria: list[str]
    route_to: str = Field(description="The bureau (region code) it is routed to.")
    cc: str
    special_report: bool
    problem_amount_fen: int = Field(description="Integer fen (分).")
    problem_amount: str = Field(description="Yuan with two decimals.")
    status: WarningStatus
    proposed_by: str
    decided_by: str | None
    reason: str | None


class WarningDecided(BaseModel):
    warning: ReviewWarningOut
    status: WarningStatus
    deliveries: int = Field(description="Outbox rows written with the approval.")


class WithdrawalIn(BaseModel):
    reason: Reason


class DeliveryOut(BaseModel):
    delivery_id: int
    delivery_key: str
    recipient: str
    channel: str
    notice: str
    state: str = Field(description="pending, claimed, delivered, failed or parked.")
    attempts: int
    created_at: datetime
    last_at: datetime | None
    retry_at: datetime | None
    error: str


class InboxMessageOut(BaseModel):
    message_id: int
    recipient: str
    delivery_key: str
    business_date: date
    institution_id: str
    level: str
    notice: str
    special_report: bool
    delivered_at: datetime
    body: dict[str, Any] = Field(description="The notice: warning, findings, who approved.")


class ReminderOut(BaseModel):
    reminder_id: int
    institution_id: str
    category: str
    business_date: date
    issued_at: datetime
    text: str
    bureau: str = Field(description="The bureau whose task it is (the institution's region).")
    due_at: datetime = Field(description="17:00 Asia/Shanghai, 2nd business day after issue.")
    done: bool
    done_by: str | None
    done_at: datetime | None
    note: str | None


class ReminderDoneIn(BaseModel):
    note: str = Field(min_length=1, max_length=note_chars_max, description="What was said.")


def _review_out(w: ReviewWarning) -> ReviewWarningOut:
    return ReviewWarningOut(
        warning_id=w.warning_id,
        business_date=w.business_date,
        result_version=w.result_version,
        institution_id=w.institution_id,
        level=w.level,
        criteria=list(w.criteria),
        route_to=w.route_to,
        cc=w.cc,
        special_report=w.special_report,
        problem_amount_fen=w.problem_amount_fen,
        problem_amount=format_fen(w.problem_amount_fen),
        status=w.status,
        proposed_by=w.proposed_by,
        decided_by=w.decided_by,
        reason=w.reason,
    )


@router.get("/warnings/review", responses=problems(403))
def warnings_review(
    gate: CallerGate,
    wired: Wired,
    business_date: BusinessDate | None = None,
    status: WarningStatus | None = None,
) -> list[ReviewWarningOut]:
    """The warnings of each date's latest result in the caller's scope, with their approval
    status (proposed, approved, withdrawn) and ids to approve by."""
    found = review_warnings(
        gate=gate, context=wired.delivery_context(), business_date=business_date, status=status
    )
    return [_review_out(w) for w in found]


def _decided(outcome: ApprovalOutcome) -> WarningDecided:
    return WarningDecided(
        warning=_review_out(outcome.warning), status=outcome.status, deliveries=outcome.deliveries
    )


@router.post("/warnings/{warning_id}/approve", responses=problems(403, 404, 409))
def warnings_approve(warning_id: Id, gate: CallerGate, wired: Wired) -> WarningDecided:
    """Approve a proposed warning (a reviewer, never its proposer): into the outbox."""
    may_ask(gate, Action.WARNINGS_APPROVE)
    with answered_by_rule():
        outcome = approve_warning(
            warning_id=warning_id, gate=gate, context=wired.delivery_context()
        )
    return _decided(outcome)


@router.post("/warnings/{warning_id}/withdraw", responses=problems(403, 404, 409))
def warnings_withdraw(
    warning_id: Id, body: WithdrawalIn, gate: CallerGate, wired: Wired
) -> WarningDecided:
    """Withdraw a proposed warning with a reason (a reviewer, never its proposer)."""
    may_ask(gate, Action.WARNINGS_WITHDRAW)
    with answered_by_rule():
        outcome = withdraw_warning(
            warning_id=warning_id, reason=body.reason, gate=gate, context=wired.delivery_context()
        )
    return _decided(outcome)


def _delivery_out(d: Delivery) -> DeliveryOut:
    return DeliveryOut(
        delivery_id=d.delivery_id,
        delivery_key=d.delivery_key,
        recipient=d.recipient,
        channel=d.channel.value,
        notice=d.notice.value,
        state="pending" if d.last_event is None else d.last_event.value,
        attempts=d.attempts,
        created_at=d.created_at,
        last_at=d.last_at,
        retry_at=d.retry_at,
        error=d.error,
    )


@router.get("/deliveries", responses=problems(403))
def deliveries_list(
    gate: CallerGate,
    wired: Wired,
    parked: Annotated[bool, Query(description="Only the parked ones.")] = False,
) -> list[DeliveryOut]:
    """The outbox as SIPF's operators see it: each delivery, its state and attempts."""
    found = list_deliveries(gate=gate, context=wired.delivery_context(), parked_only=parked)
    return [_delivery_out(d) for d in found]


def _message_out(m: InboxMessage) -> InboxMessageOut:
    return InboxMessageOut(
        message_id=m.message_id,
        recipient=m.recipient,
        delivery_key=m.delivery_key,
        business_date=m.business_date,
        institution_id=m.institution_id,
        level=m.level,
        notice=m.notice.value,
        special_report=m.special_report,
        delivered_at=m.delivered_at,
        body=masked_notice_body(m.body),
    )


@router.get("/inbox", responses=problems(403))
def inbox(gate: CallerGate, wired: Wired) -> list[InboxMessageOut]:
    """The caller's organisation's inbox: the notices delivered to it."""
    return [_message_out(m) for m in read_inbox(gate=gate, context=wired.delivery_context())]


def _reminder_out(task: BureauReminder) -> ReminderOut:
    r, mark = task.reminder, task.mark
    return ReminderOut(
        reminder_id=r.reminder_id,
        institution_id=r.institution_id,
        category=r.category.value,
        business_date=r.business_date,
        issued_at=r.issued_at,
        text=r.text,
        bureau=task.bureau,
        due_at=task.due_at,
        done=mark is not None,
        done_by=None if mark is None else mark.done_by,
        done_at=None if mark is None else mark.done_at,
        note=None if mark is None else mark.note,
    )


def _reminders(wired: Wired) -> ReminderContext:
    # A done-mark is a person's act now, never a replay's business time.
    return ReminderContext(clock=wired.real_clock, uow_factory=wired.uow)


@router.get("/reminders", responses=problems(403))
def reminders_list(
    gate: CallerGate,
    wired: Wired,
    institution_id: Annotated[str | None, Query(min_length=1, max_length=32)] = None,
    open_only: Annotated[bool, Query(alias="open", description="Only those not done.")] = False,
) -> list[ReminderOut]:
    """Verbal reminders (口头提醒): a bureau its tasks, SIPF all, an institution its own."""
    found = list_reminders(
        gate=gate, context=_reminders(wired), institution_id=institution_id, open_only=open_only
    )
    return [_reminder_out(t) for t in found]


@router.post("/reminders/{reminder_id}/done", responses=problems(403, 404, 409))
def reminders_done(
    reminder_id: Id, body: ReminderDoneIn, gate: CallerGate, wired: Wired
) -> ReminderOut:
    """A user of the reminder's bureau marks it done, once, with a note. Another bureau's
    reminder is not found, as one that never was."""
    may_ask(gate, Action.REMINDERS_DONE)
    with answered_by_rule(private=ReminderRule.REMINDER_MUST_EXIST):
        task = mark_reminder_done(
            reminder_id=reminder_id, note=body.note, gate=gate, context=_reminders(wired)
        )
    return _reminder_out(task)
