"""Money: strict parsing, exact sums, explicit half-up rounding."""

from __future__ import annotations

import random
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearwatch.domain.shared.money import (
    Money,
    MoneyFormatError,
    MoneyRejection,
    decimal_to_fen,
    divide_half_up,
    fen_to_decimal,
    format_fen,
    parse_fen,
    parse_rate,
    round_half_up_fen,
    round_half_up_product_fen,
)

fen_values = st.integers(min_value=-(2**62), max_value=2**62)


def decimal_reference_fee(amount_fen: int, rate: Decimal) -> int:
    return int((Decimal(amount_fen) * rate).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@pytest.mark.parametrize(
    ("text", "fen"),
    [("0.00", 0), ("1.00", 100), ("-3.10", -310), ("1950000.00", 195_000_000), ("-0.00", 0)],
)
def test_well_formed_amounts_parse_to_fen(text: str, fen: int) -> None:
    assert parse_fen(text) == fen


@pytest.mark.parametrize(
    ("text", "rejection"),
    [
        ("", MoneyRejection.AMOUNT_MUST_NOT_BE_EMPTY),
        ("1e5", MoneyRejection.AMOUNT_MUST_HAVE_DIGITS_DOT_TWO_DECIMALS),
        ("1,000.00", MoneyRejection.AMOUNT_MUST_HAVE_DIGITS_DOT_TWO_DECIMALS),
        (".5", MoneyRejection.AMOUNT_MUST_HAVE_DIGITS_DOT_TWO_DECIMALS),
        ("1.234", MoneyRejection.AMOUNT_MUST_HAVE_DIGITS_DOT_TWO_DECIMALS),
        ("1.5", MoneyRejection.AMOUNT_MUST_HAVE_DIGITS_DOT_TWO_DECIMALS),
        ("100", MoneyRejection.AMOUNT_MUST_HAVE_DIGITS_DOT_TWO_DECIMALS),
        ("+1.00", MoneyRejection.AMOUNT_MUST_HAVE_DIGITS_DOT_TWO_DECIMALS),
        (" 1.00", MoneyRejection.AMOUNT_MUST_HAVE_DIGITS_DOT_TWO_DECIMALS),
        ("1.00\n", MoneyRejection.AMOUNT_MUST_HAVE_DIGITS_DOT_TWO_DECIMALS),
        ("١.٠٠", MoneyRejection.AMOUNT_MUST_HAVE_DIGITS_DOT_TWO_DECIMALS),
        ("NaN", MoneyRejection.AMOUNT_MUST_HAVE_DIGITS_DOT_TWO_DECIMALS),
        ("9" * 50 + ".00", MoneyRejection.AMOUNT_MUST_NOT_BE_TOO_LONG),
    ],
)
def test_malformed_amounts_are_named_rejections(text: str, rejection: MoneyRejection) -> None:
    with pytest.raises(MoneyFormatError) as caught:
        parse_fen(text)
    assert caught.value.rejection is rejection


@given(fen_values)
def test_format_then_parse_is_identity(fen: int) -> None:
    assert parse_fen(format_fen(fen)) == fen


@given(st.from_regex(r"-?[1-9][0-9]{0,15}\.[0-9]{2}|0\.[0-9]{2}", fullmatch=True))
def test_parse_then_format_is_identity_for_canonical_text(text: str) -> None:
    assert format_fen(parse_fen(text)) == text


@given(st.lists(fen_values, max_size=50))
def test_sums_of_parsed_amounts_are_exact(values: list[int]) -> None:
    texts = [format_fen(v) for v in values]
    total = sum(parse_fen(t) for t in texts)
    assert total == sum(values)
    assert fen_to_decimal(total) == sum((Decimal(t) for t in texts), Decimal(0))


@given(fen_values)
def test_decimal_round_trip_is_exact(fen: int) -> None:
    assert decimal_to_fen(fen_to_decimal(fen)) == fen


def test_decimal_with_sub_fen_digits_must_be_rounded_explicitly() -> None:
    with pytest.raises(ValueError, match="more than two decimals"):
        decimal_to_fen(Decimal("1.005"))


rates = st.decimals(min_value=0, max_value=1, places=7, allow_nan=False, allow_infinity=False)


@settings(max_examples=2_000)
@given(fen_values, rates)
def test_fee_rounding_equals_the_decimal_reference(amount_fen: int, rate: Decimal) -> None:
    assert round_half_up_fen(amount_fen, rate) == decimal_reference_fee(amount_fen, rate)


def test_fee_rounding_equals_the_decimal_reference_on_a_million_random_cases() -> None:
    generator = random.Random(20261122)
    schedule_rates = [Decimal(r) for r in ("0.00025", "0.0005", "0.00001", "0.0000341", "0.00002")]
    for _ in range(1_000_000):
        amount_fen = generator.randrange(-(10**13), 10**13)
        rate = generator.choice(schedule_rates)
        if round_half_up_fen(amount_fen, rate) != decimal_reference_fee(amount_fen, rate):
            pytest.fail(f"{amount_fen} × {rate} rounds differently from Decimal")


def test_exact_half_fen_rounds_away_from_zero() -> None:
    assert round_half_up_fen(5, Decimal("0.1")) == 1  # 0.5 fen → 1 fen
    assert round_half_up_fen(-5, Decimal("0.1")) == -1
    assert round_half_up_fen(4, Decimal("0.1")) == 0
    assert divide_half_up(3, 2) == 2
    assert divide_half_up(-3, 2) == -2


def test_trade_amount_rounds_price_times_quantity_half_up_to_the_fen() -> None:
    assert round_half_up_product_fen(1000, Decimal("10.00")) == 1_000_000
    assert round_half_up_product_fen(1, Decimal("10.005")) == 1001  # 10.005 → 10.01
    assert round_half_up_product_fen(3, Decimal("0.001")) == 0  # 0.003 → 0.00


def test_rates_must_be_decimal_text_never_floats() -> None:
    assert parse_rate("0.00025") == Decimal("0.00025")
    with pytest.raises(ValueError, match="rate_must_be_a_decimal"):
        parse_rate("abc")
    with pytest.raises(ValueError, match="rate_must_be_finite_and_not_negative"):
        parse_rate("-0.1")


def test_money_value_adds_and_prints_exactly() -> None:
    assert str(Money.parse("0.10") + Money.parse("0.20")) == "0.30"
    assert str(-Money.parse("1.00")) == "-1.00"
