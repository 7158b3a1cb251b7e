"""A column cleared by its bytes alone holds only good values; a plain column is cleared."""

from __future__ import annotations

import re

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from clearwatch.adapters.files.plain_columns import is_plain
from clearwatch.domain.shared.file_schema import ColumnSpec, ValueType
from clearwatch.domain.shared.value_grammar import TIMESTAMP_PATTERN, is_valid

CHECKED = (ValueType.TEXT, ValueType.QUANTITY, ValueType.PRICE, ValueType.TIMESTAMP)
# Characters of every layout, the near misses of each, and a few that no plain value holds.
ALPHABET = "0123456789.-+:TZ /,Ee\t\u00a0\u3000客"
GOOD = {
    ValueType.TEXT: ["F00000001", "E000000000", "600176", "A-b_c.9"],
    ValueType.QUANTITY: ["1500", "1", "999999999999999"],
    ValueType.PRICE: ["19.982", "1", "0.5", "100.10", "999999999.999"],
    ValueType.TIMESTAMP: ["2026-11-20T10:00:00+08:00", "2026-11-20 15:30:59-05:30"],
}


def _column(values: list[str], cut: int) -> pa.ChunkedArray:
    """The values as two chunks, the second a slice (a chunk need not start its buffers)."""
    whole = pa.array(["padding", *values], pa.string())
    return pa.chunked_array([whole[1 : 1 + cut], whole[1 + cut :]], pa.string())


def _near(value: str) -> st.SearchStrategy[str]:
    """A good value with one character changed, dropped or added."""
    return st.tuples(st.integers(0, len(value)), st.sampled_from(ALPHABET), st.integers(0, 2)).map(
        lambda edit: (
            value[: edit[0]] + edit[1] + value[edit[0] + 1 :],
            value[: edit[0]] + value[edit[0] + 1 :],
            value[: edit[0]] + edit[1] + value[edit[0] :],
        )[edit[2]]
    )


def _values(value_type: ValueType) -> st.SearchStrategy[str]:
    good = GOOD[value_type]
    return st.one_of(
        st.sampled_from(good),
        st.sampled_from(good).flatmap(_near),
        st.text(ALPHABET, max_size=30),
    )


@pytest.mark.parametrize("value_type", CHECKED)
@given(data=st.data())
def test_a_column_cleared_by_its_bytes_holds_only_good_values(
    value_type: ValueType, data: st.DataObject
) -> None:
    values = data.draw(st.lists(_values(value_type), max_size=12))
    cut = data.draw(st.integers(0, len(values)))
    if is_plain(value_type, _column(values, cut)):
        assert all(_shaped(value_type, v) for v in values), values


def _shaped(value_type: ValueType, text: str) -> bool:
    """Good by the grammar; for a time, by its pattern: the bytes cannot tell whether the date
    exists (the reader's cast does)."""
    if value_type is ValueType.TIMESTAMP:
        return re.fullmatch(TIMESTAMP_PATTERN, text) is not None
    return is_valid(ColumnSpec("c", value_type), text)


@pytest.mark.parametrize("value_type", CHECKED)
def test_a_plain_column_of_good_values_is_cleared(value_type: ValueType) -> None:
    """The point of the check: the usual column skips its regex."""
    values = GOOD[value_type] if value_type is not ValueType.TIMESTAMP else GOOD[value_type][:1] * 3
    assert is_plain(value_type, _column(values * 100, 7))


@pytest.mark.parametrize(
    ("value_type", "bad"),
    [
        (ValueType.TEXT, " F1"),
        (ValueType.TEXT, ""),
        (ValueType.TEXT, "客户"),  # good, but not plain ASCII: left to the regex
        (ValueType.QUANTITY, "0100"),
        (ValueType.PRICE, "0.000"),
        (ValueType.PRICE, "1.2345"),
        (ValueType.PRICE, "1.2.3"),
        (ValueType.TIMESTAMP, "2026-11-20T10:00:00 08:00"),
        (ValueType.TIMESTAMP, "2026-11-20T10:00:00+0800 "),
    ],
)
def test_one_value_off_the_plain_shape_sends_the_column_to_the_regex(
    value_type: ValueType, bad: str
) -> None:
    values = GOOD[value_type][:1] * 50
    assert not is_plain(value_type, _column([*values, bad, *values], 20))
