"""Warning approval and delivery through the real services, a real webhook receiver on loopback.

A graded warning is proposed; nothing leaves before a reviewer other than the proposer approves
it; the approval writes the outbox; the worker delivers each (warning, recipient, channel) once,
retrying with back-off and parking after its limit.
"""

from __future__ import annotations

import io
import json
import shutil
import stat
import subprocess
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook

from clearwatch.adapters.clock import FixedClock
from clearwatch.adapters.delivery.notice_documents import NoticeDocuments
from clearwatch.adapters.delivery.webhook import (
    REQUEST_MUST_NOT_BE_REPLAYED,
    SIGNATURE_MUST_MATCH,
    TIMESTAMP_MUST_BE_WITHIN_WINDOW,
    signed_headers,
    verify_request,
)
from clearwatch.adapters.delivery.webhooks_file import FileWebhookDirectory
from clearwatch.adapters.engine.monitor.backends import DuckDBFindingsEngine
from clearwatch.adapters.rules_file import load_monitoring_rules
from clearwatch.bootstrap import Application
from clearwatch.domain.access.roles import Role
from clearwatch.domain.monitor.cases_notice import Channel, DeliveryEvent, WarningStatus
from clearwatch.domain.shared.errors import Refused
from clearwatch.services.access.authorize import PolicyDenied
from clearwatch.services.monitor.cases_review import decide_case
from clearwatch.services.monitor.delivery import (
    deliver_due,
    list_deliveries,
    notice_body,
    read_inbox,
)
from clearwatch.services.monitor.delivery_approval import (
    approve_warning,
    review_warnings,
    withdraw_warning,
)
from clearwatch.services.monitor.delivery_ports import (
    DeliveryContext,
    Endpoint,
    InboxMessage,
    ReviewWarning,
)
from clearwatch.services.monitor.run_day import RunDayContext, run_day
from tests.scenarios.test_cases_review import (
    REVIEW_TIME,
    case_id,
    explain,
    gap_world,
    new_monitor,
    overdraft_world,
)
from tests.scenarios.test_monitor_day import DAY, Monitor
from tests.support.identities import gate_of
from tests.support.webhook_receiver import SECRET, free_port, receiver

APPROVED_AT = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)


@pytest.fixture
def monitor(app: Application, clock: FixedClock, tmp_path: Path) -> Monitor:
    """The monitor of the case scenarios, on SQLite and PostgreSQL."""
    return new_monitor(app, clock, tmp_path)


def market(monitor: Monitor) -> None:
    """B001 major (M1: CN-SH, B001, CSRC) and B002 general (G3: CITY-SZ, B002)."""
    world = gap_world()
    world["B002"] = overdraft_world()["B002"]
    monitor.submit_world(world)
    monitor.run()


def delivery(monitor: Monitor, **changes: object) -> DeliveryContext:
    clock = FixedClock(APPROVED_AT)
    return replace(monitor.app.delivery_context(clock), **changes)  # type: ignore[arg-type]


def warning(monitor: Monitor, context: DeliveryContext, institution: str) -> ReviewWarning:
    analyst = gate_of(monitor.app, "SIPF", Role.ANALYST)
    return next(
        w for w in review_warnings(gate=analyst, context=context) if w.institution_id == institution
    )


def approve(monitor: Monitor, context: DeliveryContext, institution: str) -> None:
    reviewer = gate_of(monitor.app, "SIPF", Role.REVIEWER)
    approve_warning(
        warning_id=warning(monitor, context, institution).warning_id,
        gate=reviewer,
        context=context,
    )


def inbox_of(
    monitor: Monitor, context: DeliveryContext, organisation: str, role: Role
) -> list[InboxMessage]:
    return read_inbox(gate=gate_of(monitor.app, organisation, role), context=context)


def test_a_warning_not_approved_is_never_delivered(monitor: Monitor) -> None:
    market(monitor)
    context = delivery(monitor)
    statuses = {
        w.institution_id: w.status
        for w in review_warnings(gate=gate_of(monitor.app, "SIPF", Role.ANALYST), context=context)
    }
    assert statuses == {"B001": WarningStatus.PROPOSED, "B002": WarningStatus.PROPOSED}
    assert deliver_due(context=context, worker="w1").attempted == 0
    assert inbox_of(monitor, context, "CN-SH", Role.BUREAU_HEAD) == []


def test_a_withdrawn_warning_is_never_delivered_and_needs_a_reason(monitor: Monitor) -> None:
    market(monitor)
    context = delivery(monitor)
    reviewer = gate_of(monitor.app, "SIPF", Role.REVIEWER)
    target = warning(monitor, context, "B002").warning_id
    with pytest.raises(Refused) as no_reason:
        withdraw_warning(warning_id=target, reason=" ", gate=reviewer, context=context)
    assert no_reason.value.rule == "reason_must_be_given"
    withdraw_warning(warning_id=target, reason="透支已于次日补足", gate=reviewer, context=context)
    assert warning(monitor, context, "B002").status is WarningStatus.WITHDRAWN
    with pytest.raises(Refused) as twice:
        approve_warning(warning_id=target, gate=reviewer, context=context)
    assert twice.value.rule == "warning_must_be_proposed"
    assert deliver_due(context=context, worker="w1").attempted == 0
    assert inbox_of(monitor, context, "B002", Role.OFFICER) == []


def test_the_proposer_never_approves_and_an_analyst_approves_nothing(monitor: Monitor) -> None:
    market(monitor)
    reviewer = gate_of(monitor.app, "SIPF", Role.REVIEWER)
    run_day(
        business_date=DAY,
        actor=reviewer.caller.label,
        context=replace(monitor.app.run_day_context(), designations=lambda _d: ()),
    )
    context = delivery(monitor)
    target = warning(monitor, context, "B001")
    assert target.proposed_by == "tester"  # first proposed by the first run, still its
    monitor.clock.at = REVIEW_TIME
    explain(monitor, case_id(monitor, "B002", "F2"), "B002")
    decide_case(
        case_id=case_id(monitor, "B002", "F2"),
        decision="falsified",
        reason="造假",
        gate=reviewer,
        context=monitor.app.cases_context(),
    )
    new = warning(monitor, context, "B002")
    assert new.proposed_by == "sipf-reviewer" and "M3" in new.criteria
    with pytest.raises(Refused) as own:
        approve_warning(warning_id=new.warning_id, gate=reviewer, context=context)
    assert own.value.rule == "approver_must_not_be_the_proposer"
    with pytest.raises(PolicyDenied):
        approve_warning(
            warning_id=new.warning_id,
            gate=gate_of(monitor.app, "SIPF", Role.ANALYST),
            context=context,
        )


def test_an_approved_warning_reaches_each_recipients_inbox_and_documents_once(
    monitor: Monitor,
) -> None:
    market(monitor)
    context = delivery(monitor)
    approve(monitor, context, "B001")
    rows = list_deliveries(gate=gate_of(monitor.app, "SIPF", Role.ANALYST), context=context)
    assert sorted((d.recipient, d.channel.value) for d in rows) == [
        (r, c) for r in ("B001", "CN-SH", "CSRC") for c in ("documents", "inbox")
    ]
    done = deliver_due(context=context, worker="w1")
    assert (done.attempted, done.delivered) == (6, 6)
    assert deliver_due(context=context, worker="w1").attempted == 0
    (notice,) = inbox_of(monitor, context, "CN-SH", Role.BUREAU_ANALYST)
    assert (notice.notice.value, notice.body["title"]) == ("notice", "预警通知书")
    (copy,) = inbox_of(monitor, context, "B001", Role.VIEWER)
    assert copy.body["title"] == "预警通知书（抄送）"
    (special,) = inbox_of(monitor, context, "CSRC", Role.CSRC_VIEWER)
    assert special.body["title"] == "专项报告" and special.body["level"] == "major"
    assert inbox_of(monitor, context, "B002", Role.OFFICER) == []
    assert inbox_of(monitor, context, "CITY-SZ", Role.BUREAU_HEAD) == []
    pdfs = sorted((monitor.app.settings.home / "deliveries" / "CN-SH").glob("*.pdf"))
    assert len(pdfs) == 1 and stat.S_IMODE(pdfs[0].stat().st_mode) == 0o600


def test_a_later_version_with_the_same_warning_delivers_nothing_again(monitor: Monitor) -> None:
    market(monitor)
    context = delivery(monitor)
    approve(monitor, context, "B001")
    deliver_due(context=context, worker="w1")
    case = case_id(monitor, "B002", "F2")
    explain(monitor, case, "B002")
    decide_case(
        case_id=case,
        decision="falsified",
        reason="造假",
        gate=gate_of(monitor.app, "SIPF", Role.ANALYST),
        context=monitor.app.cases_context(),
    )
    b001 = warning(monitor, context, "B001")
    assert b001.result_version == 2 and b001.status is WarningStatus.APPROVED
    assert warning(monitor, context, "B002").status is WarningStatus.PROPOSED
    assert deliver_due(context=context, worker="w1").attempted == 0


def webhook_context(monitor: Monitor, port: int, **changes: object) -> DeliveryContext:
    endpoint = Endpoint(f"http://127.0.0.1:{port}/clearwatch", SECRET)
    return delivery(
        monitor,
        webhooks=FileWebhookDirectory({"CN-SH": endpoint, "CSRC": endpoint, "B001": endpoint}),
        backoff_base=timedelta(seconds=30),
        **changes,
    )


def test_a_receiver_down_at_first_gets_every_warning_once_with_a_valid_signature(
    monitor: Monitor,
) -> None:
    market(monitor)
    port = free_port()
    context = webhook_context(monitor, port)
    approve(monitor, context, "B001")
    first = deliver_due(context=context, worker="w1")
    assert (first.delivered, first.failed) == (6, 3)  # inbox and documents; webhooks down
    webhooks = [
        d
        for d in list_deliveries(gate=gate_of(monitor.app, "SIPF", Role.ANALYST), context=context)
        if d.channel is Channel.WEBHOOK
    ]
    assert {d.retry_at for d in webhooks} == {APPROVED_AT + timedelta(seconds=30)}
    assert deliver_due(context=context, worker="w1").attempted == 0  # backing off
    context.clock.at = APPROVED_AT + timedelta(seconds=31)  # type: ignore[attr-defined]
    assert deliver_due(context=context, worker="w1").failed == 3  # still down: 60 s next
    context.clock.at = APPROVED_AT + timedelta(seconds=92)  # type: ignore[attr-defined]
    with receiver(port) as received:
        done = deliver_due(context=context, worker="w1")
        assert done.delivered == 3
        assert deliver_due(context=context, worker="w1").attempted == 0
    assert sorted(received.bodies) == sorted(d.delivery_key for d in webhooks)
    assert received.refused == [] and received.repeats == 0
    body = received.bodies[next(d.delivery_key for d in webhooks if d.recipient == "CN-SH")]
    assert (body["institution_id"], body["level"], body["problem_amount"]) == (
        "B001",
        "major",
        "100.00",
    )


def test_a_tampered_or_replayed_request_fails_verification() -> None:
    body = notice_body({"institution_id": "B001", "problem_amount": "100.00"})
    now = datetime.now(UTC)
    headers = signed_headers(SECRET, key="k:CN-SH", body=body, at=now)
    seen: set[str] = set()
    assert verify_request(SECRET, headers, body, now=now, seen=seen) is None
    assert verify_request(SECRET, headers, body, now=now, seen=seen) == (
        REQUEST_MUST_NOT_BE_REPLAYED
    )
    tampered = body.replace(b"100.00", b"1.00")
    assert verify_request(SECRET, headers, tampered, now=now, seen=set()) == SIGNATURE_MUST_MATCH
    assert verify_request(b"another-secret-0123456", headers, body, now=now, seen=set()) == (
        SIGNATURE_MUST_MATCH
    )
    later = now + timedelta(minutes=6)
    assert verify_request(SECRET, headers, body, now=later, seen=set()) == (
        TIMESTAMP_MUST_BE_WITHIN_WINDOW
    )


def test_a_retry_in_the_same_second_is_not_taken_for_a_replay() -> None:
    # CI: a worker killed right after a send was restarted, and its retry, signed in the same
    # second over the same body, was refused as a replay of the first attempt.
    body = notice_body({"institution_id": "B001", "problem_amount": "100.00"})
    now = datetime.now(UTC)
    seen: set[str] = set()
    first = signed_headers(SECRET, key="k:CN-SH", body=body, at=now)
    retry = signed_headers(SECRET, key="k:CN-SH", body=body, at=now)
    assert verify_request(SECRET, first, body, now=now, seen=seen) is None
    assert verify_request(SECRET, retry, body, now=now, seen=seen) is None
    assert verify_request(SECRET, retry, body, now=now, seen=seen) == REQUEST_MUST_NOT_BE_REPLAYED


def test_a_delivery_that_keeps_failing_is_parked_after_its_limit_and_shown(
    monitor: Monitor,
) -> None:
    market(monitor)
    context = webhook_context(monitor, free_port(), attempts_max=2)
    approve(monitor, context, "B001")
    deliver_due(context=context, worker="w1")
    context.clock.at = APPROVED_AT + timedelta(hours=1)  # type: ignore[attr-defined]
    second = deliver_due(context=context, worker="w1")
    assert second.parked == 3
    analyst = gate_of(monitor.app, "SIPF", Role.ANALYST)
    parked = list_deliveries(gate=analyst, context=context, parked_only=True)
    assert {(d.channel, d.attempts, d.last_event) for d in parked} == {
        (Channel.WEBHOOK, 2, DeliveryEvent.PARKED)
    }
    assert "127.0.0.1" in parked[0].error
    context.clock.at = APPROVED_AT + timedelta(days=1)  # type: ignore[attr-defined]
    assert deliver_due(context=context, worker="w1").attempted == 0
    with pytest.raises(PolicyDenied):
        list_deliveries(gate=gate_of(monitor.app, "CN-SH", Role.BUREAU_HEAD), context=context)


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils is not installed")
def test_the_pdf_and_workbook_hold_the_warning_and_its_findings_to_the_fen(
    monitor: Monitor, tmp_path: Path
) -> None:
    market(monitor)
    context = delivery(monitor)
    approve(monitor, context, "B001")
    rows = list_deliveries(gate=gate_of(monitor.app, "SIPF", Role.ANALYST), context=context)
    payload = next(
        d.payload for d in rows if d.recipient == "CN-SH" and d.channel is Channel.DOCUMENTS
    )
    documents = NoticeDocuments()
    pdf = documents.pdf(payload)
    assert pdf == documents.pdf(payload)  # same inputs, same document
    (tmp_path / "notice.pdf").write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", "-layout", str(tmp_path / "notice.pdf"), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    for expected in (
        "预警通知书",
        "上海证券",
        "B001",
        "重大预警",
        "M1",
        "G1",
        "A1",
        "100.00 元",
        "CN-SH",
        "F3",
        "F4",
    ):
        assert expected in text, expected
    workbook = documents.workbook(payload)
    time.sleep(1.1)  # openpyxl would stamp a later second into a workbook saved now
    assert workbook == documents.workbook(payload)
    book = load_workbook(io.BytesIO(workbook))
    findings = {row[0]: row[3] for row in book["发现"].iter_rows(min_row=2, values_only=True)}
    assert findings == {"F3": 10000, "F4": 10000, "F6": 10000}
    evidence = list(book["证据"].iter_rows(min_row=2, values_only=True))
    assert ("F4", "T1", "100.00", 10000) in [row[:4] for row in evidence]
    summary = dict(book["预警"].iter_rows(values_only=True))
    assert summary["问题金额（分）"] == 10000 and summary["报送监管局"] == "CN-SH"


def test_the_run_day_evidence_stays_as_before_when_no_decision_was_taken(
    monitor: Monitor,
) -> None:
    market(monitor)
    with monitor.app.read_uow() as uow:
        stored = uow.monitor_runs.warnings(business_date=DAY)
    assert all("decisions" not in json.loads(w.evidence_json) for w in stored)
    context = RunDayContext(
        clock=monitor.clock,
        uow_factory=monitor.app.uow,
        columnar=monitor.app.columnar,
        engine=DuckDBFindingsEngine(),
        rules=load_monitoring_rules(),
    )
    assert not run_day(business_date=DAY, actor="tester", context=context).recorded
