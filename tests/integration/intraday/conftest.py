"""Helpers for intraday tests: nodes over the shared `app` store, a central snapshot."""

from __future__ import annotations

from datetime import date, timedelta

from clearwatch.adapters.fee_schedule_file import load_fee_schedule
from clearwatch.bootstrap import Application
from clearwatch.domain.intraday.fee_estimates import fee_rates
from clearwatch.services.intraday.ports import CentralPosition, SnapshotCentralFunds
from clearwatch.services.intraday.trading_node import TradingNode

BROKER = "B001"
DAY = date(2026, 11, 20)
RATES = fee_rates(load_fee_schedule())


def central(cash_by_client: dict[str, int], shares: dict[str, dict[str, int]] | None = None):
    shares = shares or {}
    return SnapshotCentralFunds(
        {
            BROKER: {
                account: CentralPosition(account, cash, shares.get(account, {}))
                for account, cash in cash_by_client.items()
            }
        }
    )


def node(app: Application, instance: str, node_id: str = "fast-1", **kw) -> TradingNode:
    return TradingNode(
        uow_factory=app.uow,
        clock=app.clock,
        node_id=node_id,
        instance_id=instance,
        broker_id=BROKER,
        business_date=DAY,
        rates=RATES,
        lease_ttl=kw.pop("lease_ttl", timedelta(seconds=30)),
    )
