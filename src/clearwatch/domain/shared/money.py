"""Exact money: integer fen inside, two-decimal strings at the edges."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum

FEN_PER_YUAN = 100
_AMOUNT_PATTERN = re.compile(r"-?[0-9]+\.[0-9]{2}")
amount_text_chars_max = 40  # 38 digits is far beyond any int64 of fen; longer text is noise


class MoneyRejection(StrEnum):
    """Why a text is not an amount, in precedence order."""

    AMOUNT_MUST_NOT_BE_EMPTY = "amount_must_not_be_empty"
    AMOUNT_MUST_NOT_BE_TOO_LONG = "amount_must_not_be_too_long"
    AMOUNT_MUST_HAVE_DIGITS_DOT_TWO_DECIMALS = "amount_must_have_digits_dot_two_decimals"


class MoneyFormatError(ValueError):
    """A text that is not an exact two-decimal amount."""

    def __init__(self, rejection: MoneyRejection, text: str) -> None:
        super().__init__(f"{rejection.value}: {text!r}")
        self.rejection = rejection
        self.text = text


def parse_fen(text: str) -> int:
    """Parse `-?digits.dd` into integer fen; anything else is a named rejection."""
    if text == "":
        raise MoneyFormatError(MoneyRejection.AMOUNT_MUST_NOT_BE_EMPTY, text)
    if len(text) > amount_text_chars_max:
        raise MoneyFormatError(MoneyRejection.AMOUNT_MUST_NOT_BE_TOO_LONG, text)
    if not _AMOUNT_PATTERN.fullmatch(text) or not text.isascii():
        raise MoneyFormatError(MoneyRejection.AMOUNT_MUST_HAVE_DIGITS_DOT_TWO_DECIMALS, text)
    negative = text.startswith("-")
    whole, _, cents = text.lstrip("-").partition(".")
    fen = int(whole) * FEN_PER_YUAN + int(cents)
    return -fen if negative else fen


def format_fen(fen: int) -> str:
    """Print integer fen as `-?digits.dd`; zero is `0.00`, never `-0.00`."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), FEN_PER_YUAN)
    return f"{sign}{whole}.{cents:02d}"


def fen_to_decimal(fen: int) -> Decimal:
    """The amount in yuan as an exact Decimal."""
    return Decimal(fen).scaleb(-2)


def decimal_to_fen(amount: Decimal) -> int:
    """An exact Decimal of yuan with at most two decimals, as fen; more decimals is a bug."""
    fen = amount * FEN_PER_YUAN
    if fen != fen.to_integral_value():
        raise ValueError(f"{amount} has more than two decimals; round it explicitly first")
    return int(fen)


def parse_rate(text: str) -> Decimal:
    """A rate such as `0.00025` as an exact Decimal; floats never enter."""
    try:
        rate = Decimal(text)
    except InvalidOperation as error:
        raise ValueError(f"rate_must_be_a_decimal: {text!r}") from error
    if not rate.is_finite() or rate < 0:
        raise ValueError(f"rate_must_be_finite_and_not_negative: {text!r}")
    return rate


def divide_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half-up (away from zero at exactly .5), in integers."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    quotient, remainder = divmod(abs(numerator), denominator)
    if 2 * remainder >= denominator:
        quotient += 1
    return -quotient if numerator < 0 else quotient


def rate_ratio(rate: Decimal) -> tuple[int, int]:
    """An exact rate as (numerator, denominator) integers, for integer-only arithmetic."""
    numerator, denominator = rate.as_integer_ratio()
    return numerator, denominator


def round_half_up_fen(amount_fen: int, rate: Decimal) -> int:
    """amount × rate rounded half-up to the fen (away from zero at .5), as fees are.

    Integer arithmetic only, the same formula the engines run; `Decimal.quantize` with
    ROUND_HALF_UP is the reference it is tested against.
    """
    numerator, denominator = rate_ratio(rate)
    return divide_half_up(amount_fen * numerator, denominator)


def round_half_up_product_fen(quantity: int, price: Decimal) -> int:
    """quantity × price (yuan, any decimals) rounded half-up to the fen: a trade amount."""
    numerator, denominator = rate_ratio(price)
    return divide_half_up(quantity * numerator * FEN_PER_YUAN, denominator)


@dataclass(frozen=True, order=True)
class Money:
    """An exact amount of yuan held as integer fen."""

    fen: int

    @classmethod
    def parse(cls, text: str) -> Money:
        return cls(parse_fen(text))

    def __str__(self) -> str:
        return format_fen(self.fen)

    def __add__(self, other: Money) -> Money:
        return Money(self.fen + other.fen)

    def __sub__(self, other: Money) -> Money:
        return Money(self.fen - other.fen)

    def __neg__(self) -> Money:
        return Money(-self.fen)
