"""`/users` and `/approvals`: people and machines, their roles, emergency grants, maker-checker.

The same services as `clearwatch user` and `clearwatch approvals`, always on the real clock:
an access decision never takes a replay's time. Each route first asks whether the caller may
ask its action at all (`Gate.lister`): a role the table never gives it is a 403, audited,
before any rule of the use case names itself. The policy then decides inside the use case,
where the organisation concerned is known; listings show only the rows the scope reaches.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from clearwatch.domain.access.approval_masking import masked_request
from clearwatch.domain.access.approvals import ApprovalRequest, ApprovalStatus
from clearwatch.domain.access.credentials import PASSWORD_MAX_LENGTH
from clearwatch.domain.access.grants import emergency_grant_hours_max
from clearwatch.domain.access.policy import Action, Resource
from clearwatch.domain.access.roles import Role
from clearwatch.domain.access.users import User
from clearwatch.entrypoints.api.problems import problems
from clearwatch.entrypoints.api.security import CallerGate, Wired, may_ask
from clearwatch.entrypoints.api.values import Limit, Offset, Reason, UserId, listing_rows_max
from clearwatch.services.access import approvals
from clearwatch.services.access.users import (
    Registered,
    add_user,
    grant_role,
    list_users,
    register_person,
    revoke_role,
)
from clearwatch.services.watch.approvals_queue import approve_in_queue

router = APIRouter(tags=["users and approvals"])
RequestId = Annotated[int, Path(ge=1, le=2**31 - 1)]
# The clients a back office's request names are masked unless the caller asks for the evidence
# itself and the policy allows it (`broker.evidence`: the broker's operator and checker).
Evidence = Annotated[bool, Query(description="Unmasked clients (policy: broker.evidence).")]


class GrantOut(BaseModel):
    role: Role
    approved_at: datetime
    expires_at: datetime
    ended_at: datetime | None = Field(
        default=None, description="When an admin ended it before its hours were out."
    )
    in_force: bool


class UserOut(BaseModel):
    user_id: str
    organisation: str
    roles: list[Role] = Field(description="Permanent roles.")
    emergency_grants: list[GrantOut] = []
    created_at: datetime


class NewUser(BaseModel):
    user_id: UserId
    organisation: str = Field(
        min_length=1, max_length=40, description="SIPF, CSRC, a region (CN-SH), B001, BO:B001."
    )
    roles: list[Role] = Field(min_length=1, max_length=len(Role))
    password: str | None = Field(
        default=None,
        max_length=PASSWORD_MAX_LENGTH,
        repr=False,
        description="A person's initial password (12 characters at least); omitted for a "
        "machine, which acts by API token.",
    )


class RegisteredOut(UserOut):
    second_factor_uri: str | None = Field(
        default=None, description="otpauth:// of a deciding role's second factor: shown once."
    )


class RoleGrant(BaseModel):
    role: Role


class RoleGranted(BaseModel):
    user_id: str
    role: Role
    added: bool = Field(description="False when the user held the role already.")


class RoleRevoked(BaseModel):
    user_id: str
    role: Role
    revoked: bool = Field(description="False when the user did not hold the role.")


class EmergencyGrantRequest(BaseModel):
    role: Role
    hours: int = Field(ge=1, le=emergency_grant_hours_max, description="From its approval.")
    reason: Reason


class ApprovalOut(BaseModel):
    request_id: int
    kind: str
    subject_ref: str = Field(description="The client it names masked unless evidence.")
    payload: dict[str, Any] = Field(description="The client it names masked unless evidence.")
    maker: str
    requested_at: datetime
    status: ApprovalStatus
    checker: str | None = None
    decided_at: datetime | None = None
    reason: str | None = None


class NewApproval(BaseModel):
    kind: str = Field(min_length=1, max_length=40, description="e.g. manual_adjustment.")
    subject_ref: str = Field(min_length=1, max_length=200, description="e.g. batch:B001/S2.")
    payload: dict[str, Any] = Field(default_factory=dict)


class Rejection(BaseModel):
    reason: Reason


def _user_out(user: User, grants: list[GrantOut] | None = None) -> dict[str, Any]:
    return {
        "user_id": user.user_id,
        "organisation": user.organisation.ident,
        "roles": sorted(user.roles),
        "emergency_grants": grants or [],
        "created_at": user.created_at,
    }


def _approval_out(request: ApprovalRequest, *, evidence: bool = False) -> ApprovalOut:
    """The request as answered: the clients it names whole only as allowed evidence."""
    subject, payload = request.subject_ref, dict(request.payload)
    if not evidence:
        subject, payload = masked_request(subject, payload)
    return ApprovalOut(
        request_id=request.request_id,
        kind=request.kind.value,
        subject_ref=subject,
        payload=payload,
        maker=request.maker,
        requested_at=request.requested_at,
        status=request.status,
        checker=request.checker,
        decided_at=request.decided_at,
        reason=request.reason,
    )


@router.get("/users", responses=problems(403))
def users_list(
    gate: CallerGate, wired: Wired, limit: Limit = listing_rows_max, offset: Offset = 0
) -> list[UserOut]:
    """The users the caller may see, their permanent roles and emergency grants."""
    sees = gate.lister(Action.USER_LIST)
    now = wired.real_clock.now()
    grants = approvals.grants_by_user(uow=wired.read_uow())
    visible = [
        user
        for user in list_users(uow=wired.read_uow())
        if sees(Resource(organisation=user.organisation.ident))
    ]
    return [
        UserOut(
            **_user_out(
                user,
                [
                    GrantOut(
                        role=g.role,
                        approved_at=g.approved_at,
                        expires_at=g.expires_at,
                        ended_at=g.ended_at,
                        in_force=g.in_force(now),
                    )
                    for g in grants.get(user.user_id, [])
                ],
            )
        )
        for user in visible[offset : offset + limit]
    ]


@router.post("/users", status_code=201, responses=problems(403, 409))
def users_add(body: NewUser, gate: CallerGate, wired: Wired) -> RegisteredOut:
    """Register a person (with an initial password) or a machine (without) in one organisation."""
    may_ask(gate, Action.USER_ADD)
    now = wired.real_clock.now()
    if body.password is None:
        user = add_user(
            uow=wired.uow(),
            user_id=body.user_id,
            roles=body.roles,
            organisation=body.organisation,
            actor=gate.user_id,
            at=now,
        )
        registered = Registered(user, None)
    else:
        registered = register_person(
            uow=wired.uow(),
            tools=wired.authentication,
            user_id=body.user_id,
            roles=body.roles,
            organisation=body.organisation,
            password=body.password,
            actor=gate.user_id,
            at=now,
        )
    return RegisteredOut(
        **_user_out(registered.user), second_factor_uri=registered.second_factor_uri
    )


@router.post("/users/{user_id}/roles", responses=problems(403, 404))
def users_grant(
    user_id: Annotated[str, Path(max_length=64)], body: RoleGrant, gate: CallerGate, wired: Wired
) -> RoleGranted:
    """Grant a permanent role valid in the user's organisation (its admin)."""
    may_ask(gate, Action.USER_GRANT)
    added = grant_role(
        uow=wired.uow(),
        user_id=user_id,
        role=body.role,
        actor=gate.user_id,
        at=wired.real_clock.now(),
    )
    return RoleGranted(user_id=user_id, role=body.role, added=added)


@router.delete("/users/{user_id}/roles/{role}", responses=problems(403, 404))
def users_revoke(
    user_id: Annotated[str, Path(max_length=64)], role: Role, gate: CallerGate, wired: Wired
) -> RoleRevoked:
    """Take a role back, permanent or an emergency grant still in force (its admin; never
    one's own); it counts from the user's next request."""
    may_ask(gate, Action.USER_REVOKE)
    revoked = revoke_role(
        uow=wired.uow(),
        user_id=user_id,
        role=role,
        actor=gate.user_id,
        at=wired.real_clock.now(),
    )
    return RoleRevoked(user_id=user_id, role=role, revoked=revoked)


@router.post(
    "/users/{user_id}/emergency-grants", status_code=201, responses=problems(403, 404, 409)
)
def users_emergency_grant(
    user_id: Annotated[str, Path(max_length=64)],
    body: EmergencyGrantRequest,
    gate: CallerGate,
    wired: Wired,
) -> ApprovalOut:
    """Ask for a role for some hours (≤ 24) from its approval by a second person."""
    may_ask(gate, Action.USER_EMERGENCY_GRANT)
    request = approvals.request_emergency_grant_committed(
        uow=wired.uow(),
        user_id=user_id,
        role=body.role,
        hours=body.hours,
        reason=body.reason,
        maker=gate.user_id,
        at=wired.real_clock.now(),
    )
    return _approval_out(request)


@router.get("/approvals", responses=problems(403))
def approvals_list(
    gate: CallerGate,
    wired: Wired,
    status: Literal["pending", "approved", "rejected", "all"] = "pending",
    limit: Limit = listing_rows_max,
    offset: Offset = 0,
    evidence: Evidence = False,
) -> list[ApprovalOut]:
    """Requests of the caller's organisation: pending ones, or those of `status`, or all; the
    clients a back office's requests name masked unless `evidence` is asked for and allowed."""
    sees = gate.lister(Action.APPROVALS_LIST)
    # Asked before anything is read, so that a refusal (audited) shows nothing.
    whole = gate.evidence_lister(Action.BOOKS_EVIDENCE, read="GET /approvals") if evidence else None
    organisation_of = {u.user_id: u.organisation.ident for u in list_users(uow=wired.read_uow())}
    found = [
        request
        for request in approvals.list_requests(
            uow=wired.read_uow(), status=None if status == "all" else ApprovalStatus(status)
        )
        if sees(Resource(organisation=organisation_of.get(request.maker)))
    ]
    return [
        _approval_out(request, evidence=bool(whole and whole(_books(organisation_of, request))))
        for request in found[offset : offset + limit]
    ]


def _books(organisation_of: dict[str, str], request: ApprovalRequest) -> Resource:
    """The books a request is of: its maker's back office (the others name no client)."""
    organisation = organisation_of.get(request.maker)
    return Resource(organisation=organisation, institution=(organisation or "").removeprefix("BO:"))


@router.post("/approvals", status_code=201, responses=problems(403, 409))
def approvals_request(body: NewApproval, gate: CallerGate, wired: Wired) -> ApprovalOut:
    """Raise a maker's request (operator, admin)."""
    may_ask(gate, Action.APPROVALS_REQUEST)
    request = approvals.request_approval_committed(
        uow=wired.uow(),
        kind=body.kind,
        subject_ref=body.subject_ref,
        payload=body.payload,
        maker=gate.user_id,
        at=wired.real_clock.now(),
    )
    return _approval_out(request)


@router.post("/approvals/{request_id}/approve", responses=problems(403, 404, 409))
def approvals_approve(request_id: RequestId, gate: CallerGate, wired: Wired) -> ApprovalOut:
    """Approve someone else's request (a checker of the maker's organisation)."""
    may_ask(gate, Action.APPROVALS_APPROVE)
    # What an approval puts in force (a halt's lift, a flow halt, ...) is put in force with it.
    decided = approve_in_queue(
        uow=wired.uow(),
        request_id=request_id,
        checker=gate.user_id,
        at=wired.real_clock.now(),
        publisher=wired.watch_publisher(),
    )
    return _approval_out(decided)


@router.post("/approvals/{request_id}/reject", responses=problems(403, 404, 409))
def approvals_reject(
    request_id: RequestId, body: Rejection, gate: CallerGate, wired: Wired
) -> ApprovalOut:
    """Reject someone else's request, with a reason."""
    may_ask(gate, Action.APPROVALS_REJECT)
    decided = approvals.reject_committed(
        uow=wired.uow(),
        request_id=request_id,
        checker=gate.user_id,
        at=wired.real_clock.now(),
        reason=body.reason,
    )
    return _approval_out(decided)
