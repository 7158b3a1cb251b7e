"""Signing in and proving it: passwords, second factors, access tokens (spec platform §2).

Every time here is the server's real clock, whatever a replay says. A failed sign-in is
counted and audited in a transaction of its own before it is refused, so a refusal cannot be
rolled back into forgetting it; the fifth failure in a row locks the account, for longer each
time (domain/access/credentials.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from clearwatch.domain.access.api_tokens import (
    TOKEN_MUST_BE_VALID,
    looks_like_api_token,
    secret_matches,
    split_token,
)
from clearwatch.domain.access.callers import Caller, CredentialKind
from clearwatch.domain.access.credentials import (
    ACCOUNT_LOCKED,
    SECOND_FACTOR_CODE_USED,
    SECOND_FACTOR_NEEDED,
    SECOND_FACTOR_NOT_ENROLLED,
    SIGN_IN_FAILED,
    needs_second_factor,
)
from clearwatch.domain.access.grants import roles_in_force
from clearwatch.domain.shared.errors import Refused
from clearwatch.domain.shared.kinds import AuditAction
from clearwatch.services.access.ports import (
    AccessUnitOfWork,
    AuthenticationTools,
    CallerRecord,
    StoredCredentials,
)
from clearwatch.services.audit.audit_log import record_audit


@dataclass(frozen=True)
class SignedIn:
    """A signed access token for the API and the CLI, and when it stops working; the
    credential epoch it was issued under and whether a second factor was verified (a web
    session keeps both, as the token does)."""

    user_id: str
    access_token: str
    expires_at: datetime
    credential_epoch: int = 0
    second_factor: bool = False


class _Failure(Exception):
    """A sign-in that failed after its failure was written; refused once committed."""

    def __init__(self, refusal: Refused) -> None:
        self.refusal = refusal


def sign_in(
    *,
    uow: AccessUnitOfWork,
    tools: AuthenticationTools,
    user_id: str,
    password: str,
    code: str | None,
    at: datetime,
) -> SignedIn:
    """Check a person's password (and second factor where their roles decide); a token."""
    try:
        with uow:
            signed = _sign_in(uow, tools, user_id=user_id, password=password, code=code, at=at)
            uow.commit()
            return signed
    except _Failure as failure:
        raise failure.refusal from None


def _sign_in(
    uow: AccessUnitOfWork,
    tools: AuthenticationTools,
    *,
    user_id: str,
    password: str,
    code: str | None,
    at: datetime,
) -> SignedIn:
    user = uow.access.user(user_id)
    stored = uow.credentials.credentials(user_id) if user is not None else None
    if user is None or stored is None:
        tools.hasher.verify(password, _UNUSABLE_HASH)  # as slow as a real check: no oracle
        _fail(uow, user_id, None, "unknown user or no password", at, counted=False)
    assert stored is not None and user is not None  # _fail raised otherwise
    if stored.sign_ins.locked_at(at):
        until = stored.sign_ins.locked_until
        _fail(uow, user_id, stored, f"locked until {until}", at, counted=False)
    if not tools.hasher.verify(password, stored.password_hash):
        _fail(uow, user_id, stored, "wrong password", at, counted=True)
    roles = user.roles | roles_in_force(uow.access.grants_of(user_id), at)
    # A code is checked where the roles decide, and wherever one is given for an enrolled
    # factor: a person who may be granted a deciding role later signs in ready for it.
    second_factor = needs_second_factor(roles) or bool(code and stored.totp_secret)
    if second_factor:
        _check_second_factor(uow, tools, user_id, stored, code, at)
    uow.credentials.record_sign_ins(user_id=user_id, record=stored.sign_ins.after_success())
    expires_at = at + timedelta(minutes=tools.access_token_minutes)
    token = tools.signer.issue(
        user_id=user_id,
        issued_at=at,
        expires_at=expires_at,
        credential_epoch=stored.credential_epoch,
        second_factor=second_factor,
    )
    record_audit(
        uow,
        actor=user_id,
        action=AuditAction.ACCESS_SIGNED_IN,
        object_ref=f"user:{user_id}",
        payload={"expires_at": expires_at.isoformat(), "second_factor": second_factor},
        recorded_at=at,
    )
    return SignedIn(user_id, token, expires_at, stored.credential_epoch, second_factor)


def _check_second_factor(
    uow: AccessUnitOfWork,
    tools: AuthenticationTools,
    user_id: str,
    stored: StoredCredentials,
    code: str | None,
    at: datetime,
) -> None:
    if stored.totp_secret is None:
        raise Refused(SECOND_FACTOR_NOT_ENROLLED, f"{user_id}: ask an admin to enrol one")
    if not code:
        raise Refused(SECOND_FACTOR_NEEDED, f"{user_id} holds a deciding role: give --totp")
    step = tools.second_factor.matching_step(secret=stored.totp_secret, code=code, at=at)
    if step is None:
        _fail(uow, user_id, stored, "wrong second-factor code", at, counted=True)
    assert step is not None  # _fail raised otherwise
    if not uow.credentials.use_totp_step(user_id=user_id, step=step):
        # The password checked out (this runs only after it), so naming the spent code tells
        # nothing to one who lacks it; and the right code twice is no guess: not counted.
        _fail(uow, user_id, stored, "reused second-factor code", at, counted=False,
              rule=SECOND_FACTOR_CODE_USED)  # fmt: skip


def _fail(
    uow: AccessUnitOfWork,
    user_id: str,
    stored: StoredCredentials | None,
    why: str,
    at: datetime,
    *,
    counted: bool,
    rule: str = SIGN_IN_FAILED,
) -> None:
    """Count the failure (a known user's), audit it, commit both, then refuse by `rule` (the
    generic one unless told otherwise), or as locked."""
    locked = False
    if stored is not None and counted:
        after = stored.sign_ins.after_failure(at)
        uow.credentials.record_sign_ins(user_id=user_id, record=after)
        locked = after.locked_at(at)
    record_audit(
        uow,
        actor=user_id,
        action=AuditAction.ACCESS_SIGN_IN_FAILED,
        object_ref=f"user:{user_id}",
        payload={"why": why, "locked": locked},
        recorded_at=at,
    )
    uow.commit()
    if stored is not None and stored.sign_ins.locked_at(at):
        raise _Failure(Refused(ACCOUNT_LOCKED, f"{user_id}: try again later"))
    raise _Failure(Refused(rule, user_id))


@dataclass(frozen=True)
class Authenticated:
    """Who presents a bearer, and what the store held of them when it was checked: the record
    a request's gate decides by, so that one request reads its caller once."""

    caller: Caller
    record: CallerRecord


def authenticate(
    *, uow: AccessUnitOfWork, tools: AuthenticationTools, presented: str, at: datetime
) -> Caller:
    """Who presents this bearer: a person's signed access token or a machine's API token."""
    return authenticate_caller(uow=uow, tools=tools, presented=presented, at=at).caller


# How a server keeps callers' records between requests: (user id, how to read it) → record,
# read afresh whenever the store's access generation moved (services/shared/generations.py).
KeptCallers = Callable[[str, Callable[[], CallerRecord | None]], CallerRecord | None]


def authenticate_caller(
    *,
    uow: AccessUnitOfWork,
    tools: AuthenticationTools,
    presented: str,
    at: datetime,
    kept: KeptCallers | None = None,
) -> Authenticated:
    """`authenticate`, with the caller's record read in the same transaction.

    A person's token is checked against the store on every use: its user must be registered
    and its credential epoch the user's now, so a token issued before a change of password or
    second factor is refused from the moment the change commits, by every server of the store.
    A server may keep the record (`kept`) only while the store counts no change to any user,
    role, credential epoch or grant since it was read, which keeps that promise."""
    if looks_like_api_token(presented):
        return _machine(uow, presented, at)
    claims = tools.signer.read(presented)

    def read_record() -> CallerRecord | None:
        with uow:
            return uow.access.caller_record(claims.user_id)

    record = read_record() if kept is None else kept(claims.user_id, read_record)
    if record is None:
        raise Refused(TOKEN_MUST_BE_VALID, "its user is no longer registered")
    if claims.credential_epoch != record.credential_epoch:
        raise Refused(TOKEN_MUST_BE_VALID, "issued before a change of password: sign in again")
    caller = Caller(claims.user_id, CredentialKind.PASSWORD, second_factor=claims.second_factor)
    return Authenticated(caller, record)


def _machine(uow: AccessUnitOfWork, presented: str, at: datetime) -> Authenticated:
    """An API token: known, its secret matching, not revoked or expired; each use audited."""
    token_id, presented_sha256 = split_token(presented)
    with uow:
        token = uow.credentials.token(token_id)
        if token is None or not secret_matches(token, presented_sha256):
            raise Refused(TOKEN_MUST_BE_VALID, "unknown token")
        if not token.usable_at(at):
            why = "revoked" if token.revoked_at is not None else "expired"
            raise Refused(TOKEN_MUST_BE_VALID, f"token {token_id} is {why}")
        record = uow.access.caller_record(token.user_id)
        if record is None:
            raise Refused(TOKEN_MUST_BE_VALID, "its user is no longer registered")
        caller = Caller(token.user_id, CredentialKind.API_TOKEN, token_id, token.scope)
        record_audit(
            uow,
            actor=caller.label,
            action=AuditAction.ACCESS_TOKEN_USED,
            object_ref=f"token:{token_id}",
            payload={"scope": token.scope.value},
            recorded_at=at,
        )
        uow.commit()
    return Authenticated(caller, record)


# An argon2 hash of nothing anyone can type: checking against it costs what a real check does.
_UNUSABLE_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHRzb21lc2FsdA$"
    "2ajkJTgYDBHr3lwN6ahxN9OoLlcs6GljE4DBdtfqZkk"
)
