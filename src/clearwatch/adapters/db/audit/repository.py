"""The audit log in the relational store: appends under a chain lock, reads in seq order."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime

from sqlalchemy import Connection, Row, insert, select, text

from clearwatch.adapters.db.audit.described_rows import rows_digest
from clearwatch.adapters.db.audit.tables import audit_log
from clearwatch.domain.audit.chain import (
    GENESIS_HASH,
    AuditEvent,
    AuditRecord,
    HashAlgorithm,
    seal,
)
from clearwatch.domain.audit.checkpoint import ROWS_DIGEST_KEY

audit_read_batch_rows = 5_000
BUSINESS_AT_KEY = "business_at"
_PG_CHAIN_LOCK_KEY = 0x_C1EA_A0D1  # one advisory lock serialises appends to the one chain


class SqlAuditLog:
    def __init__(self, connection: Connection, *, algorithm: HashAlgorithm) -> None:
        self._connection = connection
        self._algorithm = algorithm

    def append(self, event: AuditEvent, *, recorded_at: datetime) -> AuditRecord:
        self._lock_chain()
        last = self._connection.execute(
            select(audit_log.c.seq, audit_log.c.hash, audit_log.c.recorded_at)
            .order_by(audit_log.c.seq.desc())
            .limit(1)
        ).first()
        seq, prev_hash = (1, GENESIS_HASH) if last is None else (last.seq + 1, last.hash)
        if last is not None and recorded_at < datetime.fromisoformat(last.recorded_at):
            # Record times never go backwards: a replay's earlier business time is kept in
            # the payload, and the record takes its predecessor's time.
            event = replace(
                event, payload={**event.payload, BUSINESS_AT_KEY: recorded_at.isoformat()}
            )
            recorded_at = datetime.fromisoformat(last.recorded_at)
        # The rows the record describes are written by now, in this transaction: their
        # fingerprint goes under the chain, for `audit verify --data`.
        digest = rows_digest(self._connection, event.object_ref, event.payload)
        if digest is not None:
            event = replace(event, payload={**event.payload, ROWS_DIGEST_KEY: digest})
        record = seal(
            event,
            seq=seq,
            recorded_at=recorded_at,
            prev_hash=prev_hash,
            algorithm=self._algorithm,
        )
        self._connection.execute(
            insert(audit_log).values(
                seq=record.seq,
                actor=record.actor,
                action=record.action,
                object_ref=record.object_ref,
                recorded_at=record.recorded_at,
                payload_json=record.payload_json,
                algorithm=record.algorithm.value,
                prev_hash=record.prev_hash,
                hash=record.hash,
            )
        )
        return record

    def records(self, *, after_seq: int = 0) -> Iterator[AuditRecord]:
        last_seq = after_seq
        while True:
            rows = self._connection.execute(
                select(audit_log)
                .where(audit_log.c.seq > last_seq)
                .order_by(audit_log.c.seq)
                .limit(audit_read_batch_rows)
            ).all()
            if not rows:
                return
            for row in rows:
                yield _to_record(row)
            last_seq = rows[-1].seq

    def latest(self, *, limit: int) -> list[AuditRecord]:
        rows = self._connection.execute(
            select(audit_log).order_by(audit_log.c.seq.desc()).limit(limit)
        ).all()
        return [_to_record(row) for row in reversed(rows)]

    def _lock_chain(self) -> None:
        # SQLite writers already hold the database lock (BEGIN IMMEDIATE).
        if self._connection.dialect.name == "postgresql":
            self._connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_CHAIN_LOCK_KEY}
            )


def _to_record(row: Row[tuple[object, ...]]) -> AuditRecord:
    m = row._mapping
    return AuditRecord(
        seq=int(m["seq"]),
        actor=str(m["actor"]),
        action=str(m["action"]),
        object_ref=str(m["object_ref"]),
        recorded_at=str(m["recorded_at"]),
        payload_json=str(m["payload_json"]),
        algorithm=HashAlgorithm(m["algorithm"]),
        prev_hash=str(m["prev_hash"]),
        hash=str(m["hash"]),
    )
