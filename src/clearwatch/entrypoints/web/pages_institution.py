"""An institution's other pages: its special-account filings (file, close, their approval) and
its messages (the verbal reminders it was given, the copies of its warnings in its inbox).

The listings are the use cases' own, asked with the viewer's gate, so an institution sees its
own and nothing else; filing and closing are `file_account` and `close_account`, which refuse an
account of another institution (403, audited) and name every other broken rule.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from clearwatch.domain.access.policy import Action, Resource
from clearwatch.domain.monitor.filings import FilingStatus
from clearwatch.domain.monitor.registry import SpecialAccountFiling
from clearwatch.domain.shared.errors import Refused
from clearwatch.domain.shared.file_schema import PURPOSES
from clearwatch.entrypoints.web.pages_review import filings_context, shown_filings
from clearwatch.entrypoints.web.site import (
    WEB_PREFIX,
    SignedIn,
    application_of,
    check_form,
    render,
)
from clearwatch.services.monitor.delivery import read_inbox
from clearwatch.services.monitor.filings import close_account, file_account, list_filings
from clearwatch.services.monitor.reminder_ports import ReminderContext
from clearwatch.services.monitor.reminders import list_reminders

FILINGS_PATH = f"{WEB_PREFIX}/institution/filings"
FILED_ON_MUST_BE_A_DATE = "filed_on_must_be_a_date"
# Unbounded here: the use case refuses a bad value by its rule's name (the body is bounded).
Text = Annotated[str, Form()]
Token = Annotated[str, Form(max_length=128)]


def institution_filings(
    request: Request, viewer: SignedIn, evidence: Annotated[bool, Query()] = False
) -> HTMLResponse:
    """The institution's filings, newest first, with their approval; the forms to file one and
    to ask for one to be closed (for whoever may file). The accounts' numbers are masked unless
    `?evidence=true` is asked by whom the policy lets read them (the institution's officer)."""
    wired = application_of(request)
    code = viewer.actor.organisation.code
    own = Resource(institution=code)
    if evidence:  # asked before anything is read, so that a refusal (audited) shows nothing
        viewer.gate.check_evidence(Action.FILINGS_EVIDENCE, own, read="web /institution/filings")
    filings = list_filings(gate=viewer.gate, context=filings_context(wired), institution_id=code)
    filings.sort(key=lambda f: f.filed_at, reverse=True)
    return render(
        request,
        "filings.html.j2",
        viewer=viewer,
        filings=shown_filings(filings, evidence=evidence),
        evidence=evidence,
        may_see_evidence=viewer.may(Action.FILINGS_EVIDENCE, own),
        evidence_href=f"{FILINGS_PATH}?evidence=true",
        pending=FilingStatus.PENDING,
        purposes=PURPOSES,
        may_file=viewer.may(Action.FILINGS_FILE, own),
    )


def _filed_on(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError as error:
        raise Refused(FILED_ON_MUST_BE_A_DATE, repr(text)) from error


def filing_file(
    request: Request,
    viewer: SignedIn,
    account_no: Text = "",
    bank_id: Text = "",
    broker_id: Text = "",
    purpose: Text = "",
    branch_region: Text = "",
    filed_on: Text = "",
    csrf_token: Token = "",
) -> Response:
    """A new special account of the viewer's institution, pending SIPF's registry officer."""
    check_form(request, viewer, csrf_token)
    account = SpecialAccountFiling(
        account_no.strip(), bank_id.strip(), broker_id.strip(), purpose.strip(),
        branch_region.strip(), _filed_on(filed_on),
    )  # fmt: skip
    file_account(
        account=account, gate=viewer.gate, context=filings_context(application_of(request))
    )
    return RedirectResponse(FILINGS_PATH, status_code=303)


def filing_close(
    request: Request,
    viewer: SignedIn,
    account_no: Text = "",
    reason: Text = "",
    csrf_token: Token = "",
) -> Response:
    """Ask for a filed account of the viewer's institution to leave the registry."""
    check_form(request, viewer, csrf_token)
    close_account(
        account_no=account_no.strip(), reason=reason, gate=viewer.gate,
        context=filings_context(application_of(request)),
    )  # fmt: skip
    return RedirectResponse(FILINGS_PATH, status_code=303)


def institution_messages(request: Request, viewer: SignedIn) -> HTMLResponse:
    """The verbal reminders given to the institution (read only: its bureau marks them done)
    and the copies of its warnings delivered to its inbox."""
    wired = application_of(request)
    code = viewer.actor.organisation.code
    reminders = list_reminders(
        gate=viewer.gate,
        context=ReminderContext(clock=wired.real_clock, uow_factory=wired.uow),
        institution_id=code,
    )
    inbox = read_inbox(gate=viewer.gate, context=wired.delivery_context())
    inbox.sort(key=lambda m: m.delivered_at, reverse=True)
    return render(request, "messages.html.j2", viewer=viewer, reminders=reminders, inbox=inbox)


INSTITUTION_PAGES = (
    ("GET", "/institution/filings", institution_filings),
    ("POST", "/institution/filings", filing_file),
    ("POST", "/institution/filings/close", filing_close),
    ("GET", "/institution/messages", institution_messages),
)
