"""`/auth` and `/tokens`: signing in for an access token, who am I, machines' API tokens.

Signing in is the one route without a bearer token. A failed sign-in is counted and audited by
the service before it is refused (401; 429 once the account is locked). A machine's token is
shown once, in the response that creates it, and never again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from clearwatch.domain.access.api_tokens import ApiToken
from clearwatch.domain.access.callers import CredentialKind, TokenScope
from clearwatch.domain.access.credentials import PASSWORD_MAX_LENGTH
from clearwatch.domain.access.policy import Action
from clearwatch.domain.access.roles import Role
from clearwatch.entrypoints.api.problems import ProblemError, problems
from clearwatch.entrypoints.api.security import CallerGate, Wired, may_ask
from clearwatch.entrypoints.api.values import UserId
from clearwatch.services.access.api_tokens import create_token, list_tokens, revoke_token
from clearwatch.services.access.authorize import PolicyDenied, actor_in
from clearwatch.services.access.sign_in import sign_in

router = APIRouter(tags=["sign-in and tokens"])
TOKEN_MUST_EXIST = "token_must_exist"


class Login(BaseModel):
    user_id: UserId
    password: str = Field(min_length=1, max_length=PASSWORD_MAX_LENGTH, repr=False)
    totp: str | None = Field(
        default=None, max_length=16, description="The authenticator's code (deciding roles)."
    )


class AccessToken(BaseModel):
    access_token: str = Field(description="Send as `Authorization: Bearer <access_token>`.")
    token_type: str = Field(default="bearer", description="Always `bearer`.")
    expires_at: datetime


class WhoAmI(BaseModel):
    user_id: str
    organisation: str
    roles: list[Role] = Field(description="Permanent roles and emergency grants in force.")
    credential: CredentialKind
    token_id: str | None = None
    scope: TokenScope | None = None
    second_factor: bool = Field(
        default=False, description="The sign-in behind this token verified a TOTP code."
    )
    may_decide: bool = Field(
        default=False,
        description="Deciding roles (approve, review, officer's acts) count for this token: "
        "a machine's token, or a person's signed in with their code.",
    )


class NewToken(BaseModel):
    user_id: UserId = Field(description="The (machine) user of your organisation it acts as.")
    scope: TokenScope = TokenScope.SUBMIT
    days: int = Field(default=90, ge=1, le=366, description="Days until it expires.")


class TokenInfo(BaseModel):
    token_id: str
    user_id: str
    scope: TokenScope
    created_at: datetime
    created_by: str
    expires_at: datetime
    revoked_at: datetime | None = None


class IssuedToken(TokenInfo):
    token: str = Field(description="The token itself: shown in this response only, never again.")


class Revoked(BaseModel):
    token_id: str
    revoked: bool = Field(description="False when it was revoked already.")


def _token_info(token: ApiToken) -> dict[str, object]:
    return {
        "token_id": token.token_id,
        "user_id": token.user_id,
        "scope": token.scope,
        "created_at": token.created_at,
        "created_by": token.created_by,
        "expires_at": token.expires_at,
        "revoked_at": token.revoked_at,
    }


@router.post("/auth/login", responses=problems(429))
def login(body: Login, wired: Wired) -> AccessToken:
    """Sign in with a password (and a TOTP code for deciding roles); a short-lived token."""
    signed = sign_in(
        uow=wired.uow(),
        tools=wired.authentication,
        user_id=body.user_id,
        password=body.password,
        code=body.totp,
        at=wired.real_clock.now(),
    )
    return AccessToken(access_token=signed.access_token, expires_at=signed.expires_at)


@router.get("/auth/whoami", responses=problems(403))
def whoami(gate: CallerGate, wired: Wired) -> WhoAmI:
    """Who the bearer is: user, organisation, roles in force, credential."""
    gate.check_credential(Action.WHOAMI)
    with wired.read_uow() as uow:
        actor = actor_in(uow, user_id=gate.user_id, at=wired.real_clock.now())
    assert actor is not None  # authentication found the user a moment ago
    caller = gate.caller
    return WhoAmI(
        user_id=actor.user_id,
        organisation=actor.organisation.ident,
        roles=sorted(actor.roles),
        credential=caller.credential,
        token_id=caller.token_id,
        scope=caller.scope,
        second_factor=caller.second_factor,
        may_decide=caller.may_decide,
    )


@router.post("/tokens", status_code=201, responses=problems(403, 404))
def token_create(body: NewToken, gate: CallerGate, wired: Wired) -> IssuedToken:
    """Make a token for a user of your organisation (officer, admin); shown once."""
    may_ask(gate, Action.TOKEN_CREATE)  # a role that makes no token: 403 before any lookup
    issued = create_token(
        gate=gate, uow=wired.uow(), user_id=body.user_id, scope=body.scope, days=body.days
    )
    return IssuedToken(token=issued.text, **_token_info(issued.token))  # type: ignore[arg-type]


@router.get("/tokens", responses=problems(403))
def token_list(gate: CallerGate, wired: Wired) -> list[TokenInfo]:
    """Your organisation's tokens; their secrets are not kept, so never shown."""
    return [
        TokenInfo(**_token_info(token))  # type: ignore[arg-type]
        for token in list_tokens(gate=gate, uow=wired.read_uow())
    ]


@router.delete("/tokens/{token_id}", responses=problems(403, 404))
def token_revoke(
    token_id: Annotated[str, Path(max_length=32)], gate: CallerGate, wired: Wired
) -> Revoked:
    """Revoke a token of your organisation at once. Another organisation's is not found."""
    # Whoever may revoke no token at all is told so (403); for a caller who may, a token of
    # another organisation is answered exactly like one that never existed (404).
    may_ask(gate, Action.TOKEN_REVOKE)
    try:
        revoked = revoke_token(gate=gate, uow=wired.uow(), token_id=token_id)
    except PolicyDenied as denied:  # audited by the service
        raise ProblemError(404, TOKEN_MUST_EXIST, f"no token {token_id}") from denied
    return Revoked(token_id=token_id, revoked=revoked)
