"""Maker-checker rules as pure functions: precedence, grants, the transfer threshold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from clearwatch.domain.access.approvals import (
    AccessRefused,
    AccessRejection,
    ApprovalDecision,
    ApprovalKind,
    ApprovalRequest,
    ApprovalStatus,
    CheckerStanding,
    check_request,
    decide,
)
from clearwatch.domain.access.grants import EmergencyGrant, roles_expired, roles_in_force
from clearwatch.domain.access.roles import Role, UnknownRoleError, parse_role

AT = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
REQUEST = ApprovalRequest(1, ApprovalKind.MANUAL_ADJUSTMENT, "adj:1", {}, "mia", AT)


def _standing(
    user: str, *roles: Role, granted: tuple[Role, ...] = (), expired=()
) -> CheckerStanding:
    return CheckerStanding(user, True, frozenset(roles), frozenset(granted), frozenset(expired))


def _rejection(**kw) -> AccessRejection:
    with pytest.raises(AccessRefused) as refused:
        decide(REQUEST, decision=ApprovalDecision.APPROVE, at=AT, **kw)
    return refused.value.rejection


def test_each_segregation_rule_names_itself() -> None:
    assert _rejection(checker=_standing("mia", Role.CHECKER)) is (
        AccessRejection.CHECKER_MUST_NOT_BE_MAKER
    )
    assert _rejection(checker=_standing("root", Role.ADMIN, Role.CHECKER)) is (
        AccessRejection.ADMIN_MUST_NOT_APPROVE
    )
    assert _rejection(checker=_standing("ana", Role.ANALYST)) is (
        AccessRejection.CHECKER_MUST_HOLD_CHECKER_ROLE
    )
    assert _rejection(checker=_standing("ana", Role.ANALYST, expired=(Role.CHECKER,))) is (
        AccessRejection.EMERGENCY_GRANT_MUST_NOT_BE_EXPIRED
    )
    unknown = CheckerStanding("ghost", False, frozenset(), frozenset(), frozenset())
    assert _rejection(checker=unknown) is AccessRejection.CHECKER_MUST_BE_REGISTERED


def test_a_checker_approves_once_and_a_rejection_needs_a_reason() -> None:
    approved = decide(
        REQUEST, decision=ApprovalDecision.APPROVE, checker=_standing("chen", Role.CHECKER), at=AT
    )
    assert (approved.status, approved.checker) == (ApprovalStatus.APPROVED, "chen")
    with pytest.raises(AccessRefused) as again:
        decide(
            approved,
            decision=ApprovalDecision.APPROVE,
            checker=_standing("li", Role.CHECKER),
            at=AT,
        )
    assert again.value.rejection is AccessRejection.REQUEST_MUST_BE_PENDING
    with pytest.raises(AccessRefused) as reasonless:
        decide(
            REQUEST,
            decision=ApprovalDecision.REJECT,
            checker=_standing("chen", Role.CHECKER),
            at=AT,
            reason=" ",
        )
    assert reasonless.value.rejection is AccessRejection.REJECTION_MUST_HAVE_REASON


def test_requests_need_a_known_kind_a_maker_role_and_no_pending_twin() -> None:
    with pytest.raises(AccessRefused) as kind:
        check_request(
            kind="bribe", subject_ref="x", maker_roles={Role.OPERATOR}, pending_exists=False
        )
    assert kind.value.rejection is AccessRejection.KIND_MUST_BE_KNOWN
    with pytest.raises(AccessRefused) as twin:
        check_request(
            kind="override", subject_ref="x", maker_roles={Role.OPERATOR}, pending_exists=True
        )
    assert twin.value.rejection is AccessRejection.REQUEST_MUST_NOT_DUPLICATE_PENDING
    assert (
        check_request(
            kind="transfer", subject_ref="x", maker_roles={Role.ADMIN}, pending_exists=False
        )
        is ApprovalKind.TRANSFER
    )


def test_grants_are_in_force_from_approval_until_expiry_only() -> None:
    grant = EmergencyGrant(1, "ana", Role.CHECKER, AT + timedelta(hours=2), 7, AT)
    assert roles_in_force([grant], AT + timedelta(hours=1)) == {Role.CHECKER}
    assert roles_in_force([grant], AT + timedelta(hours=2)) == frozenset()
    assert roles_expired([grant], AT + timedelta(hours=2)) == {Role.CHECKER}


def test_maker_is_an_alias_of_operator_and_unknown_roles_are_named() -> None:
    assert parse_role("Maker") is Role.OPERATOR
    with pytest.raises(UnknownRoleError):
        parse_role("superuser")
