"""The risk desk's use cases: review an alert, ask to halt a client, approve that halt.

Every one asks the policy inside its own transaction (the alert's broker is the resource), so
an operator of another broker is refused, the refusal audited and nothing changed. A halt is
the existing maker-checker: `request_approval` for the operator, `approve` for a checker of
the same back office (all its segregation rules: never the maker, never an admin; a duty
officer acts through an emergency grant of `checker`, and the audit says so). The approval
and the intraday halt commit together; the watch hears of the halt once committed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from clearwatch.domain.access.approvals import AccessRefused, ApprovalRequest
from clearwatch.domain.access.policy import Action, Resource
from clearwatch.domain.shared.errors import Refused
from clearwatch.domain.shared.masking import mask
from clearwatch.domain.watch.alerts import Alert, alert_label, alert_to_dict, is_alert_number
from clearwatch.domain.watch.live import halt_events
from clearwatch.domain.watch.reviews import (
    HALT_KIND,
    HALT_RULE,
    AlertReview,
    ReviewDecision,
    ReviewRule,
    WatchAudit,
    check_halt,
    halt_content,
    halt_subject,
    new_review,
    parse_halt_subject,
)
from clearwatch.services.access.approvals import approve, approved_content_for, request_approval
from clearwatch.services.access.authorize import Gate, denials_audited, require
from clearwatch.services.audit.audit_log import record_audit
from clearwatch.services.watch.ports import (
    NO_PUBLISHER,
    AlertLog,
    EventPublisher,
    WatchUnitOfWork,
)


@dataclass(frozen=True)
class HaltOutcome:
    """What `request_halt` or `approve_halt` did: asked, halted, or found the halt this
    approval raised already standing (the request, in each case)."""

    request: ApprovalRequest
    halted: bool  # this call halted the client for the day (False: asked, or nothing changed)
    already_halted: bool = False  # this approval's halt already stood: nothing was added


def find_alert(log: AlertLog, handle: str, *, sees: Callable[[str], bool]) -> Alert:
    """The alert a user named: by its number (what listings show) among the alerts of the
    brokers `sees` admits, since numbers run per broker; or by its key (still taken, never
    shown; another broker's is then refused by the use case's policy, audited). Refused by
    name, the handle masked unless it is a number."""
    if not is_alert_number(handle):
        for alert in log.recorded():
            if alert.key == handle:
                return alert
        raise Refused(ReviewRule.ALERT_MUST_EXIST, mask(handle))
    named = [a for a in log.recorded() if str(a.number) == handle and sees(a.broker_id)]
    if len(named) > 1:
        where = f"alert #{handle} of {len(named)} brokers you see: name it by its key"
        raise Refused(ReviewRule.ALERT_NUMBER_MUST_NAME_ONE, where)
    if not named:
        raise Refused(ReviewRule.ALERT_MUST_EXIST, f"alert #{handle}")
    return named[0]


def named_alert(log: AlertLog, handle: str, *, gate: Gate, action: Action) -> Alert:
    """`find_alert` for a caller: a number among the alerts of the brokers `action` reaches
    for them (numbers run per broker)."""
    sees = gate.lister(action)
    return find_alert(log, handle, sees=lambda broker: sees(books_of(broker)))


def books_of(broker_id: str) -> Resource:
    return Resource(organisation=f"BO:{broker_id}", institution=broker_id)


def review_alert(
    *,
    uow: WatchUnitOfWork,
    alert: Alert,
    decision: ReviewDecision,
    reason: str,
    reviewer: str,
    at: datetime,
) -> AlertReview:
    """Confirm or dismiss (with a reason) an alert, once; audited with the alert's hash."""
    with denials_audited(uow, at=at), uow:
        require(uow, user_id=reviewer, action=Action.WATCH_REVIEW,
                resource=books_of(alert.broker_id), at=at)  # fmt: skip
        review = new_review(
            alert,
            decision=decision,
            reason=reason,
            reviewer=reviewer,
            at=at,
            earlier=uow.watch_reviews.review(alert.key),
        )
        if not uow.watch_reviews.add(review, alert=alert_to_dict(alert)):
            raise Refused(ReviewRule.ALERT_MUST_BE_REVIEWED_ONCE, alert_label(alert))
        record_audit(
            uow,
            actor=reviewer,
            action=WatchAudit.ALERT_REVIEWED,
            object_ref=f"alert:{alert.key}",
            payload={
                "decision": decision.value,
                "reason": review.reason,
                "rule": alert.rule,
                "level": alert.level.value,
                "rules_sha256": alert.rules_sha256,
                "model_version": alert.model_version,
            },
            recorded_at=at,
        )
        uow.commit()
    return review


def request_halt(
    *,
    uow: WatchUnitOfWork,
    alert: Alert,
    fund_account: str,
    business_date: date,
    maker: str,
    at: datetime,
    publisher: EventPublisher = NO_PUBLISHER,
) -> HaltOutcome:
    """Ask a checker to halt a client a confirmed alert names, for one trading day. Asked
    again once a checker approved it through `approvals approve`, it applies the halt."""
    subject = halt_subject(alert.broker_id, fund_account, business_date)
    with denials_audited(uow, at=at), uow:
        require(uow, user_id=maker, action=Action.WATCH_HALT,
                resource=books_of(alert.broker_id), at=at)  # fmt: skip
        check_halt(alert, uow.watch_reviews.review(alert.key), fund_account)
        try:
            approved = approved_content_for(
                uow, kind=HALT_KIND, subject_ref=subject, content=halt_content(fund_account)
            )
        except AccessRefused:
            approved = None
        # An approved halt since lifted (an approved override) needs a new approval to halt again.
        if approved is not None and not _lifted(uow, approved):
            seq = _halt(uow, approved, at)
            uow.commit()
            _tell(publisher, approved, seq, at)
            return HaltOutcome(approved, halted=seq is not None, already_halted=seq is None)
        request = ask_for_alert_halt(
            uow, alert=alert, kind=HALT_KIND, subject=subject,
            content={**halt_content(fund_account), "business_date": business_date.isoformat()},
            audit_action=WatchAudit.HALT_REQUESTED, maker=maker, at=at,
        )  # fmt: skip
        uow.commit()
    return HaltOutcome(request, halted=False)


def ask_for_alert_halt(
    uow: WatchUnitOfWork,
    *,
    alert: Alert,
    kind: str,
    subject: str,
    content: dict[str, str],
    audit_action: str,
    maker: str,
    at: datetime,
) -> ApprovalRequest:
    """The approval request of a halt an alert asks for (a client's, or a flow's), with the
    alert it came from, and its audit record; inside the caller's unit of work."""
    request = request_approval(
        uow=uow,
        kind=kind,
        subject_ref=subject,
        payload={
            **content,
            "broker_id": alert.broker_id,
            "alert": alert.key,
            "rule": alert.rule,
            "level": alert.level.value,
        },
        maker=maker,
        at=at,
    )
    record_audit(
        uow,
        actor=maker,
        action=audit_action,
        object_ref=f"alert:{alert.key}",
        payload={"approval": request.request_id, "subject": subject},
        recorded_at=at,
    )
    return request


def approve_halt(
    *,
    uow: WatchUnitOfWork,
    request_id: int,
    checker: str,
    at: datetime,
    publisher: EventPublisher = NO_PUBLISHER,
) -> HaltOutcome:
    """A checker (or a duty officer by emergency grant) approves a halt: the approval and the
    intraday halt commit together, so no approved halt is left unapplied by this path."""
    with denials_audited(uow, at=at), uow:
        pending = uow.access.request(request_id)
        if pending is None or pending.kind.value != HALT_KIND:
            raise Refused(ReviewRule.REQUEST_MUST_BE_WATCH_HALT, f"approval #{request_id}")
        broker_id, _, _ = parse_halt_subject(pending.subject_ref)
        check_asked_by_confirmed_alert(uow, pending, broker_id)
        decided = approve(uow=uow, request_id=request_id, checker=checker, at=at)
        seq = _halt(uow, decided, at)
        uow.commit()
    _tell(publisher, decided, seq, at)
    return HaltOutcome(decided, halted=seq is not None, already_halted=seq is None)


def check_asked_by_confirmed_alert(
    uow: WatchUnitOfWork, pending: ApprovalRequest, broker_id: str
) -> None:
    """A halt request raised in the generic queue names no alert: only one that names an
    alert of the halted broker confirmed by review halts a client or a flow (as `watch alerts
    halt` and `halt-flow` ask)."""
    key = str(pending.payload.get("alert") or "")
    review = uow.watch_reviews.review(key) if key else None
    if (
        review is None
        or review.decision is not ReviewDecision.CONFIRMED
        or review.broker_id != broker_id
    ):
        raise Refused(ReviewRule.HALT_NEEDS_CONFIRMED_ALERT, f"approval #{pending.request_id}")


def _cause(approved: ApprovalRequest) -> str:
    """One approved halt raises one intraday halt, however often it is applied."""
    return f"approval:{approved.request_id}"


def _lifted(uow: WatchUnitOfWork, approved: ApprovalRequest) -> bool:
    broker_id, fund_account, day = parse_halt_subject(approved.subject_ref)
    halts = uow.intraday.halts(business_date=day, broker_id=broker_id, fund_account=fund_account)
    return any(h.lifted for h in halts if h.cause == _cause(approved))


def _halt(uow: WatchUnitOfWork, approved: ApprovalRequest, at: datetime) -> int | None:
    """The intraday halt every node reads before each order batch: its seq of the client's
    day, or None if this approval already halted the client."""
    broker_id, fund_account, day = parse_halt_subject(approved.subject_ref)
    evidence = {
        "rule": HALT_RULE,
        "alert": approved.payload.get("alert"),
        "approval": approved.request_id,
        "maker": approved.maker,
        "checker": approved.checker,
    }
    seq = uow.intraday.add_halt(
        broker_id=broker_id,
        business_date=day,
        fund_account=fund_account,
        evidence=evidence,
        raised_at=at,
        raised_by=approved.checker or approved.maker,
        cause=_cause(approved),
    )
    if seq is not None:
        record_audit(
            uow,
            actor=approved.checker or approved.maker,
            action=WatchAudit.CLIENT_HALTED,
            object_ref=f"client:{broker_id}/{fund_account}/{day.isoformat()}",
            payload=evidence,
            recorded_at=at,
        )
    return seq


def _tell(
    publisher: EventPublisher, approved: ApprovalRequest, seq: int | None, at: datetime
) -> None:
    if seq is None:
        return
    broker_id, fund_account, day = parse_halt_subject(approved.subject_ref)
    publisher.occurred(
        halt_events(
            broker_id=broker_id,
            business_date=day,
            fund_accounts=[fund_account],
            rule=HALT_RULE,
            raised_by=approved.checker or approved.maker,
            at=at,
            seqs={fund_account: seq},
        )
    )


def alert_reviews(*, uow: WatchUnitOfWork) -> dict[str, AlertReview]:
    """Every review, by alert key (the desk's list joins them with the alert log)."""
    with uow:
        return {review.alert_key: review for review in uow.watch_reviews.reviews()}
