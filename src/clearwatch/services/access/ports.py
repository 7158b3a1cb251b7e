"""Ports of access control: the repository of users, roles, approvals and grants."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from clearwatch.domain.access.approvals import ApprovalKind, ApprovalRequest, ApprovalStatus
from clearwatch.domain.access.grants import EmergencyGrant
from clearwatch.domain.access.organisations import Organisation
from clearwatch.domain.access.roles import Role
from clearwatch.domain.access.users import User
from clearwatch.services.shared.ports import UnitOfWork


class AccessRepository(Protocol):
    def add_user(
        self, *, user_id: str, organisation: Organisation, created_at: datetime, created_by: str
    ) -> None: ...

    def user(self, user_id: str) -> User | None: ...

    def users(self) -> list[User]: ...

    def add_role(self, *, user_id: str, role: Role, granted_at: datetime, granted_by: str) -> bool:
        """False when the user already held the role."""
        ...

    def pending_exists(self, *, kind: ApprovalKind, subject_ref: str) -> bool: ...

    def add_request(
        self,
        *,
        kind: ApprovalKind,
        subject_ref: str,
        payload: Mapping[str, Any],
        maker: str,
        requested_at: datetime,
        content_sha256: str | None = None,
    ) -> ApprovalRequest:
        """Raises AccessRefused(request_must_not_duplicate_pending) if one slipped in first."""
        ...

    def request(self, request_id: int) -> ApprovalRequest | None: ...

    def record_decision(self, decided: ApprovalRequest) -> bool:
        """Store a decision only if the request is still pending; False if someone was first."""
        ...

    def latest_approved(
        self, *, kind: ApprovalKind, subject_ref: str, content_sha256: str | None = None
    ) -> ApprovalRequest | None:
        """The latest approved request for the subject (that approves this content, if named)."""
        ...

    def requests(self, *, status: ApprovalStatus | None = None) -> list[ApprovalRequest]: ...

    def add_grant(
        self,
        *,
        user_id: str,
        role: Role,
        expires_at: datetime,
        approval_request_id: int,
        approved_at: datetime,
    ) -> EmergencyGrant: ...

    def grants_of(self, user_id: str) -> list[EmergencyGrant]: ...


class AccessUnitOfWork(UnitOfWork, Protocol):
    """A unit of work that also hands out the access repository."""

    @property
    def access(self) -> AccessRepository: ...
