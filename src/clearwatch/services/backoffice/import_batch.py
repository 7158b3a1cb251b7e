"""Import one batch directory: validate, store, apply whole or not at all, check the books.

Idempotent at three levels: a batch already imported is a no-op; a file already imported (same
role and sha256) is recorded but not applied again; a record already applied (by its key) is
skipped. A second, different batch for the same kind and date needs an approved correction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path

import pyarrow as pa

from clearwatch.domain.backoffice.batch_files import BATCH_KINDS, FILE_APPLY_ORDER
from clearwatch.domain.backoffice.batch_manifest import (
    MANIFEST_NAME,
    BatchManifest,
    BatchRejected,
    ManifestFile,
    Rejection,
    Rule,
    parse_manifest,
)
from clearwatch.services.access.approvals import approved_request_for
from clearwatch.services.audit.audit_log import record_audit
from clearwatch.services.backoffice.books_apply import ApplyContext, apply_file
from clearwatch.services.backoffice.books_check import BooksBreached, check_books
from clearwatch.services.backoffice.ports import BackOfficeTools, BackOfficeUnitOfWork

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
    files_kept: tuple[str, ...] = ()  # returned by the trading system, stored, not applied
    records_skipped: int = 0
    entries_posted: int = 0
    notes: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class _ReadFile:
    entry: ManifestFile
    table: pa.Table | None  # None: a file this kind keeps without applying
    digest: str | None


def read_manifest(directory: Path) -> BatchManifest:
    path = directory / MANIFEST_NAME
    if not path.is_file():
        raise BatchRejected((Rejection(Rule.MANIFEST_MUST_EXIST, MANIFEST_NAME),))
    return parse_manifest(path.read_bytes())


def import_batch(
    *,
    directory: Path,
    uow: BackOfficeUnitOfWork,
    tools: BackOfficeTools,
    at: datetime,
    actor: str = IMPORTER,
) -> ImportResult:
    """Import the batch in `directory`; `BatchRejected` (nothing applied) on bad input."""
    manifest = read_manifest(directory)
    with uow:
        existing = uow.batches.find(manifest.broker_id, manifest.batch_id)
        if existing is not None:
            if existing.content_sha256 != manifest.content_sha256:
                raise _refused(Rule.BATCH_ID_MUST_KEEP_ITS_CONTENT, manifest.batch_id)
            return ImportResult(
                manifest.batch_ref,
                manifest.kind,
                manifest.business_date.isoformat(),
                ImportStatus.ALREADY_IMPORTED,
            )
        approval_ref = _correction_approval(uow, manifest)
    files = _read_and_store(directory, manifest, tools)
    with uow:
        result = _apply(uow, tools, manifest, files, approval_ref=approval_ref, at=at, actor=actor)
        uow.commit()
    return result


def _refused(rule: Rule, detail: str) -> BatchRejected:
    return BatchRejected((Rejection(rule, MANIFEST_NAME, detail=detail),))


def _correction_approval(uow: BackOfficeUnitOfWork, manifest: BatchManifest) -> str | None:
    """None for the first batch of its kind and date; a correction needs a second person."""
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
    approval = approved_request_for(uow, kind=CORRECTION_KIND, subject_ref=manifest.subject_ref())
    if approval is None:
        raise _refused(
            Rule.ONE_BATCH_PER_KIND_AND_DATE,
            f"no approved {CORRECTION_KIND} for {manifest.subject_ref()}",
        )
    return f"approval:{approval.request_id}"


def _read_and_store(
    directory: Path, manifest: BatchManifest, tools: BackOfficeTools
) -> dict[str, _ReadFile]:
    """Check every file against its manifest line, then put its rows in the columnar store."""
    kind = BATCH_KINDS[manifest.kind]
    read: dict[str, _ReadFile] = {}
    for entry in manifest.files:
        path = directory / entry.name
        if not path.is_file():
            raise BatchRejected((Rejection(Rule.FILE_MUST_EXIST, entry.name),))
        actual = tools.reader.sha256(path)
        if actual != entry.sha256:
            raise BatchRejected(
                (Rejection(Rule.FILE_HASH_MUST_MATCH, entry.name, detail=f"sha256 {actual}"),)
            )
        spec = kind.file(entry.name)
        if spec is None:
            rows = tools.reader.count_rows(path, encoding=manifest.encoding)
            if rows != entry.rows:
                raise BatchRejected(
                    (Rejection(Rule.ROW_COUNT_MUST_MATCH, entry.name, detail=f"{rows}"),)
                )
            read[entry.name] = _ReadFile(entry, None, None)
            continue
        table = tools.reader.read(path, spec, encoding=manifest.encoding, rows=entry.rows)
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
    applied: list[str] = []
    duplicates: list[str] = []
    kept: list[str] = []
    for name in sorted(files, key=_apply_rank):
        item = files[name]
        duplicate_of = uow.batches.applied_file_with(manifest.broker_id, name, item.entry.sha256)
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
        elif item.table is None:
            kept.append(name)
        else:
            apply_file(context, name, item.table, item.entry.sha256, item.digest or "")
            applied.append(name)
    _check_after_batch(uow, manifest)
    status = "applied"
    detail = {
        "files_applied": applied,
        "files_already_imported": duplicates,
        "files_kept": kept,
        "records_skipped": context.records_skipped,
        "entries_posted": context.entries_posted,
    }
    uow.batches.add_status(batch_pk, status=status, at=at, actor=IMPORTER, detail=detail)
    record_audit(
        uow,
        actor=actor,
        action="batch.imported",
        object_ref=f"batch:{manifest.batch_ref}",
        payload={
            "kind": manifest.kind,
            "business_date": manifest.business_date.isoformat(),
            "content_sha256": manifest.content_sha256,
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
    )


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
