"""SIPF's review page: explained cases to decide, escalations to approve, proposed warnings to
approve or withdraw, pending special-account filings to approve or reject.

The page is asked under the whole monitor's scope (an empty `Resource`), so only SIPF's readers
see it; each form posts to a handler that calls the very use case the API and CLI call, which
asks the policy again (who may decide, never the proposer, never one's own filing) and names
the rule it refuses by. After a decision the browser is sent back to the page (303), which then
shows the thing gone from its list.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Query, Request
from fastapi import Path as FastApiPath
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from clearwatch.bootstrap import Application
from clearwatch.domain.access.policy import Action, Resource
from clearwatch.domain.monitor.cases import CaseMove, CaseStatus
from clearwatch.domain.monitor.cases_notice import WarningStatus
from clearwatch.domain.monitor.filings import Filing, FilingStatus
from clearwatch.domain.shared.masking import mask
from clearwatch.entrypoints.web.site import (
    WEB_PREFIX,
    SignedIn,
    application_of,
    check_form,
    render,
)
from clearwatch.services.monitor.cases import list_cases
from clearwatch.services.monitor.cases_review import approve_escalation, decide_case
from clearwatch.services.monitor.delivery_approval import (
    approve_warning,
    review_warnings,
    withdraw_warning,
)
from clearwatch.services.monitor.filings import approve_filing, list_filings, reject_filing
from clearwatch.services.monitor.filings_ports import FilingsContext

REVIEW_PATH = f"{WEB_PREFIX}/sipf/review"
# What a reviewer may decide of an explained case, in the order the form offers them.
DECISIONS = (CaseMove.ACCEPT, CaseMove.CARELESS, CaseMove.FALSIFIED, CaseMove.ESCALATE)
ESCALATION_CRITERIA = ("M4", "G7", "A7")
Id = Annotated[int, FastApiPath(ge=1, le=2**31 - 1)]
# Unbounded here: the use case refuses a bad value by its rule's name (the body is bounded).
Text = Annotated[str, Form()]
Token = Annotated[str, Form(max_length=128)]
# `?evidence=true`: the filings' account numbers whole, for whom the policy allows it.
Evidence = Annotated[bool, Query()]


def filings_context(wired: Application) -> FilingsContext:
    """As the API's: a filing and its decision are a person's act now, on the real clock."""
    return FilingsContext(
        clock=wired.real_clock, uow_factory=wired.uow, read_uow_factory=wired.read_uow
    )


def shown_filings(filings: list[Filing], *, evidence: bool) -> list[tuple[str, Filing]]:
    """Each filing with its account's number as the page shows it: masked by the one rule,
    whole only as the evidence the policy allowed (`monitor.filings.evidence`)."""
    return [(f.account.account_no if evidence else mask(f.account.account_no), f) for f in filings]


def sipf_review(request: Request, viewer: SignedIn, evidence: Evidence = False) -> HTMLResponse:
    """Everything waiting for a SIPF decision, each with its form; the filings' account numbers
    masked unless `?evidence=true` is asked by whom the policy lets read them (the registry
    officer, who approves them)."""
    # The whole monitor's scope: a bureau or an institution is refused (403, audited).
    viewer.gate.check(Action.CASES_READ, Resource())
    if evidence:  # asked before anything is read, so that a refusal (audited) shows nothing
        viewer.gate.check_evidence(Action.FILINGS_EVIDENCE, Resource(), read="web /sipf/review")
    wired = application_of(request)
    cases = wired.cases_context(regrade=False)
    return render(
        request,
        "review.html.j2",
        viewer=viewer,
        explained=list_cases(gate=viewer.gate, context=cases, status=CaseStatus.EXPLAINED),
        escalated=list_cases(gate=viewer.gate, context=cases, status=CaseStatus.ESCALATED),
        warnings=review_warnings(
            gate=viewer.gate, context=wired.delivery_context(), status=WarningStatus.PROPOSED
        ),
        filings=shown_filings(
            list_filings(
                gate=viewer.gate, context=filings_context(wired), status=FilingStatus.PENDING
            ),
            evidence=evidence,
        ),
        evidence=evidence,
        may_see_evidence=viewer.may(Action.FILINGS_EVIDENCE, Resource()),
        evidence_href=f"{REVIEW_PATH}?evidence=true#filings",
        decisions=DECISIONS,
        criteria=ESCALATION_CRITERIA,
        may_decide=viewer.may(Action.CASES_DECIDE, Resource()),
        may_approve_cases=viewer.may(Action.CASES_APPROVE, Resource()),
        may_approve_warnings=viewer.may(Action.WARNINGS_APPROVE, Resource()),
        may_decide_filings=viewer.may(Action.FILINGS_APPROVE, Resource()),
    )


def _back(anchor: str) -> RedirectResponse:
    return RedirectResponse(f"{REVIEW_PATH}#{anchor}", status_code=303)


def case_decide(
    request: Request,
    viewer: SignedIn,
    case_id: Id,
    decision: Text = "",
    reason: Text = "",
    criterion: Text = "",
    csrf_token: Token = "",
) -> Response:
    """Accept, careless, falsified (D graded again) or escalate (with M4, G7 or A7)."""
    check_form(request, viewer, csrf_token)
    viewer.gate.lister(Action.CASES_DECIDE)  # a role that never decides: 403 before a lookup
    decide_case(
        case_id=case_id, decision=decision, reason=reason, criterion=criterion.strip() or None,
        gate=viewer.gate, context=application_of(request).cases_context(),
    )  # fmt: skip
    return _back("cases")


def case_approve(
    request: Request, viewer: SignedIn, case_id: Id, reason: Text = "", csrf_token: Token = ""
) -> Response:
    """A reviewer other than who escalated approves: the criterion enters D's result."""
    check_form(request, viewer, csrf_token)
    viewer.gate.lister(Action.CASES_APPROVE)
    approve_escalation(
        case_id=case_id, reason=reason, gate=viewer.gate,
        context=application_of(request).cases_context(),
    )  # fmt: skip
    return _back("escalations")


def warning_approve(
    request: Request, viewer: SignedIn, warning_id: Id, csrf_token: Token = ""
) -> Response:
    """A reviewer, never the proposer: the warning's deliveries enter the outbox."""
    check_form(request, viewer, csrf_token)
    viewer.gate.lister(Action.WARNINGS_APPROVE)
    approve_warning(
        warning_id=warning_id, gate=viewer.gate,
        context=application_of(request).delivery_context(),
    )  # fmt: skip
    return _back("warnings")


def warning_withdraw(
    request: Request, viewer: SignedIn, warning_id: Id, reason: Text = "", csrf_token: Token = ""
) -> Response:
    """A reviewer, never the proposer, with a reason: the warning is never delivered."""
    check_form(request, viewer, csrf_token)
    viewer.gate.lister(Action.WARNINGS_WITHDRAW)
    withdraw_warning(
        warning_id=warning_id, reason=reason, gate=viewer.gate,
        context=application_of(request).delivery_context(),
    )  # fmt: skip
    return _back("warnings")


def filing_approve(
    request: Request, viewer: SignedIn, filing_id: Id, csrf_token: Token = ""
) -> Response:
    """SIPF's registry officer, never on their own filing: a new registry version."""
    check_form(request, viewer, csrf_token)
    approve_filing(
        filing_id=filing_id, gate=viewer.gate, context=filings_context(application_of(request))
    )
    return _back("filings")


def filing_reject(
    request: Request, viewer: SignedIn, filing_id: Id, reason: Text = "", csrf_token: Token = ""
) -> Response:
    check_form(request, viewer, csrf_token)
    reject_filing(
        filing_id=filing_id, reason=reason, gate=viewer.gate,
        context=filings_context(application_of(request)),
    )  # fmt: skip
    return _back("filings")


REVIEW_PAGES = (
    ("GET", "/sipf/review", sipf_review),
    ("POST", "/sipf/cases/{case_id}/decide", case_decide),
    ("POST", "/sipf/cases/{case_id}/approve", case_approve),
    ("POST", "/sipf/warnings/{warning_id}/approve", warning_approve),
    ("POST", "/sipf/warnings/{warning_id}/withdraw", warning_withdraw),
    ("POST", "/sipf/filings/{filing_id}/approve", filing_approve),
    ("POST", "/sipf/filings/{filing_id}/reject", filing_reject),
)
