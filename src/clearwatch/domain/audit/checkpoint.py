"""Checkpoints of the audit log: what is signed (size, tree head, chain head, time) and findings."""

from __future__ import annotations

from dataclasses import dataclass

from clearwatch.domain.audit.chain import canonical_json

CHECKPOINT_FORMAT = "clearwatch-audit-checkpoint/1"
# The payload key under which a record fingerprints the append-only rows it describes.
ROWS_DIGEST_KEY = "rows_sha256"


@dataclass(frozen=True)
class Checkpoint:
    """The audit log as it stood: `seq` records (seqs run 1..seq), their tree head and chain head.

    `frontier` (the roots of the full subtrees, largest first, with their sizes) lets the next
    checkpoint extend this one from the new records alone, so no command re-reads the log.
    """

    seq: int
    tree_head: str  # hex SHA-256, RFC 6962
    chain_head: str  # the hash of record `seq`
    made_at: str  # ISO 8601 with offset
    frontier: tuple[tuple[int, str], ...]

    def statement(self) -> bytes:
        """The exact bytes signed: one canonical spelling of every field."""
        return canonical_json(
            {
                "format": CHECKPOINT_FORMAT,
                "seq": self.seq,
                "tree_head": self.tree_head,
                "chain_head": self.chain_head,
                "made_at": self.made_at,
                "frontier": [[size, root] for size, root in self.frontier],
            }
        ).encode("utf-8")


@dataclass(frozen=True)
class SignedCheckpoint:
    checkpoint: Checkpoint
    signature: str  # hex Ed25519 over `checkpoint.statement()`


@dataclass(frozen=True)
class AuditFinding:
    """One thing `audit verify` found wrong, named by the rule it breaks."""

    rule: str
    detail: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.detail}"


def truncated(checkpoint_seq: int, store_seq: int) -> AuditFinding:
    return AuditFinding(
        "audit_log_truncated", f"checkpoint at seq {checkpoint_seq}, store ends at {store_seq}"
    )


def rechained(checkpoint: Checkpoint) -> AuditFinding:
    return AuditFinding(
        "audit_log_rechained",
        f"tree head of records 1..{checkpoint.seq} differs from the checkpoint signed at "
        f"{checkpoint.made_at}: records were rewritten and re-chained",
    )
