"""Vectorised checks and conversions of CSV string columns into their stored Arrow types.

Each check runs as Arrow compute kernels over a whole batch; Python looks at single values
only on the error path, to name the rule each bad value broke.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc

from clearwatch.domain.monitor.rejections import Rejection
from clearwatch.domain.shared.file_schema import ColumnSpec, FileSpec, ValueType

amount_integer_digits_max = 16  # 10^16 yuan in fen still fits int64 with room for sums
quantity_digits_max = 18
value_shown_chars_max = 40  # how much of a bad value a message quotes

_MONEY = rf"^-?[0-9]{{1,{amount_integer_digits_max}}}\.[0-9]{{2}}$"
_POSITIVE_MONEY = rf"^[0-9]{{1,{amount_integer_digits_max}}}\.[0-9]{{2}}$"
_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_TIMESTAMP = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})$"
)
_QUANTITY = rf"^[0-9]{{1,{quantity_digits_max}}}$"
_SIGNED_QUANTITY = rf"^-?[0-9]{{1,{quantity_digits_max}}}$"
_PRICE = r"^[0-9]{1,15}(\.[0-9]{1,3})?$"
_RATE = r"^[0-9]{1,6}(\.[0-9]{1,12})?$"
_TIMESTAMP_TYPE = pa.timestamp("us", tz="UTC")

ARROW_TYPES: dict[ValueType, pa.DataType] = {
    ValueType.TEXT: pa.string(),
    ValueType.OPTIONAL_TEXT: pa.string(),
    ValueType.ENUM: pa.string(),
    ValueType.RATE: pa.string(),
    ValueType.MONEY: pa.int64(),
    ValueType.POSITIVE_MONEY: pa.int64(),
    ValueType.QUANTITY: pa.int64(),
    ValueType.SIGNED_QUANTITY: pa.int64(),
    ValueType.PRICE: pa.int64(),
    ValueType.DATE: pa.date32(),
    ValueType.TIMESTAMP: _TIMESTAMP_TYPE,
}


def arrow_schema(file_spec: FileSpec) -> pa.Schema:
    """The stored Parquet schema: money int64 fen, dates date32, timestamps UTC, text string."""
    return pa.schema(
        [pa.field(c.name, ARROW_TYPES[c.value_type], nullable=False) for c in file_spec.columns]
    )


@dataclass(frozen=True)
class BadValue:
    row: int  # index within the batch
    code: Rejection
    message: str


@dataclass(frozen=True)
class CheckedColumn:
    values: pa.Array  # converted to the stored type; bad rows hold a placeholder
    bad: tuple[BadValue, ...]


def check_column(column: pa.Array, spec: ColumnSpec, *, bad_max: int) -> CheckedColumn:
    """Check one string column of a batch and convert it; name at most `bad_max` bad values."""
    match spec.value_type:
        case ValueType.TEXT:
            ok = pc.greater(pc.binary_length(column), 0)
            return _finish(column, ok, column, spec, bad_max)
        case ValueType.OPTIONAL_TEXT:
            return CheckedColumn(column, ())
        case ValueType.ENUM:
            ok = pc.is_in(column, value_set=pa.array(spec.choices, pa.string()))
            return _finish(column, ok, column, spec, bad_max)
        case ValueType.MONEY | ValueType.POSITIVE_MONEY:
            return _money(column, spec, bad_max)
        case ValueType.QUANTITY | ValueType.SIGNED_QUANTITY:
            return _quantity(column, spec, bad_max)
        case ValueType.DATE:
            return _date(column, spec, bad_max)
        case ValueType.TIMESTAMP:
            return _timestamp(column, spec, bad_max)
        case ValueType.PRICE:
            return _price(column, spec, bad_max)
        case ValueType.RATE:
            ok = pc.match_substring_regex(column, _RATE)
            return _finish(column, ok, column, spec, bad_max)


def _filled(column: pa.Array, ok: pa.Array, placeholder: str) -> pa.Array:
    """Bad values replaced by a valid placeholder, so the conversion kernel cannot fail."""
    if ok.false_count == 0:
        return column
    return pc.if_else(ok, column, pa.scalar(placeholder, pa.string()))


def _money(column: pa.Array, spec: ColumnSpec, bad_max: int) -> CheckedColumn:
    positive = spec.value_type is ValueType.POSITIVE_MONEY
    fen = _money_fast(column)
    if fen is not None:
        if not positive:
            return CheckedColumn(fen, ())
        return _finish(column, pc.greater(fen, 0), fen, spec, bad_max)
    # Error path: the regex names exactly which values are malformed.
    ok = pc.match_substring_regex(column, _POSITIVE_MONEY if positive else _MONEY)
    fen = pc.cast(pc.replace_substring(_filled(column, ok, "1.00"), ".", ""), pa.int64())
    if positive:
        ok = pc.and_(ok, pc.greater(fen, 0))
    return _finish(column, ok, fen, spec, bad_max)


def _money_fast(column: pa.Array) -> pa.Array | None:
    """Fen of a column where every value is `-?d{1,16}.dd`, or None when any is not.

    Cheaper than the regex: the one dot sits three from the end after at least one digit, and
    dropping it leaves text the strict integer cast accepts (digits, one leading minus).
    """
    length = pc.binary_length(column)
    minus = pc.cast(pc.starts_with(column, "-"), pa.int32())
    dot = pc.find_substring(column, ".")
    shaped = pc.and_(
        pc.and_(pc.equal(dot, pc.subtract(length, 3)), pc.greater_equal(dot, pc.add(minus, 1))),
        pc.less_equal(pc.subtract(length, minus), amount_integer_digits_max + 3),
    )
    if shaped.false_count:
        return None
    try:
        return pc.cast(pc.replace_substring(column, ".", "", max_replacements=1), pa.int64())
    except pa.ArrowInvalid:
        return None


def _quantity(column: pa.Array, spec: ColumnSpec, bad_max: int) -> CheckedColumn:
    signed = spec.value_type is ValueType.SIGNED_QUANTITY
    ok = pc.match_substring_regex(column, _SIGNED_QUANTITY if signed else _QUANTITY)
    values = pc.cast(_filled(column, ok, "1"), pa.int64())
    if not signed:
        ok = pc.and_(ok, pc.greater(values, 0))
    return _finish(column, ok, values, spec, bad_max)


def _date(column: pa.Array, spec: ColumnSpec, bad_max: int) -> CheckedColumn:
    shaped = pc.match_substring_regex(column, _DATE)
    filled = _filled(column, shaped, "2000-01-01")
    parsed = pc.strptime(filled, format="%Y-%m-%d", unit="s", error_is_null=True)
    # strptime rolls 02-30 over to 03-02; printing it back catches dates that do not exist.
    ok = pc.and_(
        shaped, pc.fill_null(pc.equal(pc.strftime(parsed, format="%Y-%m-%d"), filled), False)
    )
    values = pc.cast(_filled(column, ok, "2000-01-01"), pa.date32())
    return _finish(column, ok, values, spec, bad_max)


def _timestamp(column: pa.Array, spec: ColumnSpec, bad_max: int) -> CheckedColumn:
    ok = pc.match_substring_regex(column, _TIMESTAMP)
    try:
        values = pc.cast(_filled(column, ok, "2000-01-01T00:00:00Z"), _TIMESTAMP_TYPE)
    except pa.ArrowInvalid:
        # Rare: well-shaped but impossible (month 13). Name each such value in Python.
        ok = pa.array([_is_timestamp(v) for v in column.to_pylist()], pa.bool_())
        values = pc.cast(_filled(column, ok, "2000-01-01T00:00:00Z"), _TIMESTAMP_TYPE)
    return _finish(column, ok, values, spec, bad_max)


def _is_timestamp(text: str) -> bool:
    try:
        return datetime.fromisoformat(text).tzinfo is not None
    except ValueError:
        return False


def _price(column: pa.Array, spec: ColumnSpec, bad_max: int) -> CheckedColumn:
    ok = pc.match_substring_regex(column, _PRICE)
    filled = _filled(column, ok, "0")
    dotted = pc.if_else(
        pc.match_substring(filled, "."), filled, pc.binary_join_element_wise(filled, ".", "")
    )
    padded = pc.utf8_slice_codeunits(pc.binary_join_element_wise(dotted, "000", ""), 0, 19)
    parts = pc.extract_regex(padded, r"^(?P<whole>[0-9]+)\.(?P<milli>[0-9]{3})")
    milli_text = pc.binary_join_element_wise(
        pc.struct_field(parts, "whole"), pc.struct_field(parts, "milli"), ""
    )
    return _finish(column, ok, pc.cast(milli_text, pa.int64()), spec, bad_max)


def _finish(
    column: pa.Array, ok: pa.Array, values: pa.Array, spec: ColumnSpec, bad_max: int
) -> CheckedColumn:
    if ok.false_count == 0:
        return CheckedColumn(values, ())
    rows = pc.indices_nonzero(pc.invert(ok))[:bad_max].to_pylist()
    texts = column.take(pa.array(rows, pa.int64())).to_pylist()
    bad = tuple(
        BadValue(row, *_explain(spec, str(text))) for row, text in zip(rows, texts, strict=True)
    )
    return CheckedColumn(values, bad)


def show_value(text: str) -> str:
    return repr(text if len(text) <= value_shown_chars_max else text[:value_shown_chars_max] + "…")


_Explainer = Callable[[ColumnSpec, str], tuple[Rejection, str]]


def _explain(spec: ColumnSpec, text: str) -> tuple[Rejection, str]:
    """Name the rule a single bad value broke (error path only)."""
    return _EXPLAINERS[spec.value_type](spec, text)


def _explain_money(spec: ColumnSpec, text: str) -> tuple[Rejection, str]:
    if re.fullmatch(r"-?[0-9]+\.[0-9]{2}", text):
        if len(text.lstrip("-")) > amount_integer_digits_max + 3:
            return (
                Rejection.AMOUNT_MUST_NOT_BE_TOO_LONG,
                f"{show_value(text)} has more than {amount_integer_digits_max} integer digits",
            )
        return Rejection.AMOUNT_MUST_BE_POSITIVE, f"{show_value(text)} must be above 0.00"
    return (
        Rejection.AMOUNT_MUST_HAVE_DIGITS_DOT_TWO_DECIMALS,
        f"{show_value(text)} is not an amount like 1234.56 (digits, a dot, two decimals)",
    )


_EXPLAINERS: dict[ValueType, _Explainer] = {
    ValueType.TEXT: lambda spec, text: (Rejection.TEXT_MUST_NOT_BE_EMPTY, "the value is empty"),
    ValueType.ENUM: lambda spec, text: (
        Rejection.VALUE_MUST_BE_ONE_OF_CHOICES,
        f"{show_value(text)} is not one of {', '.join(spec.choices)}",
    ),
    ValueType.MONEY: _explain_money,
    ValueType.POSITIVE_MONEY: _explain_money,
    ValueType.QUANTITY: lambda spec, text: (
        Rejection.QUANTITY_MUST_BE_INTEGER,
        f"{show_value(text)} is not a positive whole number",
    ),
    ValueType.SIGNED_QUANTITY: lambda spec, text: (
        Rejection.QUANTITY_MUST_BE_INTEGER,
        f"{show_value(text)} is not a whole number",
    ),
    ValueType.DATE: lambda spec, text: (
        Rejection.DATE_MUST_BE_ISO_DATE,
        f"{show_value(text)} is not a date YYYY-MM-DD",
    ),
    ValueType.TIMESTAMP: lambda spec, text: (
        Rejection.TIMESTAMP_MUST_BE_ISO_WITH_OFFSET,
        f"{show_value(text)} is not an ISO 8601 time with offset (2026-11-20T15:00:00+08:00)",
    ),
    ValueType.PRICE: lambda spec, text: (
        Rejection.PRICE_MUST_HAVE_AT_MOST_THREE_DECIMALS,
        f"{show_value(text)} is not a price like 12.345",
    ),
    ValueType.RATE: lambda spec, text: (
        Rejection.RATE_MUST_BE_DECIMAL,
        f"{show_value(text)} is not a decimal rate like 0.00025",
    ),
}
