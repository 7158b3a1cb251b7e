"""The audit chain: canonical records and hash = H(prev_hash ‖ record)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

GENESIS_HASH = "0" * 64


class HashAlgorithm(StrEnum):
    """Chain hash; SM3 (GB/T 32905) where the installed OpenSSL offers it."""

    SHA256 = "sha256"
    SM3 = "sm3"


def available_algorithms() -> tuple[HashAlgorithm, ...]:
    return tuple(alg for alg in HashAlgorithm if alg.value in hashlib.algorithms_available)


def canonical_json(value: Any) -> str:
    """One spelling per value: sorted keys, no spaces, UTF-8 kept as is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class AuditEvent:
    """What a service wants recorded: who did what to which object, and the details."""

    actor: str
    action: str
    object_ref: str
    payload: Mapping[str, Any]


@dataclass(frozen=True)
class AuditRecord:
    """An event placed in the chain."""

    seq: int
    actor: str
    action: str
    object_ref: str
    recorded_at: str  # ISO 8601 with offset, kept as text so the hash never depends on a DB
    payload_json: str
    algorithm: HashAlgorithm
    prev_hash: str
    hash: str

    def body(self) -> str:
        return record_body(
            seq=self.seq,
            actor=self.actor,
            action=self.action,
            object_ref=self.object_ref,
            recorded_at=self.recorded_at,
            payload_json=self.payload_json,
        )


def record_body(
    *, seq: int, actor: str, action: str, object_ref: str, recorded_at: str, payload_json: str
) -> str:
    return canonical_json(
        {
            "seq": seq,
            "actor": actor,
            "action": action,
            "object": object_ref,
            "at": recorded_at,
            "payload": payload_json,
        }
    )


def chain_hash(algorithm: HashAlgorithm, prev_hash: str, body: str) -> str:
    digest = hashlib.new(algorithm.value)
    digest.update(prev_hash.encode("ascii"))
    digest.update(body.encode("utf-8"))
    return digest.hexdigest()


def seal(
    event: AuditEvent,
    *,
    seq: int,
    recorded_at: datetime,
    prev_hash: str,
    algorithm: HashAlgorithm,
) -> AuditRecord:
    """Place an event after `prev_hash` as record number `seq`."""
    if recorded_at.tzinfo is None:
        raise ValueError("audit times must be timezone-aware")
    payload_json = canonical_json(dict(event.payload))
    at = recorded_at.isoformat()
    body = record_body(
        seq=seq,
        actor=event.actor,
        action=event.action,
        object_ref=event.object_ref,
        recorded_at=at,
        payload_json=payload_json,
    )
    return AuditRecord(
        seq=seq,
        actor=event.actor,
        action=event.action,
        object_ref=event.object_ref,
        recorded_at=at,
        payload_json=payload_json,
        algorithm=algorithm,
        prev_hash=prev_hash,
        hash=chain_hash(algorithm, prev_hash, body),
    )


@dataclass(frozen=True)
class ChainBreak:
    """The first record whose content or link does not hold, and why."""

    seq: int
    reason: str


@dataclass(frozen=True)
class ChainVerdict:
    records_checked: int
    first_break: ChainBreak | None

    @property
    def intact(self) -> bool:
        return self.first_break is None


def verify_chain(
    records: Iterable[AuditRecord], *, after_seq: int = 0, after_hash: str = GENESIS_HASH
) -> ChainVerdict:
    """Recompute every link in seq order and name the first record that breaks.

    `after_seq` and `after_hash` continue a chain already verified up to that record (a
    signed checkpoint), so that only the records after it are read.
    """
    expected_prev = after_hash
    expected_seq = after_seq + 1
    checked = 0
    for record in records:
        checked += 1
        if record.seq != expected_seq:
            return ChainVerdict(checked, ChainBreak(record.seq, f"expected seq {expected_seq}"))
        if record.prev_hash != expected_prev:
            return ChainVerdict(checked, ChainBreak(record.seq, "prev_hash_must_link_previous"))
        if chain_hash(record.algorithm, record.prev_hash, record.body()) != record.hash:
            return ChainVerdict(checked, ChainBreak(record.seq, "hash_must_match_content"))
        expected_prev = record.hash
        expected_seq += 1
    return ChainVerdict(checked, None)
