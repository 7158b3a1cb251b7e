"""The simulator's oracle grades findings as monitoring.md §4 says, at every boundary."""

from __future__ import annotations

from clearwatch.sim.oracle import broker_criteria, level_of, problem_fen, ratio_text

NONE = {f"F{i}": 0 for i in range(1, 10)}


def _criteria(liabilities: int = 10**12, affected: int = 0, **findings: int) -> list[str]:
    return broker_criteria({**NONE, **findings}, liabilities_fen=liabilities, affected=affected)


def test_a_gap_and_the_misappropriation_that_caused_it_count_once() -> None:
    assert problem_fen({**NONE, "F3": 70, "F4": 100, "F2": 5, "F1": 3, "F5": 2, "F8": 1}) == 111


def test_misappropriation_with_a_gap_is_major_and_without_one_is_general() -> None:
    assert "M1" in _criteria(F3=1, F4=1)
    assert level_of(_criteria(F4=1)) == "general" and "G7" in _criteria(F4=1)


def test_the_problem_ratio_is_major_at_exactly_25_percent_and_not_just_below() -> None:
    assert "M2" in _criteria(liabilities=400, F1=100)
    assert "M2" not in _criteria(liabilities=401, F1=100)
    assert ratio_text(100, 400) == "0.250000"


def test_problem_amount_thresholds_for_general_and_attention() -> None:
    assert "G2" in _criteria(F1=10_000_000_000) and "G2" not in _criteria(F1=9_999_999_999)
    assert "A5" in _criteria(F1=100_000_000) and "A5" not in _criteria(F1=99_999_999)


def test_more_than_100_affected_accounts_is_attention() -> None:
    assert "A6" in _criteria(affected=101, F1=1) and "A6" not in _criteria(affected=100, F1=1)


def test_each_finding_maps_to_its_criterion() -> None:
    assert _criteria(F2=1) == ["G3"]
    assert _criteria(F5=1) == ["G5"]
    assert _criteria(F8=1) == ["G4"]
    assert _criteria(F6=1) == ["A1"] and level_of(["A1"]) == "attention"
    assert _criteria(F7=1) == ["A2"]
    assert _criteria(F1=1) == ["A4"]
    assert level_of([]) is None
