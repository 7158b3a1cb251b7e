"""The risk desk's alerts over HTTP: list the broker's own, review one, ask to halt (风控复核).

The routes call the very use cases `clearwatch watch alerts` calls. Only the broker's own back
office sees its alerts: a listing keeps the rows the policy lets the caller see, and an alert
of another broker is answered as an unknown one (404 `alert_must_exist`: its key names a
client), the denial still audited. A halt is a maker-checker request: `pending` until a
checker approves it (`POST /approvals/{id}/approve`); asked again then, it is applied.
An alert is named by its number (its place among its broker's alerts in the alert log,
`/watch/alerts/{number}/…`, so a number shows nothing of another broker's alerts): its
key ends with the client's account, so listings show it masked unless the evidence is asked
for and allowed; the key is still taken as the handle.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from clearwatch.bootstrap import Application
from clearwatch.domain.access.approval_masking import masked_request
from clearwatch.domain.access.approvals import ApprovalRequest
from clearwatch.domain.access.policy import Action, Resource
from clearwatch.domain.shared.calendar import SHANGHAI
from clearwatch.domain.shared.errors import Refused
from clearwatch.domain.watch.alert_masking import masked_alert
from clearwatch.domain.watch.alerts import Alert, WatchLevel, alert_to_dict
from clearwatch.domain.watch.flow_halts import ANY_COUNTERPARTY, Flow
from clearwatch.domain.watch.reviews import AlertReview, ReviewDecision, ReviewRule
from clearwatch.entrypoints.api.problems import ProblemError, problems
from clearwatch.entrypoints.api.security import CallerGate, Wired, may_ask
from clearwatch.entrypoints.api.values import BusinessDate, Limit, Offset, listing_rows_max
from clearwatch.services.access.authorize import Gate, PolicyDenied
from clearwatch.services.watch.flow_halts import request_flow_halt
from clearwatch.services.watch.review import (
    HaltOutcome,
    alert_reviews,
    named_alert,
    request_halt,
    review_alert,
)

router = APIRouter(prefix="/watch", tags=["watch"])
# The alert's number (what listings show); its key, which names a client, is still taken.
AlertHandle = Annotated[
    str,
    Path(
        min_length=1,
        max_length=512,
        pattern=r"^[^\x00-\x1f\x7f]+$",
        description="The alert's number (its key is taken too).",
    ),
]
Account = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]
STATUS_OF_RULE = {
    ReviewRule.ALERT_MUST_EXIST.value: 404,
    ReviewRule.ALERT_MUST_BE_REVIEWED_ONCE.value: 409,
    ReviewRule.ALERT_NUMBER_MUST_NAME_ONE.value: 409,
}
T = TypeVar("T")
# The clients' accounts an alert names are masked unless the caller asks for the evidence
# itself and the policy allows it (`broker.evidence`: the broker's operator and checker).
Evidence = Annotated[bool, Query(description="Unmasked accounts (policy: broker.evidence).")]


class AlertState(StrEnum):
    OPEN = "open"  # not reviewed yet
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"


class ReviewIn(BaseModel):
    decision: Literal["confirm", "dismiss"]
    reason: str = Field("", max_length=2000, description="Why; required to dismiss.")


class HaltIn(BaseModel):
    """A client's trading for a day, or a flow: an account's outflows (to one counterparty)."""

    kind: Literal["client", "flow"]
    account: Account = Field(description="The client (kind client) or the sending account.")
    business_date: BusinessDate | None = Field(
        None, description="Kind client: the trading day to halt (default: today in Shanghai)."
    )
    counterparty: str = Field(
        ANY_COUNTERPARTY,
        min_length=1,
        max_length=128,
        pattern=r"^[^\x00-\x1f\x7f]+$",
        description="Kind flow: only outflows to this counterparty; `*` (default) all.",
    )


class ReviewOut(BaseModel):
    alert: int = Field(description="The alert's number (its key names a client: never shown).")
    decision: AlertState
    reason: str
    reviewer: str
    reviewed_at: str


class AlertOut(BaseModel):
    number: int = Field(description="The handle a review or a halt takes (`/watch/alerts/{n}`).")
    key: str = Field(description="Ends with the subject: its client masked unless evidence.")
    rule: str
    level: WatchLevel
    business_date: date
    broker_id: str
    subject: str = Field(description="A client's account masked (`***` and the last "
                         "characters) unless evidence.")  # fmt: skip
    summary: str = Field(description="The accounts it names masked unless evidence.")
    amount_fen: int
    amount: str = Field(description="Yuan, two decimals, as text.")
    raised_at: str
    rules_sha256: str
    model_version: str
    evidence: list[dict[str, Any]] = Field(description="The events, amounts in integer fen.")
    state: AlertState
    review: ReviewOut | None


class HaltOut(BaseModel):
    request_id: int
    subject: str = Field(description="The request's subject, the client it names masked.")
    state: Literal["pending", "halted", "already_halted"] = Field(
        description="already_halted: this approval's halt already stood; nothing changed."
    )
    flow_halt_id: int | None = Field(description="Kind flow, once halted: lift it by this id.")


def _books(broker_id: str) -> Resource:
    return Resource(organisation=f"BO:{broker_id}", institution=broker_id)


def _review_out(review: AlertReview, alert: Alert) -> ReviewOut:
    return ReviewOut(
        alert=alert.number,
        decision=AlertState(review.decision.value),
        reason=review.reason,
        reviewer=review.reviewer,
        reviewed_at=review.reviewed_at.isoformat(),
    )


def _alert_out(alert: Alert, review: AlertReview | None, *, evidence: bool) -> AlertOut:
    """The alert as answered: the accounts it names whole only as allowed evidence."""
    row = alert_to_dict(alert) if evidence else masked_alert(alert_to_dict(alert))
    return AlertOut(
        **{k: row[k] for k in ("key", "rule", "subject", "summary", "amount", "raised_at")},
        number=alert.number,
        level=alert.level,
        business_date=alert.business_date,
        broker_id=alert.broker_id,
        amount_fen=alert.amount_fen,
        rules_sha256=alert.rules_sha256,
        model_version=alert.model_version,
        evidence=row["evidence"],
        state=AlertState.OPEN if review is None else AlertState(review.decision.value),
        review=None if review is None else _review_out(review, alert),
    )


def _answered(call: Callable[[], T]) -> T:
    """The use case's result. Another broker's alert is answered as an unknown one (its key
    names a client; the denial was audited by the use case); named refusals get their status."""
    try:
        return call()
    except PolicyDenied as denied:
        raise ProblemError(404, ReviewRule.ALERT_MUST_EXIST.value, "no such alert") from denied
    except Refused as refusal:
        status = STATUS_OF_RULE.get(refusal.rule)
        if status is None:
            raise
        raise ProblemError(status, refusal.rule, str(refusal)) from refusal


def _alert(wired: Application, gate: Gate, action: Action, key: str) -> Alert:
    log = wired.watch_wiring().alert_log()
    return _answered(lambda: named_alert(log, key, gate=gate, action=action))


@router.get("/alerts", responses=problems(403))
def alerts_list(
    gate: CallerGate,
    wired: Wired,
    business_date: Annotated[BusinessDate | None, Query()] = None,
    level: WatchLevel | None = None,
    state: AlertState | None = None,
    limit: Limit = listing_rows_max,
    offset: Offset = 0,
    evidence: Evidence = False,
) -> list[AlertOut]:
    """The alerts of the caller's broker, oldest first, filtered by date, level and state;
    the clients' accounts masked unless `evidence` is asked for and allowed."""
    sees = gate.lister(Action.WATCH_READ)
    # Asked before anything is read, so that a refusal (audited) shows nothing.
    whole = (
        gate.evidence_lister(Action.BOOKS_EVIDENCE, read="GET /watch/alerts") if evidence else None
    )
    reviews = alert_reviews(uow=wired.read_uow())
    rows: list[AlertOut] = []
    for alert in wired.watch_wiring().alert_log().recorded():
        books = _books(alert.broker_id)
        if not sees(books):
            continue
        if business_date not in (None, alert.business_date) or level not in (None, alert.level):
            continue
        review = reviews.get(alert.key)
        if state not in (None, AlertState.OPEN if review is None else AlertState(review.decision)):
            continue
        if len(rows) == offset + limit:
            break  # only the page is built: an alert's answer carries its evidence
        rows.append(_alert_out(alert, review, evidence=bool(whole and whole(books))))
    return rows[offset:]


@router.post("/alerts/{key:path}/review", responses=problems(403, 404, 409))
def alerts_review(key: AlertHandle, body: ReviewIn, gate: CallerGate, wired: Wired) -> ReviewOut:
    """Confirm an alert (a halt may follow) or dismiss it with a reason; once per alert."""
    may_ask(gate, Action.WATCH_REVIEW)
    alert = _alert(wired, gate, Action.WATCH_REVIEW, key)
    decision = ReviewDecision.CONFIRMED if body.decision == "confirm" else ReviewDecision.DISMISSED
    review = _answered(
        lambda: review_alert(
            uow=wired.uow(),
            alert=alert,
            decision=decision,
            reason=body.reason,
            reviewer=gate.caller.user_id,
            at=wired.real_clock.now(),
        )
    )
    return _review_out(review, alert)


@router.post("/alerts/{key:path}/halt", status_code=201, responses=problems(403, 404, 409))
def alerts_halt(key: AlertHandle, body: HaltIn, gate: CallerGate, wired: Wired) -> HaltOut:
    """Ask to halt a client (for a day) or a flow a confirmed alert names; 201 either way,
    `state` says whether it awaits a checker or holds (asked again after the approval)."""
    may_ask(gate, Action.WATCH_HALT)
    alert = _alert(wired, gate, Action.WATCH_HALT, key)
    return _answered(lambda: _halt(wired, gate, alert, body))


def _halt_state(outcome: HaltOutcome) -> Literal["pending", "halted", "already_halted"]:
    if outcome.already_halted:
        return "already_halted"
    return "halted" if outcome.halted else "pending"


def _halt(wired: Application, gate: Gate, alert: Alert, body: HaltIn) -> HaltOut:
    now = wired.real_clock.now()
    if body.kind == "flow":
        flow = Flow(alert.broker_id, body.account, body.counterparty)
        flowed = request_flow_halt(
            uow=wired.uow(), alert=alert, flow=flow, maker=gate.caller.user_id, at=now,
            publisher=wired.watch_publisher(),
        )  # fmt: skip
        halt_id = None if flowed.halt is None else flowed.halt.halt_id
        return HaltOut(
            request_id=flowed.request.request_id,
            subject=_subject(flowed.request),
            state="pending" if halt_id is None else "halted",
            flow_halt_id=halt_id,
        )
    outcome = request_halt(
        uow=wired.uow(),
        alert=alert,
        fund_account=body.account,
        business_date=body.business_date or now.astimezone(SHANGHAI).date(),
        maker=gate.caller.user_id,
        at=now,
        publisher=wired.watch_publisher(),
    )
    return HaltOut(
        request_id=outcome.request.request_id,
        subject=_subject(outcome.request),
        state=_halt_state(outcome),
        flow_halt_id=None,
    )


def _subject(request: ApprovalRequest) -> str:
    """A halt's request as answered: the client it names masked (the answer is printed)."""
    return masked_request(request.subject_ref, dict(request.payload))[0]
