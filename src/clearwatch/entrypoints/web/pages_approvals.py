"""The approvals queue (双人复核) of the viewer's organisation: what waits for a second person,
with approve and reject for who may decide, and what was decided.

The same use cases as `clearwatch approvals` and the API's `/approvals`: the policy lists an
organisation's requests to its own people (a back office's operator, checker, auditor and
admin; SIPF's admin and reviewers), and lets only a checker of the maker's organisation decide
— never the maker, never an admin; the use case names the rule it refuses by. A checker signs
in with their second factor (spec platform §2), so a decision is made in a session that gave
one. A request of another organisation is answered as one that does not exist. A halt the
risk desk asked for is approved through the watch's own use case, which halts the client in
the same transaction as the approval.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Query, Request
from fastapi import Path as FastApiPath
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from clearwatch.domain.access.approval_masking import masked_request
from clearwatch.domain.access.approvals import ApprovalRequest, ApprovalStatus
from clearwatch.domain.access.policy import Action, Resource
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
from clearwatch.services.access.authorize import PolicyDenied
from clearwatch.services.access.users import list_users
from clearwatch.services.watch.approvals_queue import approve_in_queue

APPROVALS_PATH = f"{WEB_PREFIX}/approvals"
REQUEST_MUST_EXIST = "request_must_exist"
decided_rows_max = 50  # the latest decisions shown; the API and CLI list them all
Id = Annotated[int, FastApiPath(ge=1, le=2**31 - 1)]
Text = Annotated[str, Form()]
Token = Annotated[str, Form(max_length=128)]


def _organisation_of(request: Request) -> dict[str, str]:
    users = list_users(uow=application_of(request).read_uow())
    return {user.user_id: user.organisation.ident for user in users}


def organisation_requests(request: Request, viewer: Viewer) -> list[ApprovalRequest]:
    """Every request whose maker is of the viewer's organisation, as the policy lets it be
    listed (403, audited, for a role that lists none)."""
    sees = viewer.gate.lister(Action.APPROVALS_LIST)
    mine = viewer.actor.organisation.ident
    organisation_of = _organisation_of(request)
    return [
        found
        for found in approvals.list_requests(uow=application_of(request).read_uow())
        if organisation_of.get(found.maker) == mine
        and sees(Resource(organisation=organisation_of.get(found.maker)))
    ]


def approvals_page(
    request: Request, viewer: SignedIn, evidence: Annotated[bool, Query()] = False
) -> HTMLResponse:
    """The queue; the clients a request names masked unless `?evidence=true` is asked by whom
    the policy lets read them (the back office's operator and checker)."""
    organisation = viewer.actor.organisation
    books = Resource(organisation=organisation.ident, institution=organisation.code)
    if evidence:  # asked before anything is read, so that a refusal (audited) shows nothing
        viewer.gate.check_evidence(Action.BOOKS_EVIDENCE, books, read="web /approvals")
    found = organisation_requests(request, viewer)
    pending = [r for r in found if r.status is ApprovalStatus.PENDING]
    decided = [r for r in found if r.status is not ApprovalStatus.PENDING]
    decided.sort(key=lambda r: (r.decided_at or r.requested_at, r.request_id), reverse=True)
    shown = {
        r.request_id: (r.subject_ref, dict(r.payload))
        if evidence else masked_request(r.subject_ref, dict(r.payload))
        for r in found
    }  # fmt: skip
    own = Resource(organisation=organisation.ident)
    return render(
        request, "approvals.html.j2", viewer=viewer, pending=pending, shown=shown,
        evidence=evidence, may_see_evidence=viewer.may(Action.BOOKS_EVIDENCE, books),
        evidence_href=f"{APPROVALS_PATH}?evidence=true",
        decided=decided[:decided_rows_max], may_approve=viewer.may(Action.APPROVALS_APPROVE, own),
        may_reject=viewer.may(Action.APPROVALS_REJECT, own),
        books_nav=viewer.may(
            Action.BROKER_BATCHES, Resource(institution=viewer.actor.organisation.code)
        ),
    )  # fmt: skip


def _in_scope(request: Request, viewer: Viewer, request_id: int, action: Action) -> ApprovalRequest:
    """The request, if it is the viewer's organisation's; otherwise (audited) not found."""
    with application_of(request).read_uow() as uow:
        found = uow.access.request(request_id)
    if found is None:
        raise PageNotFound(f"{REQUEST_MUST_EXIST}: {request_id}")
    maker_organisation = _organisation_of(request).get(found.maker)
    try:
        viewer.gate.check(action, Resource(organisation=maker_organisation))
    except PolicyDenied as denied:
        raise PageNotFound(f"{REQUEST_MUST_EXIST}: {request_id}") from denied
    return found


def approval_approve(
    request: Request, viewer: SignedIn, request_id: Id, csrf_token: Token = ""
) -> Response:
    """A checker other than the maker approves; what it puts in force (a halt, a flow halt, a
    lift) is put in force with its approval."""
    check_form(request, viewer, csrf_token)
    viewer.gate.lister(Action.APPROVALS_APPROVE)  # a role that never approves: 403 first
    _in_scope(request, viewer, request_id, Action.APPROVALS_APPROVE)
    wired = application_of(request)
    approve_in_queue(
        uow=wired.uow(), request_id=request_id, checker=viewer.gate.user_id,
        at=wired.real_clock.now(), publisher=wired.watch_publisher(),
    )  # fmt: skip
    return RedirectResponse(f"{APPROVALS_PATH}#request-{request_id}", status_code=303)


def approval_reject(
    request: Request, viewer: SignedIn, request_id: Id, reason: Text = "", csrf_token: Token = ""
) -> Response:
    """A checker other than the maker rejects, with a reason."""
    check_form(request, viewer, csrf_token)
    viewer.gate.lister(Action.APPROVALS_REJECT)
    _in_scope(request, viewer, request_id, Action.APPROVALS_REJECT)
    wired = application_of(request)
    approvals.reject_committed(
        uow=wired.uow(), request_id=request_id, checker=viewer.gate.user_id,
        at=wired.real_clock.now(), reason=reason,
    )  # fmt: skip
    return RedirectResponse(f"{APPROVALS_PATH}#request-{request_id}", status_code=303)


APPROVAL_PAGES = (
    ("GET", "/approvals", approvals_page),
    ("POST", "/approvals/{request_id}/approve", approval_approve),
    ("POST", "/approvals/{request_id}/reject", approval_reject),
)
