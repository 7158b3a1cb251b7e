"""Halting a flow, not only a client: one account's outflows to one counterparty, or all of them.

An unexpected-counterparty outflow or a burst of withdrawals is stopped at the flow itself: an
operator asks from the confirmed alert that names it, a checker approves (the same
maker-checker kind as a client halt, `account_status`, status `outflows_halted`, the flow bound
by the request's subject), and from then every withdrawal the back office books is checked
against the halts in force. A halt holds until a second person approves lifting it (an
`override` for `watch-flow-lift:<halt id>`): money that left once for the wrong place should
not start leaving again at midnight.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from clearwatch.domain.access.approvals import ApprovalRequest
from clearwatch.domain.shared.errors import Refused
from clearwatch.domain.shared.masking import mask
from clearwatch.domain.watch.alerts import Alert, alert_label
from clearwatch.domain.watch.events import EventKind
from clearwatch.domain.watch.reviews import HALT_KIND, AlertReview, ReviewDecision, ReviewRule

FLOW_HALT_KIND = HALT_KIND  # a halted flow is a standing of the account, as a halted client
FLOW_HALT_STATUS = "outflows_halted"
FLOW_SUBJECT_PREFIX = "watch-flow-halt:"
LIFT_KIND = "override"  # lifting is an override of a halt two people put in place
LIFT_SUBJECT_PREFIX = "watch-flow-lift:"
ANY_COUNTERPARTY = "*"  # every outflow of the account (a special account's, typically)
# Outflows the watch sees with both ends: a client's withdrawal to its bank, and a special
# account's movement to another account.
OUTFLOW_KINDS = frozenset({EventKind.BANK_TRANSFER, EventKind.SPECIAL_ACCOUNT_MOVEMENT})


class FlowAudit(StrEnum):
    FLOW_HALT_REQUESTED = "watch.flow_halt_requested"
    FLOW_HALTED = "watch.flow_halted"
    FLOW_LIFT_REQUESTED = "watch.flow_lift_requested"
    FLOW_LIFTED = "watch.flow_lifted"


class FlowRule(StrEnum):
    """Why a flow halt or its lifting is refused, in precedence order."""

    FLOW_MUST_BE_NAMED_BY_ALERT = "halt_flow_must_be_named_by_the_alert"
    FLOW_MUST_BE_PLAIN = "flow_account_must_be_plain"
    REQUEST_MUST_BE_FLOW_HALT = "request_must_be_a_flow_halt"
    HALT_MUST_EXIST = "flow_halt_must_exist"
    HALT_MUST_BE_IN_FORCE = "flow_halt_must_be_in_force"
    LIFT_NEEDS_REASON = "lift_must_have_reason"


@dataclass(frozen=True, slots=True)
class Flow:
    """Money leaving `account` of a broker for `counterparty` (`*`: for anywhere)."""

    broker_id: str
    account: str
    counterparty: str

    def stops(self, account: str, counterparty: str) -> bool:
        """Whether an outflow from `account` to `counterparty` is this flow."""
        return self.account == account and self.counterparty in (ANY_COUNTERPARTY, counterparty)

    def describe(self, *, masked: bool = False) -> str:
        """The flow in words; `masked`: its account and other side by the one rule (a refusal's
        message)."""
        shown = mask if masked else (lambda text: text)
        towards = "anywhere" if self.counterparty == ANY_COUNTERPARTY else shown(self.counterparty)
        return f"{self.broker_id} {shown(self.account)} → {towards}"


@dataclass(frozen=True)
class FlowHalt:
    """A flow halted by an approved request; `lifted_at` once an approved override lifted it."""

    halt_id: int
    flow: Flow
    approval_id: int
    alert_key: str
    raised_at: datetime
    raised_by: str
    lifted_at: datetime | None = None
    lifted_by: str = ""
    lift_approval_id: int | None = None

    @property
    def in_force(self) -> bool:
        return self.lifted_at is None


def alert_flows(alert: Alert) -> list[Flow]:
    """The flows an alert names: each outflow of its evidence to its counterparty, and all
    outflows of each account that sent one."""
    flows = set()
    for event in alert.evidence:
        if event.kind in OUTFLOW_KINDS and event.amount_fen < 0 and event.account:
            flows.add(Flow(alert.broker_id, event.account, ANY_COUNTERPARTY))
            if event.counterparty:
                flows.add(Flow(alert.broker_id, event.account, event.counterparty))
    return sorted(flows, key=lambda f: (f.account, f.counterparty))


def check_flow_halt(alert: Alert, review: AlertReview | None, flow: Flow) -> None:
    """Only a confirmed alert asks for a halt, and only of a flow its evidence shows."""
    if review is None or review.decision is not ReviewDecision.CONFIRMED:
        raise Refused(ReviewRule.HALT_NEEDS_CONFIRMED_ALERT, alert_label(alert))
    if flow not in alert_flows(alert):
        raise Refused(
            FlowRule.FLOW_MUST_BE_NAMED_BY_ALERT,
            f"{alert_label(alert)}: {flow.describe(masked=True)}",
        )


def flow_subject(flow: Flow) -> str:
    """The request's subject binds the flow: broker, account, counterparty (may hold `:`)."""
    for part in (flow.broker_id, flow.account):
        if not part or ":" in part:
            raise Refused(FlowRule.FLOW_MUST_BE_PLAIN, repr(part))
    return f"{FLOW_SUBJECT_PREFIX}{flow.broker_id}:{flow.account}:{flow.counterparty}"


def parse_flow_subject(subject: str) -> Flow:
    if not subject.startswith(FLOW_SUBJECT_PREFIX):
        raise Refused(FlowRule.REQUEST_MUST_BE_FLOW_HALT, subject)
    parts = subject.removeprefix(FLOW_SUBJECT_PREFIX).split(":", 2)
    if len(parts) != 3 or not all(parts):
        raise Refused(FlowRule.REQUEST_MUST_BE_FLOW_HALT, subject)
    return Flow(*parts)


def flow_halt_content(flow: Flow) -> dict[str, Any]:
    """What the checker approves (`CONTENT_FIELDS[account_status]`); the subject binds the
    counterparty, and an approval is found only under its exact subject."""
    return {"fund_account": flow.account, "status": FLOW_HALT_STATUS}


def is_flow_halt_request(request: ApprovalRequest) -> bool:
    """A request to halt a flow (a client's halt shares its kind; the subject tells them apart)."""
    return request.kind.value == FLOW_HALT_KIND and request.subject_ref.startswith(
        FLOW_SUBJECT_PREFIX
    )


def is_flow_lift_request(request: ApprovalRequest) -> bool:
    return request.kind.value == LIFT_KIND and request.subject_ref.startswith(LIFT_SUBJECT_PREFIX)


def lift_subject(halt_id: int) -> str:
    return f"{LIFT_SUBJECT_PREFIX}{halt_id}"


def check_lift(halt: FlowHalt | None, halt_id: int, reason: str) -> FlowHalt:
    if halt is None:
        raise Refused(FlowRule.HALT_MUST_EXIST, f"flow halt #{halt_id}")
    if not halt.in_force:
        raise Refused(FlowRule.HALT_MUST_BE_IN_FORCE, f"flow halt #{halt_id} was lifted")
    if not reason.strip():
        raise Refused(FlowRule.LIFT_NEEDS_REASON, f"flow halt #{halt_id}")
    return halt


def halt_stopping(halts: Iterable[FlowHalt], account: str, counterparty: str) -> FlowHalt | None:
    """The halt in force that stops an outflow from `account` to `counterparty`, if any."""
    for halt in halts:
        if halt.in_force and halt.flow.stops(account, counterparty):
            return halt
    return None


def outflows_halted(halts: Iterable[FlowHalt]) -> dict[str, int]:
    """Accounts every outflow of which a halt in force stops (to `*`), with the first such
    halt's id: what a trading node refuses buys of (docs/decisions.md, issue 19)."""
    stopped: dict[str, int] = {}
    for halt in sorted(halts, key=lambda h: h.halt_id):
        if halt.in_force and halt.flow.counterparty == ANY_COUNTERPARTY:
            stopped.setdefault(halt.flow.account, halt.halt_id)
    return stopped
