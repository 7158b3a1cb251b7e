"""Verification cases over HTTP: list, show with the timeline, explain, decide, approve.

The same use cases as `clearwatch cases`, asking the same policy. A case the caller's scope does
not reach is not found, as one that never was (the denial is audited all the same); a role the
table never lets act at all is refused (403) before anything is looked up. An explanation is a
multipart form: its fields and up to `attachments_per_explanation_max` files, each within
`attachment_bytes_max` (the CLI's limits), the whole body cut off at
`explanation_body_bytes_max` while it streams in.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Path, Query, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from clearwatch.domain.access.policy import Action
from clearwatch.domain.monitor.cases import (
    Case,
    CaseEvent,
    CaseRule,
    CaseStatus,
    attachment_bytes_max,
    attachments_per_explanation_max,
    explanation_chars_max,
    reason_chars_max,
    responsible_party_chars_max,
)
from clearwatch.domain.monitor.cases_notice import WarningRule
from clearwatch.domain.monitor.reminders import ReminderRule
from clearwatch.domain.shared.errors import Refused
from clearwatch.domain.shared.money import format_fen
from clearwatch.entrypoints.api.problems import ProblemError, problems
from clearwatch.entrypoints.api.security import CallerGate, Wired, may_ask
from clearwatch.entrypoints.api.values import BusinessDate
from clearwatch.services.access.authorize import PolicyDenied
from clearwatch.services.monitor.cases import (
    attachment_bytes,
    explain_case,
    list_cases,
    show_case,
)
from clearwatch.services.monitor.cases_review import approve_escalation, decide_case

router = APIRouter(tags=["cases"])
ATTACHMENT_MUST_BELONG = "attachment_must_belong_to_the_case"
# The whole multipart body of an explanation: every attachment at its limit, and the fields.
explanation_body_bytes_max = attachments_per_explanation_max * attachment_bytes_max + 1024 * 1024
EXPLANATION_PATH = re.compile(r"/api/v1/cases/[^/]+/explanation")
CaseId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Sha256 = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")]

# A refusal of a use case that is about the thing asked for, not the request's shape: the
# thing does not exist (404), or its state forbids the move now (409).
STATUS_OF_RULE = {
    CaseRule.CASE_MUST_EXIST.value: 404,
    ATTACHMENT_MUST_BELONG: 404,
    WarningRule.WARNING_MUST_EXIST.value: 404,
    ReminderRule.REMINDER_MUST_EXIST.value: 404,
    CaseRule.MOVE_MUST_BE_ALLOWED.value: 409,
    CaseRule.CASE_MUST_NOT_HAVE_CHANGED.value: 409,
    WarningRule.WARNING_MUST_BE_PROPOSED.value: 409,
    WarningRule.WARNING_MUST_BE_OF_LATEST_VERSION.value: 409,
    ReminderRule.REMINDER_MUST_NOT_BE_DONE.value: 409,
}


@contextmanager
def answered_by_rule(*, private: str | None = None) -> Iterator[None]:
    """A use case's refusal with the status its rule calls for; with `private` (the rule of
    a thing not found), a denial on the thing is answered as if it did not exist."""
    try:
        yield
    except PolicyDenied as denied:
        if private is None:
            raise
        raise ProblemError(404, private, "not found in your scope") from denied
    except Refused as refusal:
        if private is not None and refusal.rule == private:  # as a denial is: nothing told
            raise ProblemError(404, private, "not found in your scope") from refusal
        status = STATUS_OF_RULE.get(refusal.rule)
        if status is None:
            raise
        raise ProblemError(status, refusal.rule, str(refusal)) from refusal


class CaseOut(BaseModel):
    case_id: int
    institution_id: str
    business_date: date
    finding_code: str
    amount_fen: int = Field(description="Integer fen (分).")
    amount: str = Field(description="Yuan with two decimals.")
    status: CaseStatus
    deadline_at: datetime = Field(description="17:00 Asia/Shanghai, 2nd business day after D.")
    bureaus: list[str] = Field(description="The bureaus its findings go to.")
    region: str | None
    opened_at: datetime
    opened_in_version: int


class AttachmentOut(BaseModel):
    name: str
    sha256: str
    size_bytes: int


class ExplanationOut(BaseModel):
    category: str
    text: str
    responsible_party: str
    attachments: list[AttachmentOut]


class CaseEventOut(BaseModel):
    seq: int
    move: str
    status: CaseStatus
    actor: str
    at: datetime
    reason: str
    criterion: str | None
    explanation: ExplanationOut | None


class CaseDetail(BaseModel):
    case: CaseOut
    timeline: list[CaseEventOut]


class ExplainOut(BaseModel):
    case: CaseOut
    counted_overdue: bool = Field(description="Its deadline had passed: marked overdue first.")


class DecisionIn(BaseModel):
    decision: Literal["accept", "careless", "falsified", "escalate"]
    reason: str = Field(min_length=1, max_length=reason_chars_max)
    criterion: Literal["M4", "G7", "A7"] | None = Field(
        default=None, description="For escalate: the criterion the escalation designates."
    )


class ApprovalIn(BaseModel):
    reason: str = Field(min_length=1, max_length=reason_chars_max)


class DecisionOut(BaseModel):
    case: CaseOut
    criterion: str | None = Field(description="What the decision added to D, if anything.")
    counted_careless: bool
    result_version: int | None = Field(description="D's result version after it, if regraded.")


def case_out(case: Case) -> CaseOut:
    return CaseOut(
        case_id=case.case_id,
        institution_id=case.institution_id,
        business_date=case.business_date,
        finding_code=case.finding_code.value,
        amount_fen=case.amount_fen,
        amount=format_fen(case.amount_fen),
        status=case.status,
        deadline_at=case.deadline_at,
        bureaus=list(case.bureaus),
        region=case.region,
        opened_at=case.opened_at,
        opened_in_version=case.opened_in_version,
    )


def _event_out(event: CaseEvent) -> CaseEventOut:
    e = event.explanation
    return CaseEventOut(
        seq=event.seq,
        move=event.move.value,
        status=event.status,
        actor=event.actor,
        at=event.at,
        reason=event.reason,
        criterion=None if event.criterion is None else event.criterion.value,
        explanation=None
        if e is None
        else ExplanationOut(
            category=e.category.value,
            text=e.text,
            responsible_party=e.responsible_party,
            attachments=[AttachmentOut(name=a.name, sha256=a.sha256, size_bytes=a.size_bytes)
                         for a in e.attachments],
        ),
    )  # fmt: skip


@router.get("/cases", responses=problems(403))
def cases_list(
    gate: CallerGate,
    wired: Wired,
    business_date: BusinessDate | None = None,
    institution_id: Annotated[str | None, Query(min_length=1, max_length=32)] = None,
    status: CaseStatus | None = None,
) -> list[CaseOut]:
    """The cases the caller's scope reaches: SIPF all, a bureau those behind what is routed
    to it, an institution its own."""
    found = list_cases(
        gate=gate,
        context=wired.cases_context(regrade=False),
        business_date=business_date,
        institution_id=institution_id,
        status=status,
    )
    return [case_out(case) for case in found]


@router.get("/cases/{case_id}", responses=problems(403, 404))
def cases_show(case_id: CaseId, gate: CallerGate, wired: Wired) -> CaseDetail:
    """One case with its whole timeline: every move, who, when, why, and the explanations."""
    may_ask(gate, Action.CASES_READ)
    with answered_by_rule(private=CaseRule.CASE_MUST_EXIST):
        case, events = show_case(
            case_id=case_id, gate=gate, context=wired.cases_context(regrade=False)
        )
    return CaseDetail(case=case_out(case), timeline=[_event_out(e) for e in events])


@router.get(
    "/cases/{case_id}/attachments/{sha256}",
    response_class=Response,
    responses={
        **problems(403, 404),
        200: {
            "description": "The attachment's bytes, as they were uploaded.",
            "content": {"application/octet-stream": {"schema": {"type": "string",
                                                                "format": "binary"}}},
        },
    },
)  # fmt: skip
def cases_attachment(case_id: CaseId, sha256: Sha256, gate: CallerGate, wired: Wired) -> Response:
    """An attachment of one of the case's explanations, for whoever may read the case."""
    may_ask(gate, Action.CASES_READ)
    with answered_by_rule(private=CaseRule.CASE_MUST_EXIST):
        data = attachment_bytes(
            case_id=case_id, sha256=sha256, gate=gate, context=wired.cases_context(regrade=False)
        )
    return Response(data, media_type="application/octet-stream")


async def _read_attachments(files: list[UploadFile]) -> list[tuple[str, bytes]]:
    """Each file's name and bytes; the domain checks names, sizes and count by rule."""
    if len(files) > attachments_per_explanation_max:
        raise Refused(
            CaseRule.ATTACHMENTS_MUST_NOT_BE_TOO_MANY, f"at most {attachments_per_explanation_max}"
        )
    read = []
    for upload in files:
        data = await upload.read(attachment_bytes_max + 1)
        if len(data) > attachment_bytes_max:
            raise Refused(
                CaseRule.ATTACHMENT_MUST_NOT_BE_TOO_LARGE,
                f"{upload.filename}: at most {attachment_bytes_max} B",
            )
        read.append((upload.filename or "", data))
    return read


@router.post("/cases/{case_id}/explanation", responses=problems(403, 404, 409, 413))
async def cases_explain(
    case_id: CaseId,
    gate: CallerGate,
    wired: Wired,
    category: Annotated[
        Literal["timing_difference", "data_error", "operational_error", "misconduct", "other"],
        Form(),
    ],
    text: Annotated[str, Form(min_length=1, max_length=explanation_chars_max)],
    responsible_party: Annotated[str, Form(min_length=1, max_length=responsible_party_chars_max)],
    attachments: Annotated[list[UploadFile] | None, File(description="Files to attach.")] = None,
) -> ExplainOut:
    """The institution's officer explains its own case (核实说明), also one past its deadline."""
    await run_in_threadpool(may_ask, gate, Action.CASES_EXPLAIN)
    read = await _read_attachments(attachments or [])
    with answered_by_rule(private=CaseRule.CASE_MUST_EXIST):
        outcome = await run_in_threadpool(
            lambda: explain_case(
                case_id=case_id,
                category=category,
                text=text,
                responsible_party=responsible_party,
                attachments=read,
                gate=gate,
                context=wired.cases_context(),
            )
        )
    return ExplainOut(case=case_out(outcome.case), counted_overdue=outcome.counted_overdue)


def _decision_out(outcome: Any) -> DecisionOut:
    return DecisionOut(
        case=case_out(outcome.case),
        criterion=None if outcome.criterion is None else outcome.criterion.value,
        counted_careless=outcome.counted_careless,
        result_version=outcome.result_version,
    )


@router.post("/cases/{case_id}/decision", responses=problems(403, 404, 409))
def cases_decide(case_id: CaseId, body: DecisionIn, gate: CallerGate, wired: Wired) -> DecisionOut:
    """Review an explained case (SIPF's analyst or reviewer): accept, careless, falsified (M3,
    D graded again) or escalate (M4, G7 or A7, effective once a second reviewer approves)."""
    may_ask(gate, Action.CASES_DECIDE)
    with answered_by_rule(private=CaseRule.CASE_MUST_EXIST):
        outcome = decide_case(
            case_id=case_id,
            decision=body.decision,
            reason=body.reason,
            criterion=body.criterion,
            gate=gate,
            context=wired.cases_context(),
        )
    return _decision_out(outcome)


@router.post("/cases/{case_id}/approval", responses=problems(403, 404, 409))
def cases_approve(case_id: CaseId, body: ApprovalIn, gate: CallerGate, wired: Wired) -> DecisionOut:
    """A reviewer other than who escalated approves the escalation: its criterion enters D."""
    may_ask(gate, Action.CASES_APPROVE)
    with answered_by_rule(private=CaseRule.CASE_MUST_EXIST):
        outcome = approve_escalation(
            case_id=case_id, reason=body.reason, gate=gate, context=wired.cases_context()
        )
    return _decision_out(outcome)
