"""Emergency grants on every path: ≤ 24 h from approval, one organisation, a valid role."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from clearwatch.domain.access.approvals import AccessRejection, ApprovalKind, ApprovalStatus
from clearwatch.domain.access.grants import GrantTerms, grant_expiry, parse_grant_terms
from clearwatch.domain.access.roles import Role
from clearwatch.domain.shared.calendar import SHANGHAI
from clearwatch.domain.shared.errors import Refused
from clearwatch.services.access.approvals import (
    approve_committed,
    request_approval_committed,
    request_emergency_grant_committed,
)

from .fakes import FakeAccessUnitOfWork

AT = datetime(2026, 11, 20, 9, 0, tzinfo=SHANGHAI)


@pytest.fixture
def uow() -> FakeAccessUnitOfWork:
    fake = FakeAccessUnitOfWork()
    fake.add_user("root", Role.ADMIN, at=AT)
    fake.add_user("mia", Role.OPERATOR, at=AT)
    fake.add_user("chen", Role.CHECKER, at=AT)
    fake.add_user("ana", Role.AUDITOR, at=AT)
    fake.add_user("bob", Role.CHECKER, at=AT, organisation="BO:B002")
    fake.add_user("sam", Role.ANALYST, at=AT, organisation="SIPF")
    return fake


def _rule(call) -> str:
    with pytest.raises(Refused) as refused:
        call()
    return refused.value.rule


def _generic(uow: FakeAccessUnitOfWork, payload: dict, maker: str = "root"):
    return request_approval_committed(
        uow=uow,
        kind="emergency_grant",
        subject_ref="user:ana/role:checker",
        payload=payload,
        maker=maker,
        at=AT,
    )


def test_hours_count_from_approval_and_never_pass_the_cap() -> None:
    terms = GrantTerms("ana", Role.CHECKER, hours=2, expires_at=None)
    assert grant_expiry(terms, starts_at=AT + timedelta(hours=5)) == AT + timedelta(hours=7)
    assert _rule(lambda: grant_expiry(GrantTerms("ana", Role.CHECKER, 25, None), starts_at=AT)) == (
        AccessRejection.GRANT_MUST_NOT_EXCEED_HOURS_MAX
    )
    far = GrantTerms("ana", Role.CHECKER, None, datetime(2099, 1, 1, tzinfo=SHANGHAI))
    assert _rule(lambda: grant_expiry(far, starts_at=AT)) == (
        AccessRejection.GRANT_MUST_NOT_EXCEED_HOURS_MAX
    )


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"user": "ana"},
        {"user": "ana", "role": "checker"},
        {"user": "ana", "role": "x", "hours": 1},
    ],
)
def test_incomplete_terms_are_refused_by_name(payload: dict) -> None:
    assert _rule(lambda: parse_grant_terms(payload)) == "grant_terms_must_name_user_role_and_hours"


def test_the_generic_path_cannot_ask_for_a_grant_until_2099(uow: FakeAccessUnitOfWork) -> None:
    # The finding: `approvals request emergency_grant` skipped the cap.
    payload = {"user": "ana", "role": "checker", "expires_at": "2099-01-01T00:00:00+08:00"}
    assert _rule(lambda: _generic(uow, payload)) == AccessRejection.GRANT_MUST_NOT_EXCEED_HOURS_MAX
    assert uow.access.requests() == []


def test_the_generic_path_checks_the_role_and_the_organisation(uow: FakeAccessUnitOfWork) -> None:
    analyst = {"user": "ana", "role": "analyst", "hours": 2}
    assert _rule(lambda: _generic(uow, analyst)) == "role_must_be_valid_in_organisation"
    elsewhere = {"user": "bob", "role": "checker", "hours": 2}
    assert _rule(lambda: _generic(uow, elsewhere)) == "grant_must_stay_in_organisation"
    assert uow.access.requests() == []


def test_a_request_stored_before_the_rules_is_refused_at_approval(
    uow: FakeAccessUnitOfWork,
) -> None:
    with uow:
        uow.access.add_request(
            kind=ApprovalKind.EMERGENCY_GRANT,
            subject_ref="user:ana/role:checker",
            payload={"user": "ana", "role": "checker", "expires_at": "2099-01-01T00:00:00+08:00"},
            maker="root",
            requested_at=AT,
        )
        uow.commit()
    assert _rule(lambda: approve_committed(uow=uow, request_id=1, checker="chen", at=AT)) == (
        AccessRejection.GRANT_MUST_NOT_EXCEED_HOURS_MAX
    )
    assert uow.access.grants_of("ana") == []
    assert uow.access.request(1).status is ApprovalStatus.PENDING


def test_a_late_approval_gives_the_hours_from_approval_not_from_request(
    uow: FakeAccessUnitOfWork,
) -> None:
    request_emergency_grant_committed(
        uow=uow, user_id="ana", role=Role.CHECKER, hours=2, reason="ill", maker="root", at=AT
    )
    approved_at = AT + timedelta(hours=30)
    approve_committed(uow=uow, request_id=1, checker="chen", at=approved_at)
    (grant,) = uow.access.grants_of("ana")
    assert (grant.approved_at, grant.expires_at) == (approved_at, approved_at + timedelta(hours=2))


def test_an_approver_of_another_organisation_is_refused_and_the_denial_audited(
    uow: FakeAccessUnitOfWork,
) -> None:
    request_emergency_grant_committed(
        uow=uow, user_id="ana", role=Role.CHECKER, hours=2, reason="ill", maker="root", at=AT
    )
    assert _rule(lambda: approve_committed(uow=uow, request_id=1, checker="bob", at=AT)) == (
        "policy_must_allow_action"
    )
    assert uow.access.grants_of("ana") == []
    assert uow.audit_trail()[-1] == ("bob", "access.denied", "action:approvals.approve")
    assert json.loads(uow.state.audit[-1].payload_json)["organisation"] == "BO:B001"


def test_only_an_admin_of_the_organisation_asks_for_a_grant(uow: FakeAccessUnitOfWork) -> None:
    for maker in ("mia", "sam"):
        assert _rule(
            lambda maker=maker: request_emergency_grant_committed(
                uow=uow, user_id="ana", role=Role.CHECKER, hours=2, reason="r", maker=maker, at=AT
            )
        ) in ("policy_must_allow_action", AccessRejection.MAKER_MUST_HOLD_OPERATOR_OR_ADMIN_ROLE)
    assert uow.access.requests() == []


def test_the_generic_path_must_name_the_grants_user_and_role_in_its_subject(
    uow: FakeAccessUnitOfWork,
) -> None:
    payload = {"user": "ana", "role": "checker", "hours": 2}
    with pytest.raises(Refused) as refused:
        request_approval_committed(
            uow=uow,
            kind="emergency_grant",
            subject_ref="user:chen/role:checker",
            payload=payload,
            maker="root",
            at=AT,
        )
    assert refused.value.rule == "grant_subject_must_name_user_and_role"
    assert _generic(uow, payload).status is ApprovalStatus.PENDING
