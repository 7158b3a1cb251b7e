"""Money: strict parsing, exact text round trips and sums, rates as exact Decimals."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clearwatch.domain.shared.money import (
    MoneyFormatError,
    MoneyRejection,
    amount_integer_digits_max,
    format_fen,
    parse_fen,
    parse_rate,
)

# Every amount the one grammar admits: at most `amount_integer_digits_max` integer digits.
fen_values = st.integers(
    min_value=-(10 ** (amount_integer_digits_max + 2) - 1),
    max_value=10 ** (amount_integer_digits_max + 2) - 1,
)


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
    assert Decimal(format_fen(total)) == sum((Decimal(t) for t in texts), Decimal(0))


def test_rates_must_be_decimal_text_never_floats() -> None:
    assert parse_rate("0.00025") == Decimal("0.00025")
    with pytest.raises(ValueError, match="rate_must_be_a_decimal"):
        parse_rate("abc")
    with pytest.raises(ValueError, match="rate_must_be_finite_and_not_negative"):
        parse_rate("-0.1")
