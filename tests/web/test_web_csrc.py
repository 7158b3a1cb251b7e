"""CSRC's special reports and a bureau's inbox over HTTP, after a major warning was approved
and delivered: CSRC lists its reports by date and level, opens one (its warning, its findings
masked, the delivered PDF to the byte) and sees nothing else of the monitor; the bureau reads
the notice in its inbox, linked to the warning; everyone else is refused, audited."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from clearwatch.bootstrap import DELIVERIES_DIR, Application
from clearwatch.domain.access.callers import local_caller
from clearwatch.domain.access.roles import Role
from clearwatch.domain.monitor.cases_notice import WarningStatus
from clearwatch.domain.shared.masking import MASK
from clearwatch.services.monitor.delivery import deliver_due
from clearwatch.services.monitor.delivery_approval import approve_warning, review_warnings
from tests.api.support import TestClient, audit_records, client_of, load_world, new_app, person
from tests.scenarios.test_monitor_day import DAY
from tests.web.support import WEB, sign_in

CSRC = f"{WEB}/csrc"
INBOX = f"{WEB}/bureau/inbox"


@pytest.fixture(scope="module")
def delivered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Application]:
    """The test market's day run (B002 500.00 short: a major warning for CITY-SZ, with a
    special report to CSRC), the warning approved by a reviewer and every delivery made."""
    root = tmp_path_factory.mktemp("web-csrc")
    app = new_app(root / "home")
    try:
        load_world(app, root / "market")
        reviewer = app.gate(local_caller(person(app, "SIPF", Role.REVIEWER)))
        [warning] = review_warnings(
            gate=reviewer, context=app.delivery_context(), status=WarningStatus.PROPOSED
        )
        assert warning.special_report and warning.route_to == "CITY-SZ"
        approve_warning(
            warning_id=warning.warning_id, gate=reviewer, context=app.delivery_context()
        )
        done = deliver_due(context=app.delivery_context(), worker="test-worker")
        assert done.delivered == done.attempted > 0 and done.parked == 0
        yield app
    finally:
        app.dispose()


def _signed(app: Application, organisation: str, role: Role) -> tuple[TestClient, str]:
    """A browser signed in as that person, and the page it landed on."""
    client = client_of(app)
    page = sign_in(client, app, organisation, role)
    assert page.status_code == 200, page.text
    return client, page.text


def _refused(answer: object, status: int, rule: str) -> None:
    assert answer.status_code == status, answer.text  # type: ignore[attr-defined]
    assert rule in answer.text  # type: ignore[attr-defined]


def _report_id(page: str) -> str:
    found = re.search(r'<tr id="report-(\d+)">', page)
    assert found is not None, page
    return found.group(1)


def test_csrc_lists_its_special_reports_and_opens_one_with_its_document(
    delivered: Application,
) -> None:
    csrc, home = _signed(delivered, "CSRC", Role.CSRC_VIEWER)
    assert "专项报告" in home and 'id="special-reports"' in home  # CSRC's first page
    by_date = home[home.index('id="reports-by-date"') :]
    assert f'<th scope="row">{DAY}</th>' in by_date and 'data-level="major">1<' in by_date
    rows = home[home.index('id="special-reports"') :]
    assert "B002" in rows and "重大预警 / major" in rows and 'data-fen="50000"' in rows
    assert ">500.00<" in rows and "CITY-SZ" in rows
    report = _report_id(home)
    page = csrc.get(f"{CSRC}/reports/{report}")
    assert page.status_code == 200 and "<script" not in page.text
    facts = page.text[page.text.index('id="report-facts"') :]
    assert "B002" in facts and "sipf-reviewer" in facts and "G3" in facts
    findings = page.text[page.text.index('id="findings"') :]
    assert "<td>F2</td>" in findings and f"<code>{MASK}" in findings  # the client's account
    with delivered.read_uow() as uow:
        [delivered_report] = uow.outbox.inbox(recipient="CSRC")
    account = delivered_report.body["findings"][0]["evidence"]["largest"][0]["ref"]
    assert account not in page.text  # masked: CSRC does not read the evidence itself
    document = csrc.get(f"{CSRC}/reports/{report}/document")
    assert document.status_code == 200
    assert document.headers["content-type"] == "application/pdf"
    assert "attachment" in document.headers["content-disposition"]
    home_dir = Path(delivered.settings.home)
    [shelved] = (home_dir / DELIVERIES_DIR / "CSRC").glob("*.pdf")
    assert document.content == shelved.read_bytes()  # the very document delivered
    english = csrc.get(CSRC, params={"lang": "en"})
    assert "Special reports (专项报告)" in english.text and "major (重大预警)" in english.text


def test_no_one_else_reads_the_special_reports_and_csrc_nothing_else(
    delivered: Application,
) -> None:
    csrc, home = _signed(delivered, "CSRC", Role.CSRC_VIEWER)
    report = _report_id(home)
    head = max(r.seq for r in audit_records(delivered))
    for organisation, role in (
        ("SIPF", Role.ANALYST),
        ("CITY-SZ", Role.BUREAU_HEAD),
        ("B002", Role.OFFICER),
    ):
        other, _ = _signed(delivered, organisation, role)
        _refused(other.get(CSRC), 403, "policy_must_allow_action")
        _refused(other.get(f"{CSRC}/reports/{report}"), 403, "policy_must_allow_action")
        _refused(other.get(f"{CSRC}/reports/{report}/document"), 403, "policy_must_allow_action")
    denied = [r for r in audit_records(delivered, head) if r.action == "access.denied"]
    assert len(denied) == 9
    # A report that is not CSRC's (the bureau's notice has an id too) is not found.
    _refused(csrc.get(f"{CSRC}/reports/999999"), 404, "page_must_exist")
    with delivered.read_uow() as uow:
        notices = [m.message_id for m in uow.outbox.inbox(recipient="CITY-SZ")]
    _refused(csrc.get(f"{CSRC}/reports/{notices[0]}"), 404, "page_must_exist")
    # Nothing else of the monitor: the day, the review, a bureau's inbox, an institution.
    for path in ("/sipf", "/sipf/review", "/bureau/inbox", "/bureau/reminders", "/institution"):
        _refused(csrc.get(f"{WEB}{path}"), 403, "policy_must_allow_action")


def test_a_bureau_reads_the_notices_in_its_inbox_linked_to_the_warning(
    delivered: Application,
) -> None:
    bureau, _ = _signed(delivered, "CITY-SZ", Role.BUREAU_ANALYST)
    page = bureau.get(INBOX)
    assert page.status_code == 200 and f'href="{INBOX}"' in page.text  # in the bureau's menu
    inbox = page.text[page.text.index('id="inbox"') :]
    assert "预警通知书 / notice" in inbox and 'data-fen="50000"' in inbox
    assert "sipf-reviewer" in inbox and "专项报告" not in inbox  # its notice, not CSRC's
    link = f'href="{WEB}/warnings/{DAY}/B002"'
    assert link in inbox
    assert bureau.get(f"{WEB}/warnings/{DAY}/B002").status_code == 200
    shanghai, _ = _signed(delivered, "CN-SH", Role.BUREAU_ANALYST)
    empty = shanghai.get(INBOX)
    assert empty.status_code == 200 and 'id="inbox"' not in empty.text and "B002" not in empty.text
    officer, _ = _signed(delivered, "B002", Role.OFFICER)  # reads its copy on its own page
    _refused(officer.get(INBOX), 403, "policy_must_allow_action")
