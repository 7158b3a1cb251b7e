"""Bad data stays with its sender: `could_not_compare` in the assessment, nobody else touched."""

from __future__ import annotations

from datetime import date

from clearwatch.domain.monitor.assessment import assess_day, figure_fen_max
from clearwatch.domain.monitor.criteria import Criterion, ReviewerDesignation
from clearwatch.domain.monitor.findings import BrokerAggregates, EngineResult, Finding, FindingCode
from clearwatch.domain.monitor.report import day_document, day_result
from tests.unit.monitor.test_grading import DAY, REGISTRY, inputs, late


def _broker_with_balance(balance_fen: int) -> EngineResult:
    findings = {FindingCode.F2: Finding(FindingCode.F2, 5_00, 1)}
    return EngineResult(
        brokers={"B002": BrokerAggregates("B002", balance_fen, findings, 1)}, bank_regions=()
    )


def test_a_figure_of_exactly_the_limit_is_graded_and_one_fen_more_is_not_compared() -> None:
    at_limit = assess_day(inputs(engine=_broker_with_balance(figure_fen_max)))
    b002 = next(i for i in at_limit.institutions if i.institution_id == "B002")
    assert b002.could_not_compare is None and b002.client_fund_balance_fen == figure_fen_max
    beyond = assess_day(inputs(engine=_broker_with_balance(figure_fen_max + 1)))
    b002 = next(i for i in beyond.institutions if i.institution_id == "B002")
    assert b002.could_not_compare is not None
    assert b002.could_not_compare.startswith(
        "figures_must_fit_a_64_bit_result: 92233720368547758.08"
    )
    assert b002.findings == () and b002.warnings == () and b002.client_fund_balance_fen is None


def test_a_failed_sender_is_marked_and_the_others_judge_it_as_not_compared() -> None:
    day = assess_day(inputs(could_not_compare={"K001": "bank_daily: damaged file"}))
    by_id = {i.institution_id: i for i in day.institutions}
    assert by_id["K001"].could_not_compare == "bank_daily: damaged file"
    assert by_id["K001"].incomplete[0].findings == (FindingCode.F8,)
    assert by_id["B002"].could_not_compare is None
    assert day.missing_packages == ()  # K001 did submit: not missing, not late


def test_the_document_names_could_not_compare_only_where_it_applies() -> None:
    day = assess_day(inputs(could_not_compare={"K001": "bank_daily: damaged file"}))
    document = day_document(day_result(day, rows_max=5))
    marked = [i["institution_id"] for i in document["institutions"] if "could_not_compare" in i]
    assert marked == ["K001"] and len(document["institutions"]) == len(REGISTRY.institutions)


def test_a_bank_not_compared_is_still_warned_by_its_regional_designations_where_they_are() -> None:
    """A reviewer found the bank's Shanghai explanation falsified (M3 on CN-SH's F8 case) and
    its data the next version could not be compared: the M3 still goes to Shanghai's bureau,
    and a reporting issue (G6) to the bank's own region, as when the day is compared."""
    designations = (ReviewerDesignation("K001", Criterion.M3, reference="case-3", region="CN-SH"),)
    earlier = [late(n, date(2026, 3, n + 1)) for n in range(4)]
    day = assess_day(
        inputs(
            could_not_compare={"K001": "bank_daily: damaged file"},
            designations=designations,
            occurrences=[*earlier, late(9, DAY)],
        )
    )
    bank = next(i for i in day.institutions if i.institution_id == "K001")
    assert bank.could_not_compare is not None
    assert [(w.route_to, w.criteria) for w in bank.warnings] == [
        ("CN-BJ", (Criterion.G6,)),
        ("CN-SH", (Criterion.M3,)),
    ]
