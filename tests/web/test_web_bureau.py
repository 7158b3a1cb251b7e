"""A bureau's pages over HTTP: the findings and cases behind a warning routed to it, the verbal
reminders it carries out (marked done once, with a note), a month's summary by level; another
bureau's things are not found."""

from __future__ import annotations

import re

import pytest

from clearwatch.bootstrap import Application
from clearwatch.domain.access.roles import Role
from clearwatch.domain.monitor.reporting import ReportingCategory
from clearwatch.domain.shared.masking import MASK
from tests.api.support import TestClient, approve_warnings, audit_records, client_of, row_counts
from tests.scenarios.test_cases_review import REVIEW_TIME
from tests.scenarios.test_monitor_day import DAY
from tests.web.support import WEB, csrf_of, sign_in

REMINDERS = f"{WEB}/bureau/reminders"
MONTH = f"{WEB}/bureau/month"


def _signed(app: Application, organisation: str, role: Role) -> tuple[TestClient, str]:
    client = client_of(app)
    page = sign_in(client, app, organisation, role)
    assert page.status_code == 200, page.text
    return client, csrf_of(page.text)


def _refused(answer: object, status: int, rule: str) -> None:
    assert answer.status_code == status, answer.text  # type: ignore[attr-defined]
    assert rule in answer.text  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def _approved(review_day: Application) -> None:
    """A bureau reads a warning once a second analyst approved it: here, all of the day's (the
    first test approves them; the module shares the day)."""
    approve_warnings(review_day)


def test_a_warning_shows_its_findings_masked_and_the_cases_behind_it(
    review_day: Application,
) -> None:
    bureau, _ = _signed(review_day, "CITY-SZ", Role.BUREAU_ANALYST)
    page = bureau.get(f"{WEB}/warnings/{DAY}/B002")
    assert page.status_code == 200
    findings = page.text[page.text.index('id="findings"') :]
    assert "<td>F2</td>" in findings and "499.99" in findings
    assert f"<code>{MASK}" in findings  # the overdrawn client's fund account, masked
    cases = page.text[page.text.index('id="warning-cases"') :]
    assert "<td>F2</td>" in cases and "待说明 / open" in cases and 'data-fen="49999"' in cases
    other, _ = _signed(review_day, "CN-SH", Role.BUREAU_ANALYST)
    assert other.get(f"{WEB}/warnings/{DAY}/B002").status_code == 404
    own = other.get(f"{WEB}/warnings/{DAY}/B001").text
    assert {"F3", "F4", "F6"} <= set(re.findall(r'<tr id="case-\d+"><td>\d+</td><td>(F\d)', own))


def test_a_bureau_marks_its_reminder_done_once_and_another_bureau_cannot(
    review_day: Application,
) -> None:
    with review_day.uow() as uow:
        assert uow.reporting.record_occurrence(
            institution_id="B002", category=ReportingCategory.BATCH_ERROR, business_date=DAY,
            package_kind="broker_daily", occurred_at=REVIEW_TIME, detail="rejected (test)",
        )  # fmt: skip
        uow.commit()
    bureau, token = _signed(review_day, "CITY-SZ", Role.BUREAU_ANALYST)
    page = bureau.get(REMINDERS)
    found = re.search(r'id="reminder-(\d+)"', page.text)
    assert page.status_code == 200 and found is not None
    reminder = found.group(1)
    assert f'<label for="note-{reminder}">' in page.text and "B002" in page.text
    done = f"{WEB}/bureau/reminders/{reminder}/done"
    note = {"note": "已电话提醒张经理"}
    before = row_counts(review_day)["monitor_reminder_marks"]
    _refused(bureau.post(done, data=note), 403, "csrf_token_must_match")
    other, other_token = _signed(review_day, "CN-SH", Role.BUREAU_ANALYST)
    assert 'id="reminders"' not in other.get(REMINDERS).text
    head = max(r.seq for r in audit_records(review_day))
    _refused(other.post(done, data={**note, "csrf_token": other_token}), 404, "page_must_exist")
    assert [r.action for r in audit_records(review_day, head)] == ["access.denied"]
    # No reminder at all is answered as another bureau's is: nothing tells which ids exist.
    _refused(other.post(f"{REMINDERS}/999999/done", data={**note, "csrf_token": other_token}),
             404, "page_must_exist")  # fmt: skip
    officer, officer_token = _signed(review_day, "B002", Role.OFFICER)
    _refused(officer.post(done, data={**note, "csrf_token": officer_token}), 403,
             "policy_must_allow_action")  # fmt: skip
    _refused(bureau.post(done, data={"note": " ", "csrf_token": token}), 422,
             "reminder_note_must_be_given")  # fmt: skip
    assert row_counts(review_day)["monitor_reminder_marks"] == before
    marked = bureau.post(done, data={**note, "csrf_token": token})
    assert marked.status_code == 200 and "已电话提醒张经理" in marked.text
    assert "city-sz-bureau_analyst" in marked.text and f'id="note-{reminder}"' not in marked.text
    _refused(bureau.post(done, data={**note, "csrf_token": token}), 409,
             "reminder_must_not_be_done_already")  # fmt: skip


def _totals(page: str) -> dict[str, int]:
    return {level: int(count) for level, count in re.findall(r'data-level="([a-z]+)">(\d+)<', page)}


def test_a_months_summary_counts_the_bureaus_warnings_by_level(review_day: Application) -> None:
    bureau, _ = _signed(review_day, "CITY-SZ", Role.BUREAU_HEAD)
    november = bureau.get(MONTH, params={"month": "2026-11"})
    assert november.status_code == 200
    assert _totals(november.text) == {"major": 0, "general": 1, "attention": 0, "total": 1}
    assert "2026-11-20" in november.text and 'href="/web/bureau/month?month=2026-10"' in (
        november.text
    )
    assert _totals(bureau.get(MONTH, params={"month": "2026-10"}).text)["total"] == 0
    _refused(bureau.get(MONTH, params={"month": "November"}), 422, "month_must_be_yyyy_mm")
    shanghai, _ = _signed(review_day, "CN-SH", Role.BUREAU_ANALYST)
    assert _totals(shanghai.get(MONTH, params={"month": "2026-11"}).text)["total"] == 1
    analyst, _ = _signed(review_day, "B001", Role.SUBMITTER)
    _refused(analyst.get(MONTH), 403, "policy_must_allow_action")
