"""Fingerprints of the append-only rows an audit record describes, for `audit verify --data`.

When a record is appended, the rows its object names are already written in the same
transaction; their sha256 goes into the record's payload (`rows_sha256`), under the chain.
`audit verify --data` fingerprints the same rows again: a row edited or deleted with the
triggers off no longer matches. Covered: packages accepted (the package and its files),
the audit heads they carried (the head and the key it pinned), packages rejected, monitor runs
(the run and its warnings), batches imported (the batch row).
Rows that legitimately grow later under the same object (a batch's status history) are left
out, so a fingerprint never changes without tampering.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Table, select
from sqlalchemy.sql.elements import ColumnElement

from clearwatch.adapters.db.backoffice.tables import bo_batches
from clearwatch.adapters.db.engine import READ_ONLY_OPTION
from clearwatch.adapters.db.monitor.intake_tables import (
    audit_heads,
    package_files,
    package_rejections,
    packages,
    witness_keys,
)
from clearwatch.adapters.db.monitor.runs_tables import monitor_runs, monitor_warnings
from clearwatch.domain.audit.chain import canonical_json

Selection = tuple[tuple[Table, ColumnElement[bool]], ...]


def _selection(object_ref: str, payload: Mapping[str, Any]) -> Selection | None:
    """The rows `object_ref` names, table by table; None for objects without a fingerprint."""
    kind, _, key = object_ref.partition(":")
    if kind == "package" and key.isdigit():
        return (
            (packages, packages.c.package_id == int(key)),
            (package_files, package_files.c.package_id == int(key)),
        )
    if kind == "audit_head" and key.isdigit():  # and the key it pinned, if it was the first
        return (
            (audit_heads, audit_heads.c.package_id == int(key)),
            (witness_keys, witness_keys.c.package_id == int(key)),
        )
    if kind == "rejection" and key.isdigit():
        return ((package_rejections, package_rejections.c.rejection_id == int(key)),)
    run_id = payload.get("run_id")
    if kind == "monitor_run" and isinstance(run_id, int):
        return (
            (monitor_runs, monitor_runs.c.run_id == run_id),
            (monitor_warnings, monitor_warnings.c.run_id == run_id),
        )
    broker_id, _, batch_id = key.partition(":")
    if kind == "batch" and batch_id:
        return (
            (
                bo_batches,
                (bo_batches.c.broker_id == broker_id) & (bo_batches.c.batch_id == batch_id),
            ),
        )
    return None


def _plain(value: object) -> object:
    """One spelling per value on either database (times in UTC, dates ISO, bytes hex)."""
    if isinstance(value, datetime):
        return value.isoformat() if value.tzinfo is None else value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, bool | int | str) or value is None:
        return value
    return str(value)


def rows_digest(connection: Connection, object_ref: str, payload: Mapping[str, Any]) -> str | None:
    """The sha256 of the rows `object_ref` names as they are now; None if not covered."""
    selection = _selection(object_ref, payload)
    if selection is None:
        return None
    document: dict[str, list[dict[str, object]]] = {}
    for table, where in selection:
        rows = connection.execute(
            select(table).where(where).order_by(*table.primary_key.columns)
        ).all()
        document[table.name] = [
            {name: _plain(value) for name, value in row._mapping.items()} for row in rows
        ]
    return hashlib.sha256(canonical_json(document).encode("utf-8")).hexdigest()


class SqlDescribedRows:
    """`DescribedRows` over the store, each digest read in its own short read transaction."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def digest(self, object_ref: str, payload: Mapping[str, Any]) -> str | None:
        read_only = {READ_ONLY_OPTION: True}
        with self._engine.connect().execution_options(**read_only) as connection:
            return rows_digest(connection, object_ref, payload)
