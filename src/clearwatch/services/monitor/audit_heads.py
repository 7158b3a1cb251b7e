"""The monitor as witness: check and keep the signed audit heads packages carry, list them.

A broker_daily package may carry its back office's signed audit head. Intake checks the
signature under the key the head names and that this key is the one the institution's first
head pinned (trust on first use) or, before any head, the one SIPF registered for it (an
approved `witness_key_rotation`), then keeps the head with the accepted package. The kept
heads are what the back office must later prove its log still extends
(`services/audit/witness.py`); `witnessed_heads` lists them with what they betray alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from clearwatch.domain.access.approvals import ApprovalKind
from clearwatch.domain.access.organisations import SIPF
from clearwatch.domain.audit.checkpoint import AuditFinding
from clearwatch.domain.audit.witness import KeptHead, regressions
from clearwatch.domain.monitor.audit_heads import head_errors
from clearwatch.domain.monitor.manifest import Manifest
from clearwatch.domain.monitor.rejections import PackageError
from clearwatch.domain.shared.kinds import AuditAction
from clearwatch.services.audit.audit_log import record_audit
from clearwatch.services.monitor.ports import MonitorUnitOfWork, PackageSource


def audit_head_errors(
    uow: MonitorUnitOfWork, source: PackageSource, manifest: Manifest
) -> tuple[PackageError, ...]:
    """Before the write: the head's signature, and its key against the pinned one."""
    head = manifest.audit_head
    if head is None:
        return ()
    pinned = uow.packages.pinned_key(manifest.institution_id)
    return head_errors(
        manifest,
        signature_valid=source.head_signature_valid(head),
        pinned_key=pinned,
        approved_key_sha256=_approved_key(uow, manifest, pinned),
    )


def pinned_key_errors(uow: MonitorUnitOfWork, manifest: Manifest) -> tuple[PackageError, ...]:
    """In the write transaction: a twin submission may have pinned another key meanwhile."""
    if manifest.audit_head is None:
        return ()
    pinned = uow.packages.pinned_key(manifest.institution_id)
    rotated = _approved_key(uow, manifest, pinned)
    return head_errors(
        manifest, signature_valid=True, pinned_key=pinned, approved_key_sha256=rotated
    )


def rotation_subject(institution_id: str) -> str:
    """The subject of an institution's `witness_key_rotation` approval requests."""
    return f"institution:{institution_id}"


def _approved_key(uow: MonitorUnitOfWork, manifest: Manifest, pinned: str | None) -> str | None:
    """The key sha256 the institution's latest approved rotation names, when the head is not
    under the pinned key or nothing is pinned yet (only then asked): before the first head it
    registers the key that head must carry, so that trust on first use is not the only
    choice. Only the latest counts: a rotation approved later retires the key an earlier one
    let in."""
    head = manifest.audit_head
    if head is None or pinned == head.public_key:
        return None
    approved = uow.access.latest_approved(
        kind=ApprovalKind.WITNESS_KEY_ROTATION,
        subject_ref=rotation_subject(manifest.institution_id),
    )
    if approved is None or approved.payload.get("institution_id") != manifest.institution_id:
        return None
    # Only the regulator decides whose history it witnesses: a rotation a broker's own maker
    # and checker approved in their back office lets nothing in.
    if not all(_of_sipf(uow, user) for user in (approved.maker, approved.checker)):
        return None
    return str(approved.payload.get("key_sha256"))


def _of_sipf(uow: MonitorUnitOfWork, user_id: str | None) -> bool:
    user = None if user_id is None else uow.access.user(user_id)
    return user is not None and user.organisation == SIPF


def keep_audit_head(
    uow: MonitorUnitOfWork,
    actor: str,
    manifest: Manifest,
    package_id: int,
    received_at: datetime,
) -> None:
    """Keep the head with its accepted package, in the same transaction, and record it; the
    institution's first head pins its key (the record says so)."""
    head = manifest.audit_head
    if head is None:
        return
    pinned = uow.packages.keep_audit_head(
        package_id=package_id,
        institution_id=manifest.institution_id,
        business_date=manifest.business_date,
        head=head,
        received_at=received_at,
    )
    made = head.checkpoint
    record_audit(
        uow,
        actor=actor,
        action=AuditAction.MONITOR_AUDIT_HEAD_KEPT,
        object_ref=f"audit_head:{package_id}",
        payload={
            "institution_id": manifest.institution_id,
            "business_date": manifest.business_date.isoformat(),
            "seq": made.seq,
            "tree_head": made.tree_head,
            "key_sha256": head.key_sha256,
            "key_pinned": pinned,  # trust on first use: this head's key is now the pinned one
        },
        recorded_at=received_at,
    )


@dataclass(frozen=True)
class WitnessedHeads:
    """An institution's kept heads, the key pinned for it, and what the heads alone betray."""

    institution_id: str
    heads: tuple[KeptHead, ...]
    pinned_key: str | None
    findings: tuple[AuditFinding, ...]


def witnessed_heads(
    *, uow: MonitorUnitOfWork, institution_id: str, business_date: date | None = None
) -> WitnessedHeads:
    """The heads kept for the institution (of one date). The regressions are judged over all
    of its heads, whatever the date asked: a later head can betray an earlier day's."""
    with uow:
        every = uow.packages.audit_heads(institution_id=institution_id)
        pinned = uow.packages.pinned_key(institution_id)
    shown = [k for k in every if business_date is None or k.business_date == business_date]
    return WitnessedHeads(institution_id, tuple(shown), pinned, tuple(regressions(every)))
