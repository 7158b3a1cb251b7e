"""Users and their roles in the store: register, grant, list.

Until the first admin exists anyone may register users (that is how a store is bootstrapped);
afterwards only an admin may register users or grant permanent roles. Passwords and sign-in come
with the API. Each use case opens its own unit of work and commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from clearwatch.domain.access.approvals import AccessRefused, AccessRejection
from clearwatch.domain.access.roles import Role
from clearwatch.domain.access.users import User, check_user_id
from clearwatch.domain.shared.kinds import AuditAction
from clearwatch.services.access.ports import AccessUnitOfWork
from clearwatch.services.audit.audit_log import record_audit

BOOTSTRAP_ACTOR = "bootstrap"


def _check_actor(uow: AccessUnitOfWork, actor: str) -> None:
    admins = [user for user in uow.access.users() if Role.ADMIN in user.roles]
    if not admins:
        return
    if all(admin.user_id != actor for admin in admins):
        raise AccessRefused(AccessRejection.ACTOR_MUST_BE_ADMIN, actor)


def add_user(
    *,
    uow: AccessUnitOfWork,
    user_id: str,
    roles: Iterable[Role],
    institution: str | None,
    actor: str,
    at: datetime,
) -> User:
    with uow:
        _check_actor(uow, actor)
        uow.access.add_user(
            user_id=check_user_id(user_id), institution=institution, created_at=at, created_by=actor
        )
        granted = sorted(set(roles))
        for role in granted:
            uow.access.add_role(user_id=user_id, role=role, granted_at=at, granted_by=actor)
        record_audit(
            uow,
            actor=actor,
            action=AuditAction.USER_ADDED,
            object_ref=f"user:{user_id}",
            payload={"institution": institution, "roles": [role.value for role in granted]},
            recorded_at=at,
        )
        user = uow.access.user(user_id)
        uow.commit()
    assert user is not None  # just inserted in this transaction
    return user


def grant_role(
    *, uow: AccessUnitOfWork, user_id: str, role: Role, actor: str, at: datetime
) -> bool:
    """Give a permanent role; False if the user already held it (nothing recorded then)."""
    with uow:
        _check_actor(uow, actor)
        if uow.access.user(user_id) is None:
            raise AccessRefused(AccessRejection.USER_MUST_BE_REGISTERED, user_id)
        added = uow.access.add_role(user_id=user_id, role=role, granted_at=at, granted_by=actor)
        if added:
            record_audit(
                uow,
                actor=actor,
                action=AuditAction.USER_ROLE_GRANTED,
                object_ref=f"user:{user_id}",
                payload={"role": role.value},
                recorded_at=at,
            )
        uow.commit()
    return added


def list_users(*, uow: AccessUnitOfWork) -> list[User]:
    with uow:
        return uow.access.users()
