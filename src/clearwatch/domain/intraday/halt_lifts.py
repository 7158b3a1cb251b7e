"""Lifting an intraday halt: an override (双人复核) of one halt of one client on one trading day.

A halt stops a client's trading for the day (a conservation breach, or the risk desk's
confirmed alert). Lifting it before the day ends is an approved override: an operator asks,
a checker of the same back office approves, never the maker. The request's subject names
the broker, the client and the day (one pending lift per client and day, whatever path asks);
its payload names the one halt it lifts, and once used it lifts no other.

A lift accepts the breach it was shown, not every breach to come: the client is halted again
by a breach larger than any lifted one (or on another asset), so one lift cannot defeat the
conservation check, while the same breach re-checked at every order batch halts nobody twice.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping, Sequence
from datetime import date
from enum import StrEnum
from typing import Any

from clearwatch.domain.access.approvals import ApprovalKind, ApprovalRequest, ApprovalStatus
from clearwatch.domain.intraday.conservation import Breach
from clearwatch.domain.shared.errors import Refused

HALT_LIFT_KIND = ApprovalKind.OVERRIDE
HALT_LIFT_SUBJECT_PREFIX = "halt-lift:"
CONSERVATION_RULE = "nodes_available_must_not_exceed_central_available"


class HaltState(StrEnum):
    ACTIVE = "active"
    LIFT_PENDING = "lift_pending"  # an operator asked; a checker has not decided
    # Approved, but the lift is not recorded yet: only a lift approved before every approve
    # path applied it (the generic `approve_committed` now refuses a lift by name); the nodes
    # still obey the halt until `lift_halt` applies it.
    LIFT_APPROVED = "lift_approved"
    LIFTED = "lifted"  # the lift is recorded: the nodes accept the client's orders again


class LiftRule(StrEnum):
    """Why an approval may not lift a halt, in precedence order."""

    APPROVAL_MUST_BE_A_HALT_LIFT = "halt_lift_approval_must_be_a_halt_lift"
    OVERRIDE_MUST_BE_APPROVED = "override_must_be_approved"
    OVERRIDE_APPROVAL_MUST_NOT_BE_REUSED = "override_approval_must_not_be_reused"
    APPROVAL_MUST_NAME_THE_HALT = "halt_lift_approval_must_name_the_halt"
    HALT_MUST_NOT_BE_LIFTED_TWICE = "halt_must_not_be_lifted_twice"
    # Asked of an approve that does not record the lift (the generic `approve_committed`).
    LIFT_MUST_BE_APPROVED_WITH_ITS_LIFT = "halt_lift_must_be_approved_with_its_lift"


def halt_lift_subject(broker_id: str, fund_account: str, business_date: date) -> str:
    return f"{HALT_LIFT_SUBJECT_PREFIX}{broker_id}:{fund_account}:{business_date.isoformat()}"


def is_halt_lift(request: ApprovalRequest) -> bool:
    return request.kind is HALT_LIFT_KIND and request.subject_ref.startswith(
        HALT_LIFT_SUBJECT_PREFIX
    )


def lifted_halt_id(request: ApprovalRequest) -> int | None:
    """The halt a lift request names in its payload (what the checker saw and approved)."""
    value = request.payload.get("halt_id")
    return value if isinstance(value, int) else None


def halt_state(
    requests: Sequence[ApprovalRequest], *, halt_id: int, lifted_by: int | None
) -> tuple[HaltState, ApprovalRequest | None]:
    """A halt's state: lifted once its lift is recorded; else from the lift requests naming
    it, in request order: approved by any; pending while one waits; a rejection leaves it."""
    if lifted_by is not None:
        used = [r for r in requests if r.request_id == lifted_by]
        return HaltState.LIFTED, used[0] if used else None
    naming = [r for r in requests if lifted_halt_id(r) == halt_id]
    for status, state in (
        (ApprovalStatus.APPROVED, HaltState.LIFT_APPROVED),
        (ApprovalStatus.PENDING, HaltState.LIFT_PENDING),
    ):
        for request in reversed(naming):
            if request.status is status:
                return state, request
    return HaltState.ACTIVE, naming[-1] if naming else None


def check_lift(
    request: ApprovalRequest | None,
    *,
    halt_id: int,
    halt_subject: str,
    lifted_by: int | None,
    approvals_used: Collection[int],
) -> ApprovalRequest:
    """The approval may lift this halt, or `Refused` with the first rule it breaks."""
    if request is None or not is_halt_lift(request):
        raise Refused(LiftRule.APPROVAL_MUST_BE_A_HALT_LIFT, f"halt #{halt_id}")
    where = f"approval #{request.request_id}, halt #{halt_id}"
    if request.status is not ApprovalStatus.APPROVED:
        raise Refused(LiftRule.OVERRIDE_MUST_BE_APPROVED, where)
    if request.request_id in approvals_used:
        raise Refused(LiftRule.OVERRIDE_APPROVAL_MUST_NOT_BE_REUSED, where)
    if request.subject_ref != halt_subject or lifted_halt_id(request) != halt_id:
        raise Refused(LiftRule.APPROVAL_MUST_NAME_THE_HALT, where)
    if lifted_by is not None:
        raise Refused(LiftRule.HALT_MUST_NOT_BE_LIFTED_TWICE, where)
    return request


def breach_cause(breaches: Sequence[Breach]) -> str:
    """The identity of one client's breach: the same figures re-checked are the same cause."""
    figures = sorted((b.asset, b.central_quantity, b.nodes_quantity) for b in breaches)
    digest = hashlib.sha256(json.dumps(figures).encode()).hexdigest()
    return f"conservation:{digest[:32]}"


def breach_halts_again(
    breaches: Sequence[Breach], earlier: Sequence[tuple[Mapping[str, Any], bool]]
) -> bool:
    """Whether a client's breach halts it, given its earlier halts of the day as (evidence,
    lifted): never while one stands; after lifts, only if some asset's excess exceeds every
    excess a lifted halt showed for that asset (a lift accepted those, no more)."""
    if any(not lifted for _, lifted in earlier):
        return False
    accepted: dict[str, int] = {}
    for evidence, _ in earlier:
        for shown in evidence.get("breaches", ()):
            asset, excess = str(shown["asset"]), int(shown["excess"])
            accepted[asset] = max(accepted.get(asset, 0), excess)
    return any(breach.excess > accepted.get(breach.asset, 0) for breach in breaches)
