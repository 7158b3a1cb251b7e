"""Who calls: the bearer token proved by the application, and the policy asked for them.

Every route but `login` and `health` depends on `gate_of_request` (or, for a route that
authenticates inside its own store work, on `bearer_of_request`): a missing bearer token is a
401 with a `WWW-Authenticate` challenge before the route runs, an invalid one a 401 as soon as
the store is asked. The token itself is never logged or echoed; only the caller's label
reaches the audit log.

The header is read here rather than by FastAPI's `HTTPBearer` dependency, and the gate is one
dependency with no dependencies of its own: FastAPI solves each level of dependencies on every
request, and on the hottest reads that solving cost more than authenticating. The OpenAPI still
names the bearer scheme for every route that needs it (`document_bearer`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import BaseRoute

from clearwatch.bootstrap import Application
from clearwatch.domain.access.callers import CALLER_MUST_BE_AUTHENTICATED
from clearwatch.domain.access.policy import Action
from clearwatch.entrypoints.api.problems import ProblemError, bearer_challenge
from clearwatch.entrypoints.api.store_threads import store_threads_of
from clearwatch.services.access.authorize import Gate

BEARER_SCHEME = "HTTPBearer"  # its name in the OpenAPI's security schemes
BEARER_SECURITY_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "description": "A person's access token from `POST /api/v1/auth/login`, or a machine's "
    "API token (`cw_…`) made by its organisation's officer or admin.",
}


# Async, as are the dependencies below: FastAPI runs a plain `def` dependency in a thread of
# its own pool, a hand-off that costs more than this lookup.
async def application_of(request: Request) -> Application:
    """The application this API was made for (`create_app`)."""
    wired: Application = request.app.state.application
    return wired


Wired = Annotated[Application, Depends(application_of)]


def presented_bearer(request: Request) -> str:
    """The token of `Authorization: Bearer <token>`; else a 401 problem with its challenge.

    As FastAPI's `HTTPBearer` reads it: the scheme in any case, the token after one space."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    presented = token.strip()
    if scheme.lower() != "bearer" or not presented:
        raise ProblemError(
            401,
            CALLER_MUST_BE_AUTHENTICATED,
            "send `Authorization: Bearer <token>`",
            headers=bearer_challenge(CALLER_MUST_BE_AUTHENTICATED),
        )
    return presented


async def bearer_of_request(request: Request) -> str:
    """The presented bearer token, not yet checked: for a route that checks it in the same
    store work as its own reads (`Application.gate_of_bearer`), in one hand-off."""
    return presented_bearer(request)


async def gate_of_request(request: Request) -> Gate:
    """The authenticated caller's gate (policy on the real clock); else a 401 problem.

    The token is checked against the store on every request (its user, its credential epoch,
    a machine token's revocation), in one of the store threads; the caller's record is what
    this request's gate decides by, kept for the next requests only while the store counts no
    change to users, roles, credentials or grants (services/shared/generations.py). A bad
    token is a `Refused(token_must_be_valid)`: a 401 with its challenge."""
    presented = presented_bearer(request)
    wired: Application = request.app.state.application
    return await store_threads_of(request).run(current_gate, wired, presented)


def current_gate(wired: Application, presented: str) -> Gate:
    """The gate of `presented` as the store is now: its generations read first (in a store
    thread, as everything that reads the store)."""
    return wired.gate_of_bearer(presented, wired.store_generations.read())


CallerGate = Annotated[Gate, Depends(gate_of_request)]
Bearer = Annotated[str, Depends(bearer_of_request)]
_AUTHENTICATING = (gate_of_request, bearer_of_request)


def may_ask(gate: Gate, action: Action) -> None:
    """Refuse (403, audited) a caller none of whose roles the table gives `action` in any
    scope, before the use case looks anything up: its named rules, and whether the thing
    asked about exists, are only for those who could be allowed."""
    gate.lister(action)


def document_bearer(schema: dict[str, Any], routes: Iterable[BaseRoute]) -> None:
    """Name the bearer scheme in the OpenAPI for each operation whose route authenticates, as
    FastAPI does for a route that depends on `HTTPBearer`."""
    secured = False
    for route in iter_route_contexts(list(routes)):  # the routes of included routers too
        original = route.original_route
        if not isinstance(original, APIRoute) or not _authenticates(original.dependant):
            continue
        operations = schema.get("paths", {}).get(route.path_format, {})
        for method in route.methods or ():
            operation = operations.get(method.lower())
            if operation is not None:
                operation["security"] = [{BEARER_SCHEME: []}]
                secured = True
    if secured:
        schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
        schemes[BEARER_SCHEME] = dict(BEARER_SECURITY_SCHEME)


def _authenticates(dependant: Dependant) -> bool:
    return dependant.call in _AUTHENTICATING or any(
        _authenticates(each) for each in dependant.dependencies
    )
