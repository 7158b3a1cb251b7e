"""Generate one day's flows and apply them to the true books, vectorised."""

from __future__ import annotations

import numpy as np

from clearwatch.sim.market import (
    BANK_OPEN_S,
    BANK_SECONDS,
    DEDUCTION_SHARE,
    DEPOSIT_SHARE,
    LENDING_DEDUCTION,
    LOT,
    WITHDRAWAL_SHARE,
    Adjustments,
    Books,
    DayHooks,
    DayState,
    Executions,
    Int64Array,
    Transfers,
    group_cumsum,
    group_cumsum_from_last,
    make_executions,
    merge_positions,
    session_seconds,
)
from clearwatch.sim.universe import NORMAL, Universe

CANDIDATE_FACTOR = 0.7  # candidate buys and sells, each, per wanted execution
BUY_SPEND_PERMILLE = (3, 75)  # a buy spends this share of the client's opening cash
SELL_WHOLE_SHARE = 0.05  # a sell closes the position this often
# Transfers from 1,000,000.00 up need a second person's approval (backoffice.md §5); batches
# must import unattended, so every simulated transfer stays below it.
TRANSFER_MAX_FEN = 99_990_000
NET_BUYING_PERMILLE_MAX = 10  # a broker's net buying is capped at 1% of its day's buys
SHARES_MAX = 1_000_000


def settle_previous_day(books: Books) -> Books:
    """CSDC takes (or pays) yesterday's net dues from (into) the reserve on D+1."""
    opened = books.copy()
    opened.reserve -= opened.due
    opened.due[:] = 0
    return opened


def generate_transfers(day: DayState) -> Transfers:
    """Deposits and withdrawals below 1,000,000.00; withdrawals at most half the opening cash."""
    rng, cash = day.rng, day.opening.cash
    count = len(cash)
    depositors = np.flatnonzero(rng.random(count) < DEPOSIT_SHARE)
    magnitude = rng.integers(3, 7, size=len(depositors))
    deposit = rng.integers(1, 100, size=len(depositors)) * 10**magnitude
    withdrawers = np.flatnonzero(rng.random(count) < WITHDRAWAL_SHARE)
    share = rng.integers(10, 500, size=len(withdrawers))
    withdrawal = np.maximum(cash[withdrawers], 0) * share // 1000 // 100 * 100
    withdrawal = np.minimum(withdrawal, TRANSFER_MAX_FEN)
    keep = withdrawal > 0
    client = np.concatenate([depositors, withdrawers[keep]]).astype(np.int64)
    incoming = np.r_[np.ones(len(depositors), np.bool_), np.zeros(int(keep.sum()), np.bool_)]
    amount = np.concatenate([deposit, withdrawal[keep]]).astype(np.int64)
    seconds = BANK_OPEN_S + rng.integers(0, BANK_SECONDS, size=len(client))
    order = np.lexsort((client, seconds))
    fresh = Transfers(
        client=client[order],
        incoming=incoming[order],
        amount=amount[order],
        seconds=seconds[order].astype(np.int64),
        booked_ordinal=np.full(len(client), day.business_date.toordinal(), dtype=np.int64),
        bank_booked_earlier=np.zeros(len(client), np.bool_),
    )
    return day.opening.carried.concat(fresh) if len(day.opening.carried.client) else fresh


def generate_adjustments(day: DayState) -> Adjustments:
    """Securities-lending dividend deductions on a few institutional clients (≤ 1% of cash)."""
    rng, clients = day.rng, day.universe.clients
    candidates = np.flatnonzero(clients.institutional & (day.opening.cash > 1_000_000))
    chosen = candidates[rng.random(len(candidates)) < DEDUCTION_SHARE * 20]
    amount = -(day.opening.cash[chosen] // 100 // 100 * 100)
    keep = amount < 0
    return Adjustments(
        client=chosen[keep].astype(np.int64),
        amount=amount[keep].astype(np.int64),
        reason=np.full(int(keep.sum()), LENDING_DEDUCTION, dtype=np.int64),
    )


def _candidate_buys(day: DayState, count: int) -> Executions:
    universe, rng = day.universe, day.rng
    clients, securities = universe.clients, universe.securities
    traders = np.flatnonzero(clients.kind == NORMAL)
    weight = clients.activity[traders] / clients.activity[traders].sum()
    client = rng.choice(traders, size=count, p=weight).astype(np.int64)
    security = rng.choice(len(securities.code), size=count, p=securities.weight).astype(np.int64)
    price = _traded_price(day, security)
    spend = (
        np.maximum(day.opening.cash[client], 0)
        * rng.integers(*BUY_SPEND_PERMILLE, size=count)
        // 1000
    )
    lots = np.clip(spend * 10 // price // LOT, 1, SHARES_MAX // LOT)
    return make_executions(
        universe,
        client=client,
        security=security,
        is_sell=np.zeros(count, np.bool_),
        quantity=(lots * LOT).astype(np.int64),
        price_milli=price,
        seconds=session_seconds(rng, count),
    )


def _candidate_sells(day: DayState, count: int) -> Executions:
    """Sells of positions held at the open, each worth about what a buy spends (0.3%–7.5% of
    the client's opening cash), so the day's buys and sells balance whatever the holdings."""
    universe, rng, books = day.universe, day.rng, day.opening
    if len(books.position_client) == 0:
        count = 0
    pick = rng.integers(0, max(len(books.position_client), 1), size=count)
    client = books.position_client[pick] if count else np.zeros(0, np.int64)
    security = books.position_security[pick] if count else client
    held = books.position_quantity[pick] if count else client
    price = _traded_price(day, security)
    target = np.maximum(books.cash[client], 0) * rng.integers(*BUY_SPEND_PERMILLE, size=count)
    lots = np.clip(target // 1000 * 10 // price // LOT, 1, np.maximum(held // LOT, 1))
    whole = rng.random(count) < SELL_WHOLE_SHARE
    return make_executions(
        universe,
        client=client,
        security=security,
        is_sell=np.ones(count, np.bool_),
        quantity=np.where(whole, held, np.minimum(lots * LOT, held)).astype(np.int64),
        price_milli=price,
        seconds=session_seconds(rng, count),
    )


def _traded_price(day: DayState, security: Int64Array) -> Int64Array:
    """Within 1% of the reference price, on the tick (0.01 for stocks, 0.001 for funds)."""
    securities = day.universe.securities
    reference = securities.ref_price_milli[security]
    tick = np.where(securities.decimals[security] == 3, 1, 10)
    ticks = np.maximum(reference // tick // 100, 1)
    drift = day.rng.integers(-ticks, ticks + 1)
    price: Int64Array = np.maximum(reference + drift * tick, tick).astype(np.int64)
    return price


def generate_executions(day: DayState, wanted: int) -> Executions:
    """Buys within each client's budget, sells within yesterday's holdings, at most `wanted`."""
    candidates = int(wanted * CANDIDATE_FACTOR) + 1
    pool = _candidate_buys(day, candidates).concat(_candidate_sells(day, candidates))
    pool = pool.select(np.lexsort((day.rng.permutation(len(pool)), pool.seconds)))
    spent = group_cumsum(pool.client, np.where(pool.is_sell, 0, -pool.cash_effect))
    budget_ok = pool.is_sell | (spent <= day.buy_budget()[pool.client])
    books = day.opening
    position = np.searchsorted(
        books.position_client * len(day.universe.securities.code) + books.position_security,
        pool.client * len(day.universe.securities.code) + pool.security,
    )
    position = np.minimum(position, max(len(books.position_client) - 1, 0))
    sold = group_cumsum(position, np.where(pool.is_sell, pool.quantity, 0))
    held = books.position_quantity[position] if len(books.position_client) else sold * 0
    shares_ok = ~pool.is_sell | (sold <= held)
    kept = np.flatnonzero(budget_ok & shares_ok)[:wanted]
    return _cap_net_buying(day, pool.select(kept))


def _cap_net_buying(day: DayState, executions: Executions) -> Executions:
    """Drop a broker's latest buys while its net buying exceeds 1% of its buys.

    Net buying drains the reserve day after day (D+1 settlement); real markets balance.
    """
    broker = day.universe.clients.broker[executions.client]
    brokers = len(day.universe.broker_ids)
    net = np.zeros(brokers, dtype=np.int64)
    np.add.at(net, broker, executions.csdc_due)
    bought = np.zeros(brokers, dtype=np.int64)
    np.add.at(bought, broker, np.where(executions.is_sell, 0, executions.amount))
    excess = net - bought * NET_BUYING_PERMILLE_MAX // 1000
    if not (excess > 0).any():
        return executions
    relief = np.where(executions.is_sell, 0, executions.csdc_due)
    dropped_before = group_cumsum_from_last(broker, relief) - relief
    drop = ~executions.is_sell & (excess[broker] > 0) & (dropped_before < excess[broker])
    return executions.select(np.flatnonzero(~drop))


def apply_day(day: DayState) -> Books:
    """Post the day's transfers, adjustments and executions to the true books."""
    universe: Universe = day.universe
    books = day.opening.copy()
    clients, accounts = universe.clients, universe.accounts
    transfers, executions = day.transfers, day.executions
    assert executions is not None and day.adjustments is not None
    np.add.at(books.cash, transfers.client, transfers.signed)
    route = accounts.route[
        clients.broker[transfers.client],
        clients.bank[transfers.client],
        clients.kind[transfers.client],
    ]
    np.add.at(books.account_book, route, transfers.signed)
    # Dividends, interest and lending deductions move money in or out of the client's special
    # account (as the back office books them); only deductions are generated here.
    adjusted = day.adjustments.client
    np.add.at(books.cash, adjusted, day.adjustments.amount)
    np.add.at(
        books.account_book,
        accounts.route[clients.broker[adjusted], clients.bank[adjusted], clients.kind[adjusted]],
        day.adjustments.amount,
    )
    np.add.at(books.commission_kept, clients.broker[executions.client], executions.fees.commission)
    np.add.at(books.cash, executions.client, executions.cash_effect)
    market = universe.securities.market[executions.security]
    np.add.at(books.due, (clients.broker[executions.client], market), executions.csdc_due)
    bought = np.where(executions.is_sell, -executions.quantity, executions.quantity)
    books.position_client, books.position_security, books.position_quantity = merge_positions(
        len(universe.securities.code),
        np.concatenate([books.position_client, executions.client]),
        np.concatenate([books.position_security, executions.security]),
        np.concatenate([books.position_quantity, bought]),
    )
    books.carried = day.carry_to_next_day
    return books


def run_day(day: DayState, *, wanted_executions: int, hooks: DayHooks) -> DayState:
    """The day's steps in order; faults act between them through `hooks`."""
    day.transfers = generate_transfers(day)
    day.adjustments = generate_adjustments(day)
    hooks.before_trading(day)
    day.executions = generate_executions(day, wanted_executions)
    hooks.after_trading(day)
    day.closing = apply_day(day)
    hooks.after_books(day)
    day.closing.carried = day.carry_to_next_day
    return day
