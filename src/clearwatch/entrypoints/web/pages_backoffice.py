"""A broker's back office (its own deployment): batches and their status, end of day by step,
the reconciliation's breaks, the day's intraday halts; its maker-checker requests are the
approvals queue (`pages_approvals`).

Asked as the API and CLI ask it: the broker's books only, for its readers (operator, checker,
auditor); anyone else is refused (403, audited). An operator matches or explains a break and
asks to lift a halt: both are requests a checker decides in the queue, never their maker. A
break or a halt of another broker is answered as one that does not exist.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Form, Query, Request
from fastapi import Path as FastApiPath
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from clearwatch.domain.access.policy import Action, Resource
from clearwatch.domain.shared.calendar import SHANGHAI
from clearwatch.domain.shared.errors import Refused
from clearwatch.domain.shared.masking import mask
from clearwatch.entrypoints.web.pages_approvals import APPROVALS_PATH
from clearwatch.entrypoints.web.site import (
    WEB_PREFIX,
    PageNotFound,
    SignedIn,
    Viewer,
    application_of,
    check_form,
    render,
)
from clearwatch.services.access.authorize import PolicyDenied
from clearwatch.services.backoffice.batches import list_batches
from clearwatch.services.backoffice.breaks import (
    BREAK_MUST_EXIST,
    RESOLUTIONS,
    BreakState,
    find_break,
    list_breaks,
    resolve_break,
    shown_subject,
)
from clearwatch.services.backoffice.eod_progress import eod_progress
from clearwatch.services.intraday.halt_lifts import (
    HALT_MUST_EXIST,
    broker_halts,
    find_halt,
    request_halt_lift,
)

BACKOFFICE_PATH = f"{WEB_PREFIX}/backoffice"
Day = Annotated[date | None, Query(alias="date")]
# `?evidence=true`: the clients' fund accounts whole, for whom the policy allows it.
Evidence = Annotated[bool, Query()]
Id = Annotated[int, FastApiPath(ge=1, le=2**31 - 1)]
Text = Annotated[str, Form()]
Token = Annotated[str, Form(max_length=128)]


def _broker(viewer: Viewer) -> str:
    return viewer.actor.organisation.code


def _day_or_latest(request: Request, broker_id: str, day: date | None) -> date:
    """The day asked for; else the last business date a batch came for; else today."""
    if day is not None:
        return day
    batches = list_batches(uow=application_of(request).read_uow(), broker_id=broker_id)
    today = application_of(request).real_clock.now().astimezone(SHANGHAI).date()
    return max((b.business_date for b in batches), default=today)


def backoffice_batches(request: Request, viewer: SignedIn) -> HTMLResponse:
    """The batches, newest business date first, with the importer's status."""
    broker_id = _broker(viewer)
    viewer.gate.check(Action.BROKER_BATCHES, Resource(institution=broker_id))
    batches = list_batches(uow=application_of(request).read_uow(), broker_id=broker_id)
    batches.sort(key=lambda b: (b.business_date, b.received_at), reverse=True)
    return render(request, "backoffice.html.j2", viewer=viewer, batches=batches)


def backoffice_eod(request: Request, viewer: SignedIn, day: Day = None) -> HTMLResponse:
    """End of day by step for a date: each step's state, times and outputs."""
    broker_id = _broker(viewer)
    business_date = _day_or_latest(request, broker_id, day)
    steps = eod_progress(
        gate=viewer.gate, uow=application_of(request).read_uow(), broker_id=broker_id,
        business_date=business_date,
    )  # fmt: skip
    return render(
        request, "backoffice_eod.html.j2", viewer=viewer, business_date=business_date,
        steps=steps,
    )  # fmt: skip


def backoffice_breaks(
    request: Request,
    viewer: SignedIn,
    everything: Annotated[bool, Query(alias="all")] = False,
    evidence: Evidence = False,
) -> HTMLResponse:
    """The broker's breaks not closed (all of them with `?all=true`), oldest day first; a
    client's fund account or an account's number masked unless `?evidence=true` is asked by
    whom the policy lets read it (the broker's operator and checker)."""
    broker_id = _broker(viewer)
    viewer.gate.check(Action.BROKER_BREAKS, Resource(institution=broker_id))
    books = Resource(organisation=viewer.actor.organisation.ident, institution=broker_id)
    if evidence:  # asked before anything is read, so that a refusal (audited) shows nothing
        viewer.gate.check_evidence(Action.BOOKS_EVIDENCE, books, read="web /backoffice/breaks")
    breaks = list_breaks(
        uow=application_of(request).read_uow(), broker_id=broker_id, everything=everything
    )
    shown = [(shown_subject(b.record, evidence=evidence), b) for b in breaks]
    query = "all=true&" if everything else ""
    return render(
        request, "backoffice_breaks.html.j2", viewer=viewer, breaks=shown, everything=everything,
        resolutions=RESOLUTIONS, open_state=BreakState.OPEN,
        may_resolve=viewer.may(Action.BROKER_BREAK_EXPLAIN, Resource(institution=broker_id)),
        approvals_path=APPROVALS_PATH, evidence=evidence,
        may_see_evidence=viewer.may(Action.BOOKS_EVIDENCE, books),
        evidence_href=f"{BACKOFFICE_PATH}/breaks?{query}evidence=true",
    )  # fmt: skip


def break_resolve(
    request: Request,
    viewer: SignedIn,
    break_id: Id,
    resolution: Text = "",
    reason: Text = "",
    csrf_token: Token = "",
) -> Response:
    """An operator matches or explains a break: a request a checker decides in the queue."""
    check_form(request, viewer, csrf_token)
    viewer.gate.lister(Action.BROKER_BREAK_EXPLAIN)  # a role that resolves none: 403 first
    wired = application_of(request)
    try:
        record = find_break(wired.read_uow(), break_id)
    except Refused as missing:
        raise PageNotFound(f"{BREAK_MUST_EXIST}: {break_id}") from missing
    try:  # audited when denied; another broker's break is answered as one that is not
        viewer.gate.check(Action.BROKER_BREAK_EXPLAIN, Resource(institution=record.broker_id))
    except PolicyDenied as denied:
        raise PageNotFound(f"{BREAK_MUST_EXIST}: {break_id}") from denied
    resolve_break(
        uow=wired.uow(), break_id=break_id, resolution=resolution.strip(), reason=reason,
        maker=viewer.gate.user_id, at=wired.real_clock.now(),
    )  # fmt: skip
    return RedirectResponse(f"{BACKOFFICE_PATH}/breaks#break-{break_id}", status_code=303)


def backoffice_halts(
    request: Request, viewer: SignedIn, day: Day = None, evidence: Evidence = False
) -> HTMLResponse:
    """The day's halted clients: active, lift asked, lift approved or lifted; who, why. The
    clients' fund accounts are masked unless `?evidence=true` is asked by whom the policy lets
    read them (the broker's operator and checker)."""
    broker_id = _broker(viewer)
    wired = application_of(request)
    books = Resource(organisation=viewer.actor.organisation.ident, institution=broker_id)
    if evidence:  # asked before anything is read, so that a refusal (audited) shows nothing
        viewer.gate.check_evidence(Action.BOOKS_EVIDENCE, books, read="web /backoffice/halts")
    business_date = day or wired.real_clock.now().astimezone(SHANGHAI).date()
    halts = broker_halts(
        gate=viewer.gate, uow=wired.read_uow(), broker_id=broker_id, business_date=business_date
    )
    own = Resource(organisation=viewer.actor.organisation.ident)
    shown = [(h.record.fund_account if evidence else mask(h.record.fund_account), h) for h in halts]
    return render(
        request, "backoffice_halts.html.j2", viewer=viewer, business_date=business_date,
        halts=shown, may_ask_lift=viewer.may(Action.APPROVALS_REQUEST, own),
        approvals_path=APPROVALS_PATH, evidence=evidence,
        may_see_evidence=viewer.may(Action.BOOKS_EVIDENCE, books),
        evidence_href=f"{BACKOFFICE_PATH}/halts?date={business_date.isoformat()}&evidence=true",
    )  # fmt: skip


def halt_lift(
    request: Request,
    viewer: SignedIn,
    business_date: date,
    halt_id: Id,
    reason: Text = "",
    csrf_token: Token = "",
) -> Response:
    """An operator asks to lift a halt (an override); a checker decides it in the queue."""
    check_form(request, viewer, csrf_token)
    viewer.gate.lister(Action.APPROVALS_REQUEST)
    wired = application_of(request)
    try:
        halt = find_halt(wired.read_uow(), business_date=business_date, halt_id=halt_id)
    except Refused as missing:
        raise PageNotFound(f"{HALT_MUST_EXIST}: {halt_id}") from missing
    try:  # audited when denied; another broker's halt is answered as one that is not
        viewer.gate.check(Action.INTRADAY_HALTS, Resource(institution=halt.broker_id))
    except PolicyDenied as denied:
        raise PageNotFound(f"{HALT_MUST_EXIST}: {halt_id}") from denied
    asked = request_halt_lift(
        uow=wired.uow(), halt=halt, reason=reason, maker=viewer.gate.user_id,
        at=wired.real_clock.now(),
    )  # fmt: skip
    return RedirectResponse(f"{APPROVALS_PATH}#request-{asked.request_id}", status_code=303)


BACKOFFICE_PAGES = (
    ("GET", "/backoffice", backoffice_batches),
    ("GET", "/backoffice/eod", backoffice_eod),
    ("GET", "/backoffice/breaks", backoffice_breaks),
    ("POST", "/backoffice/breaks/{break_id}/resolve", break_resolve),
    ("GET", "/backoffice/halts", backoffice_halts),
    ("POST", "/backoffice/halts/{business_date}/{halt_id}/lift", halt_lift),
)
