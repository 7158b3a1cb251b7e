"""Two processes race for primary on one store: at no moment do both accept orders."""

from __future__ import annotations

import multiprocessing
from datetime import timedelta
from itertools import pairwise

from sqlalchemy import select

from clearwatch.adapters.clock import SystemClock
from clearwatch.adapters.db.intraday.tables import intraday_journal, intraday_lease_epochs
from clearwatch.bootstrap import Application
from clearwatch.services.intraday.trading_node import TradingNode

from . import race_worker
from .conftest import BROKER, DAY, RATES


def test_two_processes_racing_for_primary_never_accept_orders_at_the_same_time(
    app: Application,
) -> None:
    opener = TradingNode(
        uow_factory=app.uow,
        clock=SystemClock(),
        node_id="fast-1",
        instance_id="opener",
        broker_id=BROKER,
        business_date=DAY,
        rates=RATES,
        lease_ttl=timedelta(minutes=1),
    )
    opener.acquire()
    opener.start_of_day(central=race_worker.CENTRAL)
    opener.release()  # the racers find the lease free
    url = app.engine.url.render_as_string(hide_password=False)
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, context.Pool(2) as pool:
        start = manager.Barrier(2)
        taken = manager.dict()
        home = str(app.settings.home)
        runs = [
            pool.apply_async(race_worker.run, (home, url, name, 3.0, start, taken))
            for name in ("host-a", "host-b")
        ]
        stats = [run.get(timeout=300) for run in runs]

    with app.engine.connect() as connection:
        rows = connection.execute(
            select(
                intraday_journal.c.seq, intraday_journal.c.epoch, intraday_journal.c.recorded_at_us
            )
            .where(intraday_journal.c.kind == "accept")
            .order_by(intraday_journal.c.seq)
        ).all()
        holders = dict(
            connection.execute(
                select(intraday_lease_epochs.c.epoch, intraday_lease_epochs.c.holder).where(
                    intraday_lease_epochs.c.node_id == "fast-1"
                )
            ).all()
        )
    epochs = [row.epoch for row in rows]
    # Journal order is epoch order: no write of an older epoch after a newer one.
    assert epochs == sorted(epochs)
    # Each epoch's acceptances end before the next epoch's begin.
    spans: dict[int, tuple[int, int]] = {}
    for row in rows:
        first, last = spans.get(row.epoch, (row.recorded_at_us, row.recorded_at_us))
        spans[row.epoch] = (min(first, row.recorded_at_us), max(last, row.recorded_at_us))
    ordered = sorted(spans.items())
    for (_, (_, last)), (_, (first, _)) in pairwise(ordered):
        assert last < first
    # Both processes were primary at some point, and stalled primaries were fenced off.
    acting_holders = {holders[epoch] for epoch in spans}
    assert acting_holders == {"host-a", "host-b"}
    assert sum(s["takeovers"] for s in stats) >= 3
    assert sum(s["refused_writes"] for s in stats) >= 1
    assert len(rows) == 5 * sum(s["batches"] for s in stats)
