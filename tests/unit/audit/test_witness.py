"""Signed heads as a witness reads them: strict form, and what the heads alone betray."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from clearwatch.domain.audit.witness import (
    HeadUnreadable,
    KeptHead,
    PublishedHead,
    read_published_head,
    read_witnessed,
    regressions,
    witnessed_document,
)
from tests.support.audit_heads import head_document, record_hashes, signed_head

KEY = Ed25519PrivateKey.generate()


def kept(head: PublishedHead, package_id: int, day: date = date(2026, 11, 20)) -> KeptHead:
    return KeptHead("B001", day, package_id, datetime(2026, 11, 20, 10, tzinfo=UTC), head)


def test_a_head_reads_back_as_written_and_its_statement_is_the_signed_bytes() -> None:
    head = signed_head(record_hashes(11), KEY)
    again = read_published_head(json.loads(json.dumps(head.document())))
    assert again == head
    assert again.checkpoint.statement() == head.checkpoint.statement()
    assert len(again.key_sha256) == 64


def _broken(change: str) -> dict[str, Any]:
    document = head_document(5, KEY)
    body = document["checkpoint"]
    match change:
        case "extra field":
            document["note"] = "x"
        case "bool seq":
            body["seq"] = True
        case "upper-case hex":
            body["tree_head"] = body["tree_head"].upper()
        case "naive time":
            body["made_at"] = "2026-11-20T18:00:00"
        case "frontier not folding":
            body["frontier"][0][1] = "00" * 32
        case "frontier not adding up":
            body["seq"] = 6
        case "short signature":
            document["signature_ed25519"] = "ab"
        case "other format":
            body["format"] = "something/1"
    return document


@pytest.mark.parametrize(
    "change",
    [
        "extra field",
        "bool seq",
        "upper-case hex",
        "naive time",
        "frontier not folding",
        "frontier not adding up",
        "short signature",
        "other format",
    ],
)
def test_anything_but_a_well_formed_head_is_unreadable(change: str) -> None:
    with pytest.raises(HeadUnreadable):
        read_published_head(_broken(change))


def test_the_witnessed_document_reads_back_and_a_bad_head_is_named_by_index() -> None:
    heads = [kept(signed_head(record_hashes(n), KEY), n) for n in (3, 8)]
    document = json.loads(json.dumps(witnessed_document(heads)))
    assert read_witnessed(document) == heads
    broken = copy.deepcopy(document)
    broken["heads"][1]["head"]["checkpoint"]["seq"] = 0
    with pytest.raises(HeadUnreadable, match=r"heads\[1\]"):
        read_witnessed(broken)
    with pytest.raises(HeadUnreadable):
        read_witnessed({"heads": []})


def test_heads_that_grow_betray_nothing() -> None:
    entries = record_hashes(30)
    heads = [
        kept(signed_head(entries[:n], KEY, f"2026-11-{day}T18:00:00+08:00"), day)
        for n, day in ((10, 20), (10, 21), (25, 23))
    ]
    assert regressions(heads) == []


def test_a_later_head_over_fewer_records_or_other_records_is_named() -> None:
    first = kept(signed_head(record_hashes(20), KEY, "2026-11-20T18:00:00+08:00"), 1)
    shorter = kept(signed_head(record_hashes(12), KEY, "2026-11-23T18:00:00+08:00"), 2)
    rewritten = kept(signed_head(record_hashes(20, "x"), KEY, "2026-11-24T18:00:00+08:00"), 3)
    found = regressions([rewritten, shorter, first])
    assert [finding.rule for finding in found] == [
        "witnessed_head_went_back",
        "witnessed_heads_disagree",
    ]
    assert "package 2" in found[0].detail and "package 1" in found[0].detail
