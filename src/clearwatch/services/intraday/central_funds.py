"""The `CentralFunds` port over the back office's books (`services.books_check`).

Give it a *read-only* unit-of-work factory: a node's start of day asks for central figures while
its own write transaction is open, and on SQLite a second writer would wait for that one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pyarrow as pa

from clearwatch.domain.shared.file_schema import PURPOSE_OF_ACCOUNT_KIND
from clearwatch.services.backoffice.account_status import account_standing
from clearwatch.services.backoffice.books_check import central_available
from clearwatch.services.backoffice.books_reference import current_clients, current_special_accounts
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
        rates, specials = self._references(broker_id)
        with self.read_uow_factory() as uow:
            standing = account_standing(uow, self.tools, broker_id)
        return {
            account: CentralPosition(
                fund_account=account,
                cash_available_fen=max(0, available.cash_fen.get(account, 0)),
                shares_sellable=shares.get(account, {}),
                commission_rate=rates.get(account),
                status=standing.status(account).value,
                special_account=specials.get(account, ""),
            )
            for account in sorted(accounts)
        }

    def _references(self, broker_id: str) -> tuple[dict[str, Decimal], dict[str, str]]:
        """Each client's own rate where clients.csv gives one (empty means the default), and
        the special account its money is held in: its bank's for its account kind's purpose,
        the lowest number, as the books pay its withdrawals from."""
        with self.read_uow_factory() as uow:
            clients = current_clients(uow, self.tools, broker_id)
            special_accounts = current_special_accounts(uow, self.tools, broker_id)
        held_in: dict[tuple[str, str], str] = {}
        numbered = sorted(_rows(special_accounts, "account_no", "bank_id", "purpose"))
        for number, bank, purpose in numbered:
            held_in.setdefault((bank, purpose), number)
        rates: dict[str, Decimal] = {}
        specials: dict[str, str] = {}
        for account, rate, bank, kind in _rows(
            clients, "fund_account", "commission_rate", "bank_id", "account_kind"
        ):
            if rate not in (None, ""):
                rates[str(account)] = Decimal(str(rate))
            special = held_in.get((bank, PURPOSE_OF_ACCOUNT_KIND.get(kind, "")))
            if special is not None:
                specials[str(account)] = special
        return rates, specials


def _rows(table: pa.Table, *columns: str) -> Iterator[tuple[Any, ...]]:
    return zip(*(table.column(name).to_pylist() for name in columns), strict=True)
