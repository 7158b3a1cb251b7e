"""`net_settlement` in settlement_reserve.csv (monitoring.md v2): read and stored; a v1 file
without the column reads as 0; a bad value is refused by line and column."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from clearwatch.bootstrap import Application
from clearwatch.domain.monitor.receipt import ReceiptStatus
from tests.integration.monitor.conftest import Submit
from tests.support.packages import write_package

DAY = date(2026, 11, 20)
RESERVE = "settlement_reserve.csv"


def _stored(app: Application, column: str) -> list[int]:
    with app.read_uow() as uow:
        [stored] = uow.packages.latest_accepted(DAY)
    table = app.columnar.read_table(stored.parquet_digests[RESERVE])
    return list(table.column(column).to_pylist())


def test_a_v2_reserve_file_keeps_its_net_settlement(
    submit: Submit, registered_sqlite: Application, tmp_path: Path
) -> None:
    text = "market,balance,net_settlement\nSH,100.00,-12.34\nSZ,5.00,7.00\n"
    receipt = submit(write_package(tmp_path / "p", "broker_daily", "B001", DAY, {RESERVE: text}))
    assert receipt.status is ReceiptStatus.ACCEPTED, receipt.errors
    assert _stored(registered_sqlite, "net_settlement") == [-1234, 700]


def test_a_v1_reserve_file_without_net_settlement_reads_as_zero(
    submit: Submit, registered_sqlite: Application, tmp_path: Path
) -> None:
    text = "market,balance\nSH,100.00\nSZ,5.00\n"
    receipt = submit(write_package(tmp_path / "p", "broker_daily", "B001", DAY, {RESERVE: text}))
    assert receipt.status is ReceiptStatus.ACCEPTED, receipt.errors
    assert _stored(registered_sqlite, "net_settlement") == [0, 0]
    assert _stored(registered_sqlite, "balance") == [10000, 500]


def test_a_bad_net_settlement_is_refused_by_line_and_column(submit: Submit, tmp_path: Path) -> None:
    text = "market,balance,net_settlement\nSH,100.00,1e3\n"
    receipt = submit(write_package(tmp_path / "p", "broker_daily", "B001", DAY, {RESERVE: text}))
    assert receipt.status is ReceiptStatus.REJECTED
    assert [(e.file, e.line, e.column, e.column_number) for e in receipt.errors] == [
        (RESERVE, 2, "net_settlement", 3)
    ]
