"""Use case: submit a package; check it, store it once, answer with one receipt."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from clearwatch.domain.access.policy import Action, Resource
from clearwatch.domain.monitor.intake import (
    AcceptedIdentity,
    Decision,
    Outcome,
    check_against_registry,
    check_file_listing,
    decide_submission,
    files_to_read,
)
from clearwatch.domain.monitor.manifest import Manifest, ManifestHead, parse_manifest
from clearwatch.domain.monitor.receipt import PackageIdentity, Receipt, ReceiptStatus
from clearwatch.domain.monitor.registry import RegistrySnapshot
from clearwatch.domain.monitor.rejections import ErrorCollector, PackageError
from clearwatch.domain.monitor.reporting import ReportingCategory, is_late
from clearwatch.domain.shared.calendar import BusinessCalendar, package_deadline_at
from clearwatch.domain.shared.kinds import AuditAction
from clearwatch.services.access.authorize import Gate
from clearwatch.services.audit.audit_log import record_audit
from clearwatch.services.monitor.audit_heads import (
    audit_head_errors,
    keep_audit_head,
    pinned_key_errors,
)
from clearwatch.services.monitor.ports import (
    MonitorUnitOfWork,
    MonitorUnitOfWorkFactory,
    NewPackage,
    NewRejection,
    PackageConflictError,
    PackageSource,
    StagedPackage,
)
from clearwatch.services.shared.ports import Clock, ColumnarStore

SUBMITTER = "submitter"
conflict_retries_max = 3  # a concurrent twin committed first: decide again, then it is settled


@dataclass(frozen=True)
class SubmitContext:
    """What submitting needs from outside: time, stores, the package source."""

    clock: Clock
    uow_factory: MonitorUnitOfWorkFactory
    read_uow_factory: MonitorUnitOfWorkFactory
    columnar: ColumnarStore
    source: PackageSource
    # Who submits (the caller's audit label) and, for a superseding package, why; set by
    # `submit_package` once the policy has allowed the caller.
    actor: str = SUBMITTER
    reason: str | None = None


def submit_package(
    *, directory: str, context: SubmitContext, gate: Gate, reason: str | None = None
) -> Receipt:
    """Check the package in `directory`; accept, call it a duplicate, or reject it.

    The policy asks first, from the manifest's head: the package's institution must be the
    caller's, and a later sequence supersedes, which needs an officer and a reason. A denial
    is audited and stores nothing, not even a rejection (no one can spend another
    institution's reporting record)."""
    outcome = parse_manifest(context.source.manifest_bytes(directory))
    _authorize(gate, outcome.head, reason)
    context = replace(context, actor=gate.caller.label, reason=reason)
    received_at = context.clock.now()
    errors = ErrorCollector()
    errors.extend(outcome.errors)
    manifest = outcome.manifest
    if manifest is None:
        return _reject(context, received_at, outcome.head, None, errors)
    with context.read_uow_factory() as uow:
        registry = uow.registry.current()
        accepted = uow.packages.accepted_identities(
            institution_id=manifest.institution_id,
            kind=manifest.kind,
            business_date=manifest.business_date,
        )
        errors.extend(audit_head_errors(uow, context.source, manifest))
    errors.extend(check_against_registry(manifest, registry))
    listing = check_file_listing(
        manifest, context.source.file_sizes(directory), context.source.not_regular(directory)
    )
    errors.extend(listing)
    names = files_to_read(manifest, listing)
    head = _head(manifest)
    early = decide_submission(
        sequence=manifest.sequence, content_sha256=manifest.content_sha256, accepted=accepted
    )
    if early.outcome is Outcome.DUPLICATE and not errors:
        # The manifest claims content already accepted: hashing the files proves it cheaply.
        hashes = context.source.file_sha256(directory, names)
        if all(hashes[entry.name] == entry.sha256 for entry in manifest.files):
            return _duplicate(manifest, early, received_at)
    if early.error is not None:
        errors.add(early.error)
    staged = context.source.stage(
        directory=directory,
        manifest=manifest,
        names=names,
        columnar=context.columnar,
        errors=errors,
    )
    if errors:
        return _reject(context, received_at, head, manifest, errors, staged)
    return _store(context, manifest, staged, registry, received_at)


def _authorize(gate: Gate, head: ManifestHead, reason: str | None) -> None:
    superseding = head.sequence is not None and head.sequence > 1
    action = Action.MONITOR_SUPERSEDE if superseding else Action.MONITOR_SUBMIT
    if head.institution_id is None:
        # A manifest too broken to name its institution: the caller's own rejection to keep.
        gate.check_own(action)
        return
    gate.check(action, Resource(institution=head.institution_id, reason=reason))


def _head(manifest: Manifest) -> ManifestHead:
    return ManifestHead(
        manifest.kind, manifest.institution_id, manifest.business_date, manifest.sequence
    )


def _identity(head: ManifestHead, manifest: Manifest | None) -> PackageIdentity:
    return PackageIdentity(
        kind=head.kind,
        institution_id=head.institution_id,
        business_date=head.business_date,
        sequence=head.sequence,
        content_sha256=None if manifest is None else manifest.content_sha256,
    )


def _duplicate(manifest: Manifest, decision: Decision, received_at: datetime) -> Receipt:
    earlier = decision.duplicate_of
    return Receipt(
        status=ReceiptStatus.DUPLICATE,
        identity=_identity(_head(manifest), manifest),
        received_at=received_at,
        package_id=None if earlier is None else earlier.package_id,
    )


def _store(
    context: SubmitContext,
    manifest: Manifest,
    staged: StagedPackage,
    registry: RegistrySnapshot | None,
    received_at: datetime,
) -> Receipt:
    """Record the accepted package, deciding again inside the write transaction."""
    calendar = BusinessCalendar() if registry is None else registry.calendar
    late = is_late(received_at, package_deadline_at(calendar, manifest.business_date))
    for _ in range(conflict_retries_max):
        try:
            with context.uow_factory() as uow:
                receipt = _store_once(context, uow, manifest, staged, registry, received_at, late)
                uow.commit()
                return receipt
        except PackageConflictError:
            continue  # a twin committed between our read and our insert; look again
    raise PackageConflictError(
        f"package identity kept conflicting {conflict_retries_max} times; the store is contended"
    )


def _store_once(
    context: SubmitContext,
    uow: MonitorUnitOfWork,
    manifest: Manifest,
    staged: StagedPackage,
    registry: RegistrySnapshot | None,
    received_at: datetime,
    late: bool,
) -> Receipt:
    decision = decide_submission(
        sequence=manifest.sequence,
        content_sha256=manifest.content_sha256,
        accepted=uow.packages.accepted_identities(
            institution_id=manifest.institution_id,
            kind=manifest.kind,
            business_date=manifest.business_date,
        ),
    )
    if decision.outcome is Outcome.DUPLICATE:
        return _duplicate(manifest, decision, received_at)
    key_errors = pinned_key_errors(uow, manifest)  # a twin may have pinned another key since
    if decision.outcome is Outcome.REJECT or key_errors:
        errors = ErrorCollector()
        if decision.error is not None:
            errors.add(decision.error)
        errors.extend(key_errors)
        return _record_rejection(
            context, uow, received_at, _head(manifest), manifest, errors, staged
        )
    receipt = _accept(
        context, uow, manifest, staged, registry, received_at, late, decision.supersedes
    )
    if receipt.package_id is not None:  # accepted: its audit head, if any, is kept with it
        keep_audit_head(uow, context.actor, manifest, receipt.package_id, received_at)
    return receipt


def _accept(
    context: SubmitContext,
    uow: MonitorUnitOfWork,
    manifest: Manifest,
    staged: StagedPackage,
    registry: RegistrySnapshot | None,
    received_at: datetime,
    late: bool,
    supersedes: AcceptedIdentity | None,
) -> Receipt:
    """Insert the package, its LATE occurrence when late, and the audit record."""
    package_id = uow.packages.add_accepted(
        NewPackage(
            manifest=manifest,
            received_at=received_at,
            late=late,
            supersedes_package_id=None if supersedes is None else supersedes.package_id,
            registry_version=None if registry is None else registry.version,
            parquet_digests=staged.parquet_digests,
            row_counts=staged.row_counts,
        )
    )
    if late:
        uow.reporting.record_occurrence(
            institution_id=manifest.institution_id,
            category=ReportingCategory.LATE,
            business_date=manifest.business_date,
            package_kind=manifest.kind,
            occurred_at=received_at,
            detail=f"{_named(_head(manifest))} received {received_at.isoformat()} "
            "after the deadline",
        )
    record_audit(
        uow,
        actor=context.actor,
        action=AuditAction.MONITOR_PACKAGE_ACCEPT,
        object_ref=f"package:{package_id}",
        payload={
            "institution_id": manifest.institution_id,
            "kind": manifest.kind,
            "business_date": manifest.business_date.isoformat(),
            "sequence": manifest.sequence,
            "content_sha256": manifest.content_sha256,
            "supersedes": None if supersedes is None else supersedes.package_id,
            "reason": context.reason,
            "late": late,
            "rows": dict(staged.row_counts),
        },
        recorded_at=received_at,
    )
    return Receipt(
        status=ReceiptStatus.ACCEPTED,
        identity=_identity(_head(manifest), manifest),
        received_at=received_at,
        package_id=package_id,
        supersedes_package_id=None if supersedes is None else supersedes.package_id,
        supersedes_sequence=None if supersedes is None else supersedes.sequence,
        late=late,
        row_counts=dict(staged.row_counts),
    )


def _reject(
    context: SubmitContext,
    received_at: datetime,
    head: ManifestHead,
    manifest: Manifest | None,
    errors: ErrorCollector,
    staged: StagedPackage | None = None,
) -> Receipt:
    with context.uow_factory() as uow:
        receipt = _record_rejection(context, uow, received_at, head, manifest, errors, staged)
        uow.commit()
        return receipt


def _record_rejection(
    context: SubmitContext,
    uow: MonitorUnitOfWork,
    received_at: datetime,
    head: ManifestHead,
    manifest: Manifest | None,
    errors: ErrorCollector,
    staged: StagedPackage | None,
) -> Receipt:
    """Only the rejection is stored, with a BATCH_ERROR for a registered institution."""
    identity = _identity(head, manifest)
    sorted_errors = errors.sorted()
    rejection_id = uow.packages.add_rejection(
        NewRejection(
            received_at=received_at,
            kind=head.kind,
            institution_id=head.institution_id,
            business_date=head.business_date,
            sequence=head.sequence,
            content_sha256=identity.content_sha256,
            errors=sorted_errors,
            errors_truncated=errors.truncated,
        )
    )
    _record_batch_error(
        uow,
        head,
        received_at,
        f"{_named(head)} rejected {received_at.isoformat()}: {sorted_errors[0].code.value}",
    )
    _audit_rejection(uow, context.actor, head, received_at, rejection_id, sorted_errors)
    return Receipt(
        status=ReceiptStatus.REJECTED,
        identity=identity,
        received_at=received_at,
        rejection_id=rejection_id,
        row_counts={} if staged is None else {k: v for k, v in staged.row_counts.items() if v >= 0},
        errors=sorted_errors,
        errors_truncated=errors.truncated,
    )


def _named(head: ManifestHead) -> str:
    """A submission as an occurrence names it: by what it is, never by its row id. A killed
    submit's transaction is undone, but on PostgreSQL the id it drew from the sequence is
    gone, so its retry is stored under another id than a clean run's would be; an occurrence
    naming that id would differ from the clean run's record of the same event."""
    return (
        f"{head.kind} of {head.institution_id} for {head.business_date}, sequence {head.sequence}"
    )


def _record_batch_error(
    uow: MonitorUnitOfWork, head: ManifestHead, received_at: datetime, detail: str
) -> None:
    """A rejected submission of a registered institution counts as a BATCH_ERROR."""
    registry = uow.registry.current()
    registered = (
        registry is not None
        and head.institution_id is not None
        and registry.institution(head.institution_id) is not None
    )
    if registered and head.institution_id and head.kind and head.business_date:
        uow.reporting.record_occurrence(
            institution_id=head.institution_id,
            category=ReportingCategory.BATCH_ERROR,
            business_date=head.business_date,
            package_kind=head.kind,
            occurred_at=received_at,
            detail=detail,
        )


def _audit_rejection(
    uow: MonitorUnitOfWork,
    actor: str,
    head: ManifestHead,
    received_at: datetime,
    rejection_id: int,
    sorted_errors: tuple[PackageError, ...],
) -> None:
    record_audit(
        uow,
        actor=actor,
        action=AuditAction.MONITOR_PACKAGE_REJECT,
        object_ref=f"rejection:{rejection_id}",
        payload={
            "institution_id": head.institution_id,
            "kind": head.kind,
            "business_date": None if head.business_date is None else head.business_date.isoformat(),
            "sequence": head.sequence,
            "codes": sorted({error.code.value for error in sorted_errors}),
        },
        recorded_at=received_at,
    )
