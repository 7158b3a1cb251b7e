"""An emergency grant outside a back office: SIPF's admin asks, a second analyst approves.

Before, only a back office's `checker` could decide a request, so no SIPF grant could ever
take effect; now each organisation's approver decides its own (and only its own) requests.
"""

from __future__ import annotations

import pytest

from clearwatch.bootstrap import Application
from clearwatch.domain.access.approvals import ApprovalStatus
from clearwatch.domain.access.roles import Role
from clearwatch.domain.shared.errors import Refused
from clearwatch.services.access import approvals
from clearwatch.services.access.approvals import effective_roles
from tests.support.identities import registered


def test_a_sipf_grant_is_approved_by_a_reviewer_and_not_by_another_organisation(
    app: Application,
) -> None:
    registered(app, "ana", "SIPF", Role.ANALYST)
    registered(app, "rev", "SIPF", Role.REVIEWER)
    registered(app, "head", "CN-SH", Role.BUREAU_HEAD)
    now = app.real_clock.now()
    admin = "admin-sipf"  # the store's first admin (tests/support/identities.py)
    request = approvals.request_emergency_grant_committed(
        uow=app.uow(), user_id="ana", role=Role.REVIEWER, hours=4,
        reason="second analyst ill", maker=admin, at=now,
    )  # fmt: skip
    with pytest.raises(Refused) as refused:
        approvals.approve_committed(
            uow=app.uow(), request_id=request.request_id, checker="head", at=now
        )
    assert refused.value.rule == "policy_must_allow_action"
    decided = approvals.approve_committed(
        uow=app.uow(), request_id=request.request_id, checker="rev", at=now
    )
    assert decided.status is ApprovalStatus.APPROVED
    with app.read_uow() as uow:
        roles = effective_roles(uow, user_id="ana", at=now)
    assert roles is not None and Role.REVIEWER in roles
