"""Maker-checker on the real store: each segregation-of-duties rule, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from clearwatch.adapters.clock import FixedClock
from clearwatch.bootstrap import Application
from clearwatch.domain.access.approvals import AccessRefused, AccessRejection, ApprovalStatus
from clearwatch.domain.access.organisations import parse_organisation
from clearwatch.domain.access.roles import Role
from clearwatch.domain.shared.errors import Refused
from clearwatch.services.access import approvals
from clearwatch.services.access.users import add_user, grant_role, list_users
from clearwatch.services.audit.audit_log import verify_audit


def _users(app: Application) -> None:
    at = app.clock.now()
    add_user(
        uow=app.uow(),
        user_id="root",
        roles=[Role.ADMIN],
        organisation="BO:B001",
        actor="bootstrap",
        at=at,
    )
    for user_id, role in (
        ("mia", Role.OPERATOR),
        ("chen", Role.CHECKER),
        ("li", Role.CHECKER),
        ("ana", Role.AUDITOR),
    ):
        add_user(
            uow=app.uow(),
            user_id=user_id,
            roles=[role],
            organisation="BO:B001",
            actor="root",
            at=at,
        )


def _request(app: Application, *, maker: str = "mia", subject: str = "batch:B001/1"):
    return approvals.request_approval_committed(
        uow=app.uow(),
        kind="correction_batch",
        subject_ref=subject,
        payload={"files": 3},
        maker=maker,
        at=app.clock.now(),
    )


def _refusal(call) -> AccessRejection:
    with pytest.raises(AccessRefused) as caught:
        call()
    return caught.value.rejection


def test_a_different_checker_approves_and_the_approval_is_found_and_audited(
    app: Application,
) -> None:
    _users(app)
    request = _request(app)
    decided = approvals.approve_committed(
        uow=app.uow(), request_id=request.request_id, checker="chen", at=app.clock.now()
    )
    assert decided.status is ApprovalStatus.APPROVED
    with app.uow() as uow:
        found = approvals.approved_request_for(
            uow, kind="correction_batch", subject_ref="batch:B001/1"
        )
        assert found is not None and found.checker == "chen" and found.maker == "mia"
        assert approvals.pending(uow) == []
        actions = [record.action for record in uow.audit.latest(limit=2)]
    assert actions == ["approval.requested", "approval.approved"]
    assert verify_audit(uow=app.uow()).first_break is None


def test_the_maker_never_approves_own_request(app: Application) -> None:
    _users(app)
    grant_role(uow=app.uow(), user_id="mia", role=Role.CHECKER, actor="root", at=app.clock.now())
    request = _request(app)
    rejection = _refusal(
        lambda: approvals.approve_committed(
            uow=app.uow(), request_id=request.request_id, checker="mia", at=app.clock.now()
        )
    )
    assert rejection is AccessRejection.CHECKER_MUST_NOT_BE_MAKER


def test_the_admin_role_approves_nothing_even_with_the_checker_role(app: Application) -> None:
    _users(app)
    grant_role(uow=app.uow(), user_id="root", role=Role.CHECKER, actor="root", at=app.clock.now())
    request = _request(app)
    rejection = _refusal(
        lambda: approvals.approve_committed(
            uow=app.uow(), request_id=request.request_id, checker="root", at=app.clock.now()
        )
    )
    assert rejection is AccessRejection.ADMIN_MUST_NOT_APPROVE


def test_a_user_without_the_checker_role_cannot_decide(app: Application) -> None:
    _users(app)
    request = _request(app)
    rejection = _refusal(
        lambda: approvals.reject_committed(
            uow=app.uow(),
            request_id=request.request_id,
            checker="ana",
            at=app.clock.now(),
            reason="no",
        )
    )
    assert rejection is AccessRejection.CHECKER_MUST_HOLD_CHECKER_ROLE


def test_a_duplicate_pending_request_is_refused_but_a_new_one_after_a_decision_is_not(
    app: Application,
) -> None:
    _users(app)
    first = _request(app)
    assert _refusal(lambda: _request(app)) is AccessRejection.REQUEST_MUST_NOT_DUPLICATE_PENDING
    approvals.reject_committed(
        uow=app.uow(),
        request_id=first.request_id,
        checker="chen",
        at=app.clock.now(),
        reason="wrong totals",
    )
    second = _request(app)
    assert second.request_id != first.request_id


def test_a_decided_request_cannot_be_decided_again_nor_hand_edited(app: Application) -> None:
    _users(app)
    request = _request(app)
    approvals.approve_committed(
        uow=app.uow(), request_id=request.request_id, checker="chen", at=app.clock.now()
    )
    rejection = _refusal(
        lambda: approvals.reject_committed(
            uow=app.uow(),
            request_id=request.request_id,
            checker="li",
            at=app.clock.now(),
            reason="late",
        )
    )
    assert rejection is AccessRejection.REQUEST_MUST_BE_PENDING
    with pytest.raises(DBAPIError), app.engine.begin() as connection:
        connection.execute(text("UPDATE access_approval_requests SET status = 'rejected'"))


def test_unregistered_or_read_only_users_cannot_make_requests(app: Application) -> None:
    _users(app)
    assert _refusal(lambda: _request(app, maker="ghost")) is (
        AccessRejection.MAKER_MUST_BE_REGISTERED
    )
    assert _refusal(lambda: _request(app, maker="ana")) is (
        AccessRejection.MAKER_MUST_HOLD_OPERATOR_OR_ADMIN_ROLE
    )


def test_an_emergency_grant_needs_a_second_person_and_expires_by_itself(
    app: Application, clock: FixedClock
) -> None:
    _users(app)
    start = clock.now()
    grant = approvals.request_emergency_grant_committed(
        uow=app.uow(),
        user_id="ana",
        role=Role.CHECKER,
        hours=2,
        reason="both checkers ill",
        maker="root",
        at=start,
    )
    # The grantee cannot approve the grant that would make her a checker.
    assert _refusal(
        lambda: approvals.approve_committed(
            uow=app.uow(), request_id=grant.request_id, checker="ana", at=start
        )
    ) is (AccessRejection.GRANTEE_MUST_NOT_APPROVE_OWN_GRANT)
    approvals.approve_committed(
        uow=app.uow(), request_id=grant.request_id, checker="chen", at=start
    )
    inside = _request(app, subject="adjustment:B001:1")
    clock.at = start + timedelta(hours=1)
    decided = approvals.approve_committed(
        uow=app.uow(), request_id=inside.request_id, checker="ana", at=clock.now()
    )
    assert decided.status is ApprovalStatus.APPROVED
    after = _request(app, subject="adjustment:B001:2")
    clock.at = start + timedelta(hours=2)
    assert _refusal(
        lambda: approvals.approve_committed(
            uow=app.uow(), request_id=after.request_id, checker="ana", at=clock.now()
        )
    ) is (AccessRejection.EMERGENCY_GRANT_MUST_NOT_BE_EXPIRED)
    with app.uow() as uow:
        actions = [record.action for record in uow.audit.latest(limit=20)]
    assert actions.count("approval.approved") == 2


def test_once_an_admin_exists_only_an_admin_registers_users(app: Application) -> None:
    _users(app)
    with pytest.raises(Refused) as refused:
        add_user(
            uow=app.uow(),
            user_id="eve",
            roles=[Role.CHECKER],
            organisation="BO:B001",
            actor="mia",
            at=app.clock.now(),
        )
    assert refused.value.rule == "policy_must_allow_action"
    assert [user.user_id for user in list_users(uow=app.uow())] == [
        "ana",
        "chen",
        "li",
        "mia",
        "root",
    ]


def test_a_checker_of_another_back_office_is_denied_and_the_denial_is_audited(
    app: Application,
) -> None:
    _users(app)
    request = _request(app)
    # B002's back office lives in another deployment; its checker is arranged directly.
    with app.uow() as uow:
        uow.access.add_user(
            user_id="bob", organisation=parse_organisation("BO:B002"), created_at=app.clock.now(),
            created_by="test",
        )  # fmt: skip
        uow.access.add_role(
            user_id="bob", role=Role.CHECKER, granted_at=app.clock.now(), granted_by="test"
        )
        uow.commit()
    with pytest.raises(Refused) as refused:
        approvals.approve_committed(
            uow=app.uow(), request_id=request.request_id, checker="bob", at=app.clock.now()
        )
    assert refused.value.rule == "policy_must_allow_action"
    with app.uow() as uow:
        assert uow.access.request(request.request_id).status is ApprovalStatus.PENDING
        last = uow.audit.latest(limit=1)[0]
    assert (last.actor, last.action, last.object_ref) == (
        "bob",
        "access.denied",
        "action:approvals.approve",
    )
    assert verify_audit(uow=app.uow()).first_break is None
