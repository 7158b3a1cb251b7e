"""Read the batches the importer recorded (`clearwatch broker batches`)."""

from __future__ import annotations

from clearwatch.services.backoffice.ports import BackOfficeUnitOfWork, BatchRecord


def list_batches(*, uow: BackOfficeUnitOfWork, broker_id: str | None = None) -> list[BatchRecord]:
    with uow:
        return uow.batches.listing(broker_id)
