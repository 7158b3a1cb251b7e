"""Signed audit heads for tests: a checkpoint over made-up record hashes, signed by a key.

A head is what a back office's checkpoint store writes; tests that need one without running
an end of day build it here, with a key of their choosing (to forge, or to sign as another).
"""

from __future__ import annotations

import hashlib
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from clearwatch.domain.audit.checkpoint import Checkpoint, SignedCheckpoint
from clearwatch.domain.audit.merkle import Frontier
from clearwatch.domain.audit.witness import PublishedHead

MADE_AT = "2026-11-20T18:00:00+08:00"


def record_hashes(count: int, salt: str = "") -> list[bytes]:
    return [hashlib.sha256(f"{salt}record {n}".encode()).digest() for n in range(1, count + 1)]


def checkpoint_of(entries: list[bytes], made_at: str = MADE_AT) -> Checkpoint:
    frontier = Frontier.empty()
    for entry in entries:
        frontier.append(entry)
    return Checkpoint(
        seq=len(entries),
        tree_head=frontier.root().hex(),
        chain_head=entries[-1].hex(),
        made_at=made_at,
        frontier=tuple(zip(frontier.sizes, (h.hex() for h in frontier.hashes), strict=True)),
    )


def public_hex(key: Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return raw.hex()


def signed_head(
    entries: list[bytes], key: Ed25519PrivateKey, made_at: str = MADE_AT
) -> PublishedHead:
    checkpoint = checkpoint_of(entries, made_at)
    signature = key.sign(checkpoint.statement()).hex()
    return PublishedHead(SignedCheckpoint(checkpoint, signature), public_hex(key))


def head_document(count: int, key: Ed25519PrivateKey, made_at: str = MADE_AT) -> dict[str, Any]:
    return signed_head(record_hashes(count), key, made_at).document()
