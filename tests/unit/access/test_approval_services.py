"""The maker-checker services over an in-memory store: what they record, audit and commit."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from clearwatch.domain.access.approvals import AccessRefused, AccessRejection, ApprovalStatus
from clearwatch.domain.access.roles import Role
from clearwatch.domain.audit.chain import verify_chain
from clearwatch.domain.shared.calendar import SHANGHAI
from clearwatch.services.access.approvals import (
    approve,
    approve_committed,
    effective_roles,
    request_approval,
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
    return fake


def test_inside_the_callers_unit_of_work_nothing_is_committed_and_nothing_survives_a_rollback(
    uow: FakeAccessUnitOfWork,
) -> None:
    with uow:
        request_approval(
            uow=uow, kind="manual_adjustment", subject_ref="adj:1", payload={}, maker="mia", at=AT
        )
        approve(uow=uow, request_id=1, checker="chen", at=AT)
        # The caller's own change fails after the approval: all of it goes together.
    assert uow.commits == 0
    assert uow.access.requests() == []
    assert uow.audit_trail() == []


def test_an_approval_is_stored_and_audited_with_its_maker_checker_and_payload(
    uow: FakeAccessUnitOfWork,
) -> None:
    with uow:
        request_approval(
            uow=uow,
            kind="manual_adjustment",
            subject_ref="adj:1",
            payload={"amount": "100.00", "at": AT.date()},  # a date is kept as its text
            maker="mia",
            at=AT,
        )
        uow.commit()
    decided = approve_committed(uow=uow, request_id=1, checker="chen", at=AT + timedelta(hours=1))
    assert (decided.status, decided.maker, decided.checker) == (
        ApprovalStatus.APPROVED,
        "mia",
        "chen",
    )
    assert uow.access.request(1) == decided
    assert uow.commits == 2
    assert uow.audit_trail() == [
        ("mia", "approval.requested", "approval:1"),
        ("chen", "approval.approved", "approval:1"),
    ]
    requested, approved = uow.state.audit
    assert json.loads(requested.payload_json)["payload"] == {"amount": "100.00", "at": "2026-11-20"}
    assert json.loads(approved.payload_json)["via_emergency_grant"] is False
    assert verify_chain(uow.state.audit).intact


@pytest.mark.parametrize(
    ("checker", "rule"),
    [
        ("mia", AccessRejection.CHECKER_MUST_NOT_BE_MAKER),
        ("root", AccessRejection.ADMIN_MUST_NOT_APPROVE),
        ("ana", AccessRejection.CHECKER_MUST_HOLD_CHECKER_ROLE),
        ("nobody", AccessRejection.CHECKER_MUST_BE_REGISTERED),
    ],
)
def test_a_refused_decision_leaves_the_request_pending_and_audits_nothing(
    uow: FakeAccessUnitOfWork, checker: str, rule: AccessRejection
) -> None:
    with uow:
        request_approval(
            uow=uow, kind="transfer", subject_ref="tr:9", payload={}, maker="mia", at=AT
        )
        uow.commit()
    with pytest.raises(AccessRefused) as refused:
        approve_committed(uow=uow, request_id=1, checker=checker, at=AT)
    assert refused.value.rejection is rule
    assert [r.status for r in uow.access.requests()] == [ApprovalStatus.PENDING]
    assert uow.audit_trail() == [("mia", "approval.requested", "approval:1")]


def test_a_checker_who_loses_the_race_is_refused_and_audits_nothing(
    uow: FakeAccessUnitOfWork,
) -> None:
    with uow:
        request_approval(
            uow=uow, kind="transfer", subject_ref="tr:9", payload={}, maker="mia", at=AT
        )
        uow.commit()
    uow.access.decided_by_someone_else_first = True
    with pytest.raises(AccessRefused) as refused:
        approve_committed(uow=uow, request_id=1, checker="chen", at=AT)
    assert refused.value.rejection is AccessRejection.REQUEST_MUST_BE_PENDING
    assert uow.audit_trail() == [("mia", "approval.requested", "approval:1")]


def test_an_approved_emergency_grant_gives_the_role_until_it_lapses(
    uow: FakeAccessUnitOfWork,
) -> None:
    expires_at = AT + timedelta(hours=2)
    request_emergency_grant_committed(
        uow=uow,
        user_id="ana",
        role=Role.CHECKER,
        hours=2,
        reason="both checkers ill",
        maker="root",
        at=AT,
    )
    approve_committed(uow=uow, request_id=1, checker="chen", at=AT)
    (grant,) = uow.access.grants_of("ana")
    assert (grant.role, grant.approval_request_id, grant.expires_at) == (
        Role.CHECKER,
        1,
        expires_at,
    )
    with uow:
        assert effective_roles(uow, user_id="ana", at=AT + timedelta(hours=1)) == frozenset(
            {Role.AUDITOR, Role.CHECKER}
        )
        assert effective_roles(uow, user_id="ana", at=expires_at) == frozenset({Role.AUDITOR})
    approved = uow.state.audit[-1]
    assert json.loads(approved.payload_json)["grant_id"] == grant.grant_id
