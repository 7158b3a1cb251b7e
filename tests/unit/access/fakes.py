"""An in-memory unit of work for the access services: the ports of services/access/ports.py
and services/shared/ports.py over dicts, with commit and rollback, so a unit test states
exactly what the store held before and reads what the service left behind."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import TracebackType
from typing import Any, Self

from clearwatch.domain.access.approvals import (
    AccessRefused,
    AccessRejection,
    ApprovalKind,
    ApprovalRequest,
    ApprovalStatus,
)
from clearwatch.domain.access.grants import EmergencyGrant
from clearwatch.domain.access.organisations import Organisation, parse_organisation
from clearwatch.domain.access.roles import Role
from clearwatch.domain.access.users import User
from clearwatch.domain.audit.chain import (
    GENESIS_HASH,
    AuditEvent,
    AuditRecord,
    HashAlgorithm,
    seal,
)
from clearwatch.services.access.ports import CallerRecord


@dataclass
class _State:
    """Everything the fake store holds; copied whole on begin, restored on rollback."""

    users: dict[str, User] = field(default_factory=dict)
    requests: dict[int, ApprovalRequest] = field(default_factory=dict)
    grants: list[EmergencyGrant] = field(default_factory=list)
    audit: list[AuditRecord] = field(default_factory=list)


class FakeAccessRepository:
    def __init__(self, state: _State) -> None:
        self.state = state
        # A test sets this to play a second checker who decides between our read and write.
        self.decided_by_someone_else_first = False

    def add_user(
        self, *, user_id: str, organisation: Organisation, created_at: datetime, created_by: str
    ) -> None:
        self.state.users[user_id] = User(user_id, organisation, frozenset(), created_at)

    def user(self, user_id: str) -> User | None:
        return self.state.users.get(user_id)

    def users(self) -> list[User]:
        return sorted(self.state.users.values(), key=lambda user: user.user_id)

    def add_role(self, *, user_id: str, role: Role, granted_at: datetime, granted_by: str) -> bool:
        user = self.state.users[user_id]
        if role in user.roles:
            return False
        self.state.users[user_id] = replace(user, roles=user.roles | {role})
        return True

    def remove_role(self, *, user_id: str, role: Role) -> bool:
        user = self.state.users[user_id]
        if role not in user.roles:
            return False
        self.state.users[user_id] = replace(user, roles=user.roles - {role})
        return True

    def pending_exists(self, *, kind: ApprovalKind, subject_ref: str) -> bool:
        return any(
            (r.kind, r.subject_ref, r.status) == (kind, subject_ref, ApprovalStatus.PENDING)
            for r in self.state.requests.values()
        )

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
        if self.pending_exists(kind=kind, subject_ref=subject_ref):
            raise AccessRefused(AccessRejection.REQUEST_MUST_NOT_DUPLICATE_PENDING)
        request_id = len(self.state.requests) + 1
        request = ApprovalRequest(
            request_id, kind, subject_ref, payload, maker, requested_at,
            content_sha256=content_sha256,
        )  # fmt: skip
        self.state.requests[request_id] = request
        return request

    def request(self, request_id: int) -> ApprovalRequest | None:
        return self.state.requests.get(request_id)

    def record_decision(self, decided: ApprovalRequest) -> bool:
        if self.decided_by_someone_else_first:
            return False
        if self.state.requests[decided.request_id].status is not ApprovalStatus.PENDING:
            return False
        self.state.requests[decided.request_id] = decided
        return True

    def latest_approved(
        self, *, kind: ApprovalKind, subject_ref: str, content_sha256: str | None = None
    ) -> ApprovalRequest | None:
        approved = [
            r
            for r in self.state.requests.values()
            if (r.kind, r.subject_ref, r.status) == (kind, subject_ref, ApprovalStatus.APPROVED)
            and content_sha256 in (None, r.content_sha256)
        ]
        return approved[-1] if approved else None

    def requests(self, *, status: ApprovalStatus | None = None) -> list[ApprovalRequest]:
        return [r for r in self.state.requests.values() if status in (None, r.status)]

    def add_grant(
        self,
        *,
        user_id: str,
        role: Role,
        expires_at: datetime,
        approval_request_id: int,
        approved_at: datetime,
    ) -> EmergencyGrant:
        grant = EmergencyGrant(
            len(self.state.grants) + 1, user_id, role, expires_at, approval_request_id, approved_at
        )
        self.state.grants.append(grant)
        return grant

    def grants_of(self, user_id: str) -> list[EmergencyGrant]:
        return [grant for grant in self.state.grants if grant.user_id == user_id]

    def end_grant(self, *, grant_id: int, ended_at: datetime, ended_by: str) -> None:
        [index] = [i for i, g in enumerate(self.state.grants) if g.grant_id == grant_id]
        assert self.state.grants[index].ended_at is None, "a grant ends only once"
        self.state.grants[index] = replace(self.state.grants[index], ended_at=ended_at)

    def caller_record(self, user_id: str) -> CallerRecord | None:
        user = self.user(user_id)
        if user is None:
            return None
        return CallerRecord(user, tuple(self.grants_of(user_id)), credential_epoch=0)


class FakeAuditLog:
    def __init__(self, state: _State) -> None:
        self.state = state

    def append(self, event: AuditEvent, *, recorded_at: datetime) -> AuditRecord:
        chain = self.state.audit
        record = seal(
            event,
            seq=len(chain) + 1,
            recorded_at=recorded_at,
            prev_hash=chain[-1].hash if chain else GENESIS_HASH,
            algorithm=HashAlgorithm.SHA256,
        )
        chain.append(record)
        return record

    def records(self, *, after_seq: int = 0) -> Iterator[AuditRecord]:
        return iter(self.state.audit[after_seq:])

    def latest(self, *, limit: int) -> list[AuditRecord]:
        return self.state.audit[::-1][:limit]


class FakeAccessUnitOfWork:
    """Begins on enter; what was not committed is rolled back on exit, as the SQL one does."""

    def __init__(self) -> None:
        self.state = _State()
        self.commits = 0
        self._begun: _State | None = None
        self.access = FakeAccessRepository(self.state)
        self.audit = FakeAuditLog(self.state)

    def __enter__(self) -> Self:
        self._begun = copy.deepcopy(self.state)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.rollback()
        self._begun = None

    def commit(self) -> None:
        assert self._begun is not None, "commit outside the unit of work"
        self.commits += 1
        self._begun = copy.deepcopy(self.state)

    def rollback(self) -> None:
        if self._begun is not None:
            # Restore in place: the repositories hold this very state object.
            for name in ("users", "requests", "grants", "audit"):
                setattr(self.state, name, copy.deepcopy(getattr(self._begun, name)))

    def add_user(
        self, user_id: str, *roles: Role, at: datetime, organisation: str = "BO:B001"
    ) -> None:
        """Arrange: a registered user holding these roles, as if committed earlier."""
        self.access.add_user(
            user_id=user_id,
            organisation=parse_organisation(organisation),
            created_at=at,
            created_by="t",
        )
        for role in roles:
            self.access.add_role(user_id=user_id, role=role, granted_at=at, granted_by="t")

    def audit_trail(self) -> list[tuple[str, str, str]]:
        return [(r.actor, r.action, r.object_ref) for r in self.state.audit]
