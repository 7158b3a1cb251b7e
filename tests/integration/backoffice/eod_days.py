"""Two market days of batches for the end-of-day tests."""

from __future__ import annotations

from pathlib import Path

from tests.backoffice_batches import execution, static_batch, write_batch

DAY_1 = "2026-11-19"
DAY_2 = "2026-11-20"


def _ex(
    exec_id: str,
    fund_account: str,
    side: str,
    qty: int,
    price: str,
    day: str,
    security: str = "600000",
    market: str = "SH",
) -> list[str]:
    row = execution(exec_id, fund_account, side, qty, price, security, market)
    row[-1] = f"{day}T10:00:00+08:00"
    return row


def inbox_day_1(root: Path) -> Path:
    inbox = root / DAY_1
    static_batch(
        inbox / "static",
        business_date=DAY_1,
        clients=(("F001", "100000.00"), ("F002", "50000.00"), ("F003", "20000.00")),
        holdings=(("F002", "SH.600000", "3000"), ("F003", "SZ.000001", "500")),
        reserve_sh="20000.00",
    )
    write_batch(
        inbox / "trading",
        kind="trading",
        business_date=DAY_1,
        batch_id="T-" + DAY_1,
        files={
            "executions.csv": [
                _ex("E1", "F001", "B", 1000, "10.00", DAY_1),
                _ex("E2", "F002", "S", 1000, "10.00", DAY_1),
                _ex("E3", "F003", "S", 500, "12.345", DAY_1, "000001", "SZ"),
                _ex("E4", "F001", "B", 2000, "3.456", DAY_1, "510300", "SH"),
            ],
            "cash_adjustments.csv": [["A1", "F002", "120.50", "cash_dividend"]],
        },
    )
    write_batch(
        inbox / "bank",
        kind="bank",
        business_date=DAY_1,
        batch_id="K-" + DAY_1,
        files={
            "bank_transfers.csv": [
                ["X1", "F003", "in", "1000.00", "K001", f"{DAY_1}T09:00:00+08:00"],
                ["X2", "F001", "out", "2000.00", "K001", f"{DAY_1}T15:30:00+08:00"],
            ]
        },
    )
    return inbox


def inbox_day_2(root: Path) -> Path:
    inbox = root / DAY_2
    write_batch(
        inbox / "trading",
        kind="trading",
        business_date=DAY_2,
        batch_id="T-" + DAY_2,
        files={
            "executions.csv": [
                _ex("E1", "F001", "S", 1000, "10.50", DAY_2),
                _ex("E2", "F002", "B", 200, "10.40", DAY_2),
            ],
        },
    )
    write_batch(
        inbox / "bank",
        kind="bank",
        business_date=DAY_2,
        batch_id="K-" + DAY_2,
        files={
            "bank_transfers.csv": [
                ["X3", "F002", "out", "100.00", "K001", f"{DAY_2}T09:00:00+08:00"],
            ]
        },
    )
    return inbox
