"""Changing a password and (re-)enrolling a second factor.

A person changes their own password; an admin resets one in their organisation (SIPF's admin
also for the monitor's parties), and enrols a new second factor for a person who lost theirs,
whose secret is shown once to the admin.
"""

from __future__ import annotations

from datetime import datetime

from clearwatch.domain.access.approvals import AccessRefused, AccessRejection
from clearwatch.domain.access.credentials import check_password_rule
from clearwatch.domain.access.policy import Action, Resource
from clearwatch.domain.shared.errors import Refused
from clearwatch.domain.shared.kinds import AuditAction
from clearwatch.services.access.authorize import Gate, denials_audited, require
from clearwatch.services.access.ports import AccessUnitOfWork, AuthenticationTools
from clearwatch.services.audit.audit_log import record_audit

OWN_SECOND_FACTOR = "second_factor_must_be_enrolled_by_another_admin"


def _check_may_change(gate: Gate, uow: AccessUnitOfWork, user_id: str, at: datetime) -> None:
    user = uow.access.user(user_id)
    if user is None:
        raise AccessRefused(AccessRejection.USER_MUST_BE_REGISTERED, user_id)
    if user_id == gate.user_id:
        return
    require(
        uow,
        user_id=gate.user_id,
        action=Action.PASSWORD_RESET,
        resource=Resource(organisation=user.organisation.ident),
        at=at,
    )


def set_password(
    *, gate: Gate, uow: AccessUnitOfWork, tools: AuthenticationTools, user_id: str, password: str
) -> None:
    at = gate.clock.now()
    gate.check_credential(Action.PASSWORD_RESET)
    password_hash = tools.hasher.hash(check_password_rule(password))
    with denials_audited(uow, at=at), uow:
        _check_may_change(gate, uow, user_id, at)
        uow.credentials.set_password(user_id=user_id, password_hash=password_hash, at=at)
        record_audit(
            uow,
            actor=gate.caller.label,
            action=AuditAction.ACCESS_PASSWORD_SET,
            object_ref=f"user:{user_id}",
            payload={"own": user_id == gate.user_id},
            recorded_at=at,
        )
        uow.commit()


def enrol_second_factor(
    *, gate: Gate, uow: AccessUnitOfWork, tools: AuthenticationTools, user_id: str
) -> str:
    """A new TOTP secret for `user_id` (the old one stops working); its otpauth URI, once."""
    at = gate.clock.now()
    gate.check_credential(Action.PASSWORD_RESET)
    secret = tools.second_factor.new_secret()
    with denials_audited(uow, at=at), uow:
        if user_id == gate.user_id:
            # A second factor proves more than the session that asks: another admin resets it.
            raise Refused(OWN_SECOND_FACTOR, user_id)
        _check_may_change(gate, uow, user_id, at)
        if uow.credentials.credentials(user_id) is None:
            raise AccessRefused(
                AccessRejection.USER_MUST_BE_REGISTERED, f"{user_id} has no password"
            )
        uow.credentials.set_second_factor(user_id=user_id, secret=secret)
        record_audit(
            uow,
            actor=gate.caller.label,
            action=AuditAction.ACCESS_SECOND_FACTOR_ENROLLED,
            object_ref=f"user:{user_id}",
            payload={},
            recorded_at=at,
        )
        uow.commit()
    return tools.second_factor.provisioning_uri(secret=secret, user_id=user_id)
