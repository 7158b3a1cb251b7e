"""The access page of an organisation: its users with their roles and emergency grants (for
who may list users), and its machines' API tokens: make one (its text shown once, on the answer
to the form, never again), revoke one. Its admin registers a person in the organisation (the
second factor of a deciding role shown once), grants a role the organisation's kind may hold,
and asks for an emergency grant, which a second person decides in the approvals queue.

The same use cases as `clearwatch access`, `clearwatch user` and the API's `/users`, `/grants`
and `/tokens`: the policy decides (an admin for its organisation; an institution's officer for
its reporting system's tokens) and the use case names the rule it refuses by; a token or a user
of another organisation is answered as one that does not exist.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi import Path as FastApiPath
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from clearwatch.domain.access.callers import TokenScope
from clearwatch.domain.access.credentials import PASSWORD_MAX_LENGTH
from clearwatch.domain.access.grants import EmergencyGrant, emergency_grant_hours_max
from clearwatch.domain.access.policy import Action, Resource
from clearwatch.domain.access.roles import ROLES_BY_KIND, Role
from clearwatch.domain.access.users import User
from clearwatch.domain.shared.errors import Refused
from clearwatch.entrypoints.web.pages_approvals import APPROVAL_PAGES, APPROVALS_PATH
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
from clearwatch.services.access.users import (
    Registered,
    grant_role,
    list_users,
    register_person,
    revoke_role,
)

ACCESS_PATH = f"{WEB_PREFIX}/access"
TOKEN_DAYS_MUST_BE_A_NUMBER = "token_days_must_be_a_number"
TOKEN_MUST_EXIST = "token_must_exist"
TOKEN_SCOPE_MUST_BE_KNOWN = "token_scope_must_be_known"
ROLE_MUST_BE_KNOWN = "role_must_be_known"
USER_MUST_BE_GIVEN_A_ROLE = "user_must_be_given_a_role"
USER_MUST_EXIST = "user_must_exist"
GRANT_HOURS_MUST_BE_A_NUMBER = "grant_hours_must_be_a_number"
Password = Annotated[str, Form(max_length=PASSWORD_MAX_LENGTH)]
Text = Annotated[str, Form()]
Token = Annotated[str, Form(max_length=128)]


def _page(
    request: Request,
    viewer: Viewer,
    issued: IssuedToken | None = None,
    registered: Registered | None = None,
) -> HTMLResponse:
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
        registered=registered, may_create=viewer.may(Action.TOKEN_CREATE, own),
        may_add_user=viewer.may(Action.USER_ADD, own),
        may_grant=viewer.may(Action.USER_GRANT, own),
        may_revoke=viewer.may(Action.USER_REVOKE, own),
        may_ask_grant=viewer.may(Action.USER_EMERGENCY_GRANT, own),
        roles_here=sorted(ROLES_BY_KIND[viewer.organisation_kind]),
        grant_hours_max=emergency_grant_hours_max, approvals_path=APPROVALS_PATH,
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


def _role(text: str) -> Role:
    try:
        return Role(text.strip())
    except ValueError as error:
        raise Refused(ROLE_MUST_BE_KNOWN, repr(text)) from error


def _own_user(request: Request, viewer: Viewer, user_id: str, action: Action) -> str:
    """A user of the viewer's organisation; anyone else's is not found, the policy's denial
    of `action` on them audited."""
    with application_of(request).read_uow() as uow:
        user = uow.access.user(user_id.strip())
    if user is None:
        raise PageNotFound(f"{USER_MUST_EXIST}: {user_id}")
    if user.organisation != viewer.actor.organisation:
        try:
            viewer.gate.check(action, Resource(organisation=user.organisation.ident))
        except PolicyDenied as denied:
            raise PageNotFound(f"{USER_MUST_EXIST}: {user_id}") from denied
        raise PageNotFound(f"{USER_MUST_EXIST}: {user_id}")  # another page's business
    return user.user_id


def user_add(
    request: Request,
    viewer: SignedIn,
    user_id: Text = "",
    password: Password = "",
    roles: Annotated[list[str] | None, Form()] = None,
    csrf_token: Token = "",
) -> HTMLResponse:
    """A person of the admin's organisation, with an initial password (the password rule
    of `register_person`); a deciding role's second factor is on this answer only."""
    check_form(request, viewer, csrf_token)
    viewer.gate.lister(Action.USER_ADD)  # a role that registers no one: 403 before a rule
    chosen = [_role(text) for text in roles or []]
    if not chosen:
        raise Refused(USER_MUST_BE_GIVEN_A_ROLE, user_id)
    wired = application_of(request)
    registered = register_person(
        uow=wired.uow(), tools=wired.authentication, user_id=user_id.strip(), roles=chosen,
        organisation=viewer.actor.organisation, password=password, actor=viewer.gate.user_id,
        at=wired.real_clock.now(),
    )  # fmt: skip
    return _page(request, viewer, registered=registered)


def user_grant(
    request: Request, viewer: SignedIn, user_id: Text = "", role: Text = "", csrf_token: Token = ""
) -> Response:
    """A permanent role the organisation's kind may hold (`role_must_be_valid_in…` else)."""
    check_form(request, viewer, csrf_token)
    viewer.gate.lister(Action.USER_GRANT)
    chosen = _role(role)
    wired = application_of(request)
    grant_role(
        uow=wired.uow(), user_id=_own_user(request, viewer, user_id, Action.USER_GRANT),
        role=chosen,
        actor=viewer.gate.user_id, at=wired.real_clock.now(),
    )  # fmt: skip
    return RedirectResponse(f"{ACCESS_PATH}#users", status_code=303)


def user_revoke(
    request: Request, viewer: SignedIn, user_id: Text = "", role: Text = "", csrf_token: Token = ""
) -> Response:
    """A permanent role taken back (never one's own); it counts from the user's next request."""
    check_form(request, viewer, csrf_token)
    viewer.gate.lister(Action.USER_REVOKE)
    chosen = _role(role)
    wired = application_of(request)
    revoke_role(
        uow=wired.uow(), user_id=_own_user(request, viewer, user_id, Action.USER_REVOKE),
        role=chosen,
        actor=viewer.gate.user_id, at=wired.real_clock.now(),
    )  # fmt: skip
    return RedirectResponse(f"{ACCESS_PATH}#users", status_code=303)


def _hours(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError as error:
        raise Refused(GRANT_HOURS_MUST_BE_A_NUMBER, repr(text)) from error


def emergency_grant(
    request: Request,
    viewer: SignedIn,
    user_id: Text = "",
    role: Text = "",
    hours: Text = "",
    reason: Text = "",
    csrf_token: Token = "",
) -> Response:
    """A role for some hours from its approval (≤ 24), decided by a second person of the
    organisation in the approvals queue; the grant's own rules are the use case's."""
    check_form(request, viewer, csrf_token)
    viewer.gate.lister(Action.USER_EMERGENCY_GRANT)
    chosen = _role(role)
    wired = application_of(request)
    asked = approvals.request_emergency_grant_committed(
        uow=wired.uow(), user_id=_own_user(request, viewer, user_id, Action.USER_EMERGENCY_GRANT),
        role=chosen, hours=_hours(hours), reason=reason, maker=viewer.gate.user_id,
        at=wired.real_clock.now(),
    )  # fmt: skip
    return RedirectResponse(f"{APPROVALS_PATH}#request-{asked.request_id}", status_code=303)


ADMIN_PAGES = (
    ("GET", "/access", access_page),
    ("POST", "/access/tokens", token_create),
    ("POST", "/access/tokens/{token_id}/revoke", token_revoke),
    ("POST", "/access/users", user_add),
    ("POST", "/access/grants", user_grant),
    ("POST", "/access/revocations", user_revoke),
    ("POST", "/access/emergency-grants", emergency_grant),
    *APPROVAL_PAGES,
)
