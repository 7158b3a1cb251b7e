"""Benchmark intraday order checks: one node in-process, and with its journal in SQLite.

- in-process: `NodeBook.accept` + `apply` per order (what a node does in memory), against a
  baseline loop that only looks the client up and compares one integer;
- journalled: `TradingNode.submit` on a fresh SQLite store, group commit of `--batch` orders:
  each batch is fenced (lease row checked), checked, journalled, audited and committed before
  its orders are acknowledged, so every acknowledged order is durable.

    .venv/bin/python bench/orders.py --orders 50000 --journalled 20000     # quick
    .venv/bin/python bench/orders.py                                       # full
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from clearwatch.adapters.clock import FixedClock
from clearwatch.adapters.fee_schedule_file import load_fee_schedule
from clearwatch.bootstrap import build_application
from clearwatch.config import Settings
from clearwatch.domain.intraday.book import NodeBook, NodeEntry, Order
from clearwatch.domain.intraday.fee_estimates import fee_rates
from clearwatch.domain.shared.calendar import SHANGHAI
from clearwatch.domain.shared.kinds import Side
from clearwatch.services.intraday.ports import CentralPosition, SnapshotCentralFunds
from clearwatch.services.intraday.trading_node import TradingNode

DAY = date(2026, 11, 20)
RATES = fee_rates(load_fee_schedule())
SECURITIES = ("SH.600000", "SH.601318", "SZ.000001", "SH.510300")


def _orders(count: int, clients: int, seed: int = 7) -> list[Order]:
    rng = random.Random(seed)
    return [
        Order(
            f"o{n}",
            f"F{rng.randrange(clients):06d}",
            Side.BUY if rng.random() < 0.6 else Side.SELL,
            rng.choice(SECURITIES),
            rng.randrange(1, 50) * 100,
            rng.randrange(2_000, 80_000),
        )
        for n in range(count)
    ]


def _central(clients: int) -> SnapshotCentralFunds:
    return SnapshotCentralFunds(
        {
            "B001": {
                f"F{n:06d}": CentralPosition(
                    f"F{n:06d}", 10**12, {security: 10**8 for security in SECURITIES}
                )
                for n in range(clients)
            }
        }
    )


def in_process(orders: list[Order], clients: int) -> tuple[float, float, float, int]:
    book = NodeBook(RATES)
    for position in _central(clients).positions(broker_id="B001", business_date=DAY).values():
        book.replay(
            book.allocation(
                fund_account=position.fund_account,
                cash_fen=position.cash_available_fen,
                shares=position.shares_sellable,
            )
        )
    accepted = 0
    started, cpu_started = time.perf_counter(), time.process_time()
    for order in orders:
        outcome = book.accept(order)
        if isinstance(outcome, NodeEntry):
            book.apply(outcome)
            accepted += 1
    checked = len(orders) / (time.perf_counter() - started)
    # On a shared machine wall time includes waiting for a core; CPU time does not.
    checked_cpu = len(orders) / (time.process_time() - cpu_started)
    cash = {f"F{n:06d}": 10**12 for n in range(clients)}
    started = time.perf_counter()
    for order in orders:  # the least a check can be: find the client, compare one number
        if cash[order.fund_account] >= order.quantity * order.price_milli // 10:
            cash[order.fund_account] -= 1
    baseline = len(orders) / (time.perf_counter() - started)
    return checked, checked_cpu, baseline, accepted


def journalled(orders: list[Order], clients: int, batch: int) -> tuple[float, int]:
    with tempfile.TemporaryDirectory(prefix="clearwatch-bench-") as scratch:
        home = Path(scratch)
        clock = FixedClock(datetime(2026, 11, 20, 9, 30, tzinfo=SHANGHAI))
        settings = Settings.from_environment({"CLEARWATCH_HOME": str(home)})
        app = build_application(settings, clock)
        app.init_schema()
        node = TradingNode(
            uow_factory=app.uow,
            clock=clock,
            node_id="fast-1",
            instance_id="fast-1@bench",
            broker_id="B001",
            business_date=DAY,
            rates=RATES,
            lease_ttl=timedelta(hours=8),
        )
        node.acquire()
        node.start_of_day(central=_central(clients))
        accepted = 0
        started = time.perf_counter()
        for first in range(0, len(orders), batch):
            outcomes = node.submit(orders[first : first + batch])
            accepted += sum(isinstance(outcome, NodeEntry) for outcome in outcomes)
        rate = len(orders) / (time.perf_counter() - started)
        app.engine.dispose()
    return rate, accepted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=500_000, help="in-process orders")
    parser.add_argument("--journalled", type=int, default=100_000, help="orders via SQLite")
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=500, help="orders per group commit")
    args = parser.parse_args()
    orders = _orders(max(args.orders, args.journalled), args.clients)
    checked, checked_cpu, baseline, accepted = in_process(orders[: args.orders], args.clients)
    print(
        f"in-process: {args.orders:,} orders ({accepted:,} accepted), {checked:,.0f} checks/s "
        f"wall, {checked_cpu:,.0f} per CPU-second; baseline dict-compare loop "
        f"{baseline:,.0f}/s (ratio {checked / baseline:.2f})"
    )
    rate, accepted = journalled(orders[: args.journalled], args.clients, args.batch)
    print(
        f"journalled to SQLite, group commit of {args.batch}: {args.journalled:,} orders "
        f"({accepted:,} accepted), {rate:,.0f} orders/s (ratio to in-process {rate / checked:.2f})"
    )


if __name__ == "__main__":
    main()
