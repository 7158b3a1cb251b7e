"""The rules of lifting a halt and of halting a client again after a lift (issue 16)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from clearwatch.domain.access.approvals import ApprovalKind, ApprovalRequest, ApprovalStatus
from clearwatch.domain.intraday.conservation import Breach
from clearwatch.domain.intraday.halt_lifts import (
    HaltState,
    LiftRule,
    breach_cause,
    breach_halts_again,
    check_lift,
    halt_lift_subject,
    halt_state,
)
from clearwatch.domain.shared.errors import Refused

DAY = date(2026, 11, 20)
SUBJECT = halt_lift_subject("B001", "F2", DAY)
LIFT = ApprovalRequest(
    request_id=7,
    kind=ApprovalKind.OVERRIDE,
    subject_ref=SUBJECT,
    payload={"halt_id": 3},
    maker="mia",
    requested_at=datetime(2026, 11, 20, 2, 0, tzinfo=UTC),
    status=ApprovalStatus.APPROVED,
    checker="chen",
)


def _breach(asset: str, central: int, nodes: int) -> Breach:
    return Breach("F2", asset, central, nodes, {"fast-1": nodes})


def _shown(*breaches: Breach) -> dict[str, object]:
    return {"breaches": [b.evidence() for b in breaches]}


def test_a_breach_halts_only_beyond_what_a_lift_accepted() -> None:
    seen = _breach("CASH", 300, 500)
    assert breach_halts_again([seen], [])
    assert not breach_halts_again([seen], [(_shown(seen), False)])  # a halt stands
    assert not breach_halts_again([seen], [(_shown(seen), True)])  # the lift accepted it
    assert not breach_halts_again([_breach("CASH", 350, 500)], [(_shown(seen), True)])
    assert breach_halts_again([_breach("CASH", 100, 500)], [(_shown(seen), True)])
    assert breach_halts_again([seen, _breach("SH.600000", 0, 10)], [(_shown(seen), True)])
    # A lifted watch halt shows no breach: it accepted none.
    assert breach_halts_again([seen], [({"rule": "watch"}, True)])


def test_the_same_breach_has_the_same_cause_and_another_breach_another() -> None:
    seen = _breach("CASH", 300, 500)
    assert breach_cause([seen]) == breach_cause([_breach("CASH", 300, 500)])
    assert breach_cause([seen]) != breach_cause([_breach("CASH", 100, 500)])


def test_a_lift_is_checked_in_precedence_order() -> None:
    def rule(request: ApprovalRequest | None, **changed: object) -> str:
        terms: dict[str, object] = {"halt_id": 3, "halt_subject": SUBJECT, "lifted_by": None,
                                    "approvals_used": set()}  # fmt: skip
        with pytest.raises(Refused) as refused:
            check_lift(request, **{**terms, **changed})  # type: ignore[arg-type]
        return refused.value.rule

    assert check_lift(LIFT, halt_id=3, halt_subject=SUBJECT, lifted_by=None, approvals_used=())
    assert rule(None) == LiftRule.APPROVAL_MUST_BE_A_HALT_LIFT
    assert rule(replace(LIFT, subject_ref="node:fast-1/takeover")) == (
        LiftRule.APPROVAL_MUST_BE_A_HALT_LIFT
    )
    assert rule(replace(LIFT, status=ApprovalStatus.REJECTED)) == LiftRule.OVERRIDE_MUST_BE_APPROVED
    assert (
        rule(LIFT, approvals_used={7}, halt_id=4) == LiftRule.OVERRIDE_APPROVAL_MUST_NOT_BE_REUSED
    )
    assert rule(LIFT, halt_id=4) == LiftRule.APPROVAL_MUST_NAME_THE_HALT
    assert rule(LIFT, halt_subject=halt_lift_subject("B001", "F1", DAY)) == (
        LiftRule.APPROVAL_MUST_NAME_THE_HALT
    )
    assert rule(LIFT, lifted_by=5) == LiftRule.HALT_MUST_NOT_BE_LIFTED_TWICE


def test_a_halt_state_follows_its_own_lift_requests() -> None:
    pending = replace(LIFT, request_id=8, status=ApprovalStatus.PENDING, checker=None)
    other_halt = replace(LIFT, request_id=9, payload={"halt_id": 4})
    assert halt_state([], halt_id=3, lifted_by=None) == (HaltState.ACTIVE, None)
    assert halt_state([pending], halt_id=3, lifted_by=None) == (HaltState.LIFT_PENDING, pending)
    assert halt_state([LIFT], halt_id=3, lifted_by=None) == (HaltState.LIFT_APPROVED, LIFT)
    assert halt_state([LIFT], halt_id=3, lifted_by=7) == (HaltState.LIFTED, LIFT)
    assert halt_state([other_halt], halt_id=3, lifted_by=None) == (HaltState.ACTIVE, None)
