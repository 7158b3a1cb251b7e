"""The access page of an organisation: its users with their roles and emergency grants (for
who may list users), and its machines' API tokens: make one (its text shown once, on the answer
to the form, never again), revoke one.

The same use cases as `clearwatch access` and the API's `/users` and `/tokens`: the policy
decides (an admin for its organisation; an institution's officer for its reporting system's
tokens); a token of another organisation is answered as one that does not exist.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi import Path as FastApiPath
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from clearwatch.domain.access.callers import TokenScope
from clearwatch.domain.access.grants import EmergencyGrant
from clearwatch.domain.access.policy import Action, Resource
from clearwatch.domain.access.users import User
from clearwatch.domain.shared.errors import Refused
from clearwatch.entrypoints.web.site import (
    WEB_PREFIX,
    PageNotFound,
    SignedIn,
    Viewer,
    application_of,
    check_form,
    render,
)
from clearwatch.services.access import approvals
from clearwatch.services.access.api_tokens import (
    IssuedToken,
    create_token,
    list_tokens,
    revoke_token,
)
from clearwatch.services.access.authorize import PolicyDenied
from clearwatch.services.access.users import list_users

ACCESS_PATH = f"{WEB_PREFIX}/access"
TOKEN_DAYS_MUST_BE_A_NUMBER = "token_days_must_be_a_number"
TOKEN_MUST_EXIST = "token_must_exist"
TOKEN_SCOPE_MUST_BE_KNOWN = "token_scope_must_be_known"
Text = Annotated[str, Form()]
Token = Annotated[str, Form(max_length=128)]


def _page(request: Request, viewer: Viewer, issued: IssuedToken | None = None) -> HTMLResponse:
    wired = application_of(request)
    tokens = list_tokens(gate=viewer.gate, uow=wired.read_uow())  # 403 for who keeps none
    tokens.sort(key=lambda t: t.created_at, reverse=True)
    own = Resource(organisation=viewer.actor.organisation.ident)
    users: list[User] = []
    grants: dict[str, list[EmergencyGrant]] = {}
    if viewer.may(Action.USER_LIST, own):  # the organisation's own users (SIPF's admin
        # may list the monitor's parties too: that is the API's `/users`, not this page)
        mine = viewer.actor.organisation
        sees = viewer.gate.lister(Action.USER_LIST)
        users = [
            u
            for u in list_users(uow=wired.read_uow())
            if u.organisation == mine and sees(Resource(organisation=u.organisation.ident))
        ]
        grants = approvals.grants_by_user(uow=wired.read_uow())
    return render(
        request, "access.html.j2", viewer=viewer, tokens=tokens, users=users, grants=grants,
        now=wired.real_clock.now(), scopes=tuple(TokenScope), issued=issued,
        may_create=viewer.may(Action.TOKEN_CREATE, own),
    )  # fmt: skip


def access_page(request: Request, viewer: SignedIn) -> HTMLResponse:
    return _page(request, viewer)


def _days(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError as error:
        raise Refused(TOKEN_DAYS_MUST_BE_A_NUMBER, repr(text)) from error


def token_create(
    request: Request,
    viewer: SignedIn,
    user_id: Text = "",
    scope: Text = "",
    days: Text = "90",
    csrf_token: Token = "",
) -> HTMLResponse:
    """The token's text is on this answer only (`no-store`): the store keeps its hash."""
    check_form(request, viewer, csrf_token)
    viewer.gate.lister(Action.TOKEN_CREATE)  # a role that makes no token: 403 before a lookup
    try:
        chosen = TokenScope(scope.strip())
    except ValueError as error:
        raise Refused(TOKEN_SCOPE_MUST_BE_KNOWN, repr(scope)) from error
    issued = create_token(
        gate=viewer.gate, uow=application_of(request).uow(), user_id=user_id.strip(),
        scope=chosen, days=_days(days),
    )  # fmt: skip
    return _page(request, viewer, issued)


def token_revoke(
    request: Request,
    viewer: SignedIn,
    token_id: Annotated[str, FastApiPath(max_length=32)],
    csrf_token: Token = "",
) -> Response:
    check_form(request, viewer, csrf_token)
    viewer.gate.lister(Action.TOKEN_REVOKE)
    try:
        revoke_token(gate=viewer.gate, uow=application_of(request).uow(), token_id=token_id)
    except PolicyDenied as denied:  # audited; another organisation's token is not found
        raise PageNotFound(f"{TOKEN_MUST_EXIST}: {token_id}") from denied
    return RedirectResponse(ACCESS_PATH, status_code=303)


ADMIN_PAGES = (
    ("GET", "/access", access_page),
    ("POST", "/access/tokens", token_create),
    ("POST", "/access/tokens/{token_id}/revoke", token_revoke),
)
