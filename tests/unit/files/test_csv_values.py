"""Vectorised value checks: each value type's bad values are named; good ones convert exactly."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pyarrow as pa
import pytest

from clearwatch.adapters.files.csv_values import arrow_schema, check_column
from clearwatch.domain.shared.file_schema import BANK_DAILY, ColumnSpec, ValueType
from clearwatch.domain.shared.value_grammar import ValueRule


def check(value_type: ValueType, values: list[str]) -> tuple[list[object], dict[int, ValueRule]]:
    spec = ColumnSpec("x", value_type, ("a", "b"))
    checked = check_column(pa.array(values, pa.string()), spec, bad_max=100)
    return checked.values.to_pylist(), {bad.row: bad.code for bad in checked.bad}


def test_money_converts_to_exact_fen() -> None:
    values, bad = check(ValueType.MONEY, ["0.00", "-0.00", "1.05", "-1950000.00", "0.10"])
    assert bad == {}
    assert values == [0, 0, 105, -195000000, 10]


@pytest.mark.parametrize("text", ["1", "1.0", "1.000", ".10", "1,000.00", "1e2", " 1.00", "¥1.00"])
def test_money_without_exactly_two_decimals_is_named(text: str) -> None:
    _, bad = check(ValueType.MONEY, ["1.00", text])
    assert bad == {1: ValueRule.AMOUNT_MUST_HAVE_DIGITS_DOT_TWO_DECIMALS}


def test_dates_must_exist() -> None:
    values, bad = check(ValueType.DATE, ["2026-11-20", "2026-02-30", "2026-1-5", ""])
    assert values[0] == date(2026, 11, 20)
    assert bad == {
        1: ValueRule.DATE_MUST_BE_ISO_DATE,
        2: ValueRule.DATE_MUST_BE_ISO_DATE,
        3: ValueRule.DATE_MUST_BE_ISO_DATE,
    }


def test_timestamps_are_stored_in_utc() -> None:
    values, bad = check(ValueType.TIMESTAMP, ["2026-11-20T10:00:00+08:00", "2026-11-20 02:00:00Z"])
    assert bad == {}
    assert values == [datetime(2026, 11, 20, 2, tzinfo=UTC)] * 2


@pytest.mark.parametrize(
    ("value_type", "good", "good_value", "wrong", "code"),
    [
        (ValueType.QUANTITY, "100", 100, "0", ValueRule.QUANTITY_MUST_BE_INTEGER),
        (ValueType.SIGNED_QUANTITY, "-100", -100, "1.5", ValueRule.QUANTITY_MUST_BE_INTEGER),
        (
            ValueType.PRICE,
            "12.3",
            12300,
            "12.3456",
            ValueRule.PRICE_MUST_HAVE_AT_MOST_THREE_DECIMALS,
        ),
        (ValueType.PRICE, "7", 7000, "-7", ValueRule.PRICE_MUST_HAVE_AT_MOST_THREE_DECIMALS),
        (ValueType.RATE, "0.00025", "0.00025", "2%", ValueRule.RATE_MUST_BE_DECIMAL),
        (ValueType.ENUM, "a", "a", "c", ValueRule.VALUE_MUST_BE_ONE_OF_CHOICES),
        (ValueType.TEXT, "x", "x", "", ValueRule.TEXT_MUST_NOT_BE_EMPTY),
    ],
)
def test_each_value_type_names_its_rule(
    value_type: ValueType, good: str, good_value: object, wrong: str, code: ValueRule
) -> None:
    values, bad = check(value_type, [good, wrong])
    assert values[0] == good_value
    assert bad == {1: code}


def test_optional_text_accepts_empty() -> None:
    assert check(ValueType.OPTIONAL_TEXT, ["", "x"]) == (["", "x"], {})


def test_the_stored_schema_has_money_as_int64_and_times_in_utc() -> None:
    schema = arrow_schema(BANK_DAILY.files[1])
    assert schema.field("amount").type == pa.int64()
    assert schema.field("booked_at").type == pa.timestamp("us", tz="UTC")
