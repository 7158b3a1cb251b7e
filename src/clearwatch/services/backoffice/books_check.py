"""The books' invariants (spec §1), and what the central books make available on a date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc

from clearwatch.domain.backoffice import accounts as acc
from clearwatch.domain.backoffice.invariants import (
    Breach,
    InvariantRule,
    advance_lines,
    balance_breaches,
    cash_totals,
    funds_breaches,
)
from clearwatch.domain.shared.errors import ClearwatchError
from clearwatch.services.backoffice.books_reference import client_cash_balances, sellable_shares
from clearwatch.services.backoffice.ports import BackOfficeTools, BackOfficeUnitOfWork


class BooksBreached(ClearwatchError):
    """An invariant of the books does not hold: a bug, which stops the process."""

    def __init__(self, breaches: tuple[Breach, ...]) -> None:
        super().__init__("; ".join(b.describe() for b in breaches[:20]))
        self.breaches = breaches


def check_books(
    *,
    uow: BackOfficeUnitOfWork,
    broker_id: str,
    as_of: date,
    batch_ref: str | None = None,
    entries_of_date_only: bool = False,
) -> list[Breach]:
    """Every breach, named: balanced entries, no negative client cash or holding, and
    Σ client cash = Σ special-account cash + reserve at CSDC + items in transit.

    After a batch, only that batch's entries need the balance check, and at end of day only
    the day's: earlier entries were checked when posted and can never change. `broker check`
    checks every entry.
    """
    books = uow.books
    breaches = [
        Breach(InvariantRule.ENTRY_MUST_BALANCE_PER_ASSET, f"{key}/{asset}", total)
        for key, asset, total in books.unbalanced_entries(
            broker_id=broker_id,
            batch_ref=batch_ref,
            business_date=as_of if entries_of_date_only else None,
        )
    ]
    # Searched before the receivables are read: the search's one grouping of the bulk postings
    # also gives the broker's side, which the receivables are read from.
    negatives = books.negative_client_balances(broker_id=broker_id, as_of=as_of)
    # A client may be below zero by what the broker advanced it (垫付), and by no more.
    receivables = books.balances(
        broker_id=broker_id, as_of=as_of, account_prefix="receivable:", asset=acc.CASH
    )
    lines = advance_lines(
        zip(
            receivables.column("account").to_pylist(),
            receivables.column("quantity").to_pylist(),
            strict=True,
        )
    )
    breaches += balance_breaches(negatives, lines)
    # Natural balances are the posted sums, signed per class, so Σ per class of the accounts'
    # natural balances is the class's signed posted sum: the database adds up per class.
    totals = cash_totals(books.cash_sums_by_class(broker_id=broker_id, as_of=as_of))
    return breaches + funds_breaches(totals)


def check_books_committed(
    *, uow: BackOfficeUnitOfWork, broker_id: str, as_of: date
) -> list[Breach]:
    """`clearwatch broker check`: reads only."""
    with uow:
        return check_books(uow=uow, broker_id=broker_id, as_of=as_of)


@dataclass(frozen=True)
class CentralAvailable:
    """What the central books make available to trading on D, before D's trades.

    `cash_fen[fund_account]` is the client's cash; `shares[(fund_account, asset)]` the shares
    it may sell (today's buys are not sellable until D+1). Assets are `SH.600000` style.
    """

    broker_id: str
    business_date: date
    cash_fen: dict[str, int]
    shares: dict[tuple[str, str], int]


def central_available(
    *, uow: BackOfficeUnitOfWork, tools: BackOfficeTools, broker_id: str, business_date: date
) -> CentralAvailable:
    """Cash and sellable shares per client on `business_date`, from the books (read-only)."""
    with uow:
        cash = client_cash_balances(uow, broker_id, business_date)
        shares = sellable_shares(uow, tools, broker_id, business_date)
    shares = shares.filter(pc.greater(shares.column("quantity"), 0))
    return CentralAvailable(
        broker_id=broker_id,
        business_date=business_date,
        cash_fen=_pairs(cash, "fund_account", "balance"),
        shares={
            (account, asset): int(quantity)
            for account, asset, quantity in zip(
                shares.column("fund_account").to_pylist(),
                shares.column("asset").to_pylist(),
                shares.column("quantity").to_pylist(),
                strict=True,
            )
        },
    )


def _pairs(table: pa.Table, key: str, value: str) -> dict[str, int]:
    return {
        str(k): int(v)
        for k, v in zip(table.column(key).to_pylist(), table.column(value).to_pylist(), strict=True)
    }
