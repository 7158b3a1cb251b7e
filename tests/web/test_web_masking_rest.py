"""Issue 18, the rest, on the pages: an allowed `?evidence=true` read is audited (who, their
organisation, the page), like the refusal; without it the client stays masked."""

from __future__ import annotations

import json
from datetime import date

from clearwatch.bootstrap import Application
from clearwatch.domain.access.roles import Role
from clearwatch.domain.watch.reviews import ReviewDecision
from clearwatch.services.watch.review import find_alert, request_halt, review_alert
from tests.api.support import TestClient, audit_head, audit_records, client_of, person
from tests.api.test_api_watch import raised
from tests.web.support import WEB, sign_in

APPROVALS = f"{WEB}/approvals"
CLIENT = "F100001"  # masked `***001`


def _halt_asked(app: Application) -> None:
    """B001's operator confirmed an alert about the client and asked to halt them."""
    operator = person(app, "BO:B001", Role.OPERATOR)
    key = raised(app, "B001", CLIENT)
    alert = find_alert(app.watch_wiring().alert_log(), key, sees={"B001"}.__contains__)
    now = app.real_clock.now()
    review_alert(uow=app.uow(), alert=alert, decision=ReviewDecision.CONFIRMED, reason="",
                 reviewer=operator, at=now)  # fmt: skip
    request_halt(uow=app.uow(), alert=alert, fund_account=CLIENT,
                 business_date=date(2026, 11, 20), maker=operator, at=now)  # fmt: skip


def test_the_approvals_page_s_evidence_read_is_audited_and_a_refusal_shows_nothing(
    web_app: Application, browser: TestClient
) -> None:
    _halt_asked(web_app)
    assert sign_in(browser, web_app, "BO:B001", Role.CHECKER).status_code == 200
    masked = browser.get(APPROVALS)
    assert masked.status_code == 200 and CLIENT not in masked.text and "***001" in masked.text
    head = audit_head(web_app)
    whole = browser.get(APPROVALS, params={"evidence": "true"})
    assert whole.status_code == 200 and CLIENT in whole.text
    [read] = audit_records(web_app, head)
    assert (read.action, read.object_ref) == (
        "access.evidence_read", "evidence:organisation:BO:B001"
    )  # fmt: skip
    assert json.loads(read.payload_json) == {
        "action": "broker.evidence", "read": "web /approvals", "organisation": "BO:B001"
    }  # fmt: skip
    auditor = client_of(web_app)
    assert sign_in(auditor, web_app, "BO:B001", Role.AUDITOR).status_code == 200
    head = audit_head(web_app)
    refused = auditor.get(APPROVALS, params={"evidence": "true"})
    assert refused.status_code == 403 and CLIENT not in refused.text
    assert [(r.action, r.object_ref) for r in audit_records(web_app, head)] == [
        ("access.denied", "action:broker.evidence")
    ]
