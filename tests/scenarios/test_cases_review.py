"""Verification cases through the real services: opened by run-day, explained, reviewed, swept.

Each test builds the market of `test_monitor_day` (two brokers, two banks, CSDC) with one
fault, runs the day, and drives the cases as the institution's officer and SIPF's analysts
would. A decision that adds a criterion makes a new result version of D, graded and routed.
"""

from __future__ import annotations

import json
import stat
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from clearwatch.adapters.clock import FixedClock
from clearwatch.bootstrap import Application
from clearwatch.domain.access.callers import local_caller
from clearwatch.domain.access.roles import Role
from clearwatch.domain.monitor.cases import CaseMove, CaseRule, CaseStatus
from clearwatch.domain.monitor.reporting import ReportingCategory
from clearwatch.domain.shared.calendar import SHANGHAI
from clearwatch.domain.shared.errors import Refused
from clearwatch.domain.shared.file_schema import PACKAGE_SPECS
from clearwatch.services.access.authorize import Gate, PolicyDenied
from clearwatch.services.monitor.cases import (
    append_move,
    case_of,
    explain_case,
    list_cases,
    show_case,
)
from clearwatch.services.monitor.cases_ports import CasesContext
from clearwatch.services.monitor.cases_review import approve_escalation, decide_case
from clearwatch.services.monitor.cases_sweep import sweep
from clearwatch.services.monitor.run_ports import StoredWarning
from tests.api.support import approve_warnings
from tests.integration.monitor.conftest import load
from tests.scenarios.test_monitor_day import (
    DAY,
    FILINGS,
    INSTITUTIONS,
    KIND_OF,
    Monitor,
    Rows,
    clean_world,
)
from tests.support.identities import gate_of, registered
from tests.support.packages import write_registry

DEADLINE = datetime(2026, 11, 24, 17, 0, tzinfo=SHANGHAI)  # Fri D → Tue 17:00
REVIEW_TIME = datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI)


class PaddedMonitor(Monitor):
    """`Monitor`, with each row completed by the defaults of columns a later spec added."""

    def submit(self, institution: str, files: dict[str, Rows]) -> None:
        kind = KIND_OF[institution[0]]
        specs = {f.name: f.columns for f in PACKAGE_SPECS[kind].files}
        padded = {
            name: [
                row + [getattr(c, "default", None) or "" for c in specs[name][len(row) :]]
                for row in rows
            ]
            for name, rows in files.items()
        }
        super().submit(institution, padded)


def new_monitor(app: Application, clock: FixedClock, tmp_path: Path) -> Monitor:
    """The monitor with the default market's registry loaded."""
    result = load(app, write_registry(tmp_path / "registry", INSTITUTIONS, FILINGS))
    assert result.loaded, result.errors
    return PaddedMonitor(app, clock, tmp_path / "packages")


@pytest.fixture
def monitor(app: Application, clock: FixedClock, tmp_path: Path) -> Monitor:
    """The monitor on SQLite and PostgreSQL."""
    return new_monitor(app, clock, tmp_path)


def gap_world() -> dict[str, dict[str, Rows]]:
    """B001: 100.00 taken out of its settlement account to another party (F3, F4, F6)."""
    world = clean_world()
    world["K001"]["special_account_balances.csv"][0][4] = "800.00"
    world["K001"]["special_account_transactions.csv"] = [
        ["T1", "SA-001", "2026-11-20T10:00:00+08:00", "out", "100.00", "X9", "other"]
    ]
    return world


def overdraft_world() -> dict[str, dict[str, Rows]]:
    """B002: a client overdrawn by 499.99 (F2): a general warning, G3."""
    world = clean_world()
    world["B002"]["client_funds.csv"].append(["Z2", "z2", "normal", "K002", "-499.99"])
    return world


def second_reviewer(app: Application) -> Gate:
    return app.gate(local_caller(registered(app, "sipf-reviewer-2", "SIPF", Role.REVIEWER)))


def warnings_of(app: Application, institution: str) -> list[StoredWarning]:
    with app.read_uow() as uow:
        return [
            w
            for w in uow.monitor_runs.warnings(business_date=DAY)
            if w.institution_id == institution
        ]


def case_id(monitor: Monitor, institution: str, code: str) -> int:
    cases = list_cases(gate=gate_of(monitor.app, "SIPF", Role.ANALYST), context=context(monitor))
    return next(
        c.case_id for c in cases if c.institution_id == institution and c.finding_code.value == code
    )


def context(monitor: Monitor) -> CasesContext:
    return monitor.app.cases_context()


def explain(monitor: Monitor, case: int, institution: str, **extra: object) -> None:
    monitor.clock.at = REVIEW_TIME
    explain_case(
        case_id=case,
        category=str(extra.get("category", "data_error")),
        text="重复记账，已更正",
        responsible_party="清算部 张三",
        attachments=extra.get("attachments", ()),  # type: ignore[arg-type]
        gate=gate_of(monitor.app, institution, Role.OFFICER),
        context=context(monitor),
    )


def test_run_day_opens_one_case_per_finding_with_an_amount_and_a_rerun_opens_none(
    monitor: Monitor,
) -> None:
    monitor.submit_world(gap_world())
    monitor.run()
    analyst = gate_of(monitor.app, "SIPF", Role.ANALYST)
    cases = list_cases(gate=analyst, context=context(monitor))
    assert sorted((c.institution_id, c.finding_code.value, c.amount_fen) for c in cases) == [
        ("B001", "F3", 10000),
        ("B001", "F4", 10000),
        ("B001", "F6", 10000),
    ]
    assert {c.status for c in cases} == {CaseStatus.OPEN}
    assert {c.deadline_at for c in cases} == {DEADLINE}
    assert {c.bureaus for c in cases} == {("CN-SH",)}
    monitor.run()
    monitor.run(at=REVIEW_TIME)
    again = list_cases(gate=analyst, context=context(monitor))
    assert [c.case_id for c in again] == [c.case_id for c in cases]
    _, events = show_case(case_id=cases[0].case_id, gate=analyst, context=context(monitor))
    assert [(e.seq, e.move, e.actor) for e in events] == [(1, CaseMove.OPEN, "tester")]


def test_an_explanation_with_attachments_is_kept_content_addressed_and_on_the_timeline(
    monitor: Monitor,
) -> None:
    monitor.submit_world(gap_world())
    monitor.run()
    case = case_id(monitor, "B001", "F3")
    explain(monitor, case, "B001", attachments=[("对账单.pdf", b"%PDF-1.4 statement")])
    viewer = gate_of(monitor.app, "B001", Role.VIEWER)
    shown, events = show_case(case_id=case, gate=viewer, context=context(monitor))
    assert shown.status is CaseStatus.EXPLAINED
    last = events[-1]
    assert (last.move, last.actor, last.at) == (CaseMove.EXPLAIN, "b001-officer", REVIEW_TIME)
    assert last.explanation is not None
    (attachment,) = last.explanation.attachments
    assert attachment.name == "对账单.pdf" and attachment.size_bytes == 18
    stored = monitor.app.settings.home / "cases" / "attachments" / attachment.sha256[:2]
    path = stored / attachment.sha256
    assert path.read_bytes() == b"%PDF-1.4 statement"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(stored.stat().st_mode) == 0o700


def test_another_institution_can_neither_read_nor_explain_a_case(monitor: Monitor) -> None:
    monitor.submit_world(gap_world())
    monitor.run()
    case = case_id(monitor, "B001", "F3")
    with pytest.raises(PolicyDenied):
        explain(monitor, case, "B002")
    assert (
        list_cases(gate=gate_of(monitor.app, "B002", Role.OFFICER), context=context(monitor)) == []
    )
    shanghai = gate_of(monitor.app, "CN-SH", Role.BUREAU_ANALYST)
    # The bureau reads the cases behind a warning routed to it once a second analyst approved it.
    assert list_cases(gate=shanghai, context=context(monitor)) == []
    assert approve_warnings(monitor.app, "B001") == 1
    assert len(list_cases(gate=shanghai, context=context(monitor))) == 3
    shenzhen = gate_of(monitor.app, "CITY-SZ", Role.BUREAU_ANALYST)
    assert list_cases(gate=shenzhen, context=context(monitor)) == []
    with monitor.app.read_uow() as uow:
        denied = [r for r in uow.audit.latest(limit=20) if r.action == "access.denied"]
    assert denied


def test_a_falsified_explanation_raises_m3_in_a_new_result_version(monitor: Monitor) -> None:
    monitor.submit_world(overdraft_world())
    first = monitor.run()
    assert [w.criteria for w in warnings_of(monitor.app, "B002")] == [("G3",)]
    case = case_id(monitor, "B002", "F2")
    explain(monitor, case, "B002")
    outcome = decide_case(
        case_id=case,
        decision="falsified",
        reason="对账单与银行流水不符",
        gate=gate_of(monitor.app, "SIPF", Role.ANALYST),
        context=context(monitor),
    )
    assert outcome.case.status is CaseStatus.CLOSED_FALSIFIED
    assert outcome.result_version == first.result_version + 1
    (warning,) = warnings_of(monitor.app, "B002")
    assert (warning.level, warning.criteria) == ("major", ("M3", "G3"))
    assert warning.special_report and warning.route_to == "CITY-SZ"
    evidence = json.loads(warning.evidence_json)
    assert evidence["decisions"] == [["M3", f"case:{case}:falsified:3"]]
    assert [f["code"] for f in evidence["findings"]] == ["F2"]


def test_m4_is_approved_by_a_second_reviewer_never_by_who_escalated(monitor: Monitor) -> None:
    monitor.submit_world(overdraft_world())
    monitor.run()
    case = case_id(monitor, "B002", "F2")
    explain(monitor, case, "B002")
    reviewer = gate_of(monitor.app, "SIPF", Role.REVIEWER)
    escalated = decide_case(
        case_id=case,
        decision="escalate",
        criterion="M4",
        reason="疑似系统性挪用",
        gate=reviewer,
        context=context(monitor),
    )
    assert escalated.case.status is CaseStatus.ESCALATED
    assert escalated.result_version is None  # nothing counts until it is approved
    assert [w.criteria for w in warnings_of(monitor.app, "B002")] == [("G3",)]
    with pytest.raises(Refused) as same:
        approve_escalation(case_id=case, reason="同意", gate=reviewer, context=context(monitor))
    assert same.value.rule == CaseRule.SECOND_REVIEWER_MUST_DIFFER
    with pytest.raises(PolicyDenied):
        approve_escalation(
            case_id=case,
            reason="同意",
            gate=gate_of(monitor.app, "SIPF", Role.ANALYST),
            context=context(monitor),
        )
    approved = approve_escalation(
        case_id=case, reason="同意升级", gate=second_reviewer(monitor.app), context=context(monitor)
    )
    assert approved.case.status is CaseStatus.CLOSED_ESCALATED
    (warning,) = warnings_of(monitor.app, "B002")
    assert (warning.level, warning.criteria) == ("major", ("M4", "G3"))


@pytest.mark.parametrize(("criterion", "level"), [("G7", "general"), ("A7", "general")])
def test_g7_and_a7_enter_the_result_once_the_escalation_is_approved(
    monitor: Monitor, criterion: str, level: str
) -> None:
    monitor.submit_world(overdraft_world())
    monitor.run()
    case = case_id(monitor, "B002", "F2")
    explain(monitor, case, "B002")
    decide_case(
        case_id=case,
        decision="escalate",
        criterion=criterion,
        reason="划转出错",
        gate=gate_of(monitor.app, "SIPF", Role.ANALYST),
        context=context(monitor),
    )
    approve_escalation(
        case_id=case,
        reason="同意",
        gate=gate_of(monitor.app, "SIPF", Role.REVIEWER),
        context=context(monitor),
    )
    (warning,) = warnings_of(monitor.app, "B002")
    assert warning.level == level and criterion in warning.criteria
    assert json.loads(warning.evidence_json)["decisions"] == [[criterion, f"case:{case}:approve:4"]]


def test_a_decision_outside_the_spec_moves_is_refused_by_name(monitor: Monitor) -> None:
    monitor.submit_world(overdraft_world())
    monitor.run()
    case = case_id(monitor, "B002", "F2")
    analyst = gate_of(monitor.app, "SIPF", Role.ANALYST)
    with pytest.raises(Refused) as unexplained:
        decide_case(
            case_id=case, decision="accept", reason="ok", gate=analyst, context=context(monitor)
        )
    assert unexplained.value.rule == CaseRule.MOVE_MUST_BE_ALLOWED
    explain(monitor, case, "B002")
    with pytest.raises(Refused) as wrong:
        decide_case(
            case_id=case,
            decision="escalate",
            criterion="M1",
            reason="x",
            gate=analyst,
            context=context(monitor),
        )
    assert wrong.value.rule == CaseRule.ESCALATION_MUST_NAME_M4_G7_OR_A7
    accepted = decide_case(
        case_id=case,
        decision="accept",
        reason="时点差异属实",
        gate=analyst,
        context=context(monitor),
    )
    assert accepted.case.status is CaseStatus.CLOSED_ACCEPTED
    assert accepted.result_version is None
    with pytest.raises(Refused):
        decide_case(
            case_id=case, decision="careless", reason="x", gate=analyst, context=context(monitor)
        )


def five_findings_world() -> dict[str, dict[str, Rows]]:
    """B001 with a gap by misappropriation (F3, F4, F6), an overdrawn client (F2) and a
    depository mismatch (F1): five cases to explain."""
    world = gap_world()
    world["B001"]["client_funds.csv"].append(["A3", "c3", "normal", "K001", "-10.00"])
    world["K001"]["client_depository.csv"][0][3] = "990.00"
    return world


def careless(monitor: Monitor, case: int) -> None:
    decide_case(
        case_id=case,
        decision="careless",
        reason="说明敷衍",
        gate=gate_of(monitor.app, "SIPF", Role.ANALYST),
        context=context(monitor),
    )


def test_careless_and_overdue_count_careless_verification_and_the_fifth_is_g6(
    monitor: Monitor,
) -> None:
    monitor.submit_world(five_findings_world())
    monitor.run()
    cases = list_cases(gate=gate_of(monitor.app, "SIPF", Role.ANALYST), context=context(monitor))
    b001 = sorted(c.case_id for c in cases if c.institution_id == "B001")
    assert len(b001) == 5, [(c.institution_id, c.finding_code) for c in cases]
    for case in b001[:2]:
        explain(monitor, case, "B001")
        careless(monitor, case)
    (before,) = warnings_of(monitor.app, "B001")
    assert "G6" not in before.criteria
    monitor.clock.at = DEADLINE + timedelta(minutes=1)
    swept = sweep(gate=gate_of(monitor.app, "SIPF", Role.ANALYST), context=context(monitor))
    assert sorted(swept.overdue) == b001[2:]
    assert [day for day, _ in swept.regraded] == [DAY]
    (after,) = warnings_of(monitor.app, "B001")
    assert "G6" in after.criteria
    assert json.loads(after.evidence_json)["reporting_g6"] == ["CARELESS_VERIFICATION"]
    with monitor.app.read_uow() as uow:
        occurrences = [
            o
            for o in uow.reporting.occurrences(DAY)
            if o.category is ReportingCategory.CARELESS_VERIFICATION
        ]
    assert len(occurrences) == 5
    # An overdue case may still be explained; it counted once and counts no more.
    explain(monitor, b001[2], "B001")
    careless(monitor, b001[2])
    with monitor.app.read_uow() as uow:
        assert (
            uow.reporting.count_occurrences(
                institution_id="B001", category=ReportingCategory.CARELESS_VERIFICATION, year=2026
            )
            == 5
        )


def test_the_same_sweep_twice_records_nothing_new(monitor: Monitor) -> None:
    monitor.submit_world(gap_world(), skip=("K002",))
    monitor.run(at=REVIEW_TIME)
    monitor.clock.at = DEADLINE
    analyst = gate_of(monitor.app, "SIPF", Role.ANALYST)
    first = sweep(gate=analyst, context=context(monitor))
    assert len(first.overdue) == 3  # at the deadline itself
    with monitor.app.read_uow() as uow:
        audit_before = uow.audit.latest(limit=1)[0].seq
        late = [
            o.institution_id
            for o in uow.reporting.occurrences(DAY)
            if o.category is ReportingCategory.LATE
        ]
    assert late == ["K002"]  # recorded by the run after 09:00; the sweep found nothing more
    second = sweep(gate=analyst, context=context(monitor))
    assert not second.recorded and second.regraded == ()
    with monitor.app.read_uow() as uow:
        assert uow.audit.latest(limit=1)[0].seq == audit_before


def test_the_sweep_records_a_late_package_at_its_deadline_without_a_run(
    monitor: Monitor,
) -> None:
    monitor.submit_world(clean_world(), skip=("K002",))
    analyst = gate_of(monitor.app, "SIPF", Role.ANALYST)
    monitor.clock.at = datetime(2026, 11, 23, 8, 59, tzinfo=SHANGHAI)
    assert not sweep(gate=analyst, context=context(monitor)).recorded
    monitor.clock.at = datetime(2026, 11, 23, 9, 0, 1, tzinfo=SHANGHAI)
    swept = sweep(gate=analyst, context=context(monitor))
    assert swept.late == (("K002", "bank_daily", DAY),)
    assert not sweep(gate=analyst, context=context(monitor)).recorded


def test_an_explanation_after_an_unswept_deadline_is_counted_overdue_first(
    monitor: Monitor,
) -> None:
    monitor.submit_world(overdraft_world())
    monitor.run()
    case = case_id(monitor, "B002", "F2")
    monitor.clock.at = DEADLINE + timedelta(hours=1)
    outcome = explain_case(
        case_id=case,
        category="timing_difference",
        text="次日到账",
        responsible_party="财务部",
        gate=gate_of(monitor.app, "B002", Role.OFFICER),
        context=context(monitor),
    )
    assert outcome.counted_overdue and outcome.case.status is CaseStatus.EXPLAINED
    _, events = show_case(
        case_id=case, gate=gate_of(monitor.app, "SIPF", Role.ANALYST), context=context(monitor)
    )
    assert [e.move for e in events] == [CaseMove.OPEN, CaseMove.DEADLINE, CaseMove.EXPLAIN]


def test_the_timeline_is_append_only_in_the_database(monitor: Monitor) -> None:
    monitor.submit_world(overdraft_world())
    monitor.run()
    for statement in (
        "UPDATE monitor_case_events SET status = 'closed_accepted'",
        "DELETE FROM monitor_case_events",
        "UPDATE monitor_cases SET amount_fen = 1",
    ):
        with pytest.raises(DBAPIError), monitor.app.engine.begin() as connection:
            connection.execute(text(statement))


def test_two_moves_from_the_same_state_cannot_both_land(monitor: Monitor) -> None:
    monitor.submit_world(overdraft_world())
    monitor.run()
    case = case_id(monitor, "B002", "F2")
    explain(monitor, case, "B002")
    with monitor.app.uow() as uow:
        seen = case_of(uow, case)  # what two reviewers both read
        append_move(uow, seen, CaseMove.ACCEPT, actor="a", at=REVIEW_TIME, reason="first")
        with pytest.raises(Refused) as second:
            append_move(uow, seen, CaseMove.CARELESS, actor="b", at=REVIEW_TIME, reason="late")
        assert second.value.rule == CaseRule.CASE_MUST_NOT_HAVE_CHANGED
        uow.commit()
    _, events = show_case(
        case_id=case, gate=gate_of(monitor.app, "SIPF", Role.ANALYST), context=context(monitor)
    )
    assert [e.reason for e in events][-1] == "first"
