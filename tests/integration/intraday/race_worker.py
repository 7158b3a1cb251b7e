"""A trading-node process for the two-process race: grab the lease, accept orders, stall."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from clearwatch.adapters.clock import SystemClock
from clearwatch.bootstrap import build_application
from clearwatch.config import EngineBackend, Settings
from clearwatch.domain.audit.chain import HashAlgorithm
from clearwatch.domain.intraday.book import Order
from clearwatch.domain.intraday.lease import IntradayRefused
from clearwatch.domain.shared.kinds import Side
from clearwatch.services.intraday.trading_node import TradingNode

from .conftest import BROKER, DAY, RATES, central

LEASE_TTL = timedelta(milliseconds=500)
ACTING_BEFORE_STALL_SECONDS = 0.4
CENTRAL = central({"F1": 10**12})


TAKEOVERS_EACH_MIN = 2
RACE_SECONDS_MAX = 60.0


def _enough(taken: Any, seconds: float, started: float) -> bool:
    """Race at least `seconds`, then until both hosts have taken over twice (a loaded machine
    may starve one process for seconds), but never past the cap."""
    elapsed = time.monotonic() - started
    if elapsed >= RACE_SECONDS_MAX:
        return True
    both = len(taken) == 2 and min(taken.values()) >= TAKEOVERS_EACH_MIN
    return elapsed >= seconds and both


def run(
    home: str, database_url: str, instance: str, seconds: float, start: Any, taken: Any
) -> dict:
    """Race once both processes are ready (`start` is a shared barrier); `taken` is a shared
    dict of takeovers per host, so each knows when the other has had its turns too."""
    settings = Settings(
        home=Path(home),
        database_url=database_url,
        columnar_root=str(Path(home) / "columnar"),
        audit_algorithm=HashAlgorithm.SHA256,
        engine_backend=EngineBackend.DUCKDB,
    )
    app = build_application(settings, SystemClock())
    node = TradingNode(
        uow_factory=app.uow,
        clock=app.clock,
        node_id="fast-1",
        instance_id=instance,
        broker_id=BROKER,
        business_date=DAY,
        rates=RATES,
        lease_ttl=LEASE_TTL,
    )
    stats = {"takeovers": 0, "batches": 0, "refused_writes": 0, "stalls": 0}
    acting = False
    start.wait()  # imports and connections are slow under load; race only once both are up
    started = time.monotonic()
    acting_since = 0.0
    serial = 0
    while not _enough(taken, seconds, started):
        if not acting:
            try:
                node.take_over(central=CENTRAL)
                acting = True
                acting_since = time.monotonic()
                stats["takeovers"] += 1
                taken[instance] = stats["takeovers"]
            except IntradayRefused:
                time.sleep(0.02)
            continue
        serial += 1
        orders = [
            Order(f"{instance}-{serial}-{n}", "F1", Side.BUY, "SH.600000", 100, 1_000)
            for n in range(5)
        ]
        try:
            node.submit(orders)
            stats["batches"] += 1
            node.acquire()  # renew
        except IntradayRefused:
            stats["refused_writes"] += 1
            acting = False
            continue
        if time.monotonic() - acting_since > ACTING_BEFORE_STALL_SECONDS:
            # A pause (GC, swap, network): the lease runs out while this process still
            # believes it is primary; its next write must be refused if the other took over.
            stats["stalls"] += 1
            time.sleep(LEASE_TTL.total_seconds() * 2)
            acting_since = time.monotonic()
    app.engine.dispose()
    return stats
