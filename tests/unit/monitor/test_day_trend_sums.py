"""The trend's sums of a stored result: the short path reads every amount exactly as
`parse_fen` does, and refuses by the same rule what is not one."""

from __future__ import annotations

import json
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clearwatch.domain.shared.money import MoneyFormatError, format_fen, parse_fen
from clearwatch.services.monitor.day_trend import _fen, _summed_day

fen_max = 10**18 - 1  # sixteen integer digits and two decimals


@given(st.integers(min_value=-fen_max, max_value=fen_max))
def test_a_stored_amount_reads_as_the_fen_it_was_written_from(fen: int) -> None:
    assert _fen(format_fen(fen)) == fen == parse_fen(format_fen(fen))


@pytest.mark.parametrize("text", ["1.2", "1,000.00", "", "12345678901234567.00", "+1.00", "1.000"])
def test_what_is_not_a_stored_amount_is_refused_by_parse_fens_rule(text: str) -> None:
    with pytest.raises(MoneyFormatError) as refused:
        _fen(text)
    with pytest.raises(MoneyFormatError) as expected:
        parse_fen(text)
    assert refused.value.rejection == expected.value.rejection


def test_a_day_sums_the_brokers_only_and_counts_every_warning() -> None:
    def entry(kind: str, balance: str | None, problem: str, warnings: int) -> dict[str, object]:
        return {"kind": kind, "client_fund_balance": balance, "problem_amount": problem,
                "warnings": [{}] * warnings}  # fmt: skip

    document = {"institutions": [entry("broker", "1000.00", "0.01", 1),
                                 entry("broker", "-0.50", "-0.05", 0),
                                 entry("bank", None, "999.99", 2)]}  # fmt: skip
    day = _summed_day(date(2026, 11, 20), 2, json.dumps(document))
    assert (day.balance_fen, day.problem_fen, day.warnings) == (99_950, -4, 3)
