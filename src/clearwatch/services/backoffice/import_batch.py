"""Import one batch directory: validate, store, apply whole or not at all, check the books.

Idempotent at three levels: a batch already imported is a no-op; a file already imported (same
role and sha256) is recorded but not applied again; a record already applied (by its key) is
skipped. A second, different batch for the same kind and date needs an approved correction.

The rules are checked in the write transaction and held by the database's unique indexes,
so imports at once end as one applied and the others `already_imported` or refused by name.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import pyarrow as pa

from clearwatch.domain.access.approvals import AccessRefused, AccessRejection
from clearwatch.domain.backoffice.approval_content import correction_content
from clearwatch.domain.backoffice.batch_files import BATCH_KINDS, FILE_APPLY_ORDER, STATEMENT_KINDS
from clearwatch.domain.backoffice.batch_manifest import (
    MANIFEST_NAME,
    BatchError,
    BatchErrors,
    BatchManifest,
    BatchRejected,
    ManifestFile,
    Rule,
    parse_manifest,
)
from clearwatch.domain.shared.file_format import manifest_bytes_max
from clearwatch.domain.shared.kinds import AuditAction, BatchStatus
from clearwatch.services.access.approvals import approved_content_for
from clearwatch.services.audit.audit_log import record_audit
from clearwatch.services.backoffice.advances import advance_key
from clearwatch.services.backoffice.books_apply import ApplyContext, apply_file
from clearwatch.services.backoffice.books_check import BooksBreached, check_books
from clearwatch.services.backoffice.ports import (
    BackOfficeTools,
    BackOfficeUnitOfWork,
    BatchKeyTaken,
)
from clearwatch.services.watch.ports import NO_PUBLISHER, EventPublisher

CORRECTION_KIND = "correction_batch"
IMPORTER = "importer"


class ImportStatus(StrEnum):
    APPLIED = "applied"
    ALREADY_IMPORTED = "already_imported"


@dataclass(frozen=True)
class ImportResult:
    batch_ref: str
    kind: str
    business_date: str
    status: ImportStatus
    files_applied: tuple[str, ...] = ()
    files_already_imported: tuple[str, ...] = ()
    # Stored, not applied: what the trading system returns besides its files, and statements.
    files_kept: tuple[str, ...] = ()
    records_skipped: int = 0
    entries_posted: int = 0
    advances: tuple[dict[str, Any], ...] = ()  # 垫付: each overdrawn client's alert evidence


@dataclass(frozen=True)
class _ReadFile:
    entry: ManifestFile
    table: pa.Table | None  # None: a file this kind keeps without applying
    digest: str | None


def read_manifest(directory: Path) -> BatchManifest:
    """The batch's manifest, read once; a symbolic link is refused (it could point anywhere)."""
    path = directory / MANIFEST_NAME
    if path.is_symlink():
        raise BatchRejected((BatchError(Rule.FILE_MUST_BE_REGULAR, MANIFEST_NAME),))
    if not path.is_file():
        raise BatchRejected((BatchError(Rule.MANIFEST_MUST_EXIST, MANIFEST_NAME),))
    try:
        with open(path, "rb", opener=_no_follow) as handle:
            # One byte over the limit is enough to refuse a manifest as too large.
            return parse_manifest(handle.read(manifest_bytes_max + 1))
    except OSError as problem:  # replaced by a link or removed since the check above
        raise BatchRejected((BatchError(Rule.FILE_MUST_BE_REGULAR, MANIFEST_NAME),)) from problem


def _no_follow(path: str, flags: int) -> int:
    return os.open(path, flags | getattr(os, "O_NOFOLLOW", 0))


def import_batch(
    *,
    directory: Path,
    uow: BackOfficeUnitOfWork,
    tools: BackOfficeTools,
    at: datetime,
    actor: str = IMPORTER,
    publisher: EventPublisher = NO_PUBLISHER,
) -> ImportResult:
    """Import the batch in `directory`; `BatchRejected` (nothing applied) on bad input. Then,
    applied, already imported or refused, the watch's `publisher` is told of the delivery."""
    try:
        return _import_batch(directory=directory, uow=uow, tools=tools, at=at, actor=actor)
    finally:
        publisher.batch_delivered(directory)


def _import_batch(
    *, directory: Path, uow: BackOfficeUnitOfWork, tools: BackOfficeTools, at: datetime, actor: str
) -> ImportResult:
    manifest = read_manifest(directory)
    with uow:
        # A first look, before reading the files: a batch already imported, or refused by
        # the kind-and-date rule, costs no file read.
        done = _already_imported(uow, manifest)
        if done is not None:
            return done
        _correction_approval(uow, manifest)
    files = _read_and_store(directory, manifest, tools)
    with uow:
        # The rules again, in the write transaction: another import may have won meanwhile.
        # The unique indexes of the batches decide a race this look cannot see (PostgreSQL
        # runs both transactions at once); the loser gets the same answers by name.
        done = _already_imported(uow, manifest)
        if done is not None:
            return done
        approval_ref = _correction_approval(uow, manifest)
        try:
            result = _apply(
                uow, tools, manifest, files, approval_ref=approval_ref, at=at, actor=actor
            )
        except BatchKeyTaken as taken:
            return _lost_race(uow, manifest, taken)
        uow.commit()
    return result


def _already_imported(uow: BackOfficeUnitOfWork, manifest: BatchManifest) -> ImportResult | None:
    """The no-op answer for a batch id already imported with this content; a refusal for
    the id with other content; None for a new batch id."""
    existing = uow.batches.find(manifest.broker_id, manifest.batch_id)
    if existing is None:
        return None
    if existing.content_sha256 != manifest.content_sha256:
        raise _refused(Rule.BATCH_ID_MUST_KEEP_ITS_CONTENT, manifest.batch_id)
    return ImportResult(
        manifest.batch_ref,
        manifest.kind,
        manifest.business_date.isoformat(),
        ImportStatus.ALREADY_IMPORTED,
    )


def _lost_race(
    uow: BackOfficeUnitOfWork, manifest: BatchManifest, taken: BatchKeyTaken
) -> ImportResult:
    """Another import committed first: the same batch is `already_imported`, any other
    batch for the kind and date is refused by the rule, never an integrity traceback."""
    done = _already_imported(uow, manifest)
    if done is not None:
        return done
    _correction_approval(uow, manifest)  # names the batch that holds the slot, if it can
    raise _refused(
        Rule.ONE_BATCH_PER_KIND_AND_DATE,
        f"{manifest.kind} {manifest.business_date}: another import took the slot first",
    ) from taken


def _refused(rule: Rule, detail: str) -> BatchRejected:
    return BatchRejected((BatchError(rule, MANIFEST_NAME, detail=detail),))


def _correction_approval(uow: BackOfficeUnitOfWork, manifest: BatchManifest) -> str | None:
    """None for the first batch of its kind and date; a correction needs a second person's
    approval of exactly its files, and corrects a batch nobody has corrected yet."""
    earlier = uow.batches.of_kind_and_date(
        manifest.broker_id, manifest.kind, manifest.business_date
    )
    if not earlier:
        return None
    if manifest.corrects_batch_id not in {batch.batch_id for batch in earlier}:
        raise _refused(
            Rule.ONE_BATCH_PER_KIND_AND_DATE,
            f"{manifest.kind} {manifest.business_date} already has {earlier[0].batch_id}",
        )
    later = [b.batch_id for b in earlier if b.corrects_batch_id == manifest.corrects_batch_id]
    if later:
        raise _refused(
            Rule.ONE_BATCH_PER_KIND_AND_DATE,
            f"{manifest.corrects_batch_id} is already corrected by {later[0]}: correct that",
        )
    try:
        approval = approved_content_for(
            uow,
            kind=CORRECTION_KIND,
            subject_ref=manifest.subject_ref(),
            content=correction_content(manifest),
        )
    except AccessRefused as refused:
        rule = (
            Rule.APPROVAL_MUST_MATCH_CONTENT
            if refused.rejection is AccessRejection.APPROVAL_MUST_MATCH_CONTENT
            else Rule.ONE_BATCH_PER_KIND_AND_DATE
        )
        raise _refused(rule, f"{CORRECTION_KIND} {manifest.subject_ref()}: {refused}") from None
    return f"approval:{approval.request_id}"


def _read_and_store(
    directory: Path, manifest: BatchManifest, tools: BackOfficeTools
) -> dict[str, _ReadFile]:
    """Check every file against its manifest line, then put its rows in the columnar store.

    The reader hashes and parses one read of each file. Errors of every file are collected
    (up to the cap) and refused together; nothing is stored of a batch that is refused.
    """
    kind = BATCH_KINDS[manifest.kind]
    read: dict[str, _ReadFile] = {}
    tables: dict[str, pa.Table] = {}
    errors = BatchErrors()
    for entry in manifest.files:
        path = directory / entry.name
        spec = kind.file(entry.name)
        try:
            if spec is None:
                rows = tools.reader.count_rows(
                    path, encoding=manifest.encoding, sha256=entry.sha256
                )
                if rows != entry.rows:
                    detail = f"the file holds {rows} rows, the manifest says {entry.rows}"
                    errors.add(BatchError(Rule.ROW_COUNT_MUST_MATCH, entry.name, detail=detail))
                read[entry.name] = _ReadFile(entry, None, None)
                continue
            tables[entry.name] = tools.reader.read(
                path, spec, encoding=manifest.encoding, rows=entry.rows, sha256=entry.sha256
            )
        except BatchRejected as refused:
            errors.extend(refused.rejections)
    errors.refuse()
    for entry in manifest.files:
        if entry.name in tables:
            table = tables[entry.name]
            read[entry.name] = _ReadFile(entry, table, tools.store.put_table(table))
    return read


def _apply(
    uow: BackOfficeUnitOfWork,
    tools: BackOfficeTools,
    manifest: BatchManifest,
    files: dict[str, _ReadFile],
    *,
    approval_ref: str | None,
    at: datetime,
    actor: str,
) -> ImportResult:
    manifest_json = json.dumps(_manifest_dict(manifest), sort_keys=True)
    batch_pk = uow.batches.add(
        manifest, manifest_json=manifest_json, received_at=at, approval_ref=approval_ref
    )
    context = ApplyContext(uow=uow, tools=tools, manifest=manifest, at=at)
    applied, duplicates, kept = _apply_files(context, batch_pk, files)
    if manifest.kind not in STATEMENT_KINDS:  # a statement posts nothing: the books are as were
        _check_after_batch(uow, manifest)
    status = BatchStatus.APPLIED
    advances = _advance_alerts(context)
    detail = {
        "files_applied": applied,
        "files_already_imported": duplicates,
        "files_kept": kept,
        "records_skipped": context.records_skipped,
        "entries_posted": context.entries_posted,
        "advances": advances,
    }
    uow.batches.add_status(batch_pk, status=status, at=at, actor=IMPORTER, detail=detail)
    record_audit(
        uow,
        actor=actor,
        action=AuditAction.BATCH_IMPORTED,
        object_ref=f"batch:{manifest.batch_ref}",
        payload={
            "kind": manifest.kind,
            "business_date": manifest.business_date.isoformat(),
            "content_sha256": manifest.content_sha256,
            # The fees charged by this batch's executions are the schedule of this version.
            "fee_schedule": tools.schedule.version_ref,
            **detail,
        },
        recorded_at=at,
    )
    return ImportResult(
        manifest.batch_ref,
        manifest.kind,
        manifest.business_date.isoformat(),
        ImportStatus.APPLIED,
        tuple(applied),
        tuple(duplicates),
        tuple(kept),
        context.records_skipped,
        context.entries_posted,
        tuple(advances),
    )


def _advance_alerts(context: ApplyContext) -> list[dict[str, Any]]:
    """The alert of each advance the batch needed (垫付), as the audit record keeps it."""
    manifest = context.manifest
    key = advance_key(manifest.broker_id, manifest.business_date, manifest.batch_id)
    return [a.evidence(batch_ref=manifest.batch_ref, entry_key=key) for a in context.advances]


def _apply_files(
    context: ApplyContext, batch_pk: int, files: dict[str, _ReadFile]
) -> tuple[list[str], list[str], list[str]]:
    """Record each file of the batch and apply those not applied before, reference data
    first; returns the names applied, already imported and kept without applying."""
    uow, manifest = context.uow, context.manifest
    applied: list[str] = []
    duplicates: list[str] = []
    kept: list[str] = []
    # A statement is compared, never posted: it is kept whole even when a file's bytes repeat
    # an earlier day's (a balance that did not move), so each day finds its own.
    statement = manifest.kind in STATEMENT_KINDS
    for name in sorted(files, key=_apply_rank):
        item = files[name]
        duplicate_of = (
            None
            if statement
            else uow.batches.applied_file_with(manifest.broker_id, name, item.entry.sha256)
        )
        uow.batches.add_file(
            batch_pk,
            broker_id=manifest.broker_id,
            role=name,
            sha256=item.entry.sha256,
            rows=item.entry.rows,
            parquet_digest=item.digest,
            duplicate_of=duplicate_of,
        )
        if duplicate_of is not None:
            duplicates.append(name)
        elif item.table is None or statement:
            kept.append(name)
        else:
            apply_file(context, name, item.table, item.entry.sha256, item.digest or "")
            applied.append(name)
    return applied, duplicates, kept


def _apply_rank(name: str) -> tuple[int, str]:
    return (
        FILE_APPLY_ORDER.index(name) if name in FILE_APPLY_ORDER else len(FILE_APPLY_ORDER),
        name,
    )


def _check_after_batch(uow: BackOfficeUnitOfWork, manifest: BatchManifest) -> None:
    """The invariants hold after every batch; a breach is a bug and rolls the batch back."""
    breaches = check_books(
        uow=uow,
        broker_id=manifest.broker_id,
        as_of=manifest.business_date,
        batch_ref=manifest.batch_ref,
    )
    if breaches:
        raise BooksBreached(tuple(breaches))


def _manifest_dict(manifest: BatchManifest) -> dict[str, object]:
    return {
        "format": "clearwatch.batch/1",
        "kind": manifest.kind,
        "broker_id": manifest.broker_id,
        "business_date": manifest.business_date.isoformat(),
        "batch_id": manifest.batch_id,
        "encoding": manifest.encoding,
        "corrects_batch_id": manifest.corrects_batch_id,
        "files": [{"name": f.name, "sha256": f.sha256, "rows": f.rows} for f in manifest.files],
    }
