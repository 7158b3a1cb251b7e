"""Breaks (spec §6): listed; matched or explained by an operator; closed by a checker.

A break never changes: what happens to it is appended (`bo_break_events`). An operator's
`matched` or `explained` raises a request of kind `break_resolution` bound to the break, its
difference, the resolution and the reason (双人复核 by content). The break is closed once a
checker approved exactly the latest resolution, so its state is read, never stored: an
approval of another reason, or of an earlier resolution, closes nothing. A rejected
resolution leaves the break open for the operator to resolve again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from clearwatch.domain.access.approvals import AccessRefused, ApprovalRequest, ApprovalStatus
from clearwatch.domain.backoffice.approval_content import (
    break_content,
    break_names_client,
    break_subject,
)
from clearwatch.domain.shared.errors import Refused
from clearwatch.domain.shared.kinds import AuditAction
from clearwatch.domain.shared.masking import mask, mask_within
from clearwatch.domain.shared.money import format_fen
from clearwatch.services.access.approvals import approved_content_for, request_approval
from clearwatch.services.audit.audit_log import record_audit
from clearwatch.services.backoffice.ports import BackOfficeUnitOfWork, BreakRecord

BREAK_KIND = "break_resolution"
RESOLUTIONS = ("matched", "explained")
BREAK_MUST_EXIST = "break_must_exist"
BREAK_MUST_BE_OPEN = "break_must_be_open"
RESOLUTION_MUST_BE_KNOWN = "resolution_must_be_matched_or_explained"
RESOLUTION_MUST_HAVE_REASON = "break_resolution_must_have_reason"


def shown_subject(record: BreakRecord, *, evidence: bool = False) -> str:
    """The break's subject as printed: a client's fund account or an account's number masked
    by the one rule unless shown as the evidence the policy allowed; a market, or the break
    that counts the rest, as it is."""
    if evidence or not break_names_client(record.check, record.subject):
        return record.subject
    return mask(record.subject)


def shown_evidence(record: BreakRecord, *, evidence: bool = False) -> dict[str, Any]:
    """The break's stored evidence as printed: wherever it names the break's client or
    account (its subject), masked like the subject unless shown as the allowed evidence."""
    if evidence or not break_names_client(record.check, record.subject):
        return dict(record.evidence)
    masked: dict[str, Any] = mask_within(dict(record.evidence), [record.subject])
    return masked


class BreakState(StrEnum):
    OPEN = "open"
    PENDING = "pending"  # resolved by an operator, awaiting a checker
    CLOSED = "closed"


@dataclass(frozen=True)
class BreakView:
    record: BreakRecord
    state: BreakState
    resolution: str = ""  # the latest `matched` or `explained`
    reason: str = ""
    request_id: int | None = None  # the request pending, or the approval that closed it


def _content(record: BreakRecord, resolution: str, reason: str) -> dict[str, object]:
    return break_content(
        break_id=record.break_pk,
        difference_fen=record.books_fen - record.counterpart_fen,
        resolution=resolution,
        reason=reason,
    )


def _view(uow: BackOfficeUnitOfWork, record: BreakRecord, pending: dict[str, int]) -> BreakView:
    resolved = [event for event in record.events if event.event in RESOLUTIONS]
    if not resolved:
        return BreakView(record, BreakState.OPEN)
    latest = resolved[-1]
    subject = break_subject(record.broker_id, record.break_pk)
    try:
        approval = approved_content_for(
            uow,
            kind=BREAK_KIND,
            subject_ref=subject,
            content=_content(record, latest.event, latest.note),
        )
    except AccessRefused:
        state = BreakState.PENDING if subject in pending else BreakState.OPEN
        return BreakView(record, state, latest.event, latest.note, pending.get(subject))
    return BreakView(record, BreakState.CLOSED, latest.event, latest.note, approval.request_id)


def break_views(
    uow: BackOfficeUnitOfWork, *, broker_id: str | None = None, business_date: date | None = None
) -> list[BreakView]:
    """Breaks with their state (inside an open unit of work)."""
    pending = {
        request.subject_ref: request.request_id
        for request in uow.access.requests(status=ApprovalStatus.PENDING)
        if request.kind.value == BREAK_KIND
    }
    records = uow.books.breaks(broker_id=broker_id, business_date=business_date)
    return [_view(uow, record, pending) for record in records]


def list_breaks(
    *,
    uow: BackOfficeUnitOfWork,
    broker_id: str | None = None,
    business_date: date | None = None,
    everything: bool = False,
) -> list[BreakView]:
    """Breaks not closed (every break with `everything`), oldest day first."""
    with uow:
        views = break_views(uow, broker_id=broker_id, business_date=business_date)
    return [v for v in views if everything or v.state is not BreakState.CLOSED]


def find_break(uow: BackOfficeUnitOfWork, break_id: int) -> BreakRecord:
    with uow:
        record = uow.books.break_record(break_id)
    if record is None:
        raise Refused(BREAK_MUST_EXIST, str(break_id))
    return record


def resolve_break(
    *,
    uow: BackOfficeUnitOfWork,
    break_id: int,
    resolution: str,
    reason: str,
    maker: str,
    at: datetime,
) -> ApprovalRequest:
    """An operator matches or explains a break; a checker's approval of the request closes
    it. Refused when the break is closed, or a resolution already awaits a checker
    (`request_must_not_duplicate_pending`)."""
    if resolution not in RESOLUTIONS:
        raise Refused(RESOLUTION_MUST_BE_KNOWN, resolution)
    if not reason.strip():
        raise Refused(RESOLUTION_MUST_HAVE_REASON, str(break_id))
    with uow:
        record = uow.books.break_record(break_id)
        if record is None:
            raise Refused(BREAK_MUST_EXIST, str(break_id))
        if _view(uow, record, {}).state is BreakState.CLOSED:
            raise Refused(BREAK_MUST_BE_OPEN, f"break {break_id} is closed")
        content = _content(record, resolution, reason)
        request = request_approval(
            uow=uow,
            kind=BREAK_KIND,
            subject_ref=break_subject(record.broker_id, break_id),
            payload={
                **content,
                "broker_id": record.broker_id,
                "business_date": record.business_date.isoformat(),
                "check": record.check,
                "subject": record.subject,
                "books": format_fen(record.books_fen),
                "counterpart": format_fen(record.counterpart_fen),
            },
            maker=maker,
            at=at,
        )
        uow.books.add_break_event(break_id, event=resolution, actor=maker, note=reason, at=at)
        record_audit(
            uow,
            actor=maker,
            action=AuditAction.BREAK_RESOLVED,
            object_ref=break_subject(record.broker_id, break_id),
            payload={**content, "approval": request.request_id},
            recorded_at=at,
        )
        uow.commit()
    return request
