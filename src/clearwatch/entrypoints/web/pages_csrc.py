"""CSRC's pages: the special reports (专项报告) delivered to its inbox, and nothing else of the
monitor.

The reports are `read_inbox`, the delivery's own use case, asked with the viewer's gate. The
pages first ask the policy for CSRC's inbox itself, so that anyone else is refused (403,
audited) rather than shown an empty list; a report that is not in CSRC's inbox is answered as
one that does not exist. A report's document is the delivered PDF: the renderer makes the same
bytes from the same payload, so it is rendered again from the message rather than read back
from the documents shelf, which no web server need share.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import date
from typing import Annotated, Any

from fastapi import Path as FastApiPath
from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from clearwatch.domain.access.organisations import CSRC_ID
from clearwatch.domain.access.policy import Action
from clearwatch.domain.monitor.cases_notice import NoticeKind
from clearwatch.domain.monitor.criteria import Level
from clearwatch.domain.monitor.evidence_masking import masked_finding
from clearwatch.entrypoints.web.site import (
    PageNotFound,
    SignedIn,
    Viewer,
    application_of,
    render,
)
from clearwatch.services.monitor.delivery import inbox_resource, read_inbox
from clearwatch.services.monitor.delivery_ports import InboxMessage

SPECIAL_REPORT_MUST_EXIST = "special_report_must_exist"
LEVELS = tuple(Level)
MessageId = Annotated[int, FastApiPath(ge=1, le=2**31 - 1)]
_UNSAFE_IN_FILE_NAME = re.compile(r"[^A-Za-z0-9._-]")


def _by_date_and_level(message: InboxMessage) -> tuple[int, int, str]:
    """Newest date first, then the gravest level, then the institution."""
    level = LEVELS.index(Level(message.level))
    return (-message.business_date.toordinal(), level, message.institution_id)


def _special_reports(request: Request, viewer: Viewer) -> list[InboxMessage]:
    """CSRC's special reports; anyone whom the policy does not let read CSRC's inbox: 403."""
    viewer.gate.check(Action.INBOX_READ, inbox_resource(CSRC_ID))
    context = application_of(request).delivery_context()
    return sorted(
        (
            m
            for m in read_inbox(gate=viewer.gate, context=context)
            if m.recipient == CSRC_ID and m.notice is NoticeKind.SPECIAL_REPORT
        ),
        key=_by_date_and_level,
    )


def csrc_reports(request: Request, viewer: SignedIn) -> HTMLResponse:
    """The special reports by date (newest first) and level, with the count of each."""
    reports = _special_reports(request, viewer)
    by_date: dict[date, Counter[str]] = {}
    for report in reports:
        by_date.setdefault(report.business_date, Counter())[report.level] += 1
    return render(
        request, "csrc.html.j2", viewer=viewer, reports=reports, by_date=by_date, levels=LEVELS
    )


def _report(request: Request, viewer: Viewer, message_id: int) -> InboxMessage:
    found = [m for m in _special_reports(request, viewer) if m.message_id == message_id]
    if not found:
        raise PageNotFound(f"{SPECIAL_REPORT_MUST_EXIST}: {message_id}")
    return found[0]


def csrc_report(request: Request, viewer: SignedIn, message_id: MessageId) -> HTMLResponse:
    """One special report as delivered: the warning, its criteria, its findings (accounts
    masked: CSRC does not read the evidence itself), who approved it, and its document."""
    report = _report(request, viewer, message_id)
    body: dict[str, Any] = dict(report.body)
    findings = [masked_finding(f) for f in body.get("findings", [])]
    return render(
        request, "csrc_report.html.j2", viewer=viewer, report=report, body=body,
        findings=findings,
    )  # fmt: skip


def csrc_report_document(request: Request, viewer: SignedIn, message_id: MessageId) -> Response:
    """The report's PDF (专项报告), the very bytes the documents channel delivered."""
    report = _report(request, viewer, message_id)
    pdf = application_of(request).delivery_context().renderer.pdf(report.body)
    stem = _UNSAFE_IN_FILE_NAME.sub("_", f"{report.business_date}_{report.institution_id}")
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"content-disposition": f'attachment; filename="special_report_{stem}.pdf"'},
    )


CSRC_PAGES = (
    ("GET", "/csrc", csrc_reports),
    ("GET", "/csrc/reports/{message_id}", csrc_report),
    ("GET", "/csrc/reports/{message_id}/document", csrc_report_document),
)
