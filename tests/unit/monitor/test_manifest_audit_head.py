"""The broker_daily manifest may carry a signed audit head; every other kind may not."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from clearwatch.domain.monitor.audit_heads import head_errors
from clearwatch.domain.monitor.manifest import Manifest, parse_manifest
from clearwatch.domain.monitor.rejections import PackageRule
from tests.support.audit_heads import head_document, public_hex
from tests.unit.monitor.test_manifest import SHA, codes

KEY = Ed25519PrivateKey.generate()
OTHER_KEY = Ed25519PrivateKey.generate()


def broker_manifest(**overrides: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "format": "clearwatch.package/1",
        "kind": "broker_daily",
        "institution_id": "B001",
        "business_date": "2026-11-20",
        "sequence": 1,
        "encoding": "utf-8",
        "files": [{"name": "client_funds.csv", "sha256": SHA, "rows": 3}],
    }
    document.update(overrides)
    return document


def parsed(document: dict[str, Any]) -> Manifest:
    outcome = parse_manifest(json.dumps(document).encode())
    assert outcome.errors == ()
    assert outcome.manifest is not None
    return outcome.manifest


def test_a_broker_manifest_with_or_without_a_head_parses_and_the_head_is_not_content() -> None:
    without = parsed(broker_manifest())
    with_head = parsed(broker_manifest(audit_head=head_document(7, KEY)))
    assert without.audit_head is None
    assert with_head.audit_head is not None and with_head.audit_head.checkpoint.seq == 7
    assert with_head.audit_head.public_key == public_hex(KEY)
    # A newer head over the same figures is the same content: a duplicate, not a conflict.
    assert with_head.content_sha256 == without.content_sha256


def test_a_malformed_head_is_named_and_other_kinds_carry_none() -> None:
    broken = head_document(7, KEY)
    broken["checkpoint"]["seq"] = 8
    assert codes(broker_manifest(audit_head=broken)) == {
        PackageRule.MANIFEST_AUDIT_HEAD_MUST_BE_VALID
    }
    assert codes(broker_manifest(audit_head="signed, trust me")) == {
        PackageRule.MANIFEST_AUDIT_HEAD_MUST_BE_VALID
    }
    head = head_document(7, KEY)
    bank = broker_manifest(kind="bank_daily", institution_id="K001", audit_head=head)
    assert codes(bank) == {PackageRule.MANIFEST_FIELD_MUST_BE_KNOWN}


def test_a_bad_signature_and_a_key_other_than_the_pinned_one_are_named() -> None:
    manifest = parsed(broker_manifest(audit_head=head_document(7, KEY)))
    assert head_errors(manifest, signature_valid=True, pinned_key=None) == ()
    assert head_errors(manifest, signature_valid=True, pinned_key=public_hex(KEY)) == ()
    bad = head_errors(manifest, signature_valid=False, pinned_key=public_hex(OTHER_KEY))
    assert [error.code for error in bad] == [
        PackageRule.AUDIT_HEAD_SIGNATURE_MUST_VERIFY,
        PackageRule.AUDIT_HEAD_KEY_MUST_BE_PINNED_KEY,
    ]
    assert all(error.column == "audit_head" for error in bad)
    no_head = replace(manifest, audit_head=None)
    assert head_errors(no_head, signature_valid=False, pinned_key=public_hex(OTHER_KEY)) == ()
