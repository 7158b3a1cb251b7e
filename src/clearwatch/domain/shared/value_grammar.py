"""The one grammar of values in package and batch files: patterns, limits and the rule each breaks.

Patterns are written in the subset that Python's `re`, RE2 (Arrow's `match_substring_regex`)
and DuckDB's `regexp_full_match` read alike, and are matched against the whole value. The
adapters' vectorised checks are built from these patterns and limits; this module names the
rule a single bad value broke (the error path).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from enum import StrEnum

from clearwatch.domain.shared.file_schema import ColumnSpec, ValueType
from clearwatch.domain.shared.money import (
    AMOUNT_PATTERN,
    MoneyFormatError,
    MoneyRejection,
    amount_integer_digits_max,
    parse_fen,
)

quantity_digits_max = 15  # int64 holds 18 digits; 15 leaves room for sums over a day
price_integer_digits_max = 9  # a price below a billion yuan, exact as int64 thousandths
price_decimals_max = 3
rate_decimals_max = 8  # the engines hold a commission rate as its fraction over 10^8
value_shown_chars_max = 40  # how much of a bad value a message quotes

# C0 controls (NUL, tab, line breaks), DEL and C1 controls; as escapes all three engines read.
CONTROL_CODE_POINTS = (*range(0x00, 0x20), *range(0x7F, 0xA0))
CONTROL_CHARACTERS = "\\x00-\\x1f\\x7f-\\x9f"
# Unicode white space (categories Zs, Zl, Zp); the ASCII tab and line breaks are controls
# already. In a pattern as literal characters, which every engine reads alike.
WHITESPACE_CODE_POINTS = (
    0x20,
    0xA0,
    0x1680,
    *range(0x2000, 0x200B),
    0x2028,
    0x2029,
    0x202F,
    0x205F,
    0x3000,
)
WHITESPACE_CHARACTERS = "".join(chr(code_point) for code_point in WHITESPACE_CODE_POINTS)

IDENTIFIER_PATTERN = (
    f"[^{CONTROL_CHARACTERS}{WHITESPACE_CHARACTERS}]"
    f"([^{CONTROL_CHARACTERS}]*[^{CONTROL_CHARACTERS}{WHITESPACE_CHARACTERS}])?"
)
_CONTROL = re.compile(f"[{CONTROL_CHARACTERS}]")
_EDGE_SPACE = re.compile(f"^[{WHITESPACE_CHARACTERS}]|[{WHITESPACE_CHARACTERS}]$")

POSITIVE_AMOUNT_SHAPE = AMOUNT_PATTERN.removeprefix("-?")
DATE_PATTERN = "[0-9]{4}-[0-9]{2}-[0-9]{2}"
# Hours, minutes, seconds and the offset in range in the pattern itself: DuckDB's cast takes
# 24:00:00 and offsets such as +99:59 (shifting the time by days) that Python's reading refuses,
# and both readers must take the same times.
_HOUR, _MINUTE = "([01][0-9]|2[0-3])", "[0-5][0-9]"
TIMESTAMP_PATTERN = (
    f"[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}[T ]{_HOUR}:{_MINUTE}:{_MINUTE}([.][0-9]{{1,6}})?"
    f"(Z|[+-]{_HOUR}:{_MINUTE})"
)
QUANTITY_PATTERN = f"[1-9][0-9]{{0,{quantity_digits_max - 1}}}"
SIGNED_QUANTITY_PATTERN = f"-?[0-9]{{1,{quantity_digits_max}}}"
PRICE_PATTERN = f"[0-9]{{1,{price_integer_digits_max}}}([.][0-9]{{1,{price_decimals_max}}})?"
# A rate below one, such as 0.00025; empty means the configured default (clients.csv). The
# ceiling a rate may not exceed is the books' rule, checked when the batch is applied.
RATE_PATTERN = f"(0([.][0-9]{{1,{rate_decimals_max}}})?)?"

PATTERNS: dict[ValueType, str] = {
    ValueType.TEXT: IDENTIFIER_PATTERN,
    ValueType.MONEY: AMOUNT_PATTERN,
    ValueType.POSITIVE_MONEY: POSITIVE_AMOUNT_SHAPE,
    ValueType.DATE: DATE_PATTERN,
    ValueType.TIMESTAMP: TIMESTAMP_PATTERN,
    ValueType.QUANTITY: QUANTITY_PATTERN,
    ValueType.SIGNED_QUANTITY: SIGNED_QUANTITY_PATTERN,
    ValueType.PRICE: PRICE_PATTERN,
    ValueType.RATE: RATE_PATTERN,
}
"""Value types checked by shape; a positive amount or price must also be above zero."""


class ValueRule(StrEnum):
    """Each a rule one value broke; the names the receipts and refusals carry."""

    TEXT_MUST_NOT_BE_EMPTY = "text_must_not_be_empty"
    IDENTIFIER_MUST_NOT_CONTAIN_CONTROL_CHARACTERS = (
        "identifier_must_not_contain_control_characters"
    )
    IDENTIFIER_MUST_NOT_HAVE_SURROUNDING_WHITESPACE = (
        "identifier_must_not_have_surrounding_whitespace"
    )
    AMOUNT_MUST_HAVE_DIGITS_DOT_TWO_DECIMALS = "amount_must_have_digits_dot_two_decimals"
    AMOUNT_MUST_NOT_BE_TOO_LONG = "amount_must_not_be_too_long"
    AMOUNT_MUST_BE_POSITIVE = "amount_must_be_positive"
    DATE_MUST_BE_ISO_DATE = "date_must_be_iso_date"
    TIMESTAMP_MUST_BE_ISO_WITH_OFFSET = "timestamp_must_be_iso_with_offset"
    QUANTITY_MUST_BE_INTEGER = "quantity_must_be_integer"
    PRICE_MUST_HAVE_AT_MOST_THREE_DECIMALS = "price_must_have_at_most_three_decimals"
    RATE_MUST_BE_DECIMAL = "rate_must_be_decimal"
    VALUE_MUST_BE_ONE_OF_CHOICES = "value_must_be_one_of_choices"


def show_value(text: str) -> str:
    """A bad value quoted for a message, cut to a readable length."""
    return repr(text if len(text) <= value_shown_chars_max else text[:value_shown_chars_max] + "…")


def identifier_rule(text: str) -> ValueRule | None:
    """The rule an identifier breaks, or None: non-empty, no controls, no edge white space."""
    if text == "":
        return ValueRule.TEXT_MUST_NOT_BE_EMPTY
    if _CONTROL.search(text):
        return ValueRule.IDENTIFIER_MUST_NOT_CONTAIN_CONTROL_CHARACTERS
    if _EDGE_SPACE.search(text):
        return ValueRule.IDENTIFIER_MUST_NOT_HAVE_SURROUNDING_WHITESPACE
    return None


def is_valid(spec: ColumnSpec, text: str) -> bool:
    """Whether one value is good (the reference the vectorised checks are tested against)."""
    return value_rule(spec, text) is None


def value_rule(spec: ColumnSpec, text: str) -> ValueRule | None:
    """The rule one value breaks, or None when it is good."""
    match spec.value_type:
        case ValueType.OPTIONAL_TEXT:
            return None
        case ValueType.TEXT:
            return identifier_rule(text)
        case ValueType.ENUM:
            return None if text in spec.choices else ValueRule.VALUE_MUST_BE_ONE_OF_CHOICES
        case ValueType.MONEY | ValueType.POSITIVE_MONEY:
            return _amount_rule(spec, text)
        case ValueType.DATE:
            return None if _is_date(text) else ValueRule.DATE_MUST_BE_ISO_DATE
        case ValueType.TIMESTAMP:
            return None if _is_timestamp(text) else ValueRule.TIMESTAMP_MUST_BE_ISO_WITH_OFFSET
        case ValueType.QUANTITY | ValueType.SIGNED_QUANTITY:
            shaped = re.fullmatch(PATTERNS[spec.value_type], text, re.ASCII)
            return None if shaped else ValueRule.QUANTITY_MUST_BE_INTEGER
        case ValueType.PRICE:
            shaped = re.fullmatch(PRICE_PATTERN, text, re.ASCII) and re.search("[1-9]", text)
            return None if shaped else ValueRule.PRICE_MUST_HAVE_AT_MOST_THREE_DECIMALS
        case ValueType.RATE:
            return None if re.fullmatch(RATE_PATTERN, text) else ValueRule.RATE_MUST_BE_DECIMAL


def _amount_rule(spec: ColumnSpec, text: str) -> ValueRule | None:
    try:
        fen = parse_fen(text)
    except MoneyFormatError as problem:
        if problem.rejection is MoneyRejection.AMOUNT_MUST_NOT_BE_TOO_LONG:
            return ValueRule.AMOUNT_MUST_NOT_BE_TOO_LONG
        return ValueRule.AMOUNT_MUST_HAVE_DIGITS_DOT_TWO_DECIMALS
    if spec.value_type is ValueType.POSITIVE_MONEY and fen <= 0:
        return ValueRule.AMOUNT_MUST_BE_POSITIVE
    return None


def _is_date(text: str) -> bool:
    if not re.fullmatch(DATE_PATTERN, text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _is_timestamp(text: str) -> bool:
    if not re.fullmatch(TIMESTAMP_PATTERN, text):
        return False
    try:
        return datetime.fromisoformat(text).tzinfo is not None
    except ValueError:
        return False


def explain(spec: ColumnSpec, text: str) -> tuple[ValueRule, str]:
    """The rule a bad value broke and a message naming it (error path only)."""
    # A value the vectorised check refused but this reference accepts (an engine's stricter
    # reading, such as a time Arrow cannot cast) keeps its type's usual rule.
    rule = value_rule(spec, text) or _USUAL_RULES[spec.value_type]
    return rule, _MESSAGES[rule](spec, show_value(text))


_USUAL_RULES = {
    ValueType.TEXT: ValueRule.TEXT_MUST_NOT_BE_EMPTY,
    ValueType.OPTIONAL_TEXT: ValueRule.TEXT_MUST_NOT_BE_EMPTY,
    ValueType.ENUM: ValueRule.VALUE_MUST_BE_ONE_OF_CHOICES,
    ValueType.MONEY: ValueRule.AMOUNT_MUST_HAVE_DIGITS_DOT_TWO_DECIMALS,
    ValueType.POSITIVE_MONEY: ValueRule.AMOUNT_MUST_HAVE_DIGITS_DOT_TWO_DECIMALS,
    ValueType.DATE: ValueRule.DATE_MUST_BE_ISO_DATE,
    ValueType.TIMESTAMP: ValueRule.TIMESTAMP_MUST_BE_ISO_WITH_OFFSET,
    ValueType.QUANTITY: ValueRule.QUANTITY_MUST_BE_INTEGER,
    ValueType.SIGNED_QUANTITY: ValueRule.QUANTITY_MUST_BE_INTEGER,
    ValueType.PRICE: ValueRule.PRICE_MUST_HAVE_AT_MOST_THREE_DECIMALS,
    ValueType.RATE: ValueRule.RATE_MUST_BE_DECIMAL,
}


def _message(template: str) -> Callable[[ColumnSpec, str], str]:
    return lambda spec, shown: template.format(shown=shown, choices=", ".join(spec.choices))


_MESSAGES = {
    ValueRule.TEXT_MUST_NOT_BE_EMPTY: _message("the value is empty"),
    ValueRule.IDENTIFIER_MUST_NOT_CONTAIN_CONTROL_CHARACTERS: _message(
        "{shown} holds a control character (NUL, tab, line break, ...)"
    ),
    ValueRule.IDENTIFIER_MUST_NOT_HAVE_SURROUNDING_WHITESPACE: _message(
        "{shown} starts or ends with white space"
    ),
    ValueRule.AMOUNT_MUST_HAVE_DIGITS_DOT_TWO_DECIMALS: _message(
        "{shown} is not an amount like 1234.56 (digits, a dot, two decimals)"
    ),
    ValueRule.AMOUNT_MUST_NOT_BE_TOO_LONG: _message(
        f"{{shown}} has more than {amount_integer_digits_max} integer digits"
    ),
    ValueRule.AMOUNT_MUST_BE_POSITIVE: _message("{shown} must be above 0.00"),
    ValueRule.DATE_MUST_BE_ISO_DATE: _message("{shown} is not a date YYYY-MM-DD"),
    ValueRule.TIMESTAMP_MUST_BE_ISO_WITH_OFFSET: _message(
        "{shown} is not an ISO 8601 time with offset (2026-11-20T15:00:00+08:00)"
    ),
    ValueRule.QUANTITY_MUST_BE_INTEGER: _message(
        f"{{shown}} is not a whole number of at most {quantity_digits_max} digits"
    ),
    ValueRule.PRICE_MUST_HAVE_AT_MOST_THREE_DECIMALS: _message(
        "{shown} is not a price above zero like 12.345"
    ),
    ValueRule.RATE_MUST_BE_DECIMAL: _message("{shown} is not a decimal rate like 0.00025"),
    ValueRule.VALUE_MUST_BE_ONE_OF_CHOICES: _message("{shown} is not one of {choices}"),
}
