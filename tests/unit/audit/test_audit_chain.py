"""The audit chain: canonical records and verification that names the first break."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from clearwatch.domain.audit.chain import (
    GENESIS_HASH,
    AuditEvent,
    AuditRecord,
    HashAlgorithm,
    available_algorithms,
    canonical_json,
    seal,
    verify_chain,
)
from clearwatch.domain.shared.calendar import SHANGHAI

AT = datetime(2026, 11, 20, 9, 30, tzinfo=SHANGHAI)


def build_chain(length: int, algorithm: HashAlgorithm = HashAlgorithm.SHA256) -> list[AuditRecord]:
    records: list[AuditRecord] = []
    prev = GENESIS_HASH
    for seq in range(1, length + 1):
        event = AuditEvent("alice", "package.accepted", f"package:{seq}", {"n": seq, "名": "甲"})
        record = seal(event, seq=seq, recorded_at=AT, prev_hash=prev, algorithm=algorithm)
        records.append(record)
        prev = record.hash
    return records


def test_canonical_json_sorts_keys_and_keeps_chinese() -> None:
    assert canonical_json({"b": 1, "a": "证券"}) == '{"a":"证券","b":1}'


def test_an_untouched_chain_verifies() -> None:
    verdict = verify_chain(build_chain(5))
    assert verdict.intact and verdict.records_checked == 5


def test_an_edited_payload_is_named_by_its_seq() -> None:
    chain = build_chain(5)
    chain[2] = replace(chain[2], payload_json='{"n":999}')
    verdict = verify_chain(chain)
    assert verdict.first_break is not None
    assert verdict.first_break.seq == 3
    assert verdict.first_break.reason == "hash_must_match_content"


def test_a_deleted_record_breaks_the_link_of_the_next() -> None:
    chain = build_chain(5)
    del chain[1]
    verdict = verify_chain(chain)
    assert verdict.first_break is not None and verdict.first_break.seq == 3


def test_a_rehashed_record_still_breaks_the_following_link() -> None:
    chain = build_chain(4)
    forged = seal(
        AuditEvent("mallory", "package.accepted", "package:2", {"n": 2}),
        seq=2,
        recorded_at=AT,
        prev_hash=chain[0].hash,
        algorithm=HashAlgorithm.SHA256,
    )
    chain[1] = forged
    verdict = verify_chain(chain)
    assert verdict.first_break is not None and verdict.first_break.seq == 3


@pytest.mark.skipif(HashAlgorithm.SM3 not in available_algorithms(), reason="OpenSSL lacks SM3")
def test_sm3_chains_verify_and_differ_from_sha256() -> None:
    sm3 = build_chain(3, HashAlgorithm.SM3)
    assert verify_chain(sm3).intact
    assert sm3[0].hash != build_chain(1)[0].hash


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        seal(
            AuditEvent("a", "b", "c", {}),
            seq=1,
            recorded_at=datetime(2026, 1, 1),
            prev_hash=GENESIS_HASH,
            algorithm=HashAlgorithm.SHA256,
        )
