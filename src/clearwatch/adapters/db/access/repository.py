"""Users, roles, approval requests and emergency grants in the relational store."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, delete, exists, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from clearwatch.adapters.db.access.tables import (
    access_approval_requests,
    access_credentials,
    access_emergency_grant_ends,
    access_emergency_grants,
    access_user_roles,
    access_users,
)
from clearwatch.domain.access.approvals import (
    AccessRefused,
    AccessRejection,
    ApprovalKind,
    ApprovalRequest,
    ApprovalStatus,
)
from clearwatch.domain.access.grants import EmergencyGrant
from clearwatch.domain.access.organisations import (
    Organisation,
    OrganisationKind,
    parse_organisation,
)
from clearwatch.domain.access.roles import Role
from clearwatch.domain.access.users import User
from clearwatch.services.access.ports import CallerRecord


def _text(moment: datetime) -> str:
    return moment.isoformat()


def _moment(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


class SqlAccessRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add_user(
        self, *, user_id: str, organisation: Organisation, created_at: datetime, created_by: str
    ) -> None:
        try:
            with self._connection.begin_nested():
                self._connection.execute(
                    insert(access_users).values(
                        user_id=user_id,
                        organisation=organisation.ident,
                        institution=_institution(organisation),
                        created_at=_text(created_at),
                        created_by=created_by,
                    )
                )
        except IntegrityError as error:
            raise AccessRefused(AccessRejection.USER_MUST_NOT_EXIST_ALREADY, user_id) from error

    def user(self, user_id: str) -> User | None:
        row = self._connection.execute(
            select(access_users).where(access_users.c.user_id == user_id)
        ).first()
        if row is None:
            return None
        roles = self._connection.execute(
            select(access_user_roles.c.role).where(access_user_roles.c.user_id == user_id)
        ).scalars()
        return _user(row, frozenset(Role(role) for role in roles))

    def users(self) -> list[User]:
        held: dict[str, set[Role]] = {}
        for user_id, role in self._connection.execute(
            select(access_user_roles.c.user_id, access_user_roles.c.role)
        ):
            held.setdefault(user_id, set()).add(Role(role))
        rows = self._connection.execute(select(access_users).order_by(access_users.c.user_id))
        return [_user(row, frozenset(held.get(row.user_id, ()))) for row in rows]

    def add_role(self, *, user_id: str, role: Role, granted_at: datetime, granted_by: str) -> bool:
        already = self._connection.execute(
            select(
                exists().where(
                    access_user_roles.c.user_id == user_id, access_user_roles.c.role == role.value
                )
            )
        ).scalar_one()
        if already:
            return False
        self._connection.execute(
            insert(access_user_roles).values(
                user_id=user_id,
                role=role.value,
                granted_at=_text(granted_at),
                granted_by=granted_by,
            )
        )
        return True

    def remove_role(self, *, user_id: str, role: Role) -> bool:
        # The table holds the roles held now; who granted and revoked each, and when, is in
        # the audit log, written in the same transaction.
        table = access_user_roles
        removed = self._connection.execute(
            delete(table).where(table.c.user_id == user_id, table.c.role == role.value)
        ).rowcount
        return bool(removed)

    def pending_exists(self, *, kind: ApprovalKind, subject_ref: str) -> bool:
        table = access_approval_requests
        return bool(
            self._connection.execute(
                select(
                    exists().where(
                        table.c.kind == kind.value,
                        table.c.subject_ref == subject_ref,
                        table.c.status == ApprovalStatus.PENDING.value,
                    )
                )
            ).scalar_one()
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
        try:
            with self._connection.begin_nested():
                request_id = self._connection.execute(
                    insert(access_approval_requests)
                    .values(
                        kind=kind.value,
                        subject_ref=subject_ref,
                        payload_json=json.dumps(payload, sort_keys=True, ensure_ascii=False),
                        maker=maker,
                        requested_at=_text(requested_at),
                        status=ApprovalStatus.PENDING.value,
                        content_sha256=content_sha256,
                    )
                    .returning(access_approval_requests.c.request_id)
                ).scalar_one()
        except IntegrityError as error:
            raise AccessRefused(
                AccessRejection.REQUEST_MUST_NOT_DUPLICATE_PENDING, f"{kind.value} {subject_ref}"
            ) from error
        return ApprovalRequest(
            request_id=int(request_id),
            kind=kind,
            subject_ref=subject_ref,
            payload=dict(payload),
            maker=maker,
            requested_at=requested_at,
            content_sha256=content_sha256,
        )

    def request(self, request_id: int) -> ApprovalRequest | None:
        row = self._connection.execute(
            select(access_approval_requests).where(
                access_approval_requests.c.request_id == request_id
            )
        ).first()
        return None if row is None else _request(row)

    def record_decision(self, decided: ApprovalRequest) -> bool:
        table = access_approval_requests
        result = self._connection.execute(
            update(table)
            .where(
                table.c.request_id == decided.request_id,
                table.c.status == ApprovalStatus.PENDING.value,
            )
            .values(
                status=decided.status.value,
                checker=decided.checker,
                decided_at=None if decided.decided_at is None else _text(decided.decided_at),
                reason=decided.reason,
            )
        )
        return result.rowcount == 1

    def latest_approved(
        self, *, kind: ApprovalKind, subject_ref: str, content_sha256: str | None = None
    ) -> ApprovalRequest | None:
        table = access_approval_requests
        query = select(table).where(
            table.c.kind == kind.value,
            table.c.subject_ref == subject_ref,
            table.c.status == ApprovalStatus.APPROVED.value,
        )
        if content_sha256 is not None:
            query = query.where(table.c.content_sha256 == content_sha256)
        row = self._connection.execute(query.order_by(table.c.request_id.desc()).limit(1)).first()
        return None if row is None else _request(row)

    def requests(self, *, status: ApprovalStatus | None = None) -> list[ApprovalRequest]:
        table = access_approval_requests
        query = select(table).order_by(table.c.request_id)
        if status is not None:
            query = query.where(table.c.status == status.value)
        return [_request(row) for row in self._connection.execute(query)]

    def add_grant(
        self,
        *,
        user_id: str,
        role: Role,
        expires_at: datetime,
        approval_request_id: int,
        approved_at: datetime,
    ) -> EmergencyGrant:
        grant_id = self._connection.execute(
            insert(access_emergency_grants)
            .values(
                user_id=user_id,
                role=role.value,
                expires_at=_text(expires_at),
                approval_request_id=approval_request_id,
                approved_at=_text(approved_at),
            )
            .returning(access_emergency_grants.c.grant_id)
        ).scalar_one()
        return EmergencyGrant(
            grant_id=int(grant_id),
            user_id=user_id,
            role=role,
            expires_at=expires_at,
            approval_request_id=approval_request_id,
            approved_at=approved_at,
        )

    def grants_of(self, user_id: str) -> list[EmergencyGrant]:
        return [_grant(row) for row in self._connection.execute(_GRANTS, {"user_id": user_id})]

    def end_grant(self, *, grant_id: int, ended_at: datetime, ended_by: str) -> None:
        self._connection.execute(
            insert(access_emergency_grant_ends).values(
                grant_id=grant_id, ended_at=_text(ended_at), ended_by=ended_by
            )
        )

    def caller_record(self, user_id: str) -> CallerRecord | None:
        rows = list(self._connection.execute(_CALLER, {"user_id": user_id}))
        return _caller_record(rows) if rows else None


def _grant_columns() -> tuple[Any, ...]:
    """A grant's columns as `_grant` reads them, its end (if any) beside it."""
    grants, ends = access_emergency_grants, access_emergency_grant_ends
    return (
        grants.c.grant_id,
        grants.c.role.label("grant_role"),
        grants.c.expires_at.label("grant_expires_at"),
        grants.c.approval_request_id,
        grants.c.approved_at.label("grant_approved_at"),
        ends.c.ended_at.label("grant_ended_at"),
    )


def _caller_statement() -> Any:
    """The user with their credential epoch, roles and grants: one row per (role, grant) pair,
    few for anyone (a handful of roles, a grant now and then), in one round trip. Built once:
    every API request asks it, and building a statement costs more than running it here."""
    users, credentials = access_users, access_credentials
    roles, grants = access_user_roles, access_emergency_grants
    ends = access_emergency_grant_ends
    joined = (
        users.outerjoin(credentials, credentials.c.user_id == users.c.user_id)
        .outerjoin(roles, roles.c.user_id == users.c.user_id)
        .outerjoin(grants, grants.c.user_id == users.c.user_id)
        .outerjoin(ends, ends.c.grant_id == grants.c.grant_id)
    )
    return (
        select(
            users.c.user_id,
            users.c.organisation,
            users.c.created_at,
            func.coalesce(credentials.c.credential_epoch, 0).label("credential_epoch"),
            roles.c.role,
            *_grant_columns(),
        )
        .select_from(joined)
        .where(users.c.user_id == bindparam("user_id"))
    )


_CALLER = _caller_statement()


def _grants_statement() -> Any:
    """A user's grants, each with when it was ended, if it was."""
    grants, ends = access_emergency_grants, access_emergency_grant_ends
    return (
        select(grants.c.user_id, *_grant_columns())
        .select_from(grants.outerjoin(ends, ends.c.grant_id == grants.c.grant_id))
        .where(grants.c.user_id == bindparam("user_id"))
        .order_by(grants.c.grant_id)
    )


_GRANTS = _grants_statement()


def _caller_record(rows: list[Row[Any]]) -> CallerRecord:
    roles = frozenset(Role(row.role) for row in rows if row.role is not None)
    grants = {int(row.grant_id): _grant(row) for row in rows if row.grant_id is not None}
    return CallerRecord(
        user=_user(rows[0], roles),
        grants=tuple(grants[grant_id] for grant_id in sorted(grants)),
        credential_epoch=int(rows[0].credential_epoch),
    )


def _grant(row: Row[Any]) -> EmergencyGrant:
    ended = row.grant_ended_at
    return EmergencyGrant(
        grant_id=int(row.grant_id),
        user_id=row.user_id,
        role=Role(row.grant_role),
        expires_at=datetime.fromisoformat(row.grant_expires_at),
        approval_request_id=int(row.approval_request_id),
        approved_at=datetime.fromisoformat(row.grant_approved_at),
        ended_at=None if ended is None else datetime.fromisoformat(ended),
    )


def _institution(organisation: Organisation) -> str | None:
    if organisation.kind in (OrganisationKind.INSTITUTION, OrganisationKind.BACK_OFFICE):
        return organisation.code
    return None


def _user(row: Row[Any], roles: frozenset[Role]) -> User:
    return User(
        user_id=row.user_id,
        # The migration gave every older row an organisation; a NULL here is a hand edit.
        organisation=parse_organisation(row.organisation or ""),
        roles=roles,
        created_at=datetime.fromisoformat(row.created_at),
    )


def _request(row: Row[Any]) -> ApprovalRequest:
    decided_at = _moment(row.decided_at)
    return ApprovalRequest(
        request_id=int(row.request_id),
        kind=ApprovalKind(row.kind),
        subject_ref=row.subject_ref,
        payload=json.loads(row.payload_json),
        maker=row.maker,
        requested_at=datetime.fromisoformat(row.requested_at),
        status=ApprovalStatus(row.status),
        checker=row.checker,
        decided_at=decided_at,
        reason=row.reason,
        content_sha256=row.content_sha256,
    )
