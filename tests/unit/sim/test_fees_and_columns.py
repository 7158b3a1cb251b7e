"""The simulator's vectorised fees and text columns agree with the domain's exact money rules."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from clearwatch.domain.shared.money import format_fen
from clearwatch.sim.columns import fen_text, price_text
from clearwatch.sim.fees import (
    COMMISSION_MIN_FEN,
    HANDLING_FEE_RATE,
    REGULATORY_FEE_RATE,
    STAMP_DUTY_RATE,
    TRANSFER_FEE_RATE,
    compute_fees,
    is_fund_code,
    rate_units,
    trade_amount_fen,
)

executions = st.lists(
    st.tuples(
        st.integers(1, 2_000_000),  # quantity
        st.integers(1, 3_000_000),  # price in milli-yuan
        st.booleans(),  # sell
        st.booleans(),  # fund
        st.sampled_from(["0.00025", "0.0002", "0.00015", "0.0003", "0.001"]),
    ),
    min_size=1,
    max_size=50,
)


def _half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _trade_amount_fen(quantity: int, price: Decimal) -> int:
    """quantity × price rounded half-up to the fen, in Decimal: independent of the simulator."""
    return _half_up(Decimal(quantity) * price * 100)


def _fee_fen(amount_fen: int, rate: Decimal) -> int:
    """amount × rate rounded half-up to the fen, in Decimal: independent of the simulator."""
    return _half_up(Decimal(amount_fen) * rate)


def _reference(quantity: int, price_milli: int, sell: bool, fund: bool, rate: str) -> list[int]:
    amount = _trade_amount_fen(quantity, Decimal(price_milli) / 1000)
    commission = max(_fee_fen(amount, Decimal(rate)), COMMISSION_MIN_FEN)
    stamp = _fee_fen(amount, Decimal(STAMP_DUTY_RATE)) if sell and not fund else 0
    transfer = 0 if fund else _fee_fen(amount, Decimal(TRANSFER_FEE_RATE))
    handling = _fee_fen(amount, Decimal(HANDLING_FEE_RATE))
    regulatory = _fee_fen(amount, Decimal(REGULATORY_FEE_RATE))
    return [amount, commission, stamp, transfer, handling, regulatory]


@settings(max_examples=200, deadline=None)
@given(executions)
def test_vectorised_fees_equal_the_decimal_reference(
    rows: list[tuple[int, int, bool, bool, str]],
) -> None:
    quantity = np.array([r[0] for r in rows], dtype=np.int64)
    price = np.array([r[1] for r in rows], dtype=np.int64)
    amount = trade_amount_fen(quantity, price)
    fees = compute_fees(
        amount_fen=amount,
        is_sell=np.array([r[2] for r in rows]),
        is_fund=np.array([r[3] for r in rows]),
        commission_units=np.array([rate_units(r[4]) for r in rows], dtype=np.int64),
    )
    got = np.stack(
        [amount, fees.commission, fees.stamp_duty, fees.transfer, fees.handling, fees.regulatory],
        axis=1,
    ).tolist()
    assert got == [_reference(*row) for row in rows]


def test_worked_example_of_the_spec_buy_and_sell_of_1000_at_10() -> None:
    amount = trade_amount_fen(np.array([1000, 1000]), np.array([10_000, 10_000]))
    fees = compute_fees(
        amount_fen=amount,
        is_sell=np.array([False, True]),
        is_fund=np.array([False, False]),
        commission_units=np.array([rate_units("0.00025")] * 2),
    )
    assert (amount + fees.total)[0] == 1_000_564  # 10,005.64 paid for the buy
    assert (amount - fees.total)[1] == 998_936  # 9,989.36 received for the sell


def test_funds_are_sh_codes_starting_5_and_sz_codes_starting_15_16_18() -> None:
    assert is_fund_code("SH", "510300") and is_fund_code("SZ", "159915")
    assert not is_fund_code("SZ", "000001") and not is_fund_code("SH", "600000")


@given(st.lists(st.integers(-(10**15), 10**15), min_size=1, max_size=40))
def test_fen_text_prints_exactly_what_format_fen_prints(values: list[int]) -> None:
    assert fen_text(np.array(values, dtype=np.int64)).to_pylist() == [format_fen(v) for v in values]


def test_prices_print_two_decimals_for_stocks_and_three_for_funds() -> None:
    text = price_text(np.array([12_340, 1_234, 5]), np.array([2, 3, 3], dtype=np.int8))
    assert text.to_pylist() == ["12.34", "1.234", "0.005"]
