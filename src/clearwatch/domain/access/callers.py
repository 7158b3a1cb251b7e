"""Who is calling, as authentication established it, and what their credential lets them ask.

A person signed in with a password may ask anything the policy gives their roles; a role that
decides counts only when that sign-in verified a second factor, whatever roles the person held
then (an emergency grant may come later). A machine's API token is narrower: its scope names
the few actions it exists for, none of them a decision, and the policy still decides within
them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from clearwatch.domain.access.credentials import DECIDING_ROLES
from clearwatch.domain.access.policy import Action, Actor


class CredentialKind(StrEnum):
    PASSWORD = "password"  # a person, through a signed access token from `login`
    API_TOKEN = "api_token"  # a machine, through a token its institution's officer made
    LOCAL = "local"  # an in-process job (the demo, a drill) acting as a user it registered


class TokenScope(StrEnum):
    """What a machine's token may be used for."""

    SUBMIT = "submit"  # an institution's reporting system: send packages, read receipts
    READ = "read"  # a reader: listings in the owner's scope


SCOPE_ACTIONS: dict[TokenScope, frozenset[Action]] = {
    TokenScope.SUBMIT: frozenset({Action.MONITOR_SUBMIT, Action.PACKAGES_LIST, Action.WHOAMI}),
    TokenScope.READ: frozenset(
        {Action.PACKAGES_LIST, Action.WARNINGS_LIST, Action.REGISTRY_SHOW, Action.WHOAMI}
    ),
}

TOKEN_SCOPE_MUST_ALLOW = "token_scope_must_allow_action"
CALLER_MUST_BE_AUTHENTICATED = "caller_must_be_authenticated"
SECOND_FACTOR_REQUIRED_FOR_DECIDING_ROLE = "second_factor_required_for_deciding_role"


@dataclass(frozen=True)
class Caller:
    """An authenticated user and the credential they came with (`token_id` for API tokens);
    `second_factor`: the sign-in behind a person's token or web session verified a TOTP code."""

    user_id: str
    credential: CredentialKind
    token_id: str | None = None
    scope: TokenScope | None = None
    second_factor: bool = False

    @property
    def may_decide(self) -> bool:
        """Whether the caller's deciding roles count: a person's only with a second factor.
        A machine's scope reaches no deciding action, and an in-process job is trusted."""
        return self.credential is not CredentialKind.PASSWORD or self.second_factor

    @property
    def label(self) -> str:
        """How audit records name the caller: the user, and the token when a machine acts."""
        if self.token_id is None:
            return self.user_id
        return f"{self.user_id}/token:{self.token_id}"

    def may_ask(self, action: Action) -> bool:
        if self.scope is None:
            return self.credential is not CredentialKind.API_TOKEN
        return action in SCOPE_ACTIONS[self.scope]


def counted(caller: Caller, actor: Actor) -> Actor:
    """The actor as the policy sees this caller: without the roles that decide unless the
    caller may decide (deny by default: an unproven second factor proves nothing)."""
    if caller.may_decide:
        return actor
    return replace(actor, roles=actor.roles - DECIDING_ROLES)


def local_caller(user_id: str) -> Caller:
    """An in-process job acting as a user it registered itself (the demo, the drills)."""
    return Caller(user_id, CredentialKind.LOCAL)
