"""Who calls: the bearer token proved by the application, and the policy asked for them.

Every route but `login` and `health` depends on `gate_of_request`: a missing or invalid bearer
token is a 401 with a `WWW-Authenticate` challenge before the route runs. The token itself is
never logged or echoed; only the caller's label reaches the audit log.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from clearwatch.bootstrap import Application
from clearwatch.domain.access.callers import CALLER_MUST_BE_AUTHENTICATED
from clearwatch.domain.access.policy import Action
from clearwatch.entrypoints.api.problems import ProblemError, bearer_challenge
from clearwatch.entrypoints.api.store_threads import store_threads_of
from clearwatch.services.access.authorize import Gate

_bearer = HTTPBearer(
    auto_error=False,
    description="A person's access token from `POST /api/v1/auth/login`, or a machine's API "
    "token (`cw_…`) made by its organisation's officer or admin.",
)


# Async, as are the dependencies below: FastAPI runs a plain `def` dependency in a thread of
# its own pool, a hand-off that costs more than this lookup.
async def application_of(request: Request) -> Application:
    """The application this API was made for (`create_app`)."""
    wired: Application = request.app.state.application
    return wired


Wired = Annotated[Application, Depends(application_of)]


async def gate_of_request(
    request: Request,
    wired: Wired,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Gate:
    """The authenticated caller's gate (policy on the real clock); else a 401 problem.

    The token is checked against the store on every request (its user, its credential epoch,
    a machine token's revocation), in one of the store threads; the caller read with it is
    what this request's gate decides by, and nothing of it outlives the request."""
    if credentials is None or not credentials.credentials.strip():
        raise ProblemError(
            401,
            CALLER_MUST_BE_AUTHENTICATED,
            "send `Authorization: Bearer <token>`",
            headers=bearer_challenge(CALLER_MUST_BE_AUTHENTICATED),
        )
    # A bad token is a `Refused(token_must_be_valid)`: a 401 with its challenge.
    presented = credentials.credentials.strip()
    return await store_threads_of(request).run(wired.gate_of_bearer, presented)


CallerGate = Annotated[Gate, Depends(gate_of_request)]


def may_ask(gate: Gate, action: Action) -> None:
    """Refuse (403, audited) a caller none of whose roles the table gives `action` in any
    scope, before the use case looks anything up: its named rules, and whether the thing
    asked about exists, are only for those who could be allowed."""
    gate.lister(action)
