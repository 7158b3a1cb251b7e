"""One market day: transfers, adjustments, executions, the true books, and each party's view.

Everything per client or per execution is a numpy column; nothing creates a Python object per
execution. Money is integer fen throughout; prices integer thousandths of a yuan.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Protocol

import numpy as np
import numpy.typing as npt

from clearwatch.sim.fees import Fees, compute_fees, trade_amount_fen
from clearwatch.sim.universe import CREDIT, NORMAL, OPTION, Universe

Int64Array = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

RESERVE_SHARE_PERCENT = 30  # share of normal client cash the broker keeps at CSDC
RESERVE_MARKET_PERCENT = (55, 40, 5)  # SH, SZ, BJ
DEPOSIT_SHARE = 0.04
WITHDRAWAL_SHARE = 0.03
DEDUCTION_SHARE = 0.002
MORNING_OPEN_S, MORNING_SECONDS = 9 * 3600 + 30 * 60, 2 * 3600
AFTERNOON_OPEN_S, AFTERNOON_SECONDS = 13 * 3600, 2 * 3600
BANK_OPEN_S, BANK_SECONDS = 9 * 3600, 6 * 3600 + 1800  # transfers 09:00–15:30
LOT = 100
REASONS = ("cash_dividend", "lending_dividend_deduction", "interest", "fee_refund", "manual")
LENDING_DEDUCTION = 1


def group_cumsum(group: Int64Array, values: Int64Array) -> Int64Array:
    """Running total of `values` within each group, in row order."""
    if len(group) == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(group, kind="stable")
    ordered_values, ordered_groups = values[order], group[order]
    running = np.cumsum(ordered_values)
    starts = np.r_[True, ordered_groups[1:] != ordered_groups[:-1]]
    first = np.maximum.accumulate(np.where(starts, np.arange(len(order)), 0))
    within = running - running[first] + ordered_values[first]
    result = np.empty_like(within)
    result[order] = within
    return result


def group_cumsum_from_last(group: Int64Array, values: Int64Array) -> Int64Array:
    """Running total within each group from the last row backwards."""
    return group_cumsum(group[::-1], values[::-1])[::-1]


def session_seconds(rng: np.random.Generator, size: int) -> Int64Array:
    """Random seconds of the trading sessions 09:30–11:30 and 13:00–15:00."""
    offset = rng.integers(0, MORNING_SECONDS + AFTERNOON_SECONDS, size=size)
    return np.where(
        offset < MORNING_SECONDS,
        MORNING_OPEN_S + offset,
        AFTERNOON_OPEN_S + offset - MORNING_SECONDS,
    ).astype(np.int64)


@dataclass(frozen=True)
class Transfers:
    """Bank–securities transfers (银证转账): positive amounts, `incoming` for deposits."""

    client: Int64Array
    incoming: BoolArray
    amount: Int64Array
    seconds: Int64Array
    booked_ordinal: Int64Array  # the day it was booked, as date.toordinal()
    bank_booked_earlier: BoolArray  # the bank booked it on an earlier day (timing difference)

    @property
    def signed(self) -> Int64Array:
        return np.where(self.incoming, self.amount, -self.amount)

    def concat(self, other: Transfers) -> Transfers:
        return Transfers(
            client=np.concatenate([self.client, other.client]),
            incoming=np.concatenate([self.incoming, other.incoming]),
            amount=np.concatenate([self.amount, other.amount]),
            seconds=np.concatenate([self.seconds, other.seconds]),
            booked_ordinal=np.concatenate([self.booked_ordinal, other.booked_ordinal]),
            bank_booked_earlier=np.concatenate(
                [self.bank_booked_earlier, other.bank_booked_earlier]
            ),
        )


def empty_transfers() -> Transfers:
    nothing = np.zeros(0, dtype=np.int64)
    return Transfers(
        nothing, nothing.astype(np.bool_), nothing, nothing, nothing, nothing.astype(np.bool_)
    )


@dataclass(frozen=True)
class Adjustments:
    client: Int64Array
    amount: Int64Array  # signed
    reason: Int64Array  # index into REASONS

    def concat(self, other: Adjustments) -> Adjustments:
        return Adjustments(
            client=np.concatenate([self.client, other.client]),
            amount=np.concatenate([self.amount, other.amount]),
            reason=np.concatenate([self.reason, other.reason]),
        )


@dataclass(frozen=True)
class Executions:
    client: Int64Array
    security: Int64Array
    is_sell: BoolArray
    quantity: Int64Array
    price_milli: Int64Array
    seconds: Int64Array
    amount: Int64Array
    fees: Fees

    def __len__(self) -> int:
        return len(self.client)

    @property
    def cash_effect(self) -> Int64Array:
        """What each execution does to the client's cash: −(amount+fees) or +(amount−fees)."""
        return np.where(
            self.is_sell, self.amount - self.fees.total, -(self.amount + self.fees.total)
        )

    @property
    def csdc_due(self) -> Int64Array:
        """Each execution's part of the net cash due to CSDC: buys − sells + non-commission fees."""
        return np.where(self.is_sell, -self.amount, self.amount) + self.fees.non_commission

    def select(self, keep: BoolArray | Int64Array) -> Executions:
        fees = Fees(*(getattr(self.fees, f)[keep] for f in Fees.__dataclass_fields__))
        return Executions(
            client=self.client[keep],
            security=self.security[keep],
            is_sell=self.is_sell[keep],
            quantity=self.quantity[keep],
            price_milli=self.price_milli[keep],
            seconds=self.seconds[keep],
            amount=self.amount[keep],
            fees=fees,
        )

    def concat(self, other: Executions) -> Executions:
        def join(a: Int64Array, b: Int64Array) -> Int64Array:
            return np.concatenate([a, b])

        fees = Fees(
            *(
                join(getattr(self.fees, f), getattr(other.fees, f))
                for f in Fees.__dataclass_fields__
            )
        )
        return Executions(
            client=join(self.client, other.client),
            security=join(self.security, other.security),
            is_sell=np.concatenate([self.is_sell, other.is_sell]),
            quantity=join(self.quantity, other.quantity),
            price_milli=join(self.price_milli, other.price_milli),
            seconds=join(self.seconds, other.seconds),
            amount=join(self.amount, other.amount),
            fees=fees,
        )


def make_executions(
    universe: Universe,
    *,
    client: Int64Array,
    security: Int64Array,
    is_sell: BoolArray,
    quantity: Int64Array,
    price_milli: Int64Array,
    seconds: Int64Array,
) -> Executions:
    """Executions with their trade amounts and fees computed."""
    amount = trade_amount_fen(quantity, price_milli)
    fees = compute_fees(
        amount_fen=amount,
        is_sell=is_sell,
        is_fund=universe.securities.is_fund[security],
        commission_units=universe.clients.commission_units[client],
    )
    return Executions(client, security, is_sell, quantity, price_milli, seconds, amount, fees)


@dataclass
class Books:
    """The true books at the end of a day, and the standing differences faults leave behind."""

    cash: Int64Array  # per client
    position_client: Int64Array
    position_security: Int64Array
    position_quantity: Int64Array
    account_book: Int64Array  # per special account, as the broker books it
    reserve: Int64Array  # [broker, market], as the broker books it
    due: Int64Array  # [broker, market], net cash due to CSDC for the day, settled the next day
    account_offset: Int64Array  # bank balance − book, standing
    reserve_offset: Int64Array  # CSDC reserve − book, standing
    depository_offset: Int64Array  # bank depository − max(cash, 0), standing
    commission_kept: Int64Array  # [broker] fee income still held in client-money accounts
    carried: Transfers = field(default_factory=empty_transfers)

    def copy(self) -> Books:
        return replace(
            self,
            **{
                name: getattr(self, name).copy()
                for name in Books.__dataclass_fields__
                if isinstance(getattr(self, name), np.ndarray)
            },
        )


def opening_books(universe: Universe, rng: np.random.Generator) -> Books:
    """Opening cash and holdings, with special accounts and reserves that exactly cover the cash."""
    clients, accounts = universe.clients, universe.accounts
    count = len(clients)
    magnitude = rng.choice([4, 5, 6, 7], size=count, p=[0.25, 0.45, 0.25, 0.05])
    cash = rng.integers(100, 1000, size=count) * 10 ** (magnitude - 2) * 100
    cash = (cash + rng.integers(0, 100, size=count)).astype(np.int64)
    brokers, banks = accounts.route.shape[:2]
    per_route = np.zeros((brokers, banks, 3), dtype=np.int64)
    np.add.at(per_route, (clients.broker, clients.bank, clients.kind), cash)
    book = np.zeros(len(accounts), dtype=np.int64)
    reserve = np.zeros((brokers, 3), dtype=np.int64)
    for b in range(brokers):
        for k in range(banks):
            total = int(per_route[b, k, NORMAL])
            kept = total * (100 - RESERVE_SHARE_PERCENT) // 100
            book[accounts.route[b, k, NORMAL]] += kept
            reserve[b, 0] += total - kept
        _fund_credit_and_option(universe, per_route, book, b)
    for b in range(brokers):
        total = int(reserve[b, 0])
        sh = total * RESERVE_MARKET_PERCENT[0] // 100
        sz = total * RESERVE_MARKET_PERCENT[1] // 100
        reserve[b] = (sh, sz, total - sh - sz)
    position_client, position_security, position_quantity = _opening_positions(universe, rng, cash)
    zeros = np.zeros_like
    return Books(
        cash=cash,
        position_client=position_client,
        position_security=position_security,
        position_quantity=position_quantity,
        account_book=book,
        reserve=reserve,
        due=zeros(reserve),
        account_offset=zeros(book),
        reserve_offset=zeros(reserve),
        depository_offset=zeros(cash),
        commission_kept=np.zeros(brokers, dtype=np.int64),
    )


def _fund_credit_and_option(
    universe: Universe, per_route: Int64Array, book: Int64Array, broker: int
) -> None:
    """Credit and option cash sits in its purpose's accounts; an unfiled one holds 30% of it."""
    accounts = universe.accounts
    for kind in (CREDIT, OPTION):
        total = int(per_route[broker, :, kind].sum())
        target = int(
            np.flatnonzero(
                (accounts.broker == broker) & (accounts.purpose == kind) & accounts.filed
            )[0]
        )
        unfiled = np.flatnonzero(
            (accounts.broker == broker) & (accounts.purpose == kind) & ~accounts.filed
        )
        if len(unfiled):
            moved = total * 30 // 100
            book[unfiled[0]] += moved
            total -= moved
        book[target] += total


def _opening_positions(
    universe: Universe, rng: np.random.Generator, cash: Int64Array
) -> tuple[Int64Array, Int64Array, Int64Array]:
    clients, securities = universe.clients, universe.securities
    traders = np.flatnonzero(clients.kind == NORMAL)
    holdings = rng.poisson(4, size=len(traders))
    client = np.repeat(traders, holdings).astype(np.int64)
    security = rng.choice(len(securities.code), size=len(client), p=securities.weight).astype(
        np.int64
    )
    # Each position is worth 5%–40% of the client's opening cash, in whole lots.
    value_fen = cash[client] * rng.integers(50, 400, size=len(client)) // 1000
    lots = np.maximum(value_fen * 10 // securities.ref_price_milli[security] // LOT, 1)
    return merge_positions(len(securities.code), client, security, (lots * LOT).astype(np.int64))


def merge_positions(
    securities: int, client: Int64Array, security: Int64Array, quantity: Int64Array
) -> tuple[Int64Array, Int64Array, Int64Array]:
    """Sum quantities per (client, security), dropping empty positions; sorted by key."""
    key = client * securities + security
    order = np.argsort(key, kind="stable")
    key, quantity = key[order], quantity[order]
    if len(key) == 0:
        return key, key.copy(), key.copy()
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    totals = np.add.reduceat(quantity, starts)
    keys = key[starts]
    keep = totals != 0
    return keys[keep] // securities, keys[keep] % securities, totals[keep]


class DayHooks(Protocol):
    """What a fault may do at each step of a day (see `clearwatch.sim.faults`)."""

    def before_trading(self, day: DayState) -> None: ...
    def after_trading(self, day: DayState) -> None: ...
    def after_books(self, day: DayState) -> None: ...


@dataclass
class BankTransaction:
    """A special-account movement the bank books outside client transfers (faults only)."""

    account: int
    incoming: bool
    amount_fen: int
    seconds: int
    counterparty_account: str
    counterparty_kind: str


@dataclass
class FundAction:
    bank: int
    client: int
    action: str
    amount_fen: int
    initiator: str
    legal_basis: str
    branch_region: str


@dataclass
class DayState:
    """Everything about one business day while it is being built."""

    index: int  # 0-based day of the run
    business_date: date
    next_business_date: date
    universe: Universe
    opening: Books  # books at the start of the day (after settling yesterday's CSDC dues)
    rng: np.random.Generator
    transfers: Transfers = field(default_factory=empty_transfers)
    adjustments: Adjustments | None = None
    executions: Executions | None = None
    closing: Books | None = None
    bank_transactions: list[BankTransaction] = field(default_factory=list)
    fund_actions: list[FundAction] = field(default_factory=list)
    account_offset_today: dict[int, int] = field(default_factory=dict)
    depository_offset_today: dict[int, int] = field(default_factory=dict)
    trading_retries: dict[int, int] = field(default_factory=dict)  # broker → extra deliveries
    late_banks: set[int] = field(default_factory=set)
    broken_banks: set[int] = field(default_factory=set)
    carry_to_next_day: Transfers = field(default_factory=empty_transfers)
    fault_records: list[dict[str, object]] = field(default_factory=list)

    @property
    def day_text(self) -> str:
        return self.business_date.isoformat()

    def buy_budget(self) -> Int64Array:
        """Cash a client may spend on buys without ever going below zero, whatever the order."""
        budget = self.opening.cash.copy()
        withdrawals = np.where(self.transfers.incoming, 0, self.transfers.amount)
        np.subtract.at(budget, self.transfers.client, withdrawals)
        if self.adjustments is not None:
            np.add.at(budget, self.adjustments.client, np.minimum(self.adjustments.amount, 0))
        return budget


def ledger_gap_per_broker(universe: Universe, books: Books) -> Int64Array:
    """Σ special + Σ reserve + in transit − Σ client cash per broker; zero when books balance.

    In transit: the net due to CSDC not yet settled (paid from the reserve on D+1) and the
    commission the broker keeps in client-money accounts.
    """
    brokers = len(universe.broker_ids)
    cash = np.zeros(brokers, dtype=np.int64)
    np.add.at(cash, universe.clients.broker, books.cash)
    special = np.zeros(brokers, dtype=np.int64)
    np.add.at(special, universe.accounts.broker, books.account_book)
    in_transit = -books.due.sum(axis=1) - books.commission_kept
    gap: Int64Array = special + books.reserve.sum(axis=1) + in_transit - cash
    return gap
