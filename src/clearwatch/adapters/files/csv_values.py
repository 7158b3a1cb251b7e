"""Vectorised checks and conversions of CSV string columns into their stored Arrow types.

Each check runs as Arrow compute kernels over a whole batch, built from the one value grammar
(`domain/shared/value_grammar.py`); Python looks at single values only on the error path, to
name the rule each bad value broke.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from clearwatch.domain.shared.file_schema import ColumnSpec, FileSpec, ValueType
from clearwatch.domain.shared.money import amount_integer_digits_max
from clearwatch.domain.shared.value_grammar import (
    CONTROL_CODE_POINTS,
    PATTERNS,
    WHITESPACE_CODE_POINTS,
    ValueRule,
    explain,
    is_valid,
    show_value,
)

__all__ = ["ARROW_TYPES", "BadValue", "CheckedColumn", "arrow_schema", "check_column", "show_value"]


def _anchored(value_type: ValueType) -> str:
    """The grammar's pattern matched against the whole value, as RE2 reads it."""
    return f"^(?:{PATTERNS[value_type]})$"


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
    code: ValueRule
    message: str


@dataclass(frozen=True)
class CheckedColumn:
    values: pa.Array  # converted to the stored type; bad rows hold a placeholder
    bad: tuple[BadValue, ...]


def check_column(column: pa.Array, spec: ColumnSpec, *, bad_max: int) -> CheckedColumn:
    """Check one string column of a batch and convert it; name at most `bad_max` bad values."""
    match spec.value_type:
        case ValueType.TEXT:
            return _identifier(column, spec, bad_max)
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
            ok = pc.match_substring_regex(column, _anchored(ValueType.RATE))
            return _finish(column, ok, column, spec, bad_max)


def _byte_ranges(byte_values: set[int]) -> tuple[tuple[int, int], ...]:
    """A set of byte values as inclusive ranges, so a check is a few SIMD comparisons."""
    ranges: list[tuple[int, int]] = []
    for value in sorted(byte_values):
        if ranges and ranges[-1][1] == value - 1:
            ranges[-1] = (ranges[-1][0], value)
        else:
            ranges.append((value, value))
    return tuple(ranges)


def _in_ranges(values: np.ndarray[Any, Any], ranges: tuple[tuple[int, int], ...]) -> Any:
    """Which bytes fall in the ranges: one comparison a range (a range not at zero wraps
    around in uint8, so `values - low <= high - low` is it)."""
    masks = []
    for low, high in ranges:
        if low == high:
            masks.append(values == np.uint8(low))
        elif low == 0:
            masks.append(values <= np.uint8(high))
        else:
            masks.append((values - np.uint8(low)) <= np.uint8(high - low))
    return np.logical_or.reduce(masks) if masks else np.zeros(values.shape, np.bool_)


def _utf8_bytes(code_points: tuple[int, ...]) -> list[bytes]:
    return [chr(code_point).encode() for code_point in code_points]


# From the grammar's code points: the bytes that can begin or end a white-space character, and
# the bytes of the controls (one byte, or C2 then 80..9F for the C1 controls).
_SPACES = _utf8_bytes(WHITESPACE_CODE_POINTS)
_CONTROLS = _utf8_bytes(CONTROL_CODE_POINTS)
_FIRST = _byte_ranges({encoded[0] for encoded in _SPACES})
_LAST = _byte_ranges({encoded[-1] for encoded in _SPACES})
_BEFORE_LAST = _byte_ranges({encoded[-2] for encoded in _SPACES if len(encoded) > 1})
_SINGLE_SPACE = _byte_ranges({encoded[0] for encoded in _SPACES if len(encoded) == 1})
_CONTROL = _byte_ranges({encoded[0] for encoded in _CONTROLS if len(encoded) == 1})
_CONTROL_LEAD = _byte_ranges({encoded[0] for encoded in _CONTROLS if len(encoded) == 2})
_CONTROL_SECOND = _byte_ranges({encoded[1] for encoded in _CONTROLS if len(encoded) == 2})
if any(len(encoded) > 2 for encoded in _CONTROLS):  # a new control would need a new test
    raise RuntimeError("controls of more than two UTF-8 bytes are not checked")


def _libc_memchr() -> Any:
    """The C library's memchr (a vectorised scan, ten times a numpy comparison), if any."""
    try:
        memchr = ctypes.CDLL(ctypes.util.find_library("c")).memchr
    except (OSError, AttributeError, TypeError):
        return None
    memchr.restype = ctypes.c_void_p
    memchr.argtypes = (ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t)
    return memchr


_MEMCHR = _libc_memchr()


def _holds_any(data: np.ndarray[Any, Any], ranges: tuple[tuple[int, int], ...]) -> bool:
    """Whether any byte of a whole batch falls in the ranges. Reductions (min, max) cost a
    fraction of a comparison pass, so a range at either end of the byte values, or beyond
    what the batch holds, is settled by them; a single byte inside is found by memchr."""
    smallest, largest = int(data.min()), int(data.max())
    for low, high in ranges:
        if high < smallest or low > largest:
            continue
        if low <= smallest or high >= largest:
            return True
        if low == high and _MEMCHR is not None and data.flags.c_contiguous:
            if _MEMCHR(data.ctypes.data, low, data.size):
                return True
        elif bool(_in_ranges(data, ((low, high),)).any()):
            return True
    return False


def _identifier_suspects(column: pa.Array) -> bool:
    """Whether any value could break the identifier rules, by byte tests over the whole batch
    (no Python object per row); only then is the grammar's exact pattern run."""
    if len(column) == 0:
        return False
    if column.null_count or column.type != pa.string():
        return True
    _, offsets_buffer, data_buffer = column.buffers()
    end = column.offset + len(column) + 1
    offsets = np.frombuffer(offsets_buffer, np.int32)[column.offset : end].astype(np.intp)
    if data_buffer is None or bool((offsets[1:] == offsets[:-1]).any()):
        return True  # an empty value
    whole = np.frombuffer(data_buffer, np.uint8)
    data = whole[offsets[0] : offsets[-1]]
    if _holds_any(data, _CONTROL):
        return True
    if _holds_any(data, _CONTROL_LEAD):
        leads = np.flatnonzero(_in_ranges(data[:-1], _CONTROL_LEAD))
        if bool(_in_ranges(data[leads + 1], _CONTROL_SECOND).any()):
            return True
    if bool(_in_ranges(whole[offsets[:-1]], _FIRST).any()):
        return True
    # A value ends in white space only if its last byte, and for a character of several
    # bytes also the byte before, could be white space's (the check may say yes wrongly).
    ends = offsets[1:] - 1
    last = whole[ends]
    maybe = np.flatnonzero(_in_ranges(last, _LAST))
    if not maybe.size:
        return False
    before_last = whole[np.maximum(ends[maybe] - 1, 0)]
    trailing = _in_ranges(last[maybe], _SINGLE_SPACE) | _in_ranges(before_last, _BEFORE_LAST)
    return bool(trailing.any())


def _identifier(column: pa.Array, spec: ColumnSpec, bad_max: int) -> CheckedColumn:
    if not _identifier_suspects(column):
        return CheckedColumn(column, ())
    ok = pc.match_substring_regex(column, _anchored(ValueType.TEXT))
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
    # Error path: the grammar's pattern names exactly which values are malformed.
    ok = pc.match_substring_regex(column, _anchored(ValueType.MONEY))
    fen = pc.cast(pc.replace_substring(_filled(column, ok, "1.00"), ".", ""), pa.int64())
    if positive:
        ok = pc.and_(ok, pc.greater(fen, 0))
    return _finish(column, ok, fen, spec, bad_max)


def _money_fast(column: pa.Array) -> pa.Array | None:
    """Fen of a column where every value is `-?d{1,16}.dd`, or None when any is not.

    Cheaper than the grammar's pattern (`AMOUNT_PATTERN`), and equivalent: the one dot sits
    three from the end after at least one digit, at most `amount_integer_digits_max` digits
    precede it, and dropping it leaves text the strict integer cast accepts (digits, one
    leading minus) — except a hexadecimal `0x…`, which Arrow's cast reads, so it is refused.
    """
    length = pc.binary_length(column)
    minus = pc.cast(pc.starts_with(column, "-"), pa.int32())
    dot = pc.find_substring(column, ".")
    shaped = pc.and_(
        pc.and_(pc.equal(dot, pc.subtract(length, 3)), pc.greater_equal(dot, pc.add(minus, 1))),
        pc.less_equal(pc.subtract(length, minus), amount_integer_digits_max + 3),
    )
    hexadecimal = pc.or_(pc.starts_with(column, "0x"), pc.starts_with(column, "0X"))
    if shaped.false_count or hexadecimal.true_count:
        return None
    try:
        return pc.cast(pc.replace_substring(column, ".", "", max_replacements=1), pa.int64())
    except pa.ArrowInvalid:
        return None


def _quantity(column: pa.Array, spec: ColumnSpec, bad_max: int) -> CheckedColumn:
    signed = spec.value_type is ValueType.SIGNED_QUANTITY
    ok = pc.match_substring_regex(
        column, _anchored(ValueType.SIGNED_QUANTITY if signed else ValueType.QUANTITY)
    )
    values = pc.cast(_filled(column, ok, "1"), pa.int64())
    return _finish(column, ok, values, spec, bad_max)


def _date(column: pa.Array, spec: ColumnSpec, bad_max: int) -> CheckedColumn:
    shaped = pc.match_substring_regex(column, _anchored(ValueType.DATE))
    filled = _filled(column, shaped, "2000-01-01")
    parsed = pc.strptime(filled, format="%Y-%m-%d", unit="s", error_is_null=True)
    # strptime rolls 02-30 over to 03-02; printing it back catches dates that do not exist.
    ok = pc.and_(
        shaped, pc.fill_null(pc.equal(pc.strftime(parsed, format="%Y-%m-%d"), filled), False)
    )
    values = pc.cast(_filled(column, ok, "2000-01-01"), pa.date32())
    return _finish(column, ok, values, spec, bad_max)


def _timestamp(column: pa.Array, spec: ColumnSpec, bad_max: int) -> CheckedColumn:
    ok = pc.match_substring_regex(column, _anchored(ValueType.TIMESTAMP))
    try:
        values = pc.cast(_filled(column, ok, "2000-01-01T00:00:00Z"), _TIMESTAMP_TYPE)
    except pa.ArrowInvalid:
        # Rare: well-shaped but impossible (month 13). Name each such value in Python.
        ok = pa.array([is_valid(spec, v) for v in column.to_pylist()], pa.bool_())
        values = pc.cast(_filled(column, ok, "2000-01-01T00:00:00Z"), _TIMESTAMP_TYPE)
    return _finish(column, ok, values, spec, bad_max)


def _price(column: pa.Array, spec: ColumnSpec, bad_max: int) -> CheckedColumn:
    # A well-formed price is above zero exactly when it has a digit other than 0.
    ok = pc.and_(
        pc.match_substring_regex(column, _anchored(ValueType.PRICE)),
        pc.match_substring_regex(column, "[1-9]"),
    )
    filled = _filled(column, ok, "1")
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
        BadValue(row, *explain(spec, str(text))) for row, text in zip(rows, texts, strict=True)
    )
    return CheckedColumn(values, bad)
