"""Each party's view of the closed day: the broker's true books, each bank's, CSDC's.

Money columns stay int64 fen here; the writer turns them into text and the oracle compares them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from clearwatch.domain.shared.file_schema import ACCOUNT_KINDS, MARKETS, PURPOSES
from clearwatch.sim.columns import clock_text, prefixed, take_text
from clearwatch.sim.market import BankTransaction, Books, DayState, FundAction, Int64Array
from clearwatch.sim.universe import Universe

COURT_ACTIONS_PER_BANK = 1
DEDUCTION_PAID_SECONDS = 15 * 3600 + 10 * 60
CSDC_LENDING_ACCOUNT = "CSDC-SECLENDING"
COURT_BASES = ("(2026)京0105执{n}号", "(2026)沪0101执{n}号", "(2026)粤0304执{n}号")


@dataclass(frozen=True)
class DayViews:
    client_funds: pa.Table  # broker_id, fund_account, client_id, account_kind, bank_id, balance
    book_accounts: pa.Table  # broker_id, account_no, bank_id, purpose, book_balance
    book_reserve: pa.Table  # broker_id, market, balance, net_settlement
    fee_income: pa.Table  # broker_id, account_kind, amount
    bank_accounts: (
        pa.Table
    )  # bank_id, account_no, broker_id, purpose, branch_region, balance, filed
    bank_transactions: pa.Table  # bank_id, txn_id, account_no, booked_at, direction, amount, ...
    depository: pa.Table  # bank_id, broker_id, fund_account, client_id, balance
    fund_actions: pa.Table  # bank_id, action_id, broker_id, fund_account, action, amount, ...
    csdc_reserve: pa.Table  # broker_id, market, balance, net_settlement


def add_court_actions(day: DayState) -> None:
    """Lawful freezes (a court with a document reference): they must never raise F8."""
    universe, rng = day.universe, day.rng
    assert day.closing is not None
    cash = day.closing.cash
    for bank in range(len(universe.bank_ids)):
        holders = np.flatnonzero((universe.clients.bank == bank) & (cash > 100_000))
        for client in rng.choice(
            holders, size=min(COURT_ACTIONS_PER_BANK, len(holders)), replace=False
        ):
            basis = COURT_BASES[int(rng.integers(len(COURT_BASES)))].format(
                n=int(rng.integers(100, 9999))
            )
            day.fund_actions.append(
                FundAction(
                    bank=bank,
                    client=int(client),
                    action="freeze",
                    amount_fen=int(cash[client] // 2),
                    initiator="court",
                    legal_basis=basis,
                    branch_region=universe.broker_regions[int(universe.clients.broker[client])],
                )
            )


def build_views(day: DayState) -> DayViews:
    """What every party reports of the closing books: broker, banks and CSDC."""
    universe, books = day.universe, day.closing
    assert books is not None and day.executions is not None
    clients, accounts = universe.clients, universe.accounts
    broker_ids, bank_ids = pa.array(universe.broker_ids), pa.array(universe.bank_ids)
    return DayViews(
        client_funds=pa.table(
            {
                "broker_id": broker_ids.take(clients.broker),
                "fund_account": clients.fund_account,
                "client_id": clients.client_id,
                "account_kind": take_text(ACCOUNT_KINDS, clients.kind),
                "bank_id": bank_ids.take(clients.bank),
                "balance": books.cash,
            }
        ),
        book_accounts=pa.table(
            {
                "broker_id": broker_ids.take(accounts.broker),
                "account_no": pa.array(accounts.account_no),
                "bank_id": bank_ids.take(accounts.bank),
                "purpose": take_text(PURPOSES, accounts.purpose),
                "book_balance": books.account_book,
            }
        ),
        book_reserve=_reserve(universe, books.reserve, -books.due),
        fee_income=_fee_income(day),
        bank_accounts=_bank_accounts(day, books),
        bank_transactions=_bank_transactions(day),
        depository=_depository(day, books),
        fund_actions=_fund_actions(day),
        csdc_reserve=_reserve(universe, books.reserve + books.reserve_offset, -books.due),
    )


def _reserve(universe: Universe, balance: Int64Array, net_settlement: Int64Array) -> pa.Table:
    """Reserve balances and D's net settlement (brokers × markets; + CSDC owes the clients'
    side, so minus the net due to CSDC) as rows of broker, market, balance, net_settlement."""
    brokers = len(universe.broker_ids)
    return pa.table(
        {
            "broker_id": pa.array(universe.broker_ids).take(np.repeat(np.arange(brokers), 3)),
            "market": take_text(MARKETS, np.tile(np.arange(3), brokers)),
            "balance": balance.reshape(-1),
            "net_settlement": net_settlement.reshape(-1),
        }
    )


def _bank_accounts(day: DayState, books: Books) -> pa.Table:
    """The special accounts as the banks hold them: the books plus any injected difference."""
    universe, accounts = day.universe, day.universe.accounts
    balance = books.account_book + books.account_offset
    for account, delta in day.account_offset_today.items():
        balance[account] += delta
    return pa.table(
        {
            "bank_id": pa.array(universe.bank_ids).take(accounts.bank),
            "account_no": pa.array(accounts.account_no),
            "broker_id": pa.array(universe.broker_ids).take(accounts.broker),
            "purpose": take_text(PURPOSES, accounts.purpose),
            "branch_region": pa.array(accounts.branch_region),
            "balance": balance,
            "filed": accounts.filed,
        }
    )


def _depository(day: DayState, books: Books) -> pa.Table:
    """Client cash as the depository banks hold it: never negative, plus any injected gap."""
    universe, clients = day.universe, day.universe.clients
    balance = np.maximum(books.cash, 0) + books.depository_offset
    for client, delta in day.depository_offset_today.items():
        balance[client] += delta
    return pa.table(
        {
            "bank_id": pa.array(universe.bank_ids).take(clients.bank),
            "broker_id": pa.array(universe.broker_ids).take(clients.broker),
            "fund_account": clients.fund_account,
            "client_id": clients.client_id,
            "balance": balance,
        }
    )


def _fee_income(day: DayState) -> pa.Table:
    """Commission earned per broker and account kind: only normal accounts trade here."""
    universe, executions = day.universe, day.executions
    assert executions is not None
    brokers = len(universe.broker_ids)
    income = np.zeros((brokers, 3), dtype=np.int64)
    clients = universe.clients
    np.add.at(
        income,
        (clients.broker[executions.client], clients.kind[executions.client]),
        executions.fees.commission,
    )
    return pa.table(
        {
            "broker_id": pa.array(universe.broker_ids).take(np.repeat(np.arange(brokers), 3)),
            "account_kind": take_text(ACCOUNT_KINDS, np.tile(np.arange(3), brokers)),
            "amount": income.reshape(-1),
        }
    )


def _bank_transactions(day: DayState) -> pa.Table:
    universe, transfers = day.universe, day.transfers
    clients, accounts = universe.clients, universe.accounts
    today = ~transfers.bank_booked_earlier
    client = transfers.client[today]
    route = accounts.route[clients.broker[client], clients.bank[client], clients.kind[client]]
    extra = day.bank_transactions + _deduction_payments(day)
    account = np.concatenate([route, np.array([t.account for t in extra], dtype=np.int64)])
    seconds = np.concatenate(
        [transfers.seconds[today], np.array([t.seconds for t in extra], np.int64)]
    )
    incoming = np.concatenate(
        [transfers.incoming[today], np.array([t.incoming for t in extra], np.bool_)]
    )
    amount = np.concatenate(
        [transfers.amount[today], np.array([t.amount_fen for t in extra], np.int64)]
    )
    card = pc.binary_join_element_wise(
        pa.scalar("6217"), clients.fund_account.take(pa.array(client)), ""
    )
    counterparty = pa.concat_arrays(
        [card, pa.array([t.counterparty_account for t in extra], pa.string())]
    )
    kind = pa.concat_arrays(
        [
            pa.array(np.full(len(client), "client_bank")).cast(pa.string()),
            pa.array([t.counterparty_kind for t in extra], pa.string()),
        ]
    )
    order = np.lexsort((np.arange(len(account)), seconds))
    stamp = day.business_date.strftime("%Y%m%d")
    return (
        pa.table(
            {
                "bank_id": pa.array(universe.bank_ids).take(accounts.bank[account]),
                "account_no": pa.array(accounts.account_no).take(account),
                "seconds": seconds,
                "direction": pa.array(np.where(incoming, "in", "out")).cast(pa.string()),
                "amount": amount,
                "counterparty_account": counterparty,
                "counterparty_kind": kind,
            }
        )
        .take(order)
        .append_column("txn_id", prefixed(f"S{stamp}", np.arange(len(order), dtype=np.int64), 8))
        .append_column("booked_at", clock_text(day.day_text, seconds[order]))
    )


def _deduction_payments(day: DayState) -> list[BankTransaction]:
    """Lending-dividend deductions leave the special account for CSDC at 15:10 (few rows)."""
    adjustments, universe = day.adjustments, day.universe
    assert adjustments is not None
    clients, route = universe.clients, universe.accounts.route
    return [
        BankTransaction(
            account=int(route[clients.broker[c], clients.bank[c], clients.kind[c]]),
            incoming=amount > 0,
            amount_fen=abs(amount),
            seconds=DEDUCTION_PAID_SECONDS,
            counterparty_account=CSDC_LENDING_ACCOUNT,
            counterparty_kind="csdc",
        )
        for c, amount in zip(adjustments.client.tolist(), adjustments.amount.tolist(), strict=True)
        if amount != 0
    ]


def _fund_actions(day: DayState) -> pa.Table:
    universe, actions = day.universe, day.fund_actions
    clients = universe.clients
    client: Int64Array = np.array([a.client for a in actions], dtype=np.int64)
    stamp = day.business_date.strftime("%Y%m%d")
    return pa.table(
        {
            "bank_id": pa.array([universe.bank_ids[a.bank] for a in actions], pa.string()),
            "action_id": prefixed(f"FA{stamp}", np.arange(len(actions), dtype=np.int64), 5),
            "broker_id": pa.array(universe.broker_ids).take(clients.broker[client]),
            "fund_account": clients.fund_account.take(pa.array(client)),
            "action": pa.array([a.action for a in actions], pa.string()),
            "amount": np.array([a.amount_fen for a in actions], dtype=np.int64),
            "initiator": pa.array([a.initiator for a in actions], pa.string()),
            "legal_basis": pa.array([a.legal_basis for a in actions], pa.string()),
            "branch_region": pa.array([a.branch_region for a in actions], pa.string()),
        }
    )
