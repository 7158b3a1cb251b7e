"""Use cases of the audit log: record within a change, verify, list."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from clearwatch.domain.audit.chain import AuditEvent, AuditRecord, ChainVerdict, verify_chain
from clearwatch.services.shared.ports import UnitOfWork


def record_audit(
    uow: UnitOfWork,
    *,
    actor: str,
    action: str,
    object_ref: str,
    payload: Mapping[str, Any],
    recorded_at: datetime,
) -> AuditRecord:
    """Append to the chain inside the caller's transaction, so change and record commit together."""
    event = AuditEvent(actor=actor, action=action, object_ref=object_ref, payload=payload)
    return uow.audit.append(event, recorded_at=recorded_at)


def verify_audit(*, uow: UnitOfWork) -> ChainVerdict:
    """Recompute the whole chain from the first record."""
    with uow:
        return verify_chain(uow.audit.records())


def show_audit(*, uow: UnitOfWork, limit: int) -> list[AuditRecord]:
    with uow:
        return uow.audit.latest(limit=limit)
