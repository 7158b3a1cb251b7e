"""Maker-checker (双人复核) use cases: request, approve, reject, look up an approval.

Two flavours:

- `request_approval`, `approve`, `reject`, `request_emergency_grant`, `approved_request_for`
  and `pending` run **inside the caller's open unit of work** and never commit: a service that
  needs an approval as part of its own change (a correction batch, a manual adjustment) calls
  them within its `with uow:` block, so the change, the approval and the audit records commit
  or roll back together.
- The `*_committed` variants open the unit of work, do the one thing and commit; the CLI uses
  them.

Every change is audited in the same transaction. Refusals raise `AccessRefused` with a named
rule (`checker_must_not_be_maker`, `admin_must_not_approve`, …) and change nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

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
    parse_kind,
)
from clearwatch.domain.access.grants import (
    EmergencyGrant,
    check_grant_window,
    roles_expired,
    roles_in_force,
)
from clearwatch.domain.access.roles import Role
from clearwatch.domain.shared.kinds import AuditAction
from clearwatch.services.access.ports import AccessUnitOfWork
from clearwatch.services.audit.audit_log import record_audit


def effective_roles(uow: AccessUnitOfWork, *, user_id: str, at: datetime) -> frozenset[Role] | None:
    """Permanent roles plus emergency grants in force at `at`; None for an unknown user."""
    user = uow.access.user(user_id)
    if user is None:
        return None
    return user.roles | roles_in_force(uow.access.grants_of(user_id), at)


def request_approval(
    *,
    uow: AccessUnitOfWork,
    kind: str,
    subject_ref: str,
    payload: Mapping[str, Any],
    maker: str,
    at: datetime,
) -> ApprovalRequest:
    """Record a maker's request (inside the caller's unit of work; no commit).

    The payload is stored as JSON; values JSON cannot spell (Decimal, date) are kept as text."""
    payload = json.loads(json.dumps(dict(payload), default=str))
    parsed = parse_kind(kind)
    request_kind = check_request(
        kind=kind,
        subject_ref=subject_ref,
        maker_roles=effective_roles(uow, user_id=maker, at=at),
        pending_exists=uow.access.pending_exists(kind=parsed, subject_ref=subject_ref),
    )
    request = uow.access.add_request(
        kind=request_kind, subject_ref=subject_ref, payload=payload, maker=maker, requested_at=at
    )
    record_audit(
        uow,
        actor=maker,
        action=AuditAction.APPROVAL_REQUESTED,
        object_ref=f"approval:{request.request_id}",
        payload={"kind": request_kind.value, "subject_ref": subject_ref, "payload": dict(payload)},
        recorded_at=at,
    )
    return request


def _standing(uow: AccessUnitOfWork, *, user_id: str, at: datetime) -> CheckerStanding:
    user = uow.access.user(user_id)
    grants = uow.access.grants_of(user_id) if user is not None else []
    return CheckerStanding(
        user_id=user_id,
        registered=user is not None,
        permanent_roles=user.roles if user is not None else frozenset(),
        granted_roles=roles_in_force(grants, at),
        expired_grant_roles=roles_expired(grants, at),
    )


def _decide(
    *,
    uow: AccessUnitOfWork,
    request_id: int,
    decision: ApprovalDecision,
    checker: str,
    at: datetime,
    reason: str | None,
) -> ApprovalRequest:
    standing = _standing(uow, user_id=checker, at=at)
    decided = decide(
        uow.access.request(request_id), decision=decision, checker=standing, at=at, reason=reason
    )
    if not uow.access.record_decision(decided):
        # Another checker decided between our read and our write.
        raise AccessRefused(AccessRejection.REQUEST_MUST_BE_PENDING, f"request {request_id}")
    audit_payload: dict[str, Any] = {
        "kind": decided.kind.value,
        "subject_ref": decided.subject_ref,
        "maker": decided.maker,
        "reason": reason,
        "via_emergency_grant": Role.CHECKER in standing.granted_roles
        and Role.CHECKER not in standing.permanent_roles,
    }
    if decided.status is ApprovalStatus.APPROVED and decided.kind is ApprovalKind.EMERGENCY_GRANT:
        grant = uow.access.add_grant(
            user_id=str(decided.payload["user"]),
            role=Role(str(decided.payload["role"])),
            expires_at=datetime.fromisoformat(str(decided.payload["expires_at"])),
            approval_request_id=decided.request_id,
            approved_at=at,
        )
        audit_payload["grant_id"] = grant.grant_id
    record_audit(
        uow,
        actor=checker,
        action=AuditAction.APPROVAL_APPROVED
        if decided.status is ApprovalStatus.APPROVED
        else AuditAction.APPROVAL_REJECTED,
        object_ref=f"approval:{request_id}",
        payload=audit_payload,
        recorded_at=at,
    )
    return decided


def approve(
    *, uow: AccessUnitOfWork, request_id: int, checker: str, at: datetime
) -> ApprovalRequest:
    """A checker approves (inside the caller's unit of work; no commit)."""
    return _decide(
        uow=uow,
        request_id=request_id,
        decision=ApprovalDecision.APPROVE,
        checker=checker,
        at=at,
        reason=None,
    )


def reject(
    *, uow: AccessUnitOfWork, request_id: int, checker: str, at: datetime, reason: str
) -> ApprovalRequest:
    """A checker rejects with a reason (inside the caller's unit of work; no commit)."""
    return _decide(
        uow=uow,
        request_id=request_id,
        decision=ApprovalDecision.REJECT,
        checker=checker,
        at=at,
        reason=reason,
    )


def approved_request_for(
    uow: AccessUnitOfWork, *, kind: str, subject_ref: str
) -> ApprovalRequest | None:
    """The latest approved request for this kind and subject, if any."""
    return uow.access.latest_approved(kind=parse_kind(kind), subject_ref=subject_ref)


def pending(uow: AccessUnitOfWork) -> list[ApprovalRequest]:
    return uow.access.requests(status=ApprovalStatus.PENDING)


def emergency_grant_subject(user_id: str, role: Role) -> str:
    return f"user:{user_id}/role:{role.value}"


def request_emergency_grant(
    *,
    uow: AccessUnitOfWork,
    user_id: str,
    role: Role,
    expires_at: datetime,
    reason: str,
    maker: str,
    at: datetime,
) -> ApprovalRequest:
    """Ask for a time-bound role; it takes effect when a second person approves it."""
    if uow.access.user(user_id) is None:
        raise AccessRefused(AccessRejection.USER_MUST_BE_REGISTERED, user_id)
    check_grant_window(requested_at=at, expires_at=expires_at)
    return request_approval(
        uow=uow,
        kind=ApprovalKind.EMERGENCY_GRANT.value,
        subject_ref=emergency_grant_subject(user_id, role),
        payload={
            "user": user_id,
            "role": role.value,
            "expires_at": expires_at.isoformat(),
            "reason": reason,
        },
        maker=maker,
        at=at,
    )


def request_approval_committed(
    *,
    uow: AccessUnitOfWork,
    kind: str,
    subject_ref: str,
    payload: Mapping[str, Any],
    maker: str,
    at: datetime,
) -> ApprovalRequest:
    with uow:
        request = request_approval(
            uow=uow, kind=kind, subject_ref=subject_ref, payload=payload, maker=maker, at=at
        )
        uow.commit()
    return request


def approve_committed(
    *, uow: AccessUnitOfWork, request_id: int, checker: str, at: datetime
) -> ApprovalRequest:
    with uow:
        decided = approve(uow=uow, request_id=request_id, checker=checker, at=at)
        uow.commit()
    return decided


def reject_committed(
    *, uow: AccessUnitOfWork, request_id: int, checker: str, at: datetime, reason: str
) -> ApprovalRequest:
    with uow:
        decided = reject(uow=uow, request_id=request_id, checker=checker, at=at, reason=reason)
        uow.commit()
    return decided


def request_emergency_grant_committed(
    *,
    uow: AccessUnitOfWork,
    user_id: str,
    role: Role,
    expires_at: datetime,
    reason: str,
    maker: str,
    at: datetime,
) -> ApprovalRequest:
    with uow:
        request = request_emergency_grant(
            uow=uow,
            user_id=user_id,
            role=role,
            expires_at=expires_at,
            reason=reason,
            maker=maker,
            at=at,
        )
        uow.commit()
    return request


def grants_by_user(*, uow: AccessUnitOfWork) -> dict[str, list[EmergencyGrant]]:
    """Every emergency grant ever approved, per user (in force or lapsed)."""
    with uow:
        return {user.user_id: uow.access.grants_of(user.user_id) for user in uow.access.users()}


def list_requests(
    *, uow: AccessUnitOfWork, status: ApprovalStatus | None = None
) -> list[ApprovalRequest]:
    with uow:
        return uow.access.requests(status=status)
