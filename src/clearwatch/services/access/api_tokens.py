"""Machines' API tokens: made by an officer or admin for a user of their organisation,
shown once, stored as a hash, scoped, expiring, revocable (spec platform §2)."""

from __future__ import annotations

from dataclasses import dataclass

from clearwatch.domain.access.api_tokens import ApiToken, make_token, token_expiry
from clearwatch.domain.access.approvals import AccessRefused, AccessRejection
from clearwatch.domain.access.callers import TokenScope
from clearwatch.domain.access.policy import Action, Resource
from clearwatch.domain.shared.kinds import AuditAction
from clearwatch.services.access.authorize import Gate, denials_audited, require
from clearwatch.services.access.ports import AccessUnitOfWork
from clearwatch.services.audit.audit_log import record_audit


@dataclass(frozen=True)
class IssuedToken:
    """The token's text (shown once, never stored) and what is stored of it."""

    text: str
    token: ApiToken


def create_token(
    *, gate: Gate, uow: AccessUnitOfWork, user_id: str, scope: TokenScope, days: int
) -> IssuedToken:
    at = gate.clock.now()
    gate.check_credential(Action.TOKEN_CREATE)
    made = make_token()
    with denials_audited(uow, at=at), uow:
        owner = uow.access.user(user_id)
        # Asked before the user's existence shows: another organisation's user and no user at
        # all are denied alike (an answer that differed would tell who exists elsewhere).
        require(
            uow,
            user_id=gate.user_id,
            action=Action.TOKEN_CREATE,
            resource=Resource(organisation=None if owner is None else owner.organisation.ident),
            at=at,
        )
        if owner is None:
            raise AccessRefused(AccessRejection.USER_MUST_BE_REGISTERED, user_id)
        # A token is a machine's credential: one for a person (who has a password) would let
        # its maker act, and be audited, as that person.
        if uow.credentials.credentials(user_id) is not None:
            raise AccessRefused(AccessRejection.TOKEN_MUST_BE_FOR_A_MACHINE, user_id)
        token = ApiToken(
            token_id=made.token_id,
            user_id=user_id,
            scope=scope,
            secret_sha256=made.secret_sha256,
            created_at=at,
            created_by=gate.user_id,
            expires_at=token_expiry(at, days),
        )
        uow.credentials.add_token(token)
        record_audit(
            uow,
            actor=gate.caller.label,
            action=AuditAction.ACCESS_TOKEN_CREATED,
            object_ref=f"token:{token.token_id}",
            payload={
                "user": user_id,
                "scope": scope.value,
                "expires_at": token.expires_at.isoformat(),
            },
            recorded_at=at,
        )
        uow.commit()
    return IssuedToken(made.text, token)


def revoke_token(*, gate: Gate, uow: AccessUnitOfWork, token_id: str) -> bool:
    """Revoke at once; False if it was revoked already. An unknown id is refused by name."""
    at = gate.clock.now()
    gate.check_credential(Action.TOKEN_REVOKE)
    with denials_audited(uow, at=at), uow:
        token = uow.credentials.token(token_id)
        owner = None if token is None else uow.access.user(token.user_id)
        require(
            uow,
            user_id=gate.user_id,
            action=Action.TOKEN_REVOKE,
            # A token of another organisation is denied exactly like an unknown one.
            resource=Resource(organisation=None if owner is None else owner.organisation.ident),
            at=at,
        )
        revoked = uow.credentials.revoke_token(token_id=token_id, at=at, by=gate.user_id)
        if revoked:
            record_audit(
                uow,
                actor=gate.caller.label,
                action=AuditAction.ACCESS_TOKEN_REVOKED,
                object_ref=f"token:{token_id}",
                payload={"user": None if token is None else token.user_id},
                recorded_at=at,
            )
        uow.commit()
    return revoked


def list_tokens(*, gate: Gate, uow: AccessUnitOfWork) -> list[ApiToken]:
    """The tokens of the caller's organisation (never their secrets: only hashes are kept)."""
    at = gate.clock.now()
    gate.check_credential(Action.TOKEN_LIST)
    with denials_audited(uow, at=at), uow:
        user = uow.access.user(gate.user_id)
        organisation = None if user is None else user.organisation.ident
        gate_actor = require(
            uow,
            user_id=gate.user_id,
            action=Action.TOKEN_LIST,
            resource=Resource(organisation=organisation),
            at=at,
        )
        return uow.credentials.tokens_of_organisation(gate_actor.organisation.ident)
