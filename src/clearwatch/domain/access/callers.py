"""Who is calling, as authentication established it, and what their credential lets them ask.

A person signed in with a password (and a second factor where the roles decide) may ask
anything the policy gives their roles. A machine's API token is narrower: its scope names the
few actions it exists for, and the policy still decides within them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from clearwatch.domain.access.policy import Action


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


@dataclass(frozen=True)
class Caller:
    """An authenticated user and the credential they came with (`token_id` for API tokens)."""

    user_id: str
    credential: CredentialKind
    token_id: str | None = None
    scope: TokenScope | None = None

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


def local_caller(user_id: str) -> Caller:
    """An in-process job acting as a user it registered itself (the demo, the drills)."""
    return Caller(user_id, CredentialKind.LOCAL)
