"""What the broker's trading nodes hold at the start of a day, written for the watch.

`<D>/nodes/<broker_id>/node_funds.csv`: each client that trades today starts on one of two nodes
(`<broker>-N1`, `<broker>-N2`, by the client's number) with the central books' available cash,
so a clean day's nodes hold exactly what the books say. Each row names the special account
holding the client's money (its bank's account for its kind, which the books pay it from), so
the watch adds a special account's phantom money up as it does the live nodes'. The
`node_divergence` fault is incident A's defect: a standby of N1 takes over and re-syncs from the
central books while the old primary still holds its clients, so two nodes hold the same money.
The directory sits beside `broker/`, never inside an inbox: the back office reads its batches
as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from clearwatch.sim.columns import clock_text, fen_text, prefixed, write_csv
from clearwatch.sim.market import DayState, Int64Array

if TYPE_CHECKING:
    from clearwatch.sim.faults import FaultPlan

NODE_START_SECONDS = 9 * 3600 + 15 * 60  # 09:15, before the call auction
TAKEOVER_SECONDS = 9 * 3600 + 20 * 60  # 09:20: the standby's re-sync
RESYNCED_CLIENTS = 2  # incident A doubled two clients' funds


def traders_of(day: DayState, broker: int) -> Int64Array:
    """The broker's clients with an execution today, in client order."""
    assert day.executions is not None
    clients = np.unique(day.executions.client)
    mine: Int64Array = clients[day.universe.clients.broker[clients] == broker]
    return mine


def resynced_clients(day: DayState, broker: int) -> Int64Array:
    """The clients of node N1 the faulty takeover re-syncs: its richest traders."""
    traders = traders_of(day, broker)
    on_first = traders[traders % 2 == 0]
    order = np.lexsort((on_first, -np.maximum(day.opening.cash[on_first], 0)))
    chosen: Int64Array = on_first[order][:RESYNCED_CLIENTS]
    return chosen


def special_accounts_of(day: DayState, clients: Int64Array) -> list[str]:
    """The special account each client's money is held in ("" where the broker has none)."""
    universe = day.universe
    route = universe.accounts.route[
        universe.clients.broker[clients],
        universe.clients.bank[clients],
        universe.clients.kind[clients],
    ]
    numbers = universe.accounts.account_no
    return [numbers[index] if index >= 0 else "" for index in route.tolist()]


def write_node_funds(out: Path, day: DayState, plans: Sequence[FaultPlan]) -> None:
    """One file per broker: every start, and the faulty takeover's rows where planned."""
    diverging = {p.broker for p in plans if p.name == "node_divergence" and p.day == day.index}
    universe = day.universe
    for broker, broker_id in enumerate(universe.broker_ids):
        traders = traders_of(day, broker)
        node = np.where(traders % 2 == 0, 1, 2)
        seconds = np.full(len(traders), NODE_START_SECONDS, dtype=np.int64)
        events = ["start"] * len(traders)
        if broker in diverging:
            again = resynced_clients(day, broker)
            traders = np.concatenate([traders, again])
            node = np.concatenate([node, np.full(len(again), 3)])  # N3: the standby of N1
            seconds = np.concatenate([seconds, np.full(len(again), TAKEOVER_SECONDS)])
            events += ["takeover"] * len(again)
        available = np.maximum(day.opening.cash[traders], 0)
        node_ids = [f"{broker_id}-N{n}" for n in node.tolist()]
        write_csv(
            out / "nodes" / broker_id / "node_funds.csv",
            {
                "event_id": prefixed("N", np.arange(len(traders), dtype=np.int64) + 1, 7),
                "broker_id": pa.array([broker_id] * len(traders), pa.string()),
                "node_id": pa.array(node_ids, pa.string()),
                "event": pa.array(events, pa.string()),
                "fund_account": universe.clients.fund_account.take(pa.array(traders)),
                "available": fen_text(available),
                "central_available": fen_text(available),
                "special_account": pa.array(special_accounts_of(day, traders), pa.string()),
                "at": clock_text(day.day_text, seconds),
            },
        )
