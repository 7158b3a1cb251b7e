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
rule (`checker_must_not_be_maker`, `admin_must_not_approve`, …) and change nothing. After
those rules the policy table is asked (maker and checker act in the maker's organisation); a
policy denial is audited by the `*_committed` variants. An emergency grant's own rules
(`domain/access/grants.py`) run on every request of that kind and again on its approval.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from clearwatch.domain.access.approval_subjects import books_of_subject
from clearwatch.domain.access.approvals import (
    AccessRefused,
    AccessRejection,
    ApprovalDecision,
    ApprovalKind,
    ApprovalRequest,
    ApprovalStatus,
    CheckerStanding,
    check_content,
    check_request,
    content_sha256,
    decide,
    parse_kind,
)
from clearwatch.domain.access.grants import (
    EmergencyGrant,
    check_grant,
    grant_payload,
    parse_grant_terms,
    roles_expired,
    roles_in_force,
)
from clearwatch.domain.access.policy import Action, Resource
from clearwatch.domain.access.roles import APPROVER_ROLES, Role
from clearwatch.domain.intraday.halt_lifts import LiftRule, is_halt_lift
from clearwatch.domain.shared.errors import Refused
from clearwatch.domain.shared.kinds import AuditAction
from clearwatch.services.access.authorize import denials_audited, require
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
    _check_request_policy(
        uow, kind=request_kind, subject_ref=subject_ref, payload=payload, maker=maker, at=at
    )
    # The hash of exactly what is approved is fixed now, from what the checker will see.
    content = content_sha256(request_kind, payload)
    request = uow.access.add_request(
        kind=request_kind,
        subject_ref=subject_ref,
        payload=payload,
        maker=maker,
        requested_at=at,
        content_sha256=content,
    )
    record_audit(
        uow,
        actor=maker,
        action=AuditAction.APPROVAL_REQUESTED,
        object_ref=f"approval:{request.request_id}",
        payload={
            "kind": request_kind.value,
            "subject_ref": subject_ref,
            "payload": dict(payload),
            "content_sha256": content,
        },
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


GRANT_SUBJECT_MUST_NAME_USER_AND_ROLE = "grant_subject_must_name_user_and_role"


def _organisation_of(uow: AccessUnitOfWork, user_id: str) -> str | None:
    user = uow.access.user(user_id)
    return None if user is None else user.organisation.ident


def _subject_organisation(uow: AccessUnitOfWork, subject_ref: str, maker: str) -> str | None:
    """The organisation a request is decided in: the back office whose books its subject
    names, else the maker's."""
    return books_of_subject(subject_ref) or _organisation_of(uow, maker)


def _grant_expiry(
    uow: AccessUnitOfWork, payload: Mapping[str, Any], *, deciding_user: str, at: datetime
) -> datetime:
    """Every rule of an emergency grant, counted from `at` in the deciding person's
    organisation, on every path that can create one; when the grant would expire."""
    terms = parse_grant_terms(payload)
    decider = uow.access.user(deciding_user)
    if decider is None:
        raise AccessRefused(AccessRejection.USER_MUST_BE_REGISTERED, deciding_user)
    grantee = uow.access.user(terms.user_id)
    return check_grant(terms, grantee=grantee, organisation=decider.organisation, starts_at=at)


def _check_request_policy(
    uow: AccessUnitOfWork,
    *,
    kind: ApprovalKind,
    subject_ref: str,
    payload: Mapping[str, Any],
    maker: str,
    at: datetime,
) -> None:
    """The policy for the maker in their organisation; for a grant, also its own rules, and
    a subject that names its user and role (one pending request per grant, whatever path)."""
    grant = kind is ApprovalKind.EMERGENCY_GRANT
    require(
        uow,
        user_id=maker,
        action=Action.USER_EMERGENCY_GRANT if grant else Action.APPROVALS_REQUEST,
        resource=Resource(organisation=_subject_organisation(uow, subject_ref, maker)),
        at=at,
    )
    if grant:
        _grant_expiry(uow, payload, deciding_user=maker, at=at)
        terms = parse_grant_terms(payload)
        if subject_ref != emergency_grant_subject(terms.user_id, terms.role):
            raise Refused(GRANT_SUBJECT_MUST_NAME_USER_AND_ROLE, subject_ref)


def _check_decision(
    uow: AccessUnitOfWork, decided: ApprovalRequest, *, checker: str, at: datetime
) -> datetime | None:
    """The policy for the checker in the maker's organisation; for an approved grant, its
    rules again, counted from this approval, and when it will expire."""
    approved = decided.status is ApprovalStatus.APPROVED
    require(
        uow,
        user_id=checker,
        action=Action.APPROVALS_APPROVE if approved else Action.APPROVALS_REJECT,
        resource=Resource(
            organisation=_subject_organisation(uow, decided.subject_ref, decided.maker)
        ),
        at=at,
    )
    if approved and decided.kind is ApprovalKind.EMERGENCY_GRANT:
        return _grant_expiry(uow, decided.payload, deciding_user=checker, at=at)
    return None


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
    grant_expires_at = _check_decision(uow, decided, checker=checker, at=at)
    if not uow.access.record_decision(decided):
        # Another checker decided between our read and our write.
        raise AccessRefused(AccessRejection.REQUEST_MUST_BE_PENDING, f"request {request_id}")
    audit_payload: dict[str, Any] = {
        "kind": decided.kind.value,
        "subject_ref": decided.subject_ref,
        "maker": decided.maker,
        "reason": reason,
        "via_emergency_grant": bool(
            standing.granted_roles & APPROVER_ROLES
            and not standing.permanent_roles & APPROVER_ROLES
        ),
    }
    if grant_expires_at is not None:
        terms = parse_grant_terms(decided.payload)
        grant = uow.access.add_grant(
            user_id=terms.user_id,
            role=terms.role,
            expires_at=grant_expires_at,
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
    """The latest approved request for this kind and subject, if any (for kinds that bind
    no content: an override, an emergency grant)."""
    found = uow.access.latest_approved(kind=parse_kind(kind), subject_ref=subject_ref)
    return _decided_in_its_books(uow, found, subject_ref)


def _decided_in_its_books(
    uow: AccessUnitOfWork, found: ApprovalRequest | None, subject_ref: str
) -> ApprovalRequest | None:
    """An approval about a broker's books counts only if it was made in that back office:
    one a store kept from before such requests were refused elsewhere counts for nothing."""
    books = books_of_subject(subject_ref)
    if found is None or books is None:
        return found
    return found if _organisation_of(uow, found.maker) == books else None


def approved_content_for(
    uow: AccessUnitOfWork, *, kind: str, subject_ref: str, content: Mapping[str, Any]
) -> ApprovalRequest:
    """The approved request for this subject that approves exactly `content`; otherwise
    `AccessRefused`: `approval_must_exist`, or `approval_must_match_content` when what was
    approved is something else (an adjustment of -1.00 does not let -4,000,000.00 through)."""
    parsed = parse_kind(kind)
    wanted = content_sha256(parsed, content)
    found = None
    if wanted is not None:
        found = uow.access.latest_approved(
            kind=parsed, subject_ref=subject_ref, content_sha256=wanted
        )
    if found is None:
        found = uow.access.latest_approved(kind=parsed, subject_ref=subject_ref)
    found = _decided_in_its_books(uow, found, subject_ref)
    return check_content(found, content=content, subject_ref=subject_ref)


def pending(uow: AccessUnitOfWork) -> list[ApprovalRequest]:
    return uow.access.requests(status=ApprovalStatus.PENDING)


def emergency_grant_subject(user_id: str, role: Role) -> str:
    return f"user:{user_id}/role:{role.value}"


def request_emergency_grant(
    *,
    uow: AccessUnitOfWork,
    user_id: str,
    role: Role,
    hours: int,
    reason: str,
    maker: str,
    at: datetime,
) -> ApprovalRequest:
    """Ask for a role for `hours` from its approval; it takes effect when a second person of
    the same organisation approves it (the rules run in `request_approval` and on approval)."""
    return request_approval(
        uow=uow,
        kind=ApprovalKind.EMERGENCY_GRANT.value,
        subject_ref=emergency_grant_subject(user_id, role),
        payload=grant_payload(user_id=user_id, role=role, hours=hours, reason=reason),
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
    with denials_audited(uow, at=at), uow:
        request = request_approval(
            uow=uow, kind=kind, subject_ref=subject_ref, payload=payload, maker=maker, at=at
        )
        uow.commit()
    return request


def approve_committed(
    *, uow: AccessUnitOfWork, request_id: int, checker: str, at: datetime
) -> ApprovalRequest:
    """Approve a request whose approval applies nothing by itself. A halt lift is refused by
    name: it is approved only with its lift (`intraday.halt_lifts.approve_request`, which every
    entrypoint's approve calls), so no path leaves a lift approved and the client halted."""
    with denials_audited(uow, at=at), uow:
        pending = uow.access.request(request_id)
        if pending is not None and is_halt_lift(pending):
            raise Refused(LiftRule.LIFT_MUST_BE_APPROVED_WITH_ITS_LIFT, f"approval #{request_id}")
        decided = approve(uow=uow, request_id=request_id, checker=checker, at=at)
        uow.commit()
    return decided


def reject_committed(
    *, uow: AccessUnitOfWork, request_id: int, checker: str, at: datetime, reason: str
) -> ApprovalRequest:
    with denials_audited(uow, at=at), uow:
        decided = reject(uow=uow, request_id=request_id, checker=checker, at=at, reason=reason)
        uow.commit()
    return decided


def request_emergency_grant_committed(
    *,
    uow: AccessUnitOfWork,
    user_id: str,
    role: Role,
    hours: int,
    reason: str,
    maker: str,
    at: datetime,
) -> ApprovalRequest:
    with denials_audited(uow, at=at), uow:
        request = request_emergency_grant(
            uow=uow,
            user_id=user_id,
            role=role,
            hours=hours,
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
