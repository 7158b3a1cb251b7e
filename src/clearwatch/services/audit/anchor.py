"""Use cases of the anchored audit: sign checkpoints, verify against them, prove, restore triggers.

The hash chain alone proves nothing against someone who can write the store: they can cut
its tail or rewrite a record and recompute every later hash. A checkpoint signed with a key
the store never holds, kept apart from it, fixes the log's size and RFC 6962 tree head at a
moment; `verify_anchored_audit` names a log that no longer reaches it or no longer hashes to it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from clearwatch.domain.audit.chain import GENESIS_HASH, AuditRecord, ChainVerdict, verify_chain
from clearwatch.domain.audit.checkpoint import (
    ROWS_DIGEST_KEY,
    AuditFinding,
    Checkpoint,
    SignedCheckpoint,
    rechained,
    truncated,
)
from clearwatch.domain.audit.merkle import (
    Frontier,
    consistency_proof,
    inclusion_proof,
    verify_consistency,
    verify_inclusion,
)
from clearwatch.domain.shared.errors import ClearwatchError, Refused
from clearwatch.domain.shared.kinds import AuditAction
from clearwatch.services.audit.audit_log import record_audit
from clearwatch.services.audit.ports import AuditAnchor, CheckpointStore


class AuditNotAnchored(ClearwatchError):
    """The log cannot be checkpointed: it no longer extends the last signed checkpoint."""


@dataclass(frozen=True)
class AuditReport:
    chain: ChainVerdict
    store_seq: int
    latest: SignedCheckpoint | None
    findings: tuple[AuditFinding, ...]
    rows_checked: int = 0

    @property
    def intact(self) -> bool:
        return not self.findings


@dataclass(frozen=True)
class InclusionProof:
    seq: int
    record_hash: str
    checkpoint: Checkpoint
    path: tuple[str, ...]
    verified: bool


@dataclass(frozen=True)
class ConsistencyProof:
    old: Checkpoint
    new: Checkpoint
    path: tuple[str, ...]
    verified: bool


def _frontier_of(checkpoint: Checkpoint) -> Frontier:
    return Frontier(
        [size for size, _ in checkpoint.frontier],
        [bytes.fromhex(root) for _, root in checkpoint.frontier],
    )


def _latest_valid(checkpoints: CheckpointStore) -> SignedCheckpoint | None:
    kept = checkpoints.all()
    if not kept:
        if checkpoints.key_exists():
            # Starting afresh would sign whatever the store now holds.
            raise AuditNotAnchored(
                "audit_checkpoints_missing: the signing key exists but no checkpoint is kept"
            )
        return None
    latest = kept[-1]
    if not checkpoints.signature_valid(latest):
        raise AuditNotAnchored(
            f"audit_checkpoint_signature_invalid: checkpoint at seq {latest.checkpoint.seq}"
        )
    return latest


def checkpoint_audit(*, anchor: AuditAnchor) -> SignedCheckpoint | None:
    """Sign the log's head, extending the last checkpoint with the records after it.

    Only the new records are read; they must link to the signed chain head. A log cut below
    the last checkpoint, or a broken link, is refused: signing it would bless the change.
    None when the log is empty.
    """
    latest = _latest_valid(anchor.checkpoints)
    base = None if latest is None else latest.checkpoint
    frontier = Frontier.empty() if base is None else _frontier_of(base)
    after_seq, after_hash = (0, GENESIS_HASH) if base is None else (base.seq, base.chain_head)
    last: list[AuditRecord] = []

    def tapped(records: Iterable[AuditRecord]) -> Iterator[AuditRecord]:
        for record in records:
            frontier.append(bytes.fromhex(record.hash))
            last[:] = [record]
            yield record

    with anchor.read_uow() as uow:
        if base is not None and not any(True for _ in uow.audit.records(after_seq=base.seq - 1)):
            store_end = max((r.seq for r in uow.audit.latest(limit=1)), default=0)
            raise AuditNotAnchored(str(truncated(base.seq, store_end)))
        verdict = verify_chain(
            tapped(uow.audit.records(after_seq=after_seq)),
            after_seq=after_seq,
            after_hash=after_hash,
        )
    if verdict.first_break is not None:
        broken = verdict.first_break
        raise AuditNotAnchored(f"audit chain broken at record seq={broken.seq}: {broken.reason}")
    if not last:
        return latest
    checkpoint = Checkpoint(
        seq=last[0].seq,
        tree_head=frontier.root().hex(),
        chain_head=last[0].hash,
        made_at=anchor.clock.now().isoformat(),
        frontier=tuple(zip(frontier.sizes, (h.hex() for h in frontier.hashes), strict=True)),
    )
    return anchor.checkpoints.write(checkpoint)


@dataclass
class _Walk:
    """One pass over the log: the chain's verdict, tree heads at the checkpoints' sizes."""

    wanted: set[int]
    frontier: Frontier = field(default_factory=Frontier.empty)
    heads: dict[int, str] = field(default_factory=dict)
    store_seq: int = 0
    fingerprinted: list[AuditRecord] = field(default_factory=list)

    def tap(self, records: Iterable[AuditRecord]) -> Iterator[AuditRecord]:
        for record in records:
            self.frontier.append(bytes.fromhex(record.hash))
            self.store_seq = record.seq
            if self.frontier.size in self.wanted:
                self.heads[self.frontier.size] = self.frontier.root().hex()
            if ROWS_DIGEST_KEY in record.payload_json:
                self.fingerprinted.append(record)
            yield record


def verify_anchored_audit(*, anchor: AuditAnchor, data: bool = False) -> AuditReport:
    """The chain, every signed checkpoint, the append-only triggers, and with `data` the rows.

    Each problem is one finding named by its rule: a broken link, a log cut below a
    checkpoint (`audit_log_truncated`), a log rewritten and re-chained under one
    (`audit_log_rechained`), a bad signature, a missing trigger, changed rows.
    """
    kept = anchor.checkpoints.all()
    walk = _Walk({signed.checkpoint.seq for signed in kept})
    with anchor.read_uow() as uow:
        tapped = walk.tap(uow.audit.records())
        verdict = verify_chain(tapped)
        for _ in tapped:  # past a break, keep hashing: the checkpoints are still checked
            pass
    findings: list[AuditFinding] = []
    if verdict.first_break is not None:
        broken = verdict.first_break
        findings.append(
            AuditFinding("audit_chain_broken", f"record seq={broken.seq}: {broken.reason}")
        )
    findings.extend(_checkpoint_findings(anchor, kept, walk))
    missing = anchor.guard.missing_triggers()
    if missing:  # one line, however many: dropping triggers is one act
        findings.append(AuditFinding("append_only_trigger_missing", ", ".join(missing)))
    if data:
        findings.extend(_row_findings(anchor, walk.fingerprinted))
    return AuditReport(
        chain=verdict,
        store_seq=walk.store_seq,
        latest=kept[-1] if kept else None,
        findings=tuple(findings),
        rows_checked=len(walk.fingerprinted) if data else 0,
    )


def _checkpoint_findings(
    anchor: AuditAnchor, kept: list[SignedCheckpoint], walk: _Walk
) -> Iterator[AuditFinding]:
    for signed in kept:
        if not anchor.checkpoints.signature_valid(signed):
            yield AuditFinding(
                "audit_checkpoint_signature_invalid", f"checkpoint at seq {signed.checkpoint.seq}"
            )
    if not kept and anchor.checkpoints.key_exists():
        # The key is made with the first checkpoint: with it, no checkpoint means deleted ones.
        yield AuditFinding(
            "audit_checkpoints_missing", "the signing key exists but no checkpoint is kept"
        )
    valid = [signed.checkpoint for signed in kept if anchor.checkpoints.signature_valid(signed)]
    if valid and walk.store_seq < valid[-1].seq:
        yield truncated(valid[-1].seq, walk.store_seq)
    # The earliest checkpoint the log no longer hashes to says since when it was rewritten.
    for checkpoint in valid:
        head = walk.heads.get(checkpoint.seq)
        if head is not None and head != checkpoint.tree_head:
            yield rechained(checkpoint)
            return


def _row_findings(anchor: AuditAnchor, records: list[AuditRecord]) -> Iterator[AuditFinding]:
    for record in records:
        payload = json.loads(record.payload_json)
        recorded = payload.get(ROWS_DIGEST_KEY)
        if recorded is None:
            continue
        if anchor.described_rows.digest(record.object_ref, payload) != recorded:
            yield AuditFinding(
                "audit_rows_changed",
                f"record seq={record.seq} ({record.object_ref}): the rows it describes changed",
            )


def _checkpoint_at(kept: list[SignedCheckpoint], seq: int | None) -> SignedCheckpoint:
    if not kept:
        raise Refused("audit_checkpoint_must_exist", "run `clearwatch audit checkpoint` first")
    if seq is None:
        return kept[-1]
    for signed in kept:
        if signed.checkpoint.seq == seq:
            return signed
    raise Refused("audit_checkpoint_must_exist", f"no checkpoint at seq {seq}")


def _entries(anchor: AuditAnchor, size: int) -> list[bytes]:
    with anchor.read_uow() as uow:
        entries = [bytes.fromhex(r.hash) for r in uow.audit.records() if r.seq <= size]
    if len(entries) < size:
        raise AuditNotAnchored(str(truncated(size, len(entries))))
    return entries


def prove_inclusion(*, anchor: AuditAnchor, seq: int) -> InclusionProof:
    """Record `seq`'s inclusion proof in the latest checkpoint's tree, and its verification."""
    signed = _checkpoint_at(anchor.checkpoints.all(), None)
    checkpoint = signed.checkpoint
    if not 1 <= seq <= checkpoint.seq:
        raise Refused("audit_record_must_be_checkpointed", f"seq {seq} not in 1..{checkpoint.seq}")
    entries = _entries(anchor, checkpoint.seq)
    path = inclusion_proof(entries, seq - 1)
    verified = anchor.checkpoints.signature_valid(signed) and verify_inclusion(
        entries[seq - 1], seq - 1, checkpoint.seq, path, bytes.fromhex(checkpoint.tree_head)
    )
    return InclusionProof(
        seq, entries[seq - 1].hex(), checkpoint, tuple(p.hex() for p in path), verified
    )


def prove_consistency(*, anchor: AuditAnchor, old_seq: int, new_seq: int) -> ConsistencyProof:
    """Checkpoint `old_seq`'s tree is a prefix of checkpoint `new_seq`'s: the proof, verified."""
    kept = anchor.checkpoints.all()
    old, new = _checkpoint_at(kept, old_seq), _checkpoint_at(kept, new_seq)
    if old_seq > new_seq:
        raise Refused("audit_consistency_old_must_precede_new", f"{old_seq} > {new_seq}")
    path = consistency_proof(_entries(anchor, new_seq), old_seq)
    verified = (
        anchor.checkpoints.signature_valid(old)
        and anchor.checkpoints.signature_valid(new)
        and verify_consistency(
            old_seq,
            bytes.fromhex(old.checkpoint.tree_head),
            new_seq,
            bytes.fromhex(new.checkpoint.tree_head),
            path,
        )
    )
    return ConsistencyProof(old.checkpoint, new.checkpoint, tuple(p.hex() for p in path), verified)


def restore_append_only(*, anchor: AuditAnchor, actor: str = "system") -> list[str]:
    """Create or enable every missing append-only trigger, audited; their names."""
    restored = anchor.guard.restore_triggers()
    if restored:
        with anchor.uow() as uow:
            record_audit(
                uow,
                actor=actor,
                action=AuditAction.STORE_TRIGGERS_RESTORED,
                object_ref="store:triggers",
                payload={"restored": restored},
                recorded_at=anchor.clock.now(),
            )
            uow.commit()
    return restored
