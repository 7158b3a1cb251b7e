"""An institution's filings and messages pages over HTTP: it files and closes its own special
accounts and sees their approval; it reads its reminders and the copies of its warnings; it
sees nothing of another institution's; its explanation carries attachments as large as the
API takes."""

from __future__ import annotations

import hashlib
import re
import secrets

from clearwatch.bootstrap import Application
from clearwatch.domain.access.roles import Role
from clearwatch.domain.monitor.cases import CaseStatus, attachment_bytes_max
from clearwatch.domain.monitor.cases_notice import WarningStatus
from clearwatch.domain.monitor.reporting import ReportingCategory
from clearwatch.entrypoints.web.pages_review import filings_context
from clearwatch.services.monitor.cases import list_cases, show_case
from clearwatch.services.monitor.delivery import deliver_due
from clearwatch.services.monitor.delivery_approval import approve_warning, review_warnings
from clearwatch.services.monitor.filings import approve_filing, list_filings
from tests.api.support import TestClient, audit_records, client_of, row_counts
from tests.scenarios.test_cases_review import REVIEW_TIME
from tests.scenarios.test_monitor_day import DAY
from tests.support.identities import gate_of
from tests.web.support import WEB, csrf_of, sign_in

FILINGS = f"{WEB}/institution/filings"
MESSAGES = f"{WEB}/institution/messages"
NEW_ACCOUNT = {
    "account_no": "SA-201", "bank_id": "K001", "broker_id": "B001",
    "purpose": "option_margin", "branch_region": "CN-SH", "filed_on": "2026-11-20",
}  # fmt: skip


def _signed(app: Application, organisation: str, role: Role) -> tuple[TestClient, str]:
    client = client_of(app)
    page = sign_in(client, app, organisation, role)
    assert page.status_code == 200, page.text
    return client, csrf_of(page.text)


def _refused(answer: object, status: int, rule: str) -> None:
    assert answer.status_code == status, answer.text  # type: ignore[attr-defined]
    assert rule in answer.text  # type: ignore[attr-defined]


def test_an_officer_files_an_account_and_sees_it_approved(review_day: Application) -> None:
    officer, token = _signed(review_day, "B001", Role.OFFICER)
    page = officer.get(FILINGS)
    assert page.status_code == 200 and "<script" not in page.text
    for field in ("account_no", "bank_id", "broker_id", "purpose", "branch_region", "filed_on",
                  "close_account_no", "close_reason"):  # fmt: skip
        assert f'<label for="{field}">' in page.text and f'id="{field}"' in page.text
    before = row_counts(review_day)
    _refused(officer.post(FILINGS, data=NEW_ACCOUNT), 403, "csrf_token_must_match")
    assert row_counts(review_day)["monitor_filings"] == before["monitor_filings"]
    filed = officer.post(FILINGS, data={**NEW_ACCOUNT, "csrf_token": token})
    assert filed.status_code == 200 and filed.url.path == FILINGS
    assert "***201" in filed.text and "待审批 / pending" in filed.text
    # The number is masked unless its officer asks for it as evidence (the policy allows it).
    assert "SA-201" not in filed.text and 'id="show-evidence"' in filed.text
    assert "SA-201" in officer.get(FILINGS, params={"evidence": "true"}).text
    viewer, _ = _signed(review_day, "B001", Role.VIEWER)  # lists its filings, masked only
    assert "***201" in viewer.get(FILINGS).text
    head = max(r.seq for r in audit_records(review_day))
    refused = viewer.get(FILINGS, params={"evidence": "true"})
    assert refused.status_code == 403 and "SA-201" not in refused.text
    assert [(r.action, r.object_ref) for r in audit_records(review_day, head)] == [
        ("access.denied", "action:monitor.filings.evidence")
    ]
    _refused(officer.post(FILINGS, data={**NEW_ACCOUNT, "csrf_token": token}), 409,
             "account_must_not_be_filed_twice")  # fmt: skip
    _refused(officer.post(FILINGS, data={**NEW_ACCOUNT, "filed_on": "20.11.2026",
                                         "csrf_token": token}),
             422, "filed_on_must_be_a_date")  # fmt: skip
    [filing] = [
        f
        for f in list_filings(gate=gate_of(review_day, "B001", Role.OFFICER),
                              context=filings_context(review_day))
        if f.account.account_no == "SA-201"
    ]  # fmt: skip
    approve_filing(
        filing_id=filing.filing_id, gate=gate_of(review_day, "SIPF", Role.REGISTRY_OFFICER),
        context=filings_context(review_day),
    )  # fmt: skip
    assert "已批准 / approved" in officer.get(FILINGS).text
    closing = officer.post(
        f"{FILINGS}/close", data={"account_no": "SA-201", "reason": "账户销户", "csrf_token": token}
    )
    assert closing.status_code == 200 and "账户销户" in closing.text
    assert "销户 / close" in closing.text


def test_another_institutions_account_is_refused_and_its_filings_are_not_shown(
    review_day: Application,
) -> None:
    other, token = _signed(review_day, "B002", Role.OFFICER)
    assert "SA-201" not in other.get(FILINGS).text
    assert "***201" not in other.get(FILINGS, params={"evidence": "true"}).text
    head = max(r.seq for r in audit_records(review_day))
    before = row_counts(review_day)["monitor_filings"]
    _refused(other.post(FILINGS, data={**NEW_ACCOUNT, "account_no": "SA-202",
                                       "csrf_token": token}),
             403, "filing_must_be_for_own_institution")  # fmt: skip
    assert row_counts(review_day)["monitor_filings"] == before
    assert [r.action for r in audit_records(review_day, head)] == ["access.denied"]
    # Neither a bureau nor SIPF has an institution's filing page.
    bureau, _ = _signed(review_day, "CN-SH", Role.BUREAU_ANALYST)
    _refused(bureau.get(FILINGS), 403, "policy_must_allow_action")


def test_an_institution_reads_its_reminders_and_its_warning_copies_only(
    review_day: Application,
) -> None:
    with review_day.uow() as uow:
        assert uow.reporting.record_occurrence(
            institution_id="B002", category=ReportingCategory.BATCH_ERROR, business_date=DAY,
            package_kind="broker_daily", occurred_at=REVIEW_TIME, detail="rejected (test)",
        )  # fmt: skip
        uow.commit()
    reviewer = gate_of(review_day, "SIPF", Role.REVIEWER)
    proposed = review_warnings(
        gate=reviewer, context=review_day.delivery_context(), status=WarningStatus.PROPOSED
    )
    b002 = next(w for w in proposed if w.institution_id == "B002")
    approve_warning(warning_id=b002.warning_id, gate=reviewer,
                    context=review_day.delivery_context())  # fmt: skip
    deliver_due(context=review_day.delivery_context(), worker="test-worker")
    viewer, _ = _signed(review_day, "B002", Role.VIEWER)
    page = viewer.get(MESSAGES)
    assert page.status_code == 200
    reminders = page.text[page.text.index('id="reminders"') :]
    assert "B002" in reminders and "2026-11-25 17:00" in reminders  # due: 2nd business day
    assert "/done" not in page.text  # the bureau marks it done, not the institution
    inbox = page.text[page.text.index('id="inbox"') :]
    assert "抄送 / copy" in inbox and 'data-fen="49999"' in inbox and "499.99" in inbox
    other, _ = _signed(review_day, "B001", Role.OFFICER)
    shown = other.get(MESSAGES).text
    assert 'id="reminders"' not in shown and 'id="inbox"' not in shown
    analyst, _ = _signed(review_day, "SIPF", Role.ANALYST)
    _refused(analyst.get(MESSAGES), 403, "policy_must_allow_action")  # SIPF has no inbox


def _explain(client: TestClient, case_id: int, token: str, attachment: bytes) -> object:
    return client.post(
        f"{WEB}/institution/cases/{case_id}/explain",
        data={"category": "data_error", "text": "见附件：银行对账单", "responsible_party": "清算部",
              "csrf_token": token},
        files=[("attachments", ("statement.pdf", attachment, "application/pdf"))],
    )  # fmt: skip


def test_an_explanation_carries_attachments_up_to_the_apis_limit_not_a_json_bodys(
    review_day: Application,
) -> None:
    officer, token = _signed(review_day, "B001", Role.OFFICER)
    cases = list_cases(gate=gate_of(review_day, "B001", Role.OFFICER),
                       context=review_day.cases_context(), institution_id="B001")  # fmt: skip
    first, second = sorted(c.case_id for c in cases if c.status is CaseStatus.OPEN)[:2]
    statement = secrets.token_bytes(2 * 1024 * 1024)  # twice a JSON body's limit
    explained = _explain(officer, first, token, statement)
    assert explained.status_code == 200, explained.text  # followed back to the page
    assert explained.url.path == f"{WEB}/institution"
    _, events = show_case(case_id=first, gate=gate_of(review_day, "B001", Role.OFFICER),
                          context=review_day.cases_context())  # fmt: skip
    [attached] = [a for e in events if e.explanation for a in e.explanation.attachments]
    assert attached.sha256 == hashlib.sha256(statement).hexdigest()
    before = row_counts(review_day)
    too_large = _explain(officer, second, token, bytes(attachment_bytes_max + 1))
    _refused(too_large, 422, "attachment_must_not_be_too_large")
    assert row_counts(review_day) == before


def test_only_the_upload_page_allows_a_script_and_only_its_own_file(
    review_day: Application,
) -> None:
    officer, _ = _signed(review_day, "B001", Role.OFFICER)
    page = officer.get(f"{WEB}/institution")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "connect-src 'self'" in policy
    assert "default-src 'none'" in policy and "unsafe" not in policy
    scripts = re.findall(r"<script[^>]*>", page.text)
    assert scripts == [f'<script src="{WEB}/static/upload_progress.js" defer>']  # none inline
    assert 'data-upload-progress="upload-progress"' in page.text
    assert '<progress id="upload-progress" max="100" value="0" hidden>' in page.text
    script = officer.get(f"{WEB}/static/upload_progress.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert "XMLHttpRequest" in script.text and script.headers["x-content-type-options"] == "nosniff"
    # Every other page keeps the policy that allows no script at all.
    assert "script-src" not in officer.get(FILINGS).headers["content-security-policy"]
