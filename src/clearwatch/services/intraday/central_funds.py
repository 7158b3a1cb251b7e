"""The `CentralFunds` port over the back office's books (`services.books_check`).

Give it a *read-only* unit-of-work factory: a node's start of day asks for central figures while
its own write transaction is open, and on SQLite a second writer would wait for that one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from clearwatch.services.backoffice.account_status import account_standing
from clearwatch.services.backoffice.books_check import central_available
from clearwatch.services.backoffice.books_reference import current_clients
from clearwatch.services.backoffice.ports import BackOfficeTools, BackOfficeUnitOfWork
from clearwatch.services.intraday.ports import CentralPosition


@dataclass(frozen=True)
class BooksCentralFunds:
    read_uow_factory: Callable[[], BackOfficeUnitOfWork]
    tools: BackOfficeTools

    def positions(self, *, broker_id: str, business_date: date) -> Mapping[str, CentralPosition]:
        available = central_available(
            uow=self.read_uow_factory(),
            tools=self.tools,
            broker_id=broker_id,
            business_date=business_date,
        )
        shares: dict[str, dict[str, int]] = {}
        for (fund_account, asset), quantity in available.shares.items():
            shares.setdefault(fund_account, {})[asset] = quantity
        accounts = set(available.cash_fen) | set(shares)
        rates = self._commission_rates(broker_id)
        with self.read_uow_factory() as uow:
            standing = account_standing(uow, self.tools, broker_id)
        return {
            account: CentralPosition(
                fund_account=account,
                cash_available_fen=max(0, available.cash_fen.get(account, 0)),
                shares_sellable=shares.get(account, {}),
                commission_rate=rates.get(account),
                status=standing.status(account).value,
            )
            for account in sorted(accounts)
        }

    def _commission_rates(self, broker_id: str) -> dict[str, Decimal]:
        """Each client's own rate where clients.csv gives one (empty means the default)."""
        with self.read_uow_factory() as uow:
            clients = current_clients(uow, self.tools, broker_id)
        return {
            str(account): Decimal(str(rate))
            for account, rate in zip(
                clients.column("fund_account").to_pylist(),
                clients.column("commission_rate").to_pylist(),
                strict=True,
            )
            if rate not in (None, "")
        }
