"""One grammar, one manifest limit: the domain's rules and the readers' vectorised checks agree."""

from __future__ import annotations

import json

import duckdb
import pyarrow as pa
import pytest

from clearwatch.adapters.files.batch_reader import _valid
from clearwatch.adapters.files.csv_values import check_column
from clearwatch.domain.backoffice.batch_manifest import BatchRejected
from clearwatch.domain.backoffice.batch_manifest import Rule as BatchRule
from clearwatch.domain.backoffice.batch_manifest import parse_manifest as parse_batch_manifest
from clearwatch.domain.monitor.manifest import parse_manifest as parse_package_manifest
from clearwatch.domain.monitor.rejections import PackageRule
from clearwatch.domain.shared.file_format import manifest_bytes_max
from clearwatch.domain.shared.file_schema import ColumnSpec, ValueType
from clearwatch.domain.shared.money import MoneyFormatError, amount_integer_digits_max, parse_fen
from clearwatch.domain.shared.value_grammar import (
    CONTROL_CODE_POINTS,
    WHITESPACE_CODE_POINTS,
    ValueRule,
    identifier_rule,
    value_rule,
)

TEXT = ColumnSpec("fund_account", ValueType.TEXT)
MONEY = ColumnSpec("balance", ValueType.MONEY)
CONTROL = ValueRule.IDENTIFIER_MUST_NOT_CONTAIN_CONTROL_CHARACTERS
SPACE = ValueRule.IDENTIFIER_MUST_NOT_HAVE_SURROUNDING_WHITESPACE


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("FA1", None),
        ("客户 甲", None),  # a space inside is part of the name
        (" FA1", SPACE),
        ("FA1 ", SPACE),
        ("\u3000FA1", SPACE),  # the ideographic space of Chinese text
        ("FA1\u00a0", SPACE),
        ("FA\x001", CONTROL),
        ("FA1\n", CONTROL),
        ("F\r\nA", CONTROL),
        ("FA\t1", CONTROL),
        ("FA1\x85", CONTROL),
        ("", ValueRule.TEXT_MUST_NOT_BE_EMPTY),
    ],
)
def test_identifiers_break_their_rules_by_name(text: str, rule: ValueRule | None) -> None:
    assert identifier_rule(text) == rule


def _edge_cases() -> list[str]:
    odd = [chr(code) for code in (*CONTROL_CODE_POINTS, *WHITESPACE_CODE_POINTS)]
    # Characters whose UTF-8 bytes resemble those of a space or a control, and good ones.
    near = ["\u00a5", "\u00c2", "\u1681", "\u2010", "\u3001", "\u30a0", "\ufeff", "客", "a"]
    return [
        value
        for char in odd + near
        for value in (f"{char}x", f"x{char}", f"x{char}y", char, f"客{char}", f"{char}客")
    ]


def test_the_vectorised_identifier_check_agrees_with_the_domain_on_every_edge_case() -> None:
    values = _edge_cases()
    checked = check_column(pa.array(values, pa.string()), TEXT, bad_max=len(values))
    vectorised = {bad.row: bad.code for bad in checked.bad}
    assert vectorised == {
        row: identifier_rule(value)
        for row, value in enumerate(values)
        if identifier_rule(value) is not None
    }


def test_a_batch_of_good_identifiers_passes_without_a_pattern_match() -> None:
    good = pa.array([f"客户{n}" for n in range(1000)], pa.string())
    assert check_column(good.slice(3, 500), TEXT, bad_max=10).bad == ()


def test_duckdb_reads_the_same_identifier_grammar() -> None:
    values = _edge_cases()
    with duckdb.connect() as con:
        con.register("raw", pa.table({"fund_account": pa.array(values, pa.string())}))
        ok = [row[0] for row in con.execute(f"SELECT {_valid(TEXT)} FROM raw").fetchall()]
    assert ok == [identifier_rule(value) is None for value in values]


def test_money_has_one_digit_limit_in_the_domain_and_both_readers() -> None:
    longest = "9" * amount_integer_digits_max + ".99"
    too_long = "1" + longest
    assert parse_fen(longest) == int("9" * amount_integer_digits_max + "99")
    with pytest.raises(MoneyFormatError):
        parse_fen(too_long)
    checked = check_column(pa.array([longest, too_long, "0x1.00"], pa.string()), MONEY, bad_max=9)
    assert {bad.row: bad.code for bad in checked.bad} == {
        1: ValueRule.AMOUNT_MUST_NOT_BE_TOO_LONG,
        2: ValueRule.AMOUNT_MUST_HAVE_DIGITS_DOT_TWO_DECIMALS,  # Arrow's cast reads hex
    }
    with duckdb.connect() as con:
        con.register("raw", pa.table({"balance": [longest, too_long, "0x1.00"]}))
        ok = [row[0] for row in con.execute(f"SELECT {_valid(MONEY)} FROM raw").fetchall()]
    assert ok == [True, False, False]
    assert value_rule(MONEY, too_long) is ValueRule.AMOUNT_MUST_NOT_BE_TOO_LONG


def _padded_manifest(document: dict[str, object], size: int) -> bytes:
    data = json.dumps(document).encode()
    return data + b" " * (size - len(data))


PACKAGE = {
    "format": "clearwatch.package/1",
    "kind": "csdc_daily",
    "institution_id": "C001",
    "business_date": "2026-11-20",
    "sequence": 1,
    "encoding": "utf-8",
    "files": [{"name": "settlement_reserve.csv", "sha256": "a" * 64, "rows": 1}],
}
BATCH = {
    "format": "clearwatch.batch/1",
    "kind": "bank",
    "broker_id": "B001",
    "business_date": "2026-11-20",
    "batch_id": "K1",
    "encoding": "utf-8",
    "files": [{"name": "bank_transfers.csv", "sha256": "a" * 64, "rows": 1}],
}


def test_both_manifest_parsers_share_one_size_limit() -> None:
    assert parse_package_manifest(_padded_manifest(PACKAGE, manifest_bytes_max)).manifest
    assert parse_batch_manifest(_padded_manifest(BATCH, manifest_bytes_max)).batch_id == "K1"
    package = parse_package_manifest(_padded_manifest(PACKAGE, manifest_bytes_max + 1))
    assert [error.code for error in package.errors] == [PackageRule.MANIFEST_MUST_NOT_EXCEED_SIZE]
    with pytest.raises(BatchRejected) as refused:
        parse_batch_manifest(_padded_manifest(BATCH, manifest_bytes_max + 1))
    assert str(manifest_bytes_max) in refused.value.rejections[0].detail


def test_a_batch_manifest_names_every_broken_field_not_only_the_first() -> None:
    broken = {**BATCH, "broker_id": " B001", "batch_id": "K\n1", "encoding": "latin-1"}
    with pytest.raises(BatchRejected) as refused:
        parse_batch_manifest(json.dumps(broken).encode())
    assert {(error.rule, error.column) for error in refused.value.rejections} == {
        (BatchRule.IDENTIFIER_MUST_NOT_HAVE_SURROUNDING_WHITESPACE, "broker_id"),
        (BatchRule.IDENTIFIER_MUST_NOT_CONTAIN_CONTROL_CHARACTERS, "batch_id"),
        (BatchRule.MANIFEST_FIELD_MUST_BE_VALID, "encoding"),
    }


@pytest.mark.parametrize(
    ("institution_id", "rule"),
    [
        ("B001 ", PackageRule.IDENTIFIER_MUST_NOT_HAVE_SURROUNDING_WHITESPACE),
        ("B0\x0001", PackageRule.IDENTIFIER_MUST_NOT_CONTAIN_CONTROL_CHARACTERS),
        ("B001\n", PackageRule.IDENTIFIER_MUST_NOT_CONTAIN_CONTROL_CHARACTERS),
    ],
)
def test_a_package_manifest_refuses_an_institution_id_by_the_identifier_rule(
    institution_id: str, rule: PackageRule
) -> None:
    outcome = parse_package_manifest(
        json.dumps({**PACKAGE, "institution_id": institution_id}).encode()
    )
    assert [(e.code, e.file, e.column) for e in outcome.errors] == [
        (rule, "manifest.json", "institution_id")
    ]


def test_every_value_rule_is_a_package_rule_of_the_same_name() -> None:
    # PackageRule repeats the value rules (enums cannot extend one another) to keep one list in
    # precedence order; this holds the two in step, so a receipt can name any value rule.
    package_rules = {rule.value for rule in PackageRule}
    assert {rule.value for rule in ValueRule} <= package_rules
