"""The regulator as witness: publish the log's signed head, prove kept heads are still prefixes.

The back office signs its audit log's head into each broker_daily package (`publish_head`);
the monitor keeps it. Whoever can rewrite the store and the checkpoints beside it cannot
reach the copy the monitor keeps, so `check_witnessed_heads` takes those kept heads and proves
each one is a prefix of the log as it is now (RFC 6962 consistency proof from the kept tree
to today's). A record edited and re-chained, or a tail cut, after the broker reported fails
the proof, and the failure names the package whose head no longer holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from clearwatch.domain.audit.checkpoint import AuditFinding
from clearwatch.domain.audit.merkle import consistency_proof, tree_root, verify_consistency
from clearwatch.domain.audit.witness import KeptHead, PublishedHead
from clearwatch.services.audit.anchor import checkpoint_audit
from clearwatch.services.audit.ports import AuditAnchor


def publish_head(*, anchor: AuditAnchor) -> PublishedHead | None:
    """Sign the log's head now (a checkpoint like any other, kept beside the store) and hand
    it out with the key's public half; None when the log is empty. A log that no longer
    extends its last checkpoint is refused (`AuditNotAnchored`): no head blesses a rewrite."""
    signed = checkpoint_audit(anchor=anchor)
    public_key = anchor.checkpoints.public_key()
    if signed is None or public_key is None:
        return None
    return PublishedHead(signed, public_key)


@dataclass(frozen=True)
class WitnessedCheck:
    """One kept head against the log now: the consistency proof, and what is wrong if any."""

    kept: KeptHead
    path: tuple[str, ...]
    findings: tuple[AuditFinding, ...]


@dataclass(frozen=True)
class WitnessReport:
    store_seq: int
    tree_head: str  # of records 1..store_seq, as the store holds them now
    checks: tuple[WitnessedCheck, ...]

    @property
    def findings(self) -> tuple[AuditFinding, ...]:
        return tuple(finding for check in self.checks for finding in check.findings)


def check_witnessed_heads(*, anchor: AuditAnchor, kept: Sequence[KeptHead]) -> WitnessReport:
    """Prove each head the monitor kept is a prefix of this store's log, oldest first.

    Named: `audit_log_truncated_since_witnessed` (the log ends before the head),
    `audit_log_rewritten_since_witnessed` (records 1..seq no longer hash to the head; the
    change lies after the last kept head that still holds), and a head this store's key did
    not sign (`witnessed_head_signed_by_another_key`, `witnessed_head_signature_invalid`).
    """
    with anchor.read_uow() as uow:
        entries = [bytes.fromhex(record.hash) for record in uow.audit.records()]
    root = tree_root(entries)
    own_key = anchor.checkpoints.public_key()
    checks = []
    holds_up_to = 0  # the largest kept seq whose head still holds
    for item in sorted(kept, key=lambda k: k.head.checkpoint.seq):
        findings = list(_key_findings(anchor, own_key, item))
        seq = item.head.checkpoint.seq
        path: tuple[bytes, ...] = ()
        if seq > len(entries):
            findings.append(
                AuditFinding(
                    "audit_log_truncated_since_witnessed",
                    f"the monitor keeps the head of {item.label()}; the store ends at "
                    f"{len(entries)}",
                )
            )
        else:
            path = consistency_proof(entries, seq)
            old_root = bytes.fromhex(item.head.checkpoint.tree_head)
            if verify_consistency(seq, old_root, len(entries), root, path):
                holds_up_to = max(holds_up_to, seq)
            else:
                findings.append(_rewritten(item, holds_up_to))
        checks.append(WitnessedCheck(item, tuple(p.hex() for p in path), tuple(findings)))
    return WitnessReport(len(entries), root.hex(), tuple(checks))


def _rewritten(item: KeptHead, holds_up_to: int) -> AuditFinding:
    seq = item.head.checkpoint.seq
    return AuditFinding(
        "audit_log_rewritten_since_witnessed",
        f"records 1..{seq} no longer hash to the head the monitor keeps of {item.label()}: "
        f"a record in {holds_up_to + 1}..{seq} was changed after it was reported",
    )


def _key_findings(anchor: AuditAnchor, own_key: str | None, item: KeptHead) -> list[AuditFinding]:
    """The head must be this store's: signed by its key (a new key re-signs nothing old)."""
    head = item.head
    if head.public_key != own_key:
        return [
            AuditFinding(
                "witnessed_head_signed_by_another_key",
                f"{item.label()} was signed by key sha256 {head.key_sha256[:16]}, "
                "not by this store's audit key",
            )
        ]
    if not anchor.checkpoints.signature_valid(head.signed):
        return [AuditFinding("witnessed_head_signature_invalid", item.label())]
    return []
