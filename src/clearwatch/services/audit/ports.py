"""What anchoring the audit log needs from outside: signed checkpoints, triggers, described rows."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from clearwatch.domain.audit.checkpoint import Checkpoint, SignedCheckpoint
from clearwatch.services.shared.ports import Clock, UnitOfWork


class CheckpointStore(Protocol):
    """Signed checkpoints kept apart from the store, signed by a key the store never holds."""

    def write(self, checkpoint: Checkpoint) -> SignedCheckpoint:
        """Sign and keep `checkpoint`; one kept already at its seq is returned unchanged."""
        ...

    def all(self) -> list[SignedCheckpoint]:
        """Every checkpoint kept, in seq order."""
        ...

    def signature_valid(self, signed: SignedCheckpoint) -> bool: ...

    def key_exists(self) -> bool:
        """Whether the signing key was ever made (so a checkpoint was ever written)."""
        ...

    def public_key(self) -> str | None:
        """The signing key's public half (hex, raw Ed25519); None before the key is made."""
        ...


class AppendOnlyGuard(Protocol):
    """The database triggers that refuse UPDATE and DELETE on append-only tables."""

    def missing_triggers(self) -> list[str]:
        """Triggers absent or disabled, by name."""
        ...

    def restore_triggers(self) -> list[str]:
        """Create or enable the missing ones; their names."""
        ...


class DescribedRows(Protocol):
    """The append-only rows an audit record describes, fingerprinted as they are now."""

    def digest(self, object_ref: str, payload: Mapping[str, Any]) -> str | None:
        """The rows' sha256 now; None when the record's object has no fingerprint."""
        ...


@dataclass(frozen=True)
class AuditAnchor:
    """Everything the anchored audit use cases need, wired by the application."""

    uow: Callable[[], UnitOfWork]
    read_uow: Callable[[], UnitOfWork]
    checkpoints: CheckpointStore
    guard: AppendOnlyGuard
    described_rows: DescribedRows
    clock: Clock
