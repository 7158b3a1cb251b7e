"""Batch manifests: a valid one parses; each kind of breakage is a named rejection."""

import json

import pytest

from clearwatch.domain.backoffice.batch_manifest import BatchRejected, Rule, parse_manifest

GOOD = {
    "format": "clearwatch.batch/1",
    "kind": "trading",
    "broker_id": "B001",
    "business_date": "2026-11-20",
    "batch_id": "T1",
    "encoding": "utf-8",
    "files": [{"name": "executions.csv", "sha256": "a" * 64, "rows": 3}],
}


def _raw(**changes: object) -> bytes:
    return json.dumps({**GOOD, **changes}).encode("utf-8")


def test_a_valid_manifest_parses_with_a_stable_content_identity() -> None:
    manifest = parse_manifest(_raw())
    assert manifest.batch_ref == "B001:T1"
    assert manifest.content_sha256 == parse_manifest(_raw(batch_id="T2")).content_sha256
    assert manifest.subject_ref() == "batch:B001:trading:2026-11-20:T1"


@pytest.mark.parametrize(
    ("raw", "rule"),
    [
        (b"not json", Rule.MANIFEST_MUST_BE_JSON_OBJECT),
        (_raw(format="clearwatch.package/1"), Rule.MANIFEST_FORMAT_MUST_BE_BATCH_1),
        (_raw(kind="payroll"), Rule.KIND_MUST_BE_KNOWN),
        (_raw(business_date="2026-13-01"), Rule.MANIFEST_FIELD_MUST_BE_VALID),
        (_raw(encoding="latin-1"), Rule.MANIFEST_FIELD_MUST_BE_VALID),
        (
            _raw(files=[{"name": "executions.csv", "sha256": "x", "rows": 1}]),
            Rule.MANIFEST_FIELD_MUST_BE_VALID,
        ),
        (
            _raw(kind="bank", files=[{"name": "executions.csv", "sha256": "a" * 64, "rows": 1}]),
            Rule.FILE_MUST_BE_OF_THE_KIND,
        ),
        (_raw(files=GOOD["files"] * 2), Rule.FILE_MUST_BE_LISTED_ONCE),  # type: ignore[operator]
    ],
)
def test_a_broken_manifest_is_refused_with_the_rule_it_broke(raw: bytes, rule: Rule) -> None:
    with pytest.raises(BatchRejected) as refused:
        parse_manifest(raw)
    assert refused.value.rejections[0].rule is rule
    assert refused.value.rejections[0].file in ("manifest.json", "executions.csv")


def test_a_trading_batch_may_carry_other_files_the_trading_system_returns() -> None:
    extra = [*GOOD["files"], {"name": "orders.csv", "sha256": "b" * 64, "rows": 0}]  # type: ignore[misc]
    assert len(parse_manifest(_raw(files=extra)).files) == 2
