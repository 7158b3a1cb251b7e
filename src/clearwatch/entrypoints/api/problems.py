"""Errors as `application/problem+json` (RFC 9457), each carrying the rule that was broken.

A refusal keeps its rule's name (`Refused.rule`) and gets the status its kind calls for: 401
for a caller not (or no longer) authenticated, 403 for a policy denial, 404 for a thing that
does not exist (or whose existence is not the caller's to know), 409 for a state that forbids
the request, 413 for an upload past the limit, 422 for any other bad input. Bad input never
ends as a 5xx: only a bug (500, without details) or a store that cannot serve (503) does.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from clearwatch.domain.access.api_tokens import TOKEN_MUST_BE_VALID
from clearwatch.domain.access.approvals import AccessRejection
from clearwatch.domain.access.callers import CALLER_MUST_BE_AUTHENTICATED
from clearwatch.domain.access.credentials import (
    ACCOUNT_LOCKED,
    SECOND_FACTOR_CODE_USED,
    SECOND_FACTOR_NEEDED,
    SECOND_FACTOR_NOT_ENROLLED,
    SIGN_IN_FAILED,
)
from clearwatch.domain.backoffice.batch_manifest import Rule as BatchRule
from clearwatch.domain.shared.errors import ClearwatchError, ConfigurationError, Refused
from clearwatch.services.access.authorize import PolicyDenied

PROBLEM_MEDIA_TYPE = "application/problem+json"
RULE_TYPE_PREFIX = "urn:clearwatch:rule:"
REQUEST_MUST_MATCH_SCHEMA = "request_must_match_schema"
SERVER_MUST_NOT_FAIL = "server_must_not_fail"
STORE_MUST_BE_AVAILABLE = "store_must_be_available"
UPLOAD_MUST_FIT_LIMIT = "upload_must_fit_limit"
JSON_BODY_MUST_FIT = "json_body_must_fit_limit"
retry_after_seconds = 5  # a contended or unready store: when a client may try again

_log = logging.getLogger("clearwatch.api")

UNAUTHENTICATED_RULES = frozenset(
    {
        TOKEN_MUST_BE_VALID,
        CALLER_MUST_BE_AUTHENTICATED,
        SIGN_IN_FAILED,
        SECOND_FACTOR_NEEDED,
        SECOND_FACTOR_NOT_ENROLLED,
        SECOND_FACTOR_CODE_USED,
    }
)
# Rules whose breach is about the state of things, not the request's shape.
CONFLICT_RULES = frozenset(
    {
        AccessRejection.REQUEST_MUST_NOT_DUPLICATE_PENDING.value,
        AccessRejection.REQUEST_MUST_BE_PENDING.value,
        AccessRejection.USER_MUST_NOT_EXIST_ALREADY.value,
        BatchRule.BATCH_ID_MUST_KEEP_ITS_CONTENT.value,
        BatchRule.ONE_BATCH_PER_KIND_AND_DATE.value,
        BatchRule.OPENING_ONLY_ON_FIRST_DAY.value,
    }
)
NOT_FOUND_RULES = frozenset(
    {AccessRejection.REQUEST_MUST_EXIST.value, AccessRejection.USER_MUST_BE_REGISTERED.value}
)
# Errors Starlette and FastAPI raise themselves (no route, a body that is not JSON at all).
HTTP_ERROR_RULES = {
    400: "request_body_must_be_readable",
    404: "route_must_exist",
    405: "method_must_be_allowed",
    413: JSON_BODY_MUST_FIT,
}
STATUS_TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden by the policy",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict with the current state",
    413: "Upload too large",
    422: "Refused",
    429: "Too many failed sign-ins",
    500: "Internal error",
    503: "Store unavailable",
}


class Problem(BaseModel):
    """An error (RFC 9457): `rule` names the rule that was broken, as the CLI prints it."""

    type: str = Field(description="`urn:clearwatch:rule:<rule>`.")
    title: str
    status: int
    detail: str
    rule: str = Field(description="The broken rule's name, e.g. `policy_must_allow_action`.")
    errors: list[dict[str, Any]] | None = Field(
        default=None, description="Each error, where there are several (schema, batch rows)."
    )


class ProblemError(Exception):
    """A refusal the API itself makes (not a service's), with its status."""

    def __init__(
        self,
        status: int,
        rule: str,
        detail: str = "",
        *,
        headers: dict[str, str] | None = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(f"{rule}: {detail}")
        self.status = status
        self.rule = rule
        self.detail = detail
        self.headers = headers
        self.errors = errors


def problem_response(
    status: int,
    rule: str,
    detail: str = "",
    *,
    headers: dict[str, str] | None = None,
    errors: list[dict[str, Any]] | None = None,
) -> JSONResponse:
    body = Problem(
        type=f"{RULE_TYPE_PREFIX}{rule}",
        title=STATUS_TITLES.get(status, "Error"),
        status=status,
        detail=detail or rule,
        rule=rule,
        errors=errors,
    )
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def bearer_challenge(rule: str) -> dict[str, str]:
    """The `WWW-Authenticate` header a 401 carries (RFC 6750)."""
    if rule == TOKEN_MUST_BE_VALID:
        return {"WWW-Authenticate": 'Bearer realm="clearwatch", error="invalid_token"'}
    return {"WWW-Authenticate": 'Bearer realm="clearwatch"'}


def status_of(refusal: Refused) -> int:
    if isinstance(refusal, PolicyDenied):
        return 403
    if refusal.rule in UNAUTHENTICATED_RULES:
        return 401
    if refusal.rule == ACCOUNT_LOCKED:
        return 429
    if refusal.rule in NOT_FOUND_RULES:
        return 404
    if refusal.rule in CONFLICT_RULES:
        return 409
    if refusal.rule == UPLOAD_MUST_FIT_LIMIT:
        return 413
    return 422


def refused_response(refusal: Refused) -> JSONResponse:
    status = status_of(refusal)
    headers = bearer_challenge(refusal.rule) if status == 401 else None
    return problem_response(status, refusal.rule, str(refusal), headers=headers)


async def _on_refused(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, Refused)
    return refused_response(error)


async def _on_problem(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ProblemError)
    return problem_response(
        error.status, error.rule, error.detail, headers=error.headers, errors=error.errors
    )


async def _on_invalid_request(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    # Location, message and kind only: the input is left out, since it may be a password.
    errors = [
        {"loc": [str(part) for part in item.get("loc", ())], "msg": item.get("msg", ""),
         "type": item.get("type", "")}
        for item in error.errors()
    ]  # fmt: skip
    first = errors[0] if errors else {"loc": [], "msg": ""}
    detail = f"{'.'.join(first['loc'])}: {first['msg']}"
    return problem_response(422, REQUEST_MUST_MATCH_SCHEMA, detail, errors=errors)


async def _on_http_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    rule = HTTP_ERROR_RULES.get(error.status_code, "request_must_be_valid")
    return problem_response(
        error.status_code, rule, str(error.detail), headers=dict(error.headers or {})
    )


async def _on_unavailable(_request: Request, error: Exception) -> JSONResponse:
    """A contended store, or one not ready (a configuration error): try again later."""
    _log.warning("store unavailable: %s: %s", type(error).__name__, error)
    detail = str(error) if isinstance(error, ConfigurationError) else type(error).__name__
    return problem_response(
        503, STORE_MUST_BE_AVAILABLE, detail, headers={"Retry-After": str(retry_after_seconds)}
    )


async def _on_bug(_request: Request, error: Exception) -> JSONResponse:
    # The details stay in the server's log: they may name files, tables or values.
    _log.error("unexpected %s", type(error).__name__, exc_info=error)
    return problem_response(500, SERVER_MUST_NOT_FAIL, "an unexpected error; see the server log")


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(Refused, _on_refused)
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_invalid_request)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(ClearwatchError, _on_unavailable)
    app.add_exception_handler(Exception, _on_bug)


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route: each status documented as a `Problem`."""
    return {
        status: {"model": Problem, "description": STATUS_TITLES.get(status, "Error")}
        for status in sorted({*statuses, 400, 401, 422, 503})
    }
