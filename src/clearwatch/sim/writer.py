"""Write a simulated day as files: broker batches, bank and CSDC packages, expected broker_daily."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from clearwatch.domain.shared.file_schema import ACCOUNT_KINDS, MARKETS, PURPOSES
from clearwatch.domain.shared.kinds import PackageKind
from clearwatch.sim.columns import (
    clock_text,
    fen_text,
    prefixed,
    price_text,
    take_text,
    write_csv,
    write_manifest,
)
from clearwatch.sim.market import REASONS, Books, DayState, Int64Array
from clearwatch.sim.universe import CSDC_ID, Universe
from clearwatch.sim.views import DayViews

BATCH_FORMAT = "clearwatch.batch/1"
PACKAGE_FORMAT = "clearwatch.package/1"
ENCODING = "utf-8"


def _batch(
    directory: Path,
    *,
    kind: str,
    broker_id: str,
    day: DayState,
    files: Mapping[str, Mapping[str, Any]],
) -> None:
    rows = {name: write_csv(directory / name, columns) for name, columns in files.items()}
    header = {
        "format": BATCH_FORMAT,
        "kind": kind,
        "broker_id": broker_id,
        "business_date": day.day_text,
        "batch_id": f"{broker_id}-{day.business_date:%Y%m%d}-{kind}",
        "encoding": ENCODING,
    }
    write_manifest(directory, header, rows)


def _package(
    directory: Path,
    *,
    kind: str,
    institution_id: str,
    day: DayState,
    files: Mapping[str, Mapping[str, Any]],
) -> None:
    rows = {name: write_csv(directory / name, columns) for name, columns in files.items()}
    header = {
        "format": PACKAGE_FORMAT,
        "kind": kind,
        "institution_id": institution_id,
        "business_date": day.day_text,
        "sequence": 1,
        "encoding": ENCODING,
    }
    write_manifest(directory, header, rows)


def _ranges(keys: np.ndarray, count: int) -> list[tuple[int, int]]:
    """[start, stop) of each key 0..count-1 in a sorted key column."""
    edges = np.searchsorted(keys, np.arange(count + 1))
    return [(int(edges[i]), int(edges[i + 1])) for i in range(count)]


def write_static(out: Path, day: DayState, opening: Books) -> None:
    """Day one: each broker's clients, special accounts and opening balances (balanced)."""
    universe = day.universe
    brokers = len(universe.broker_ids)
    client_ranges = _ranges(universe.clients.broker, brokers)
    # The opening positions grouped by broker, so each broker takes one slice of them.
    position_broker = universe.clients.broker[opening.position_client]
    order = np.argsort(position_broker, kind="stable")
    position_ranges = _ranges(position_broker[order], brokers)
    cash_text = fen_text(opening.cash)
    for b, broker_id in enumerate(universe.broker_ids):
        lo, hi = client_ranges[b]
        mine = np.flatnonzero(universe.accounts.broker == b)
        p_lo, p_hi = position_ranges[b]
        _batch(
            out / "broker" / broker_id / "static",
            kind="static",
            broker_id=broker_id,
            day=day,
            files={
                **_static_registry(universe, lo, hi, mine),
                "opening.csv": _opening(
                    universe, opening, b, (lo, hi), mine, order[p_lo:p_hi], cash_text
                ),
            },
        )


def _static_registry(
    universe: Universe, lo: int, hi: int, mine: Int64Array
) -> dict[str, dict[str, pa.Array]]:
    """One broker's clients (rows lo..hi) and special accounts (`mine`)."""
    clients, accounts = universe.clients, universe.accounts
    return {
        "clients.csv": {
            "fund_account": clients.fund_account[lo:hi],
            "client_id": clients.client_id[lo:hi],
            "account_kind": take_text(ACCOUNT_KINDS, clients.kind[lo:hi]),
            "bank_id": pa.array(universe.bank_ids).take(pa.array(clients.bank[lo:hi])),
            "commission_rate": clients.commission_rate[lo:hi],
            "status": pa.array(["active"] * (hi - lo), pa.string()),
        },
        "special_accounts.csv": {
            "account_no": pa.array([accounts.account_no[i] for i in mine], pa.string()),
            "bank_id": pa.array([universe.bank_ids[accounts.bank[i]] for i in mine], pa.string()),
            "purpose": pa.array([PURPOSES[accounts.purpose[i]] for i in mine], pa.string()),
        },
    }


def _opening(
    universe: Universe,
    opening: Books,
    b: int,
    client_range: tuple[int, int],
    mine: Int64Array,
    positions: Int64Array,
    cash_text: pa.Array,
) -> dict[str, pa.Array]:
    """One broker's opening balances: client cash, client securities, special accounts' and
    reserves' cash, in that order."""
    lo, hi = client_range
    clients, accounts = universe.clients, universe.accounts
    assets = pa.array(universe.securities.asset)
    return {
        "account": pa.concat_arrays(
            [
                clients.fund_account[lo:hi],
                clients.fund_account.take(pa.array(opening.position_client[positions])),
                pa.array([accounts.account_no[i] for i in mine], pa.string()),
                pa.array([f"RESERVE.{m}" for m in MARKETS], pa.string()),
            ]
        ),
        "asset": pa.concat_arrays(
            [
                pa.array(["CASH"] * (hi - lo), pa.string()),
                assets.take(pa.array(opening.position_security[positions])),
                pa.array(["CASH"] * (len(mine) + len(MARKETS)), pa.string()),
            ]
        ),
        "quantity": pa.concat_arrays(
            [
                cash_text[lo:hi],
                pa.array(opening.position_quantity[positions]).cast(pa.string()),
                fen_text(opening.account_book[mine]),
                fen_text(opening.reserve[b]),
            ]
        ),
    }


def write_trading(out: Path, day: DayState) -> None:
    """Executions and cash adjustments per broker; a retried batch is copied as delivered."""
    universe, executions, adjustments = day.universe, day.executions, day.adjustments
    assert executions is not None and adjustments is not None
    clients, securities = universe.clients, universe.securities
    broker = clients.broker[executions.client]
    order = np.lexsort((np.arange(len(executions)), executions.seconds, broker))
    ex = executions.select(order)
    stamp = f"{day.business_date:%Y%m%d}"
    serial = np.arange(len(ex), dtype=np.int64) + 1
    columns = {
        "exec_id": prefixed(f"E{stamp}", serial, 8),
        "market": take_text(MARKETS, securities.market[ex.security]),
        "security": pa.array(securities.code).take(pa.array(ex.security)),
        "side": pa.array(np.where(ex.is_sell, "S", "B")).cast(pa.string()),
        "quantity": pa.array(ex.quantity).cast(pa.string()),
        "price": price_text(ex.price_milli, securities.decimals[ex.security]),
        "fund_account": clients.fund_account.take(pa.array(ex.client)),
        "order_id": prefixed(f"O{stamp}", serial, 8),
        "executed_at": clock_text(day.day_text, ex.seconds),
    }
    ranges = _ranges(broker[order], len(universe.broker_ids))
    adj_broker = clients.broker[adjustments.client]
    adj_order = np.lexsort((np.arange(len(adjustments.client)), adj_broker))
    adj_ranges = _ranges(adj_broker[adj_order], len(universe.broker_ids))
    adj_columns = {
        "adjustment_id": prefixed(f"A{stamp}", np.arange(len(adj_order), dtype=np.int64) + 1, 6),
        "fund_account": clients.fund_account.take(pa.array(adjustments.client[adj_order])),
        "amount": fen_text(adjustments.amount[adj_order]),
        "reason": take_text(REASONS, adjustments.reason[adj_order]),
    }
    for b, broker_id in enumerate(universe.broker_ids):
        lo, hi = ranges[b]
        a_lo, a_hi = adj_ranges[b]
        directory = out / "broker" / broker_id / "trading"
        _batch(
            directory,
            kind="trading",
            broker_id=broker_id,
            day=day,
            files={
                "executions.csv": {name: col[lo:hi] for name, col in columns.items()},
                "cash_adjustments.csv": {name: col[a_lo:a_hi] for name, col in adj_columns.items()},
            },
        )
        for retry in range(1, day.trading_retries.get(b, 0) + 1):
            shutil.copytree(directory, directory.with_name(f"trading.retry{retry}"))


def write_bank_batches(out: Path, day: DayState) -> None:
    universe, transfers = day.universe, day.transfers
    clients = universe.clients
    broker = clients.broker[transfers.client]
    order = np.lexsort((np.arange(len(broker)), broker))
    ranges = _ranges(broker[order], len(universe.broker_ids))
    stamp = f"{day.business_date:%Y%m%d}"
    booked_days = pa.array(
        [date.fromordinal(o).isoformat() for o in transfers.booked_ordinal[order].tolist()],
        pa.string(),
    )
    booked = pc.binary_join_element_wise(booked_days, clock_text("", transfers.seconds[order]), "")
    ids = prefixed(f"T{stamp}", np.arange(len(order), dtype=np.int64) + 1, 8)
    columns = {
        "transfer_id": ids,
        "fund_account": clients.fund_account.take(pa.array(transfers.client[order])),
        "direction": pa.array(np.where(transfers.incoming[order], "in", "out")).cast(pa.string()),
        "amount": fen_text(transfers.amount[order]),
        "bank_id": pa.array(universe.bank_ids).take(
            pa.array(clients.bank[transfers.client[order]])
        ),
        "booked_at": booked,
    }
    for b, broker_id in enumerate(universe.broker_ids):
        lo, hi = ranges[b]
        _batch(
            out / "broker" / broker_id / "bank",
            kind="bank",
            broker_id=broker_id,
            day=day,
            files={"bank_transfers.csv": {name: col[lo:hi] for name, col in columns.items()}},
        )


def _where(table: pa.Table, column: str, value: str) -> pa.Table:
    return table.filter(pc.equal(table[column], value))


def write_packages(out: Path, day: DayState, views: DayViews) -> None:
    """bank_daily per bank and csdc_daily, as the true books (and the faults) imply."""
    universe = day.universe
    for k, bank_id in enumerate(universe.bank_ids):
        accounts = _where(views.bank_accounts, "bank_id", bank_id)
        txns = _where(views.bank_transactions, "bank_id", bank_id)
        depository = _where(views.depository, "bank_id", bank_id)
        actions = _where(views.fund_actions, "bank_id", bank_id)
        files = {
            "special_account_balances.csv": {
                **{c: accounts[c] for c in ("account_no", "broker_id", "purpose", "branch_region")},
                "balance": fen_text(accounts["balance"].to_numpy()),
            },
            "special_account_transactions.csv": {
                **{c: txns[c] for c in ("txn_id", "account_no", "booked_at", "direction")},
                "amount": fen_text(txns["amount"].to_numpy()),
                "counterparty_account": txns["counterparty_account"],
                "counterparty_kind": txns["counterparty_kind"],
            },
            "client_depository.csv": {
                **{c: depository[c] for c in ("broker_id", "fund_account", "client_id")},
                "balance": fen_text(depository["balance"].to_numpy()),
            },
            "fund_actions.csv": {
                **{c: actions[c] for c in ("action_id", "broker_id", "fund_account", "action")},
                "amount": fen_text(actions["amount"].to_numpy()),
                **{c: actions[c] for c in ("initiator", "legal_basis", "branch_region")},
            },
        }
        directory = out / "packages" / bank_id
        _package(
            directory, kind=PackageKind.BANK_DAILY, institution_id=bank_id, day=day, files=files
        )
        if k in day.broken_banks:
            _write_broken(directory, directory.with_name(f"{bank_id}.broken"))
    reserve = views.csdc_reserve
    _package(
        out / "packages" / CSDC_ID,
        kind=PackageKind.CSDC_DAILY,
        institution_id=CSDC_ID,
        day=day,
        files={
            "settlement_reserve.csv": {
                "broker_id": reserve["broker_id"],
                "market": reserve["market"],
                "balance": fen_text(reserve["balance"].to_numpy()),
                "net_settlement": fen_text(reserve["net_settlement"].to_numpy()),
            }
        },
    )


def _write_broken(good: Path, broken: Path) -> None:
    """A copy whose client_depository.csv was edited after hashing: sha256 no longer matches."""
    shutil.copytree(good, broken)
    target = broken / "client_depository.csv"
    lines = target.read_bytes().split(b"\n")
    if len(lines) > 2:
        lines[1] = lines[1] + b"0"  # one more digit on the first balance: ×10 plus change
    else:
        lines.append(b"X")
    target.write_bytes(b"\n".join(lines))


def write_expected(out: Path, day: DayState, views: DayViews) -> None:
    """The broker_daily package the true books imply, for each broker."""
    for broker_id in day.universe.broker_ids:
        funds = _where(views.client_funds, "broker_id", broker_id)
        accounts = _where(views.book_accounts, "broker_id", broker_id)
        reserve = _where(views.book_reserve, "broker_id", broker_id)
        income = _where(views.fee_income, "broker_id", broker_id)
        _package(
            out / "expected" / broker_id,
            kind=PackageKind.BROKER_DAILY,
            institution_id=broker_id,
            day=day,
            files={
                "client_funds.csv": {
                    **{
                        c: funds[c]
                        for c in ("fund_account", "client_id", "account_kind", "bank_id")
                    },
                    "balance": fen_text(funds["balance"].to_numpy()),
                },
                "special_accounts.csv": {
                    **{c: accounts[c] for c in ("account_no", "bank_id", "purpose")},
                    "book_balance": fen_text(accounts["book_balance"].to_numpy()),
                },
                "settlement_reserve.csv": {
                    "market": reserve["market"],
                    "balance": fen_text(reserve["balance"].to_numpy()),
                    "net_settlement": fen_text(reserve["net_settlement"].to_numpy()),
                },
                "fee_income.csv": {
                    "account_kind": income["account_kind"],
                    "amount": fen_text(income["amount"].to_numpy()),
                },
            },
        )


def write_registry(out: Path, tables: Mapping[str, Mapping[str, list[str]]]) -> None:
    for name, columns in tables.items():
        write_csv(
            out / "registry" / name, {c: pa.array(v, pa.string()) for c, v in columns.items()}
        )
