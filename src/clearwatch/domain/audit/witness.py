"""Signed heads handed to a witness, and what can be told from the heads alone.

A broker's back office puts its audit log's signed checkpoint (its "head") into the
broker_daily package, and the monitor keeps it. The regulator thereby witnesses the broker's
history: the back office can later prove each kept head is a prefix of its log (RFC 6962
consistency, `services/audit/witness.py`), which a log rewritten or cut after it reported no
longer is. The head travels as the very document the checkpoint store keeps on disk.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from clearwatch.domain.audit.checkpoint import (
    CHECKPOINT_FORMAT,
    AuditFinding,
    Checkpoint,
    SignedCheckpoint,
)
from clearwatch.domain.audit.merkle import Frontier

WITNESSED_FORMAT = "clearwatch-witnessed-heads/1"
_HEAD_FIELDS = frozenset({"checkpoint", "signature_ed25519", "public_key_ed25519"})
_CHECKPOINT_FIELDS = frozenset({"format", "seq", "tree_head", "chain_head", "made_at", "frontier"})
_HASH = 64  # hex digits: SHA-256 and SM3 both give 32 bytes
_KEY = 64  # a raw Ed25519 public key
_SIGNATURE = 128
_HEX = re.compile("[0-9a-f]*")
seq_max = 2**63 - 1  # the store's seq is a 64-bit integer


class HeadUnreadable(ValueError):
    """A document that is not a signed head: what is wrong with it, in one line."""


@dataclass(frozen=True)
class PublishedHead:
    """A signed checkpoint as a witness receives it, with the public half of the key that
    signed it (the witness pins that key; the back office checks it is its own)."""

    signed: SignedCheckpoint
    public_key: str  # hex, raw Ed25519

    @property
    def checkpoint(self) -> Checkpoint:
        return self.signed.checkpoint

    @property
    def key_sha256(self) -> str:
        return key_fingerprint(self.public_key)

    def document(self) -> dict[str, Any]:
        """The JSON object a checkpoint file holds: the statement, its signature, the key."""
        return {
            "checkpoint": json.loads(self.checkpoint.statement()),
            "signature_ed25519": self.signed.signature,
            "public_key_ed25519": self.public_key,
        }


def key_fingerprint(public_key: str) -> str:
    """A key's sha256 (of its raw bytes): its first digits are compared by eye."""
    return hashlib.sha256(bytes.fromhex(public_key)).hexdigest()


def _fields(value: object, expected: frozenset[str], what: str) -> Mapping[str, Any]:
    if not isinstance(value, dict) or set(value) != expected:
        raise HeadUnreadable(f"{what} must be an object with exactly {sorted(expected)}")
    return value


def _text(value: object, digits: int, what: str) -> str:
    if not isinstance(value, str) or len(value) != digits or not _HEX.fullmatch(value):
        raise HeadUnreadable(f"{what} must be {digits} lowercase hex digits")
    return value


def _count(value: object, what: str) -> int:
    # bool is an int in Python; `true` is not a count.
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= seq_max:
        raise HeadUnreadable(f"{what} must be a positive integer")
    return value


def _made_at(value: object) -> str:
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise HeadUnreadable("made_at must be an ISO 8601 time with offset")
    return str(value)  # kept as signed: the statement's bytes are what the signature covers


def _frontier(value: object, seq: int, tree_head: str) -> tuple[tuple[int, str], ...]:
    """The full subtrees' roots, largest first: their sizes must add up to `seq`, each a power
    of two and smaller than the one before, and they must fold to `tree_head`."""
    if not isinstance(value, list) or len(value) > seq_max.bit_length():
        raise HeadUnreadable("frontier must be a list of [size, root] pairs")
    pairs: list[tuple[int, str]] = []
    for item in value:
        if not isinstance(item, list) or len(item) != 2:
            raise HeadUnreadable("frontier must be a list of [size, root] pairs")
        size = _count(item[0], "a frontier size")
        if size & (size - 1) or (pairs and size >= pairs[-1][0]):
            raise HeadUnreadable("frontier sizes must be decreasing powers of two")
        pairs.append((size, _text(item[1], _HASH, "a frontier root")))
    folded = Frontier([size for size, _ in pairs], [bytes.fromhex(root) for _, root in pairs])
    if folded.size != seq or folded.root().hex() != tree_head:
        raise HeadUnreadable(f"the frontier does not fold to tree head of {seq} records")
    return tuple(pairs)


def read_checkpoint(body: object) -> Checkpoint:
    """A checkpoint statement as signed, every field checked; `HeadUnreadable` if not one."""
    fields = _fields(body, _CHECKPOINT_FIELDS, "checkpoint")
    if fields["format"] != CHECKPOINT_FORMAT:
        raise HeadUnreadable(f"checkpoint format must be {CHECKPOINT_FORMAT!r}")
    seq = _count(fields["seq"], "seq")
    tree_head = _text(fields["tree_head"], _HASH, "tree_head")
    return Checkpoint(
        seq=seq,
        tree_head=tree_head,
        chain_head=_text(fields["chain_head"], _HASH, "chain_head"),
        made_at=_made_at(fields["made_at"]),
        frontier=_frontier(fields["frontier"], seq, tree_head),
    )


def read_published_head(document: object) -> PublishedHead:
    """A signed head as `PublishedHead.document` spells it; `HeadUnreadable` if it is not.

    Only its form is checked here; whether the signature holds is for an adapter to say."""
    fields = _fields(document, _HEAD_FIELDS, "audit_head")
    checkpoint = read_checkpoint(fields["checkpoint"])
    signature = _text(fields["signature_ed25519"], _SIGNATURE, "signature_ed25519")
    public_key = _text(fields["public_key_ed25519"], _KEY, "public_key_ed25519")
    return PublishedHead(SignedCheckpoint(checkpoint, signature), public_key)


@dataclass(frozen=True)
class KeptHead:
    """A head the monitor kept: whose, for which business day, from which package, when."""

    institution_id: str
    business_date: date
    package_id: int
    received_at: datetime
    head: PublishedHead

    def label(self) -> str:
        made = self.head.checkpoint
        return (
            f"{self.institution_id} {self.business_date.isoformat()} (package {self.package_id}, "
            f"seq {made.seq}, signed {made.made_at})"
        )

    def document(self) -> dict[str, Any]:
        return {
            "institution_id": self.institution_id,
            "business_date": self.business_date.isoformat(),
            "package_id": self.package_id,
            "received_at": self.received_at.isoformat(),
            "head": self.head.document(),
        }


def witnessed_document(kept: Sequence[KeptHead]) -> dict[str, Any]:
    """What the monitor hands over (`monitor witness --json`) for a back office to check."""
    return {"format": WITNESSED_FORMAT, "heads": [head.document() for head in kept]}


def read_witnessed(document: object) -> list[KeptHead]:
    """The heads of a `witnessed_document`; `HeadUnreadable` naming the first bad one."""
    if not isinstance(document, dict) or document.get("format") != WITNESSED_FORMAT:
        raise HeadUnreadable(f"not a {WITNESSED_FORMAT} document")
    heads = document.get("heads")
    if not isinstance(heads, list):
        raise HeadUnreadable("heads must be a list")
    kept = []
    for index, item in enumerate(heads):
        try:
            kept.append(_kept(item))
        except (HeadUnreadable, KeyError, TypeError, ValueError) as problem:
            raise HeadUnreadable(f"heads[{index}]: {problem}") from problem
    return kept


def _kept(item: Any) -> KeptHead:
    received_at = datetime.fromisoformat(item["received_at"])
    if received_at.tzinfo is None:
        raise HeadUnreadable("received_at must carry its offset")
    return KeptHead(
        institution_id=str(item["institution_id"]),
        business_date=date.fromisoformat(item["business_date"]),
        package_id=int(item["package_id"]),
        received_at=received_at,
        head=read_published_head(item["head"]),
    )


def regressions(kept: Sequence[KeptHead]) -> list[AuditFinding]:
    """What the heads of one institution betray on their own, without its log: a head signed
    later over fewer records (`witnessed_head_went_back`), or two heads over the same
    records that differ (`witnessed_heads_disagree`). Either means the log was rewritten."""
    findings: list[AuditFinding] = []
    by_seq: dict[int, KeptHead] = {}
    latest: KeptHead | None = None
    for item in sorted(kept, key=lambda k: (_signed_at(k), k.head.checkpoint.seq)):
        made = item.head.checkpoint
        twin = by_seq.setdefault(made.seq, item)
        if twin.head.checkpoint.tree_head != made.tree_head:
            findings.append(
                AuditFinding(
                    "witnessed_heads_disagree",
                    f"{item.label()} and {twin.label()} give records 1..{made.seq} "
                    "different tree heads",
                )
            )
        if latest is not None and made.seq < latest.head.checkpoint.seq:
            findings.append(
                AuditFinding(
                    "witnessed_head_went_back",
                    f"{item.label()} covers fewer records than {latest.label()}, signed before",
                )
            )
        if latest is None or made.seq >= latest.head.checkpoint.seq:
            latest = item
    return findings


def _signed_at(kept: KeptHead) -> datetime:
    return datetime.fromisoformat(kept.head.checkpoint.made_at)
