"""The risk desk's review of an alert, and the halt of a client it may ask for.

An operator of the broker's back office (the desk's maker) confirms or dismisses an alert,
once; a dismissal says why. A confirmed alert may ask to halt a client it names: a request of
the existing maker-checker kind `account_status` (status `halted`), bound to the client and,
through its subject, to the broker and the day. A checker approves it, never its maker; the
approval halts the client's trading for that day through the intraday halt every node obeys.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from clearwatch.domain.shared.errors import Refused
from clearwatch.domain.watch.alerts import Alert, alert_label
from clearwatch.domain.watch.events import EventKind

HALT_KIND = "account_status"  # the existing kind: a halted client is an account status
HALT_STATUS = "halted"
HALT_SUBJECT_PREFIX = "watch-halt:"
HALT_RULE = "watch_alert_confirmed_and_halt_approved"  # why the client was halted
# Events whose `account` is a client's fund account (not a special account or a reserve).
CLIENT_EVENT_KINDS = frozenset(
    {
        EventKind.EXECUTION,
        EventKind.BANK_TRANSFER,
        EventKind.CASH_ADJUSTMENT,
        EventKind.FUND_ACTION,
        EventKind.NODE_FUNDS,
    }
)


class ReviewDecision(StrEnum):
    CONFIRMED = "confirmed"  # a real anomaly: the desk may ask to halt
    DISMISSED = "dismissed"  # a false alarm, with the reason


class WatchAudit(StrEnum):
    """The watch's entries in the audit log (the text in the hash chain)."""

    ALERT_REVIEWED = "watch.alert_reviewed"
    HALT_REQUESTED = "watch.halt_requested"
    CLIENT_HALTED = "watch.client_halted"


class ReviewRule(StrEnum):
    """Why a review or a halt is refused, in precedence order."""

    ALERT_MUST_EXIST = "alert_must_exist"
    ALERT_NUMBER_MUST_NAME_ONE = "alert_number_must_name_one_alert"  # seen in several brokers
    DISMISSAL_MUST_HAVE_REASON = "dismissal_must_have_reason"
    ALERT_MUST_BE_REVIEWED_ONCE = "alert_must_be_reviewed_once"
    HALT_NEEDS_CONFIRMED_ALERT = "halt_needs_a_confirmed_alert"
    HALT_ACCOUNT_MUST_BE_NAMED_BY_ALERT = "halt_account_must_be_named_by_the_alert"
    REQUEST_MUST_BE_WATCH_HALT = "request_must_be_a_watch_halt"


@dataclass(frozen=True)
class AlertReview:
    """One review of one alert, with the alert as it was reviewed (its evidence, rules hash)."""

    alert_key: str
    broker_id: str
    business_date: date
    rule: str
    level: str
    decision: ReviewDecision
    reason: str
    reviewer: str
    reviewed_at: datetime


def new_review(
    alert: Alert,
    *,
    decision: ReviewDecision,
    reason: str,
    reviewer: str,
    at: datetime,
    earlier: AlertReview | None,
) -> AlertReview:
    """The review, if its rules hold: a dismissal says why, and an alert is reviewed once
    (a second opinion is a case for the checker, not an overwrite)."""
    if decision is ReviewDecision.DISMISSED and not reason.strip():
        raise Refused(ReviewRule.DISMISSAL_MUST_HAVE_REASON, alert_label(alert))
    if earlier is not None:
        raise Refused(
            ReviewRule.ALERT_MUST_BE_REVIEWED_ONCE,
            f"{alert_label(alert)} was {earlier.decision.value} by {earlier.reviewer}",
        )
    return AlertReview(
        alert_key=alert.key,
        broker_id=alert.broker_id,
        business_date=alert.business_date,
        rule=alert.rule,
        level=alert.level.value,
        decision=decision,
        reason=reason.strip(),
        reviewer=reviewer,
        reviewed_at=at,
    )


def client_accounts(alert: Alert) -> list[str]:
    """The clients an alert names: its subject when a client account, and its evidence's."""
    named = []
    if alert.subject.startswith("account:"):
        named.append(alert.subject.removeprefix("account:"))
    named += [e.account for e in alert.evidence if e.kind in CLIENT_EVENT_KINDS and e.account]
    return sorted(set(named))


def check_halt(alert: Alert, review: AlertReview | None, fund_account: str) -> None:
    """Only a confirmed alert asks for a halt, and only of a client it names."""
    if review is None or review.decision is not ReviewDecision.CONFIRMED:
        raise Refused(ReviewRule.HALT_NEEDS_CONFIRMED_ALERT, alert_label(alert))
    if fund_account not in client_accounts(alert):
        raise Refused(ReviewRule.HALT_ACCOUNT_MUST_BE_NAMED_BY_ALERT, alert_label(alert))


def halt_subject(broker_id: str, fund_account: str, business_date: date) -> str:
    """A halt is of one client of one broker for one trading day."""
    return f"{HALT_SUBJECT_PREFIX}{broker_id}:{fund_account}:{business_date.isoformat()}"


def parse_halt_subject(subject: str) -> tuple[str, str, date]:
    """The broker, client and day of a halt's subject; refused for any other request."""
    if not subject.startswith(HALT_SUBJECT_PREFIX):
        raise Refused(ReviewRule.REQUEST_MUST_BE_WATCH_HALT, subject)
    try:
        broker_id, fund_account, day = subject.removeprefix(HALT_SUBJECT_PREFIX).split(":")
        return broker_id, fund_account, date.fromisoformat(day)
    except ValueError:
        raise Refused(ReviewRule.REQUEST_MUST_BE_WATCH_HALT, subject) from None


def halt_content(fund_account: str) -> dict[str, Any]:
    """What the checker approves, bound by content (`CONTENT_FIELDS[account_status]`)."""
    return {"fund_account": fund_account, "status": HALT_STATUS}
