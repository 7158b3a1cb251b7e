"""Ports: what the services need from the outside world, as protocols."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

import pyarrow as pa

from clearwatch.domain.audit.chain import AuditEvent, AuditRecord


class Clock(Protocol):
    """The time; services never read the system clock themselves."""

    def now(self) -> datetime: ...


class AuditLog(Protocol):
    """The append-only, hash-chained audit table."""

    def append(self, event: AuditEvent, *, recorded_at: datetime) -> AuditRecord: ...

    def records(self, *, after_seq: int = 0) -> Iterator[AuditRecord]: ...

    def latest(self, *, limit: int) -> list[AuditRecord]: ...


class ColumnarWriter(Protocol):
    """Streams record batches into one content-addressed Parquet object."""

    def write(self, batch: pa.RecordBatch | pa.Table) -> None: ...

    @property
    def digest(self) -> str:
        """The sha256 of the written object; available once the writer is closed."""
        ...


class ColumnarStore(Protocol):
    """Large immutable content as Parquet, addressed by sha256, written once."""

    def writer(
        self, schema: pa.Schema, *, dictionary_columns: Sequence[str] = ()
    ) -> AbstractContextManager[ColumnarWriter]:
        """`dictionary_columns`: columns of few distinct values (codes, institution ids),
        dictionary-encoded; every other column is stored plain."""
        ...

    def put_table(self, table: pa.Table, *, dictionary_columns: Sequence[str] = ()) -> str: ...

    def read_table(self, digest: str) -> pa.Table: ...

    def exists(self, digest: str) -> bool: ...

    def uri(self, digest: str) -> str:
        """Where an engine can read the object (a path or an object-store URI)."""
        ...


class UnitOfWork(Protocol):
    """One transaction: every repository it hands out writes inside it."""

    # Repositories are read-only properties so a concrete unit of work may narrow their types.
    @property
    def audit(self) -> AuditLog: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...
