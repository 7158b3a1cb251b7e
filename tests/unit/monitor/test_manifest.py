"""The manifest parser: every broken field is a named rejection."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clearwatch.domain.monitor.manifest import parse_manifest
from clearwatch.domain.monitor.rejections import PackageRule
from clearwatch.domain.shared.file_format import manifest_bytes_max

SHA = "a" * 64


def manifest(**overrides: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "format": "clearwatch.package/1",
        "kind": "csdc_daily",
        "institution_id": "C001",
        "business_date": "2026-11-20",
        "sequence": 1,
        "encoding": "utf-8",
        "files": [{"name": "settlement_reserve.csv", "sha256": SHA, "rows": 3}],
    }
    document.update(overrides)
    return {key: value for key, value in document.items() if value is not ...}


def codes(document: Any) -> set[PackageRule]:
    data = document if isinstance(document, bytes) else json.dumps(document).encode()
    return {error.code for error in parse_manifest(data).errors}


def test_a_complete_manifest_parses_into_values() -> None:
    outcome = parse_manifest(json.dumps(manifest()).encode())
    assert outcome.errors == ()
    assert outcome.manifest is not None
    assert outcome.manifest.business_date == date(2026, 11, 20)
    assert outcome.manifest.files[0].rows == 3


def test_a_bom_before_the_json_is_allowed() -> None:
    assert parse_manifest(b"\xef\xbb\xbf" + json.dumps(manifest()).encode()).manifest is not None


def test_content_hash_ignores_file_order_but_not_file_hashes() -> None:
    two = [
        {"name": "a.csv", "sha256": SHA, "rows": 1},
        {"name": "b.csv", "sha256": "b" * 64, "rows": 1},
    ]
    first = parse_manifest(json.dumps(manifest(files=two)).encode()).manifest
    second = parse_manifest(json.dumps(manifest(files=two[::-1])).encode()).manifest
    changed = [dict(two[0], sha256="c" * 64), two[1]]
    third = parse_manifest(json.dumps(manifest(files=changed)).encode()).manifest
    assert first is not None and second is not None and third is not None
    assert first.content_sha256 == second.content_sha256 != third.content_sha256


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (None, PackageRule.MANIFEST_MUST_EXIST),
        (b" " * (manifest_bytes_max + 1), PackageRule.MANIFEST_MUST_NOT_EXCEED_SIZE),
        (b"{not json", PackageRule.MANIFEST_MUST_BE_JSON_OBJECT),
        (b"[1, 2]", PackageRule.MANIFEST_MUST_BE_JSON_OBJECT),
        (b"\xff\xfe{}", PackageRule.MANIFEST_MUST_BE_JSON_OBJECT),
    ],
)
def test_an_unreadable_manifest_is_named(data: bytes | None, code: PackageRule) -> None:
    outcome = parse_manifest(data)
    assert outcome.manifest is None
    assert [error.code for error in outcome.errors] == [code]


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"format": "other/2"}, PackageRule.MANIFEST_FORMAT_MUST_BE_KNOWN),
        ({"sequence": ...}, PackageRule.MANIFEST_FIELD_MUST_BE_PRESENT),
        ({"extra": 1}, PackageRule.MANIFEST_FIELD_MUST_BE_KNOWN),
        ({"kind": "weekly"}, PackageRule.MANIFEST_KIND_MUST_BE_KNOWN),
        ({"institution_id": ""}, PackageRule.MANIFEST_INSTITUTION_MUST_BE_TEXT),
        ({"institution_id": 7}, PackageRule.MANIFEST_INSTITUTION_MUST_BE_TEXT),
        ({"business_date": "2026-02-30"}, PackageRule.MANIFEST_BUSINESS_DATE_MUST_BE_ISO_DATE),
        ({"business_date": "20261120"}, PackageRule.MANIFEST_BUSINESS_DATE_MUST_BE_ISO_DATE),
        ({"sequence": 0}, PackageRule.MANIFEST_SEQUENCE_MUST_BE_POSITIVE_INTEGER),
        ({"sequence": True}, PackageRule.MANIFEST_SEQUENCE_MUST_BE_POSITIVE_INTEGER),
        ({"sequence": "2"}, PackageRule.MANIFEST_SEQUENCE_MUST_BE_POSITIVE_INTEGER),
        ({"encoding": "latin-1"}, PackageRule.MANIFEST_ENCODING_MUST_BE_SUPPORTED),
        ({"files": {"a": 1}}, PackageRule.MANIFEST_FILES_MUST_BE_A_LIST),
        ({"files": [{"name": "a.csv"}]}, PackageRule.MANIFEST_FILE_ENTRY_MUST_BE_VALID),
        (
            {"files": [{"name": "a.csv", "sha256": "ABC", "rows": 1}]},
            PackageRule.MANIFEST_FILE_ENTRY_MUST_BE_VALID,
        ),
        (
            {"files": [{"name": "a.csv", "sha256": SHA, "rows": -1}]},
            PackageRule.MANIFEST_FILE_ENTRY_MUST_BE_VALID,
        ),
        (
            {"files": [{"name": "a.csv", "sha256": SHA, "rows": 1}] * 2},
            PackageRule.MANIFEST_FILE_NAME_MUST_BE_UNIQUE,
        ),
    ],
)
def test_each_broken_field_is_a_named_rejection(
    overrides: dict[str, Any], code: PackageRule
) -> None:
    assert code in codes(manifest(**overrides))


@pytest.mark.parametrize(
    "name", ["../etc/passwd", "sub/a.csv", "..", ".", ".hidden.csv", "a\\b.csv", "", " a.csv"]
)
def test_file_names_must_be_plain(name: str) -> None:
    files = [{"name": name, "sha256": SHA, "rows": 1}]
    assert PackageRule.MANIFEST_FILE_NAME_MUST_BE_PLAIN in codes(manifest(files=files))


def test_all_field_errors_are_collected_not_only_the_first() -> None:
    found = codes(manifest(kind="x", sequence=-1, encoding="ascii"))
    assert {
        PackageRule.MANIFEST_KIND_MUST_BE_KNOWN,
        PackageRule.MANIFEST_SEQUENCE_MUST_BE_POSITIVE_INTEGER,
        PackageRule.MANIFEST_ENCODING_MUST_BE_SUPPORTED,
    } <= found


def test_a_rejected_manifest_still_tells_what_it_could_read() -> None:
    outcome = parse_manifest(json.dumps(manifest(encoding="ascii")).encode())
    assert outcome.manifest is None
    assert outcome.head.institution_id == "C001"
    assert outcome.head.kind == "csdc_daily"


@pytest.mark.parametrize(
    "field", ["kind", "institution_id", "business_date", "sequence", "encoding", "files"]
)
def test_a_null_field_is_rejected_not_taken_as_absent(field: str) -> None:
    outcome = parse_manifest(json.dumps(manifest(**{field: None})).encode())
    assert outcome.manifest is None
    assert outcome.errors


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@given(st.binary(max_size=200))
def test_any_bytes_give_a_manifest_or_named_errors(data: bytes) -> None:
    outcome = parse_manifest(data)
    assert (outcome.manifest is None) == bool(outcome.errors)


@given(st.dictionaries(st.sampled_from(list(manifest())), json_values, max_size=8))
def test_any_json_fields_give_a_manifest_or_named_errors(changes: dict[str, Any]) -> None:
    outcome = parse_manifest(json.dumps(manifest(**changes)).encode())
    assert (outcome.manifest is None) == bool(outcome.errors)
