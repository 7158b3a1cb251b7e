"""The case workflow, exhaustively: exactly spec §4's moves, explanations, decisions, notices."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta

import pytest

from clearwatch.domain.monitor.cases import (
    CaseMove,
    CaseRule,
    CaseStatus,
    attachment_bytes_max,
    case_deadline_at,
    check_attachment,
    check_decision,
    check_second_reviewer,
    explanation_of,
    transition,
)
from clearwatch.domain.monitor.cases_notice import (
    NoticeKind,
    Recipient,
    backoff_cap,
    recipients_of,
    retry_at,
    user_of,
    warning_key,
)
from clearwatch.domain.monitor.criteria import Criterion
from clearwatch.domain.shared.calendar import SHANGHAI, BusinessCalendar
from clearwatch.domain.shared.errors import Refused

S, M = CaseStatus, CaseMove
# Spec platform §4, transcribed: (from, move) → to. Nothing else is a move.
SPEC_MOVES = {
    (None, M.OPEN): S.OPEN,
    (S.OPEN, M.EXPLAIN): S.EXPLAINED,
    (S.OVERDUE, M.EXPLAIN): S.EXPLAINED,  # "an explanation may still come"
    (S.OPEN, M.DEADLINE): S.OVERDUE,
    (S.EXPLAINED, M.ACCEPT): S.CLOSED_ACCEPTED,
    (S.EXPLAINED, M.CARELESS): S.CLOSED_CARELESS,
    (S.EXPLAINED, M.FALSIFIED): S.CLOSED_FALSIFIED,
    (S.EXPLAINED, M.ESCALATE): S.ESCALATED,
    (S.ESCALATED, M.APPROVE): S.CLOSED_ESCALATED,
}


@pytest.mark.parametrize(("status", "move"), list(itertools.product([None, *S], M)))
def test_every_status_and_move_is_decided_exactly_as_the_spec_draws_it(
    status: CaseStatus | None, move: CaseMove
) -> None:
    expected = SPEC_MOVES.get((status, move))
    if expected is None:
        with pytest.raises(Refused) as refused:
            transition(status, move)
        assert refused.value.rule == CaseRule.MOVE_MUST_BE_ALLOWED
    else:
        assert transition(status, move) is expected


def test_closed_cases_take_no_move_at_all() -> None:
    closed = [s for s in S if s.value.startswith("closed_")]
    assert not [(s, m) for s in closed for m in M if (s, m) in SPEC_MOVES]


def test_the_deadline_is_17_00_of_the_second_business_day_after_d_on_the_calendar() -> None:
    friday = date(2026, 11, 20)
    assert case_deadline_at(BusinessCalendar(), friday) == datetime(
        2026, 11, 24, 17, tzinfo=SHANGHAI
    )
    holiday = BusinessCalendar.with_holidays([date(2026, 11, 23)])
    assert case_deadline_at(holiday, friday) == datetime(2026, 11, 25, 17, tzinfo=SHANGHAI)


def test_an_explanation_needs_a_known_category_text_and_a_responsible_party() -> None:
    good = explanation_of(category="data_error", text="重复记账", responsible_party="清算部")
    assert good.category.value == "data_error"
    cases = [
        ({"category": "excuse"}, CaseRule.CATEGORY_MUST_BE_KNOWN),
        ({"text": "  "}, CaseRule.TEXT_MUST_BE_GIVEN),
        ({"text": "x" * 20_001}, CaseRule.TEXT_MUST_NOT_BE_TOO_LONG),
        ({"responsible_party": ""}, CaseRule.RESPONSIBLE_PARTY_MUST_BE_GIVEN),
    ]
    for override, rule in cases:
        arguments = {"category": "other", "text": "t", "responsible_party": "p", **override}
        with pytest.raises(Refused) as refused:
            explanation_of(**arguments)  # type: ignore[arg-type]
        assert refused.value.rule == rule


@pytest.mark.parametrize("name", ["../etc/passwd", "a/b.pdf", "", ".", "x\\y"])
def test_an_attachment_name_is_a_plain_file_name(name: str) -> None:
    with pytest.raises(Refused) as refused:
        check_attachment(name, 10)
    assert refused.value.rule == CaseRule.ATTACHMENT_NAME_MUST_BE_PLAIN


def test_an_attachment_has_a_size_limit() -> None:
    assert check_attachment(" 对账单.pdf ", attachment_bytes_max) == "对账单.pdf"
    with pytest.raises(Refused):
        check_attachment("big.bin", attachment_bytes_max + 1)


def test_decisions_add_m3_for_falsified_and_only_m4_g7_a7_by_escalation() -> None:
    assert check_decision(M.FALSIFIED, None) is Criterion.M3
    assert check_decision(M.ACCEPT, None) is None
    assert check_decision(M.CARELESS, None) is None
    for criterion in (Criterion.M4, Criterion.G7, Criterion.A7):
        assert check_decision(M.ESCALATE, criterion) is criterion
    for wrong in (None, Criterion.M1, Criterion.M3, Criterion.G6):
        with pytest.raises(Refused):
            check_decision(M.ESCALATE, wrong)
    with pytest.raises(Refused):
        check_decision(M.ACCEPT, Criterion.M4)
    for not_a_decision in (M.OPEN, M.EXPLAIN, M.APPROVE, M.DEADLINE):
        with pytest.raises(Refused):
            check_decision(not_a_decision, None)


def test_who_escalated_never_approves() -> None:
    check_second_reviewer("alice", "bob")
    with pytest.raises(Refused):
        check_second_reviewer("alice", "alice")


def test_recipients_are_the_bureau_the_institution_and_csrc_for_major() -> None:
    assert recipients_of(route_to="CN-SH", cc="B001", special_report=True) == (
        Recipient("CN-SH", NoticeKind.NOTICE),
        Recipient("B001", NoticeKind.COPY),
        Recipient("CSRC", NoticeKind.SPECIAL_REPORT),
    )
    assert len(recipients_of(route_to="CN-SH", cc="B001", special_report=False)) == 2


def test_retries_back_off_doubling_up_to_a_cap() -> None:
    at = datetime(2026, 11, 20, tzinfo=SHANGHAI)
    base = timedelta(seconds=30)
    delays = [retry_at(at, attempts=n, base=base) - at for n in range(1, 6)]
    assert delays == [timedelta(seconds=30 * 2**k) for k in range(5)]
    assert retry_at(at, attempts=500, base=base) - at == backoff_cap


def test_a_warning_key_is_its_content_and_a_machine_acts_for_its_user() -> None:
    assert warning_key({"a": 1, "b": "预警"}) == warning_key({"b": "预警", "a": 1})
    assert warning_key({"a": 1}) != warning_key({"a": 2})
    assert user_of("k001-submitter/token:abc") == "k001-submitter"
    assert user_of("sipf-reviewer") == "sipf-reviewer"
