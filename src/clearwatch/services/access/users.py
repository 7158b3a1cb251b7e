"""Users, their organisation and their roles in the store: register, grant, revoke, list.

The one act without a registered actor is creating the first admin of an empty store (spec
platform §2); afterwards the policy table decides who may register users or grant roles, and
in which organisation. A user belongs to exactly one organisation and holds only roles valid
there. A person registered with a password can sign in; one holding a deciding role gets a
second factor at once, its secret shown once to whoever registers them. Each use case opens
its own unit of work.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from clearwatch.domain.access.approvals import AccessRefused, AccessRejection
from clearwatch.domain.access.credentials import check_password_rule, needs_second_factor
from clearwatch.domain.access.organisations import Organisation, parse_organisation
from clearwatch.domain.access.policy import Action, Resource
from clearwatch.domain.access.roles import Role, check_role_valid_in
from clearwatch.domain.access.users import User, check_roles_valid_in, check_user_id
from clearwatch.domain.shared.errors import Refused
from clearwatch.domain.shared.kinds import AuditAction
from clearwatch.services.access.authorize import denials_audited, require
from clearwatch.services.access.ports import AccessUnitOfWork, AuthenticationTools
from clearwatch.services.audit.audit_log import record_audit

BOOTSTRAP_ACTOR = "bootstrap"
FIRST_USER_MUST_BE_ADMIN = "first_user_must_be_admin"
SIGN_IN_NEEDED = "caller_must_be_authenticated"
ROLE_MUST_NOT_BE_REVOKED_BY_ITS_HOLDER = "role_must_not_be_revoked_by_its_holder"


def _as_organisation(organisation: Organisation | str) -> Organisation:
    if isinstance(organisation, Organisation):
        return organisation
    return parse_organisation(organisation)


def _check_may_add(
    uow: AccessUnitOfWork,
    *,
    actor: str | None,
    organisation: Organisation,
    roles: frozenset[Role],
    at: datetime,
) -> None:
    """An empty store takes its first admin from anyone; otherwise the policy decides."""
    if not uow.access.users():
        if Role.ADMIN not in roles:
            raise Refused(FIRST_USER_MUST_BE_ADMIN, "register an admin first")
        return
    if actor is None:
        raise Refused(SIGN_IN_NEEDED, "the store has users: sign in as an admin")
    require(
        uow,
        user_id=actor,
        action=Action.USER_ADD,
        resource=Resource(organisation=organisation.ident),
        at=at,
    )


@dataclass(frozen=True)
class NewCredentials:
    """What a person signs in with, prepared outside the transaction (hashing is slow)."""

    password_hash: str
    totp_secret: str | None


@dataclass(frozen=True)
class Registered:
    """A registered person; `second_factor_uri` (otpauth://…) is shown once, then never."""

    user: User
    second_factor_uri: str | None


def add_user(
    *,
    uow: AccessUnitOfWork,
    user_id: str,
    roles: Iterable[Role],
    organisation: Organisation | str,
    actor: str | None,
    at: datetime,
    credentials: NewCredentials | None = None,
) -> User:
    """Register a user in one organisation with roles valid there (and credentials, if any)."""
    home = _as_organisation(organisation)
    granted = check_roles_valid_in(roles, home)
    with denials_audited(uow, at=at), uow:
        _check_may_add(uow, actor=actor, organisation=home, roles=granted, at=at)
        by = actor or BOOTSTRAP_ACTOR
        uow.access.add_user(
            user_id=check_user_id(user_id), organisation=home, created_at=at, created_by=by
        )
        for role in sorted(granted):
            uow.access.add_role(user_id=user_id, role=role, granted_at=at, granted_by=by)
        if credentials is not None:
            _store_credentials(uow, user_id, credentials, at)
        record_audit(
            uow,
            actor=by,
            action=AuditAction.USER_ADDED,
            object_ref=f"user:{user_id}",
            payload={"organisation": home.ident, "roles": sorted(role.value for role in granted)},
            recorded_at=at,
        )
        user = uow.access.user(user_id)
        uow.commit()
    assert user is not None  # just inserted in this transaction
    return user


def register_person(
    *,
    uow: AccessUnitOfWork,
    tools: AuthenticationTools,
    user_id: str,
    roles: Iterable[Role],
    organisation: Organisation | str,
    password: str,
    actor: str | None,
    at: datetime,
) -> Registered:
    """A person who signs in: password rule checked, argon2-hashed, a second factor enrolled
    when a role decides. `actor` None is the first admin of an empty store, and only that."""
    home = _as_organisation(organisation)
    granted = check_roles_valid_in(roles, home)
    credentials = NewCredentials(
        password_hash=tools.hasher.hash(check_password_rule(password)),
        totp_secret=tools.second_factor.new_secret() if needs_second_factor(granted) else None,
    )
    user = add_user(
        uow=uow,
        user_id=user_id,
        roles=granted,
        organisation=home,
        actor=actor,
        at=at,
        credentials=credentials,
    )
    secret = credentials.totp_secret
    uri = (
        None
        if secret is None
        else tools.second_factor.provisioning_uri(secret=secret, user_id=user_id)
    )
    return Registered(user, uri)


def _store_credentials(
    uow: AccessUnitOfWork, user_id: str, credentials: NewCredentials, at: datetime
) -> None:
    uow.credentials.set_password(user_id=user_id, password_hash=credentials.password_hash, at=at)
    if credentials.totp_secret is not None:
        uow.credentials.set_second_factor(user_id=user_id, secret=credentials.totp_secret)


def _user_for_admin(
    uow: AccessUnitOfWork, user_id: str, *, actor: str, action: Action, at: datetime
) -> User:
    """The registered user whose roles `actor` changes, once the policy allows it in the
    user's organisation (a denial is audited by the caller's `denials_audited`)."""
    user = uow.access.user(user_id)
    if user is None:
        raise AccessRefused(AccessRejection.USER_MUST_BE_REGISTERED, user_id)
    require(
        uow,
        user_id=actor,
        action=action,
        resource=Resource(organisation=user.organisation.ident),
        at=at,
    )
    return user


def grant_role(
    *, uow: AccessUnitOfWork, user_id: str, role: Role, actor: str, at: datetime
) -> bool:
    """Give a permanent role valid in the user's organisation; False if already held."""
    with denials_audited(uow, at=at), uow:
        user = _user_for_admin(uow, user_id, actor=actor, action=Action.USER_GRANT, at=at)
        check_role_valid_in(role, user.organisation.kind)
        added = uow.access.add_role(user_id=user_id, role=role, granted_at=at, granted_by=actor)
        if added:
            record_audit(
                uow,
                actor=actor,
                action=AuditAction.USER_ROLE_GRANTED,
                object_ref=f"user:{user_id}",
                payload={"role": role.value, "organisation": user.organisation.ident},
                recorded_at=at,
            )
        uow.commit()
    return added


def revoke_role(
    *, uow: AccessUnitOfWork, user_id: str, role: Role, actor: str, at: datetime
) -> bool:
    """Take a role back (the admin of the user's organisation): the permanent role, and any
    emergency grant of it still in force, which ends now rather than when its hours are out;
    False if the user held it neither way. It counts from the user's next request, which reads
    their roles afresh. Nobody takes back their own role: the last admin could lock the
    organisation out."""
    with denials_audited(uow, at=at), uow:
        user = _user_for_admin(uow, user_id, actor=actor, action=Action.USER_REVOKE, at=at)
        if user_id == actor:
            raise Refused(ROLE_MUST_NOT_BE_REVOKED_BY_ITS_HOLDER, f"{user_id}: ask another admin")
        removed = uow.access.remove_role(user_id=user_id, role=role)
        ended = [g for g in uow.access.grants_of(user_id) if g.role is role and g.in_force(at)]
        for grant in ended:
            uow.access.end_grant(grant_id=grant.grant_id, ended_at=at, ended_by=actor)
        if removed or ended:
            payload: dict[str, object] = {
                "role": role.value,
                "organisation": user.organisation.ident,
            }
            if ended:  # which way they held it, where it may have been both
                payload |= {"permanent": removed, "grants_ended": [g.grant_id for g in ended]}
            record_audit(
                uow,
                actor=actor,
                action=AuditAction.USER_ROLE_REVOKED,
                object_ref=f"user:{user_id}",
                payload=payload,
                recorded_at=at,
            )
        uow.commit()
    return removed or bool(ended)


def list_users(*, uow: AccessUnitOfWork) -> list[User]:
    with uow:
        return uow.access.users()
