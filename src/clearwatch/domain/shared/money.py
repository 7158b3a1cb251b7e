"""Exact money: integer fen inside, two-decimal strings at the edges."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from clearwatch.domain.shared.errors import Refused

FEN_PER_YUAN = 100
amount_integer_digits_max = 16  # 10^16 yuan in fen fits int64 with room for sums
# The one amount grammar of files, JSON and config; readable by Python, RE2 and DuckDB alike.
AMOUNT_PATTERN = f"-?[0-9]{{1,{amount_integer_digits_max}}}[.][0-9]{{2}}"
_AMOUNT_SHAPE = re.compile(r"-?[0-9]+\.[0-9]{2}")  # the shape, any length: to name the rule


class MoneyRejection(StrEnum):
    """Why a text is not an amount, in precedence order."""

    AMOUNT_MUST_NOT_BE_EMPTY = "amount_must_not_be_empty"
    AMOUNT_MUST_NOT_BE_TOO_LONG = "amount_must_not_be_too_long"
    AMOUNT_MUST_HAVE_DIGITS_DOT_TWO_DECIMALS = "amount_must_have_digits_dot_two_decimals"


class MoneyFormatError(Refused, ValueError):
    """A text that is not an exact two-decimal amount."""

    def __init__(self, rejection: MoneyRejection, text: str) -> None:
        super().__init__(rejection.value, repr(text))
        self.rejection = rejection
        self.text = text


def parse_fen(text: str) -> int:
    """Parse `-?digits.dd` (at most `amount_integer_digits_max` digits) into integer fen;
    anything else is a named rejection."""
    if text == "":
        raise MoneyFormatError(MoneyRejection.AMOUNT_MUST_NOT_BE_EMPTY, text)
    if not _AMOUNT_SHAPE.fullmatch(text):
        raise MoneyFormatError(MoneyRejection.AMOUNT_MUST_HAVE_DIGITS_DOT_TWO_DECIMALS, text)
    if not re.fullmatch(AMOUNT_PATTERN, text):
        raise MoneyFormatError(MoneyRejection.AMOUNT_MUST_NOT_BE_TOO_LONG, text)
    negative = text.startswith("-")
    whole, _, cents = text.lstrip("-").partition(".")
    fen = int(whole) * FEN_PER_YUAN + int(cents)
    return -fen if negative else fen


def format_fen(fen: int) -> str:
    """Print integer fen as `-?digits.dd`; zero is `0.00`, never `-0.00`."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), FEN_PER_YUAN)
    return f"{sign}{whole}.{cents:02d}"


def parse_rate(text: str) -> Decimal:
    """A rate such as `0.00025` as an exact Decimal; floats never enter."""
    try:
        rate = Decimal(text)
    except InvalidOperation as error:
        raise ValueError(f"rate_must_be_a_decimal: {text!r}") from error
    if not rate.is_finite() or rate < 0:
        raise ValueError(f"rate_must_be_finite_and_not_negative: {text!r}")
    return rate
