"""The version of the fee schedule that charged a batch's fees is in the batch's audit record."""

from __future__ import annotations

import json
from pathlib import Path

from clearwatch.adapters.fee_schedule_file import load_fee_schedule
from clearwatch.bootstrap import Application
from clearwatch.services.backoffice.import_batch import import_batch
from clearwatch.services.backoffice.ports import BackOfficeTools
from tests.backoffice_batches import execution, static_batch, write_batch


def test_an_imported_trading_batch_records_the_fee_schedule_version_it_was_charged_by(
    sqlite_app: Application, tools: BackOfficeTools, tmp_path: Path
) -> None:
    for directory in (
        static_batch(tmp_path / "s"),
        write_batch(
            tmp_path / "T1",
            kind="trading",
            business_date="2026-11-20",
            batch_id="T1",
            files={"executions.csv": [execution("E1", "F001", "B", 1000, "10.00")]},
        ),
    ):
        import_batch(
            directory=directory, uow=sqlite_app.uow(), tools=tools, at=sqlite_app.clock.now()
        )
    with sqlite_app.read_uow() as uow:
        imported = [r for r in uow.audit.records() if r.action == "batch.imported"]
    assert len(imported) == 2
    versions = {json.loads(r.payload_json)["fee_schedule"] for r in imported}
    assert versions == {load_fee_schedule().version_ref} == {sqlite_app.fee_schedule.version_ref}
