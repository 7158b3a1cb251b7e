"""Columns whose bytes alone show every value good, so the grammar's regexes need not run.

A batch's large columns are nearly always plain: printable ASCII identifiers, whole
quantities, prices, times of one layout. Looking at a whole column's bytes with numpy costs a
few milliseconds per million values where a regex costs a tenth of a second. These checks
only ever clear a column: one they cannot clear is not thereby bad, it goes to the regex check
of the grammar, which decides and names the bad lines. So each check below must hold only
when every value of the column matches the grammar's pattern (`value_grammar.PATTERNS`).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pyarrow as pa

from clearwatch.adapters.arrow_strings import Strings, string_bytes
from clearwatch.domain.shared.file_schema import ValueType
from clearwatch.domain.shared.value_grammar import (
    TIMESTAMP_PATTERN,
    price_decimals_max,
    price_integer_digits_max,
    quantity_digits_max,
)

_DIGIT_0, _DIGIT_1, _DOT, _SLASH = ord("0"), ord("1"), ord("."), ord("/")
_PRICE_CHARS_MAX = price_integer_digits_max + 1 + price_decimals_max
_PRINTABLE_FIRST, _PRINTABLE_LAST = 0x21, 0x7E  # printable ASCII but the space
# A time's layout: where the first value has a digit every value needs one; its other
# characters every value repeats, but for these alternatives, which the pattern also allows.
_DATE_TIME_SEPARATORS = frozenset(b"T ")
_OFFSET_SIGNS = frozenset(b"+-")
_OFFSET_CHARS = len("+08:00")
_DATE_TIME_CHARS = len("2026-11-20T15:00:00")
_HOUR_AT = len("2026-11-20T")


def is_plain(value_type: ValueType, column: pa.ChunkedArray) -> bool:
    """Whether the column's bytes show that every value is good for its type."""
    check = _CHECKS.get(value_type)
    chunks = _strings(column)
    return check is not None and chunks is not None and all(check(*c) for c in chunks)


def _strings(column: pa.ChunkedArray) -> list[Strings] | None:
    """Each chunk's offsets and bytes; None for a column these checks do not read."""
    chunks = [string_bytes(chunk) for chunk in column.chunks]
    return None if any(chunk is None for chunk in chunks) else [c for c in chunks if c]


def _identifiers(offsets: np.ndarray, data: np.ndarray) -> bool:
    """Non-empty and printable ASCII but the space: no control, no white space anywhere."""
    lengths = np.diff(offsets)
    return bool(
        (lengths > 0).all() and (data.size == 0 or _within(data, _PRINTABLE_FIRST, _PRINTABLE_LAST))
    )


def _quantities(offsets: np.ndarray, data: np.ndarray) -> bool:
    """`[1-9][0-9]{0,14}`: digits only, one to fifteen, the first not zero."""
    lengths = np.diff(offsets)
    if not ((lengths > 0) & (lengths <= quantity_digits_max)).all():
        return False
    return data.size == 0 or (
        _within(data, _DIGIT_0, _DIGIT_0 + 9) and data[offsets[:-1]].min() >= _DIGIT_1
    )


def _prices(offsets: np.ndarray, data: np.ndarray) -> bool:
    """`[0-9]{1,9}([.][0-9]{1,3})?` with a digit other than zero: above zero."""
    starts, ends = offsets[:-1], offsets[1:]
    lengths = ends - starts
    if data.size == 0 or not ((lengths > 0) & (lengths <= _PRICE_CHARS_MAX)).all():
        return offsets.size == 1 and data.size == 0
    dots = data == _DOT
    # Digits and dots only; a dot sorts below every digit, so the largest byte of a value is
    # above '0' exactly when it has a digit other than zero.
    if not (_within(data, _DOT, _DIGIT_0 + 9) and (data != _SLASH).all()):
        return False
    dotted = np.add.reduceat(dots.view(np.uint8), starts)
    if dotted.max() > 1 or np.maximum.reduceat(data, starts).min() <= _DIGIT_0:
        return False
    whole = dotted == 0
    dot_at = np.flatnonzero(dots)  # one per dotted value, in the values' order
    integer_digits = np.concatenate((lengths[whole], dot_at - starts[~whole]))
    decimals = ends[~whole] - dot_at - 1
    return bool(
        integer_digits.min() >= 1
        and integer_digits.max() <= price_integer_digits_max
        and (decimals.size == 0 or (decimals.min() >= 1 and decimals.max() <= price_decimals_max))
    )


def _timestamps(offsets: np.ndarray, data: np.ndarray) -> bool:
    """Every value in the first one's layout, which is checked against the pattern."""
    if data.size == 0:
        return offsets.size == 1
    width = int(offsets[1])
    if not (np.diff(offsets) == width).all():
        return False
    first = bytes(data[:width])
    if not _timestamp_layout(first):
        return False
    rows = data.reshape(-1, width)
    for position, char in enumerate(first):
        column = rows[:, position]
        if _DIGIT_0 <= char <= _DIGIT_0 + 9:
            ok = _within(column, _DIGIT_0, _DIGIT_0 + 9)
        elif position == len("2026-11-20") and char in _DATE_TIME_SEPARATORS:
            ok = bool(np.isin(column, list(_DATE_TIME_SEPARATORS)).all())
        elif position == width - _OFFSET_CHARS and char in _OFFSET_SIGNS:
            ok = bool(np.isin(column, list(_OFFSET_SIGNS)).all())
        else:
            ok = bool((column == char).all())
        if not ok:
            return False
    return _clock_in_range(rows, offset=first[-1:] != b"Z")


def _clock_in_range(rows: np.ndarray, *, offset: bool) -> bool:
    """Hours up to 23, minutes and seconds up to 59, in the time and its offset: the pattern
    says so for the first value; the layout alone only says the others have digits there."""
    width = rows.shape[1]
    fields = [(_HOUR_AT, 23), (_HOUR_AT + 3, 59), (_HOUR_AT + 6, 59)]
    if offset:
        fields += [(width - _OFFSET_CHARS + 1, 23), (width - 2, 59)]
    return all(_two_digits(rows, at).max() <= most for at, most in fields)


def _two_digits(rows: np.ndarray, at: int) -> np.ndarray:
    tens = rows[:, at].astype(np.int16) - _DIGIT_0
    ones = rows[:, at + 1].astype(np.int16) - _DIGIT_0
    value: np.ndarray = tens * 10 + ones
    return value


def _timestamp_layout(first: bytes) -> bool:
    """The first value matches the pattern; its only alternatives (the date-time separator,
    the offset's sign if it has one) sit where `_timestamps` allows either."""
    text = first.decode("ascii", errors="replace")
    return len(first) >= _DATE_TIME_CHARS and re.fullmatch(TIMESTAMP_PATTERN, text) is not None


def _within(values: np.ndarray, low: int, high: int) -> bool:
    """Every byte between `low` and `high` (both included)."""
    return values.size == 0 or bool(values.min() >= low and values.max() <= high)


_CHECKS: dict[ValueType, Callable[[np.ndarray, np.ndarray], bool]] = {
    ValueType.TEXT: _identifiers,
    ValueType.QUANTITY: _quantities,
    ValueType.PRICE: _prices,
    ValueType.TIMESTAMP: _timestamps,
}
