"""Small stored-Parquet days for the engine, written with pyarrow as the store holds them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from clearwatch.adapters.engine.monitor.sources import SOURCE_FILES, source_key, stored_schema
from clearwatch.domain.monitor.findings import EngineRequest, FilingRow, StoredPackageFile

DAY = date(2026, 11, 20)

# institution → {file attribute → rows}; the sender column is added by the writer.
Day = Mapping[str, Mapping[str, Sequence[Mapping[str, Any]]]]


def write_day(
    directory: Path,
    day: Day,
    *,
    filings: Sequence[FilingRow],
    tolerance_fen: int = 0,
    evidence_rows_max: int = 5,
) -> EngineRequest:
    """Write each institution's files as Parquet and describe them as the engine's request."""
    directory.mkdir(parents=True, exist_ok=True)
    sources: dict[str, list[StoredPackageFile]] = {}
    kinds_of: dict[str, set[str]] = {}
    for institution, files in day.items():
        for attribute, kind, file_name, sender in SOURCE_FILES:
            kind_of = kinds_of.setdefault(kind, set())
            if not _sends(institution, kind, files):
                continue
            kind_of.add(institution)
            schema = stored_schema(kind, file_name, sender)
            schema = pa.schema([field for field in schema if field.name != sender])
            table = pa.Table.from_pylist(list(files.get(attribute, [])), schema=schema)
            path = directory / f"{institution}-{attribute}.parquet"
            pq.write_table(table, path)
            sources.setdefault(source_key(kind, file_name), []).append(
                StoredPackageFile(institution_id=institution, uri=str(path))
            )
    return EngineRequest(
        business_date=DAY,
        sources={key: tuple(value) for key, value in sources.items()},
        filings=tuple(filings),
        submitted_broker_ids=frozenset(kinds_of.get("broker_daily", set())),
        submitted_bank_ids=frozenset(kinds_of.get("bank_daily", set())),
        csdc_submitted=bool(kinds_of.get("csdc_daily")),
        tolerance_fen=tolerance_fen,
        evidence_rows_max=evidence_rows_max,
    )


def _sends(institution: str, kind: str, files: Mapping[str, Any]) -> bool:
    prefix = {"broker_daily": "B", "bank_daily": "K", "csdc_daily": "C"}[kind]
    return institution.startswith(prefix)


def cf(account: str, balance: int, *, kind: str = "normal", bank: str = "K001") -> dict[str, Any]:
    return {
        "fund_account": account,
        "client_id": f"c{account}",
        "account_kind": kind,
        "bank_id": bank,
        "balance": balance,
    }


def dep(broker: str, account: str, balance: int) -> dict[str, Any]:
    return {
        "broker_id": broker,
        "fund_account": account,
        "client_id": f"c{account}",
        "balance": balance,
    }


def sab(
    account: str,
    broker: str,
    balance: int,
    *,
    purpose: str = "client_settlement",
    region: str = "CN-SH",
) -> dict[str, Any]:
    return {
        "account_no": account,
        "broker_id": broker,
        "purpose": purpose,
        "branch_region": region,
        "balance": balance,
    }


def bsa(
    account: str, balance: int, *, bank: str = "K001", purpose: str = "client_settlement"
) -> dict[str, Any]:
    return {"account_no": account, "bank_id": bank, "purpose": purpose, "book_balance": balance}


def txn(
    txn_id: str, account: str, amount: int, kind: str, direction: str = "out"
) -> dict[str, Any]:
    from datetime import UTC, datetime

    return {
        "txn_id": txn_id,
        "account_no": account,
        "booked_at": datetime(2026, 11, 20, 3, 0, tzinfo=UTC),
        "direction": direction,
        "amount": amount,
        "counterparty_account": "X",
        "counterparty_kind": kind,
    }


def action(
    action_id: str,
    broker: str,
    account: str,
    amount: int,
    initiator: str,
    basis: str = "",
    region: str = "CN-SH",
) -> dict[str, Any]:
    return {
        "action_id": action_id,
        "broker_id": broker,
        "fund_account": account,
        "action": "freeze",
        "amount": amount,
        "initiator": initiator,
        "legal_basis": basis,
        "branch_region": region,
    }


def reserve(
    market: str, balance: int, broker: str | None = None, *, net: int = 0
) -> dict[str, Any]:
    row: dict[str, Any] = {"market": market, "balance": balance, "net_settlement": net}
    if broker is not None:
        row["broker_id"] = broker
    return row


def filing(
    account: str,
    broker: str,
    *,
    bank: str = "K001",
    purpose: str = "client_settlement",
    region: str = "CN-SH",
) -> FilingRow:
    return FilingRow(
        account_no=account, bank_id=bank, broker_id=broker, purpose=purpose, branch_region=region
    )


def eventful_day(directory: Path) -> EngineRequest:
    """Two brokers, two banks and CSDC, with every finding F1–F9 present at least once."""
    day: dict[str, dict[str, list[dict[str, Any]]]] = {
        "B001": {
            "client_funds": [
                cf("A1", 100_00),
                cf("A2", 250_00),
                cf("A3", -40_00),
                cf("A4", 500_00, kind="credit"),
                cf("A5", 70_00, bank="K002"),
            ],
            "broker_special": [
                bsa("S1", 300_00),
                bsa("S2", 500_00, purpose="credit_guarantee"),
                bsa("S3", 70_00, bank="K002"),
            ],
            "broker_reserve": [reserve("SH", 10_00, net=-2_00), reserve("SZ", 5_00, net=1_00)],
            "fee_income": [{"account_kind": "normal", "amount": 3_00}],
        },
        "B002": {
            "client_funds": [cf("Z1", 1_000_00, bank="K002")],
            "broker_special": [bsa("T1", 1_000_00, bank="K002")],
            "broker_reserve": [reserve("SH", 0)],
            "fee_income": [],
        },
        "K001": {
            "bank_balances": [
                sab("S1", "B001", 290_00),
                sab("S2", "B001", 400_00, purpose="credit_guarantee"),
                sab("U1", "B001", 12_00, region="CN-BJ"),
            ],
            "bank_txns": [
                txn("t1", "S1", 30_00, "other"),
                txn("t2", "S1", 8_00, "broker_own"),
                txn("t3", "S1", 1_00, "client_bank"),
                txn("t4", "S1", 2_00, "other", "in"),
            ],
            "depository": [
                dep("B001", "A1", 100_00),
                dep("B001", "A2", 240_00),
                dep("B001", "A3", 0),
                dep("B001", "A4", 500_00),
                dep("B001", "A9", 5_00),
            ],
            "actions": [
                action("x1", "B001", "A1", 20_00, "broker"),
                action("x2", "B001", "A2", 30_00, "bank", region="CITY-SZ"),
                action("x3", "B001", "A2", 40_00, "bank", region="CN-SH"),
                action("x4", "B001", "A1", 50_00, "court"),
                action("x5", "B001", "A4", 60_00, "bank", basis="(2026)沪01执1号"),
            ],
        },
        "K002": {
            "bank_balances": [sab("S3", "B001", 70_00), sab("T1", "B002", 1_000_00)],
            "bank_txns": [],
            "depository": [dep("B001", "A5", 70_00), dep("B002", "Z1", 1_000_00)],
            "actions": [],
        },
        "C001": {
            "csdc_reserve": [
                reserve("SH", 10_00, "B001", net=-2_00),
                reserve("SZ", 4_00, "B001", net=3_00),
                reserve("SH", 0, "B002"),
            ]
        },
    }
    filings = [
        filing("S1", "B001"),
        filing("S2", "B001", purpose="credit_guarantee"),
        filing("S3", "B001", bank="K002"),
        filing("T1", "B002", bank="K002"),
        filing("S9", "B001"),
    ]
    return write_day(directory, day, filings=filings)


FEN_MAX = 10**18 - 1  # 9999999999999999.99: the grammar's largest amount, in fen
LARGEST_COUNT = 13  # 13 × FEN_MAX is past int64: every sum must widen


def largest_values_day(directory: Path) -> EngineRequest:
    """Thirteen of everything at the largest amount the grammar allows (each value valid), so
    that every finding's sum, and the client fund balance, is beyond int64."""
    n = range(LARGEST_COUNT)
    day: dict[str, dict[str, list[dict[str, Any]]]] = {
        "B001": {
            "client_funds": [cf(f"A{i}", FEN_MAX) for i in n],
            "broker_special": [bsa(f"S{i}", FEN_MAX) for i in n],
            "broker_reserve": [reserve("SH", -FEN_MAX)],
            "fee_income": [{"account_kind": "normal", "amount": FEN_MAX}],
        },
        "K001": {
            "bank_balances": [sab(f"S{i}", "B001", -FEN_MAX) for i in n],
            "bank_txns": [txn(f"t{i}", f"S{i}", FEN_MAX, "other") for i in n],
            "depository": [],
            "actions": [action(f"x{i}", "B001", f"A{i}", FEN_MAX, "bank") for i in n],
        },
        "C001": {"csdc_reserve": [reserve("SH", FEN_MAX, "B001")]},
    }
    return write_day(directory, day, filings=[filing(f"S{i}", "B001") for i in n])
