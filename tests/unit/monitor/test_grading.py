"""Grading: problem amount, exact ratio, criteria at their boundaries, levels, routing, rules."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clearwatch.adapters.rules_file import load_monitoring_rules
from clearwatch.domain.monitor.assessment import DayInputs, assess_day, missing_packages
from clearwatch.domain.monitor.criteria import (
    Criterion,
    Level,
    ReviewerDesignation,
    highest_level,
)
from clearwatch.domain.monitor.findings import (
    BankRegionAggregates,
    BrokerAggregates,
    EngineResult,
    Finding,
    FindingCode,
)
from clearwatch.domain.monitor.grading import (
    bank_region_criteria,
    broker_criteria,
    problem_amount_fen,
    problem_ratio_text,
    ratio_reaches,
)
from clearwatch.domain.monitor.registry import Institution, InstitutionKind, RegistrySnapshot
from clearwatch.domain.monitor.reporting import ReportingCategory, ReportingOccurrence
from clearwatch.domain.monitor.routing import route_warning
from clearwatch.domain.monitor.thresholds import RulesError, rules_from_document
from clearwatch.domain.shared.calendar import SHANGHAI

RULES = load_monitoring_rules()
F = FindingCode
DAY = date(2026, 11, 20)
YI = 100_000_000_00  # 100,000,000.00 in fen


def criteria(amounts: dict[FindingCode, int], balance: int | None = 10**15, affected: int = 0):
    """`amounts` as the findings' figures: fen, except F9's count of unreported accounts."""
    fen = {code: figure for code, figure in amounts.items() if code is not F.F9}
    return broker_criteria(
        fen,
        unreported_accounts=amounts.get(F.F9, 0),
        balance_fen=balance,
        affected_accounts=affected,
        rules=RULES,
    )


def test_the_rules_file_carries_the_spec_thresholds_and_a_version() -> None:
    assert RULES.major_problem_ratio == Fraction(1, 4)
    assert RULES.general_problem_amount_fen == YI
    assert RULES.attention_problem_amount_fen == 1_000_000_00
    assert (RULES.affected_clients_more_than, RULES.reporting_occurrences_for_general) == (100, 5)
    assert RULES.tolerance_fen == 0 and RULES.version_ref.startswith(RULES.version + "@")


def test_an_incomplete_rules_document_is_refused_by_name() -> None:
    with pytest.raises(RulesError, match="rules_document_must_be_complete"):
        rules_from_document({"version": "x"}, content_sha256="0" * 64)


def test_a_gap_and_the_misappropriation_behind_it_count_once() -> None:
    amounts = {F.F1: 1, F.F2: 10, F.F3: 500, F.F4: 300, F.F5: 1000, F.F6: 7, F.F7: 9, F.F8: 4}
    assert problem_amount_fen(amounts) == 500 + 10 + 1 + 1000 + 4


def test_the_ratio_is_exact_with_six_decimals_rounded_half_up() -> None:
    assert problem_ratio_text(2531, 10000) == "0.253100"
    assert problem_ratio_text(1, 8_000_000) == "0.000000"  # 0.000000125 rounds down
    assert problem_ratio_text(1, 2_000_000) == "0.000001"  # 0.0000005 rounds half up
    assert problem_ratio_text(5, 0) is None and problem_ratio_text(5, None) is None


@given(st.integers(0, 10**17), st.integers(1, 10**17))
def test_the_ratio_text_is_within_half_a_millionth_of_the_exact_ratio(p: int, b: int) -> None:
    text = problem_ratio_text(p, b)
    assert text is not None
    difference = Fraction(text) - Fraction(p, b)
    assert -Fraction(1, 2_000_000) < difference <= Fraction(1, 2_000_000)


def test_exactly_25_percent_is_major_and_a_fen_less_is_not() -> None:
    assert Criterion.M2 in criteria({F.F2: 25_00}, balance=100_00)
    assert Criterion.M2 not in criteria({F.F2: 25_00 - 1}, balance=100_00)
    assert not ratio_reaches(1, 0, Fraction(1, 4))


def test_100_million_is_general_and_a_fen_less_is_only_attention() -> None:
    assert {Criterion.G2, Criterion.A5} <= criteria({F.F1: YI})
    below = criteria({F.F1: YI - 1})
    assert Criterion.G2 not in below and Criterion.A5 in below
    assert highest_level(below) is Level.ATTENTION


def test_one_million_needs_attention_and_a_fen_less_does_not() -> None:
    assert Criterion.A5 in criteria({F.F1: 1_000_000_00})
    assert Criterion.A5 not in criteria({F.F1: 1_000_000_00 - 1})


def test_more_than_100_clients_concerned_fires_a6_and_exactly_100_does_not() -> None:
    assert Criterion.A6 in criteria({F.F1: 1}, affected=101)
    assert Criterion.A6 not in criteria({F.F1: 1}, affected=100)


@pytest.mark.parametrize(
    ("amounts", "expected"),
    [
        ({F.F3: 1, F.F4: 1}, {Criterion.M1, Criterion.G1}),
        ({F.F3: 1}, {Criterion.G1}),
        ({F.F4: 1}, {Criterion.G7}),
        ({F.F2: 1}, {Criterion.G3}),
        ({F.F8: 1}, {Criterion.G4}),
        ({F.F5: 1}, {Criterion.G5}),
        ({F.F6: 1}, {Criterion.A1}),
        ({F.F7: 1}, {Criterion.A2}),
        ({F.F9: 1}, {Criterion.A3}),
        ({F.F1: 1}, {Criterion.A4}),
        ({}, set()),
    ],
)
def test_each_finding_fires_its_own_criteria(
    amounts: dict[FindingCode, int], expected: set[Criterion]
) -> None:
    assert criteria(amounts) == expected


def test_a_bank_region_is_graded_on_its_own_fault_actions() -> None:
    assert bank_region_criteria(YI, affected_accounts=101, rules=RULES) == {
        Criterion.G4, Criterion.G2, Criterion.A5, Criterion.A6,
    }  # fmt: skip
    assert bank_region_criteria(0, affected_accounts=0, rules=RULES) == set()


def test_the_level_is_the_highest_criterion_and_no_criterion_is_no_warning() -> None:
    assert highest_level([Criterion.A4, Criterion.M1, Criterion.G1]) is Level.MAJOR
    assert highest_level([Criterion.A4, Criterion.G6]) is Level.GENERAL
    assert highest_level([]) is None


SZ_BROKER = Institution("B002", InstitutionKind.BROKER, "深圳证券", "CITY-SZ")
BANK = Institution("K001", InstitutionKind.BANK, "银行", "CN-BJ")


def test_a_shenzhen_broker_is_routed_to_the_shenzhen_bureau_not_guangdong() -> None:
    warning = route_warning(SZ_BROKER, {Criterion.G1}, region=None, problem_amount_fen=5)
    assert warning is not None and warning.route_to == "CITY-SZ" and warning.cc == "B002"


def test_a_bank_is_routed_to_the_branch_region_and_a_reporting_issue_to_its_own() -> None:
    at_branch = route_warning(BANK, {Criterion.G4}, region="CN-SH", problem_amount_fen=1)
    reporting = route_warning(BANK, {Criterion.G6}, region=None, problem_amount_fen=0)
    assert at_branch is not None and at_branch.route_to == "CN-SH"
    assert reporting is not None and reporting.route_to == "CN-BJ"


def test_only_a_major_warning_raises_a_special_report() -> None:
    major = route_warning(
        SZ_BROKER, {Criterion.M2, Criterion.A4}, region=None, problem_amount_fen=1
    )
    general = route_warning(SZ_BROKER, {Criterion.G3}, region=None, problem_amount_fen=1)
    assert major is not None and major.special_report and major.criteria == (
        Criterion.M2, Criterion.A4,
    )  # fmt: skip
    assert general is not None and not general.special_report
    assert route_warning(SZ_BROKER, set(), region=None, problem_amount_fen=0) is None


REGISTRY = RegistrySnapshot(
    version=1,
    institutions=(SZ_BROKER, BANK, Institution("C001", InstitutionKind.CSDC, "中国结算", "CN-BJ")),
    special_accounts=(),
    holidays=(),
)
ALL_SUBMITTED = frozenset(
    {("B002", "broker_daily"), ("K001", "bank_daily"), ("C001", "csdc_daily")}
)


def inputs(**changes: object) -> DayInputs:
    base = DayInputs(
        business_date=DAY,
        at=datetime(2026, 11, 23, 9, 0, 1, tzinfo=SHANGHAI),
        registry=REGISTRY,
        submitted=ALL_SUBMITTED,
        engine=EngineResult(brokers={}, bank_regions=()),
        rules=RULES,
        occurrences=(),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def late(n: int, day: date) -> ReportingOccurrence:
    return ReportingOccurrence(n, "K001", ReportingCategory.LATE, day, "bank_daily",
                               datetime(2026, 1, 1, tzinfo=SHANGHAI), "")  # fmt: skip


def test_the_fifth_occurrence_of_a_category_fires_g6_on_that_day_only() -> None:
    earlier = [late(n, date(2026, 3, n + 1)) for n in range(4)]
    fifth = assess_day(inputs(occurrences=[*earlier, late(9, DAY)]))
    bank = next(i for i in fifth.institutions if i.institution_id == "K001")
    assert [w.criteria for w in bank.warnings] == [(Criterion.G6,)]
    assert bank.warnings[0].route_to == "CN-BJ"
    fourth = assess_day(inputs(occurrences=[*earlier[:3], late(9, DAY)]))
    assert fourth.warnings == ()
    no_new = assess_day(inputs(occurrences=[*earlier, late(8, date(2026, 4, 1))]))
    assert no_new.warnings == ()  # five in the year, but none on this day
    last_year = [late(n, date(2025, 3, n + 1)) for n in range(4)]
    assert assess_day(inputs(occurrences=[*last_year, late(9, DAY)])).warnings == ()


def test_a_missing_package_is_late_only_after_nine_on_the_next_business_day() -> None:
    submitted = frozenset({("B002", "broker_daily"), ("C001", "csdc_daily")})
    before = datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)
    after = datetime(2026, 11, 23, 9, 0, 1, tzinfo=SHANGHAI)
    assert [m.late for m in missing_packages(REGISTRY, DAY, submitted, before)] == [False]
    assert [
        (m.institution_id, m.late) for m in missing_packages(REGISTRY, DAY, submitted, after)
    ] == [("K001", True)]
    assert missing_packages(REGISTRY, date(2026, 11, 21), frozenset(), after) == ()  # Saturday


def test_reviewer_designations_enter_the_grading_of_their_institution_and_region() -> None:
    designations = (
        ReviewerDesignation("B002", Criterion.M3, reference="case-7"),
        ReviewerDesignation("K001", Criterion.A7, reference="case-8", region="CN-SH"),
    )
    day = assess_day(inputs(designations=designations))
    routed = {(w.institution_id, w.route_to, w.level, w.criteria) for w in day.warnings}
    assert routed == {
        ("B002", "CITY-SZ", Level.MAJOR, (Criterion.M3,)),
        ("K001", "CN-SH", Level.ATTENTION, (Criterion.A7,)),
    }


def test_a_bank_gets_one_warning_per_branch_region() -> None:
    def regional(region: str, fen: int) -> BankRegionAggregates:
        return BankRegionAggregates("K001", region, Finding(F.F8, fen, 1, region=region), 1)

    engine = EngineResult(
        brokers={"B002": BrokerAggregates("B002", 100, {}, 0)},
        bank_regions=(regional("CN-SH", 5), regional("CITY-SZ", YI)),
    )
    bank = next(i for i in assess_day(inputs(engine=engine)).institutions if i.kind == "bank")
    assert [(w.route_to, w.criteria) for w in bank.warnings] == [
        ("CITY-SZ", (Criterion.G2, Criterion.G4, Criterion.A5)),
        ("CN-SH", (Criterion.G4,)),
    ]
    assert bank.problem_amount_fen == YI + 5
