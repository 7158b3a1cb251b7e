"""A broker's back office pages over HTTP: its own batches and their status, end of day by
step, breaks matched or explained and closed by a checker, intraday halts and the request to
lift one; nobody else's."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import date
from pathlib import Path

import pytest

from clearwatch.bootstrap import Application
from clearwatch.domain.access.roles import Role
from clearwatch.services.backoffice.eod_progress import eod_progress
from tests.api.support import (
    API,
    PASSWORD,
    TestClient,
    audit_records,
    bearer,
    client_of,
    new_app,
    person,
    row_counts,
    tar_of,
)
from tests.backoffice_batches import BROKER, static_batch
from tests.integration.backoffice.eod_days import DAY_1
from tests.integration.backoffice.test_reconciliation import _reconciled_day
from tests.support.identities import gate_of
from tests.web.conftest import _fresh_schema
from tests.web.support import WEB, csrf_of, sign_in


def test_a_back_office_sees_its_batches_and_no_one_elses(
    browser: TestClient, web_app: Application, tmp_path: Path
) -> None:
    operator = bearer(web_app, person(web_app, "BO:B001", Role.OPERATOR))
    body = tar_of(static_batch(tmp_path / "static"))
    imported = browser.post(f"{API}/backoffice/batches", content=body, headers=operator)
    assert imported.status_code == 200, imported.text
    landed = sign_in(browser, web_app, "BO:B001", Role.AUDITOR)
    assert landed.url.path == f"{WEB}/backoffice"
    row = landed.text[landed.text.index('id="batch-S1"') :].split("</tr>")[0]
    assert "static" in row and "applied" in row
    browser.cookies.clear()
    other = sign_in(browser, web_app, "BO:B002", Role.OPERATOR)
    assert 'id="batch-S1"' not in other.text and 'id="batches"' not in other.text
    browser.cookies.clear()
    sign_in(browser, web_app, "B001", Role.OFFICER)
    head = max(r.seq for r in audit_records(web_app))
    refused = browser.get(f"{WEB}/backoffice")
    assert refused.status_code == 403 and "policy_must_allow_action" in refused.text
    assert [r.action for r in audit_records(web_app, head)] == ["access.denied"]


# -- end of day, breaks, halts, maker-checker: one reconciled day shared in order -------------

BACKOFFICE = f"{WEB}/backoffice"
APPROVALS = f"{WEB}/approvals"


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def reconciled_day(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Application]:
    """B001's day 1 run to its end and reconciled against statements in which the bank holds
    0.01 more for F002 (one break, `client_vs_bank`); client F001 halted by the conservation
    check that morning (written as the check writes it)."""
    root = tmp_path_factory.mktemp("web-backoffice")
    with ExitStack() as stack:
        url = stack.enter_context(_fresh_schema()) if request.param == "postgres" else None
        app = new_app(root / "home", url)
        stack.callback(app.dispose)
        _reconciled_day(app, app.backoffice_tools, root, nudge={"F002": 1})
        with app.uow() as uow:
            uow.intraday.add_halt(
                broker_id=BROKER, business_date=date.fromisoformat(DAY_1), fund_account="F001",
                evidence={"rule": "nodes_available_must_not_exceed_central_available"},
                raised_at=app.clock.now(), raised_by="fast-1", cause="conservation:test",
            )  # fmt: skip
            uow.commit()
        yield app


def _signed(
    app: Application, organisation: str, role: Role, user_id: str | None = None
) -> tuple[TestClient, str]:
    client = client_of(app)
    page = sign_in(client, app, organisation, role, user_id)
    assert page.status_code == 200, page.text
    return client, csrf_of(page.text)


def _requests_and_break_events(app: Application) -> tuple[int, int]:
    counts = row_counts(app)
    return counts["access_approval_requests"], counts["bo_break_events"]


def _row(page: str, row_id: str) -> str:
    return page[page.index(f'id="{row_id}"') :].split("</tr>")[0]


def test_end_of_day_is_shown_by_step_with_its_times_and_outputs(
    reconciled_day: Application,
) -> None:
    auditor, _ = _signed(reconciled_day, "BO:B001", Role.AUDITOR)
    page = auditor.get(f"{BACKOFFICE}/eod", params={"date": DAY_1}).text
    steps = re.findall(r'id="step-([a-z_]+)"', page)
    assert steps == ["import", "settle_csdc", "check", "statements", "csdc_settlement",
                     "reconciliation", "package"]  # fmt: skip
    reconciliation = _row(page, "step-reconciliation")
    assert "已完成" in reconciliation and "北京时间" in reconciliation
    assert "<code>reconciliation.csv</code>" in reconciliation
    assert ">2</td>" in reconciliation  # run again once the statements came
    assert "<code>" in _row(page, "step-package")
    # The times shown are the step log's: each completion after its start.
    steps_read = eod_progress(
        gate=gate_of(reconciled_day, "BO:B001", Role.AUDITOR), uow=reconciled_day.read_uow(),
        broker_id=BROKER, business_date=date.fromisoformat(DAY_1),
    )  # fmt: skip
    assert all(
        s.started_at is not None and s.completed_at is not None and s.started_at <= s.completed_at
        for s in steps_read
    )
    other_day = auditor.get(f"{BACKOFFICE}/eod", params={"date": "2026-11-18"}).text
    assert other_day.count("未开始") == 7
    english = auditor.get(f"{BACKOFFICE}/eod", params={"date": DAY_1, "lang": "en"}).text
    assert "reconciliation (对账)" in english and "completed" in english
    stranger, _ = _signed(reconciled_day, "BO:B002", Role.AUDITOR)
    assert 'id="step-import"' in (theirs := stranger.get(f"{BACKOFFICE}/eod?date={DAY_1}").text)
    assert "已完成" not in theirs  # B002's own (empty) log, never B001's
    officer, _ = _signed(reconciled_day, "B001", Role.OFFICER)
    head = max(r.seq for r in audit_records(reconciled_day))
    refused = officer.get(f"{BACKOFFICE}/eod")
    assert refused.status_code == 403 and "policy_must_allow_action" in refused.text
    assert [r.action for r in audit_records(reconciled_day, head)] == ["access.denied"]


def test_a_break_is_explained_by_an_operator_and_closed_by_a_checker_never_its_maker(
    reconciled_day: Application,
) -> None:
    both = person(reconciled_day, "BO:B001", Role.CHECKER, "bo-both", password=PASSWORD)
    person(reconciled_day, "BO:B001", Role.OPERATOR, both)
    maker, token = _signed(reconciled_day, "BO:B001", Role.CHECKER, both)
    page = maker.get(f"{BACKOFFICE}/breaks").text
    (break_id,) = re.findall(r'id="break-(\d+)"', page)
    row = _row(page, f"break-{break_id}")
    assert "***02" in row and "客户资金与银行存管" in row and 'data-fen="-1"' in row
    assert "-0.01" in row and "未处理 / open" in row
    # The client is masked unless asked for as evidence (its checker and operator may).
    assert "F002" not in page
    whole = maker.get(f"{BACKOFFICE}/breaks", params={"evidence": "true"}).text
    assert "F002" in _row(whole, f"break-{break_id}")
    form = {"resolution": "explained", "reason": "the bank's interest credit", "csrf_token": token}
    before = _requests_and_break_events(reconciled_day)
    forged = maker.post(f"{BACKOFFICE}/breaks/{break_id}/resolve", data={**form, "csrf_token": ""})
    assert forged.status_code == 403 and _requests_and_break_events(reconciled_day) == before
    auditor, auditor_token = _signed(reconciled_day, "BO:B001", Role.AUDITOR)
    head = max(r.seq for r in audit_records(reconciled_day))
    denied = auditor.post(f"{BACKOFFICE}/breaks/{break_id}/resolve",
                          data={**form, "csrf_token": auditor_token})  # fmt: skip
    assert denied.status_code == 403 and "policy_must_allow_action" in denied.text
    assert [r.action for r in audit_records(reconciled_day, head)] == ["access.denied"]
    other, other_token = _signed(reconciled_day, "BO:B002", Role.OPERATOR)
    foreign = other.post(f"{BACKOFFICE}/breaks/{break_id}/resolve",
                         data={**form, "csrf_token": other_token})  # fmt: skip
    assert foreign.status_code == 404 and _requests_and_break_events(reconciled_day) == before
    asked = maker.post(f"{BACKOFFICE}/breaks/{break_id}/resolve", data=form)
    assert asked.status_code == 200 and "待复核 / pending" in _row(asked.text, f"break-{break_id}")
    request_id = re.findall(r"#(\d+)</a>", _row(asked.text, f"break-{break_id}"))[0]
    own = maker.post(f"{APPROVALS}/{request_id}/approve", data={"csrf_token": token})
    assert own.status_code == 422 and "checker_must_not_be_maker" in own.text
    queue = maker.get(APPROVALS).text
    assert "这是您自己的申请" in queue and f'id="approve-request-{request_id}"' not in queue
    assert 'id="nav-breaks"' in queue  # the back office's pages, one click away
    assert "subject: ***02" in _row(queue, f"request-{request_id}") and "F002" not in queue
    checker, checker_token = _signed(reconciled_day, "BO:B001", Role.CHECKER)
    checker.post(f"{APPROVALS}/{request_id}/approve", data={"csrf_token": checker_token})
    assert f'id="break-{break_id}"' not in checker.get(f"{BACKOFFICE}/breaks").text
    closed = checker.get(f"{BACKOFFICE}/breaks", params={"all": "true"}).text
    assert "已关闭 / closed" in _row(closed, f"break-{break_id}")


def test_a_halt_is_shown_with_who_and_why_and_its_lift_is_an_approved_override(
    reconciled_day: Application,
) -> None:
    operator, token = _signed(reconciled_day, "BO:B001", Role.OPERATOR)
    page = operator.get(f"{BACKOFFICE}/halts", params={"date": DAY_1}).text
    (halt_id,) = re.findall(r'id="halt-(\d+)"', page)
    row = _row(page, f"halt-{halt_id}")
    assert "***01" in row and "fast-1" in row and "暂停中 / active" in row
    assert "nodes_available_must_not_exceed_central_available" in row
    # The client is masked unless asked for as evidence by whom the policy lets read it.
    assert "F001" not in page and 'id="show-evidence"' in page
    whole = operator.get(f"{BACKOFFICE}/halts", params={"date": DAY_1, "evidence": "true"})
    assert "F001" in _row(whole.text, f"halt-{halt_id}") and 'id="evidence-shown"' in whole.text
    auditor, _ = _signed(reconciled_day, "BO:B001", Role.AUDITOR, "bo-halts-auditor")
    assert 'id="show-evidence"' not in auditor.get(f"{BACKOFFICE}/halts?date={DAY_1}").text
    head = max(r.seq for r in audit_records(reconciled_day))
    refused = auditor.get(f"{BACKOFFICE}/halts", params={"date": DAY_1, "evidence": "true"})
    assert refused.status_code == 403 and "F001" not in refused.text
    assert [(r.action, r.object_ref) for r in audit_records(reconciled_day, head)] == [
        ("access.denied", "action:broker.evidence")
    ]
    lift = f"{BACKOFFICE}/halts/{DAY_1}/{halt_id}/lift"
    empty = operator.post(lift, data={"reason": " ", "csrf_token": token})
    assert empty.status_code == 422 and "halt_lift_must_have_reason" in empty.text
    other, other_token = _signed(reconciled_day, "BO:B002", Role.OPERATOR)
    assert 'id="halts"' not in other.get(f"{BACKOFFICE}/halts?date={DAY_1}").text
    head = max(r.seq for r in audit_records(reconciled_day))
    foreign = other.post(lift, data={"reason": "mine now", "csrf_token": other_token})
    assert foreign.status_code == 404
    assert [r.action for r in audit_records(reconciled_day, head)] == ["access.denied"]
    asked = operator.post(
        lift, data={"reason": "the node's figures were re-read", "csrf_token": token}
    )
    assert asked.status_code == 200 and asked.url.path == APPROVALS
    assert "特批 / override" in asked.text
    request_id = re.findall(r'id="request-(\d+)"', asked.text)[0]
    # The queue names the client masked, subject and what is asked alike.
    queued = _row(asked.text, f"request-{request_id}")
    assert "F001" not in queued and f"halt-lift:B001:***01:{DAY_1}" in queued
    again = operator.post(lift, data={"reason": "twice", "csrf_token": token})
    assert again.status_code in (409, 422) and "request_must_not_duplicate_pending" in again.text
    assert "解除待复核" in _row(operator.get(f"{BACKOFFICE}/halts?date={DAY_1}").text,
                                f"halt-{halt_id}")  # fmt: skip
    # A checker of its own: a code is used once, and the break's checker signed in just now.
    checker, checker_token = _signed(reconciled_day, "BO:B001", Role.CHECKER, "bo-halts-checker")
    rejected = checker.post(f"{APPROVALS}/{request_id}/reject", data={"csrf_token": checker_token})
    assert rejected.status_code == 422 and "rejection_must_have_reason" in rejected.text
    # The checker sees whom they free, as evidence asked for (the policy lets a checker).
    whole = checker.get(APPROVALS, params={"evidence": "true"}).text
    assert f"halt-lift:B001:F001:{DAY_1}" in _row(whole, f"request-{request_id}")
    checker.post(f"{APPROVALS}/{request_id}/approve", data={"csrf_token": checker_token})
    shown = _row(checker.get(f"{BACKOFFICE}/halts?date={DAY_1}").text, f"halt-{halt_id}")
    # Approving in the queue lifts it (issue 16): the nodes read the lift with the halts.
    assert "已解除 / lifted" in shown and "bo-halts-checker" in shown
    with reconciled_day.uow() as uow:
        assert "F001" not in uow.intraday.halted(
            broker_id="B001", business_date=date.fromisoformat(DAY_1)
        )
