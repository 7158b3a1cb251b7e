"""SIPF's review page over HTTP: cases decided and escalations approved, warnings approved or
withdrawn (never by their proposer), filings approved or rejected; the policy on each form.

The tests share one reviewed day and run in order, as the review itself does.
"""

from __future__ import annotations

import re

from clearwatch.bootstrap import Application
from clearwatch.domain.access.roles import Role
from clearwatch.domain.monitor.cases import CaseStatus
from clearwatch.domain.monitor.cases_notice import WarningStatus
from clearwatch.domain.monitor.registry import SpecialAccountFiling
from clearwatch.entrypoints.web.pages_review import filings_context
from clearwatch.services.monitor.cases import explain_case, list_cases
from clearwatch.services.monitor.delivery_approval import review_warnings
from clearwatch.services.monitor.filings import file_account
from tests.api.support import TestClient, audit_records, client_of, row_counts
from tests.scenarios.test_monitor_day import DAY
from tests.support.identities import gate_of
from tests.web.support import WEB, csrf_of, sign_in

REVIEW = f"{WEB}/sipf/review"


def _signed(
    app: Application, organisation: str, role: Role, user_id: str | None = None
) -> tuple[TestClient, str]:
    """A browser signed in as that person, and its session's CSRF token."""
    client = client_of(app)
    page = sign_in(client, app, organisation, role, user_id)
    assert page.status_code == 200, page.text
    return client, csrf_of(page.text)


def _case(app: Application, institution: str, code: str) -> int:
    cases = list_cases(gate=gate_of(app, "SIPF", Role.ANALYST), context=app.cases_context())
    return next(
        c.case_id for c in cases if c.institution_id == institution and c.finding_code.value == code
    )


def _status(app: Application, case_id: int) -> CaseStatus:
    cases = list_cases(gate=gate_of(app, "SIPF", Role.ANALYST), context=app.cases_context())
    return next(c.status for c in cases if c.case_id == case_id)


def _explained(app: Application, institution: str, code: str) -> int:
    case_id = _case(app, institution, code)
    explain_case(
        case_id=case_id, category="data_error", text="录入错误，已更正",
        responsible_party="清算部", attachments=(),
        gate=gate_of(app, institution, Role.OFFICER), context=app.cases_context(),
    )  # fmt: skip
    return case_id


def _warning(app: Application, institution: str) -> int:
    found = review_warnings(
        gate=gate_of(app, "SIPF", Role.ANALYST), context=app.delivery_context(),
        status=WarningStatus.PROPOSED,
    )  # fmt: skip
    return next(w.warning_id for w in found if w.institution_id == institution)


def _refused(answer: object, status: int, rule: str) -> None:
    assert answer.status_code == status, answer.text  # type: ignore[attr-defined]
    assert rule in answer.text  # type: ignore[attr-defined]


def test_the_review_page_is_sipfs_and_lists_what_waits_for_a_decision(
    review_day: Application,
) -> None:
    case_id = _explained(review_day, "B001", "F4")
    analyst, _ = _signed(review_day, "SIPF", Role.ANALYST)
    page = analyst.get(REVIEW)
    assert page.status_code == 200 and "<script" not in page.text
    assert f'id="case-{case_id}"' in page.text and "已说明 / explained" in page.text
    for field in ("decision", "criterion", "reason"):
        assert f'<label for="{field}-{case_id}">' in page.text
    warnings = page.text[page.text.index('id="proposed-warnings"') :]
    assert "B001" in warnings and "B002" in warnings and "tester" in warnings
    assert "/approve" not in warnings.split("</table>")[0]  # an analyst approves no warning
    for organisation, role in (("B001", Role.OFFICER), ("CN-SH", Role.BUREAU_ANALYST)):
        other, _ = _signed(review_day, organisation, role)
        head = max(r.seq for r in audit_records(review_day))
        _refused(other.get(REVIEW), 403, "policy_must_allow_action")
        assert [r.action for r in audit_records(review_day, head)] == ["access.denied"]


def test_an_analyst_decides_a_case_once_and_a_form_without_its_token_changes_nothing(
    review_day: Application,
) -> None:
    case_id = _case(review_day, "B001", "F4")
    analyst, token = _signed(review_day, "SIPF", Role.ANALYST)
    decide = f"{WEB}/sipf/cases/{case_id}/decide"
    accept = {"decision": "accept", "reason": "与银行流水一致"}
    before = row_counts(review_day)
    _refused(analyst.post(decide, data=accept), 403, "csrf_token_must_match")
    _refused(analyst.post(decide, data={**accept, "csrf_token": "forged"}), 403,
             "csrf_token_must_match")  # fmt: skip
    assert _status(review_day, case_id) is CaseStatus.EXPLAINED
    assert {k: v for k, v in row_counts(review_day).items() if not k.startswith("audit")} == {
        k: v for k, v in before.items() if not k.startswith("audit")
    }
    officer, officer_token = _signed(review_day, "B001", Role.OFFICER)
    _refused(officer.post(decide, data={**accept, "csrf_token": officer_token}), 403,
             "policy_must_allow_action")  # fmt: skip
    _refused(analyst.post(decide, data={**accept, "reason": " ", "csrf_token": token}), 422,
             "reason_must_be_given")  # fmt: skip
    done = analyst.post(decide, data={**accept, "csrf_token": token})
    assert done.status_code == 200 and done.url.path == REVIEW
    assert f'id="case-{case_id}"' not in done.text
    assert _status(review_day, case_id) is CaseStatus.CLOSED_ACCEPTED
    _refused(analyst.post(decide, data={**accept, "csrf_token": token}), 409,
             "case_move_must_be_allowed_from_its_status")  # fmt: skip


def test_an_escalation_counts_once_a_second_reviewer_approves_it(
    review_day: Application,
) -> None:
    case_id = _explained(review_day, "B001", "F6")
    reviewer, token = _signed(review_day, "SIPF", Role.REVIEWER)
    escalate = {"decision": "escalate", "criterion": "M4", "reason": "另有重大异常",
                "csrf_token": token}  # fmt: skip
    decided = reviewer.post(f"{WEB}/sipf/cases/{case_id}/decide", data=escalate)
    assert decided.status_code == 200 and f'id="escalated-{case_id}"' in decided.text
    assert f'<label for="approval-reason-{case_id}">' in decided.text
    approve = f"{WEB}/sipf/cases/{case_id}/approve"
    _refused(reviewer.post(approve, data={"reason": "同意", "csrf_token": token}), 422,
             "second_reviewer_must_not_be_who_escalated")  # fmt: skip
    assert _status(review_day, case_id) is CaseStatus.ESCALATED
    second, second_token = _signed(review_day, "SIPF", Role.REVIEWER, "sipf-reviewer-2")
    approved = second.post(approve, data={"reason": "复核同意", "csrf_token": second_token})
    assert approved.status_code == 200 and f'id="escalated-{case_id}"' not in approved.text
    assert _status(review_day, case_id) is CaseStatus.CLOSED_ESCALATED


def test_a_reviewer_approves_or_withdraws_a_warning_and_its_proposer_may_not(
    review_day: Application,
) -> None:
    b002 = _warning(review_day, "B002")
    proposer, proposer_token = _signed(review_day, "SIPF", Role.REVIEWER, "tester")
    _refused(proposer.post(f"{WEB}/sipf/warnings/{b002}/approve",
                           data={"csrf_token": proposer_token}),
             422, "approver_must_not_be_the_proposer")  # fmt: skip
    assert _warning(review_day, "B002") == b002  # still proposed
    # Another reviewer than the escalation's: a code is good for one sign-in only.
    reviewer, token = _signed(review_day, "SIPF", Role.REVIEWER, "sipf-reviewer-3")
    page = reviewer.get(REVIEW)
    assert f'id="approve-warning-{b002}"' in page.text
    assert f'<label for="withdraw-reason-{b002}">' in page.text
    approved = reviewer.post(f"{WEB}/sipf/warnings/{b002}/approve", data={"csrf_token": token})
    assert approved.status_code == 200 and f'id="warning-{b002}"' not in approved.text
    _refused(reviewer.post(f"{WEB}/sipf/warnings/{b002}/approve", data={"csrf_token": token}),
             409, "warning_must_be_proposed")  # fmt: skip
    b001 = _warning(review_day, "B001")
    withdraw = f"{WEB}/sipf/warnings/{b001}/withdraw"
    _refused(reviewer.post(withdraw, data={"reason": "", "csrf_token": token}), 422,
             "reason_must_be_given")  # fmt: skip
    withdrawn = reviewer.post(withdraw, data={"reason": "与另一预警重复", "csrf_token": token})
    assert withdrawn.status_code == 200 and f'id="warning-{b001}"' not in withdrawn.text
    _refused(reviewer.post(f"{WEB}/sipf/warnings/999999/approve", data={"csrf_token": token}),
             404, "warning_must_exist")  # fmt: skip
    analyst, analyst_token = _signed(review_day, "SIPF", Role.ANALYST)
    _refused(analyst.post(f"{WEB}/sipf/warnings/{b001}/approve",
                          data={"csrf_token": analyst_token}),
             403, "policy_must_allow_action")  # fmt: skip


def test_the_registry_officer_approves_or_rejects_pending_filings(
    review_day: Application,
) -> None:
    filed = [
        file_account(
            account=SpecialAccountFiling(number, "K001", "B001", "client_settlement", "CN-SH",
                                         DAY),
            gate=gate_of(review_day, "B001", Role.OFFICER), context=filings_context(review_day),
        ).filing_id
        for number in ("SA-101", "SA-102")
    ]  # fmt: skip
    analyst, analyst_token = _signed(review_day, "SIPF", Role.ANALYST)
    listed = analyst.get(REVIEW).text
    assert all(f'id="filing-{f}"' in listed for f in filed) and "***101" in listed
    assert "SA-101" not in listed  # masked: whole only as evidence asked for
    assert f'id="approve-filing-{filed[0]}"' not in listed  # only the registry officer decides
    _refused(analyst.post(f"{WEB}/sipf/filings/{filed[0]}/approve",
                          data={"csrf_token": analyst_token}),
             403, "policy_must_allow_action")  # fmt: skip
    officer, token = _signed(review_day, "SIPF", Role.REGISTRY_OFFICER)
    # The registry officer sees the number they approve, as evidence asked for (the policy's
    # `monitor.filings.evidence`), as on the CLI and the API.
    queue = officer.get(REVIEW)
    assert "SA-101" not in queue.text and 'id="show-evidence"' in queue.text
    whole = officer.get(REVIEW, params={"evidence": "true"}).text
    assert "SA-101" in _row_of(whole, f"filing-{filed[0]}") and 'id="evidence-shown"' in whole
    _refused(officer.post(f"{WEB}/sipf/filings/{filed[0]}/approve", data={}), 403,
             "csrf_token_must_match")  # fmt: skip
    approved = officer.post(f"{WEB}/sipf/filings/{filed[0]}/approve", data={"csrf_token": token})
    assert approved.status_code == 200 and f'id="filing-{filed[0]}"' not in approved.text
    reject = f"{WEB}/sipf/filings/{filed[1]}/reject"
    _refused(officer.post(reject, data={"reason": " ", "csrf_token": token}), 422,
             "reason_must_be_given")  # fmt: skip
    rejected = officer.post(reject, data={"reason": "开户行未确认", "csrf_token": token})
    assert rejected.status_code == 200 and not re.search(f'id="filing-{filed[1]}"', rejected.text)
    _refused(officer.post(reject, data={"reason": "again", "csrf_token": token}), 409,
             "filing_must_be_pending")  # fmt: skip
    _refused(officer.post(f"{WEB}/sipf/filings/999999/approve", data={"csrf_token": token}), 404,
             "filing_must_exist")  # fmt: skip


def _row_of(page: str, row_id: str) -> str:
    return page[page.index(f'id="{row_id}"') :].split("</tr>")[0]
