"""The fault catalogue: named injections, each with the findings, criteria, level and route due.

A fault acts at one step of a day (`before_trading`, `after_trading`, `after_books`) or on the
files written (late or broken packages, retried batches). Where it lives decides what the
monitor sees: a fault in the broker's batches flows through the back office into broker_daily;
a fault in a bank's or CSDC's package shows as a difference against the broker's books.

The expected outcome of every run is computed by `clearwatch.sim.oracle` from the day's files;
the catalogue below states the outcome the spec implies for a fault alone on a typical market.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from clearwatch.domain.shared.errors import ClearwatchError
from clearwatch.domain.shared.kinds import PackageKind
from clearwatch.domain.shared.money import format_fen, parse_fen
from clearwatch.sim.day import TRANSFER_MAX_FEN
from clearwatch.sim.market import (
    LENDING_DEDUCTION,
    Adjustments,
    BankTransaction,
    DayState,
    FundAction,
    Int64Array,
    Transfers,
    make_executions,
)
from clearwatch.sim.nodes import resynced_clients
from clearwatch.sim.universe import CREDIT, NORMAL, SH, SZ

PHANTOM_OVERDRAFT_FEN = parse_fen("50222600.00")  # incident A, after the day's clearing
INCIDENT_B_DEDUCTIONS_FEN = tuple(
    parse_fen(text)
    for text in ("61300.00", "52800.00", "45100.00", "38700.00", "31900.00", "24600.00", "18100.00")
)  # seven institutional clients, 272,500.00 in all
DUPLICATE_DELIVERIES = 4
OVERDRAFT_EACH_FEN = parse_fen("120000.00")
RESERVE_MISMATCH_FEN = parse_fen("386420.15")
ACCOUNT_MISMATCH_FEN = parse_fen("52318.40")
FAULT_DEDUCTION_FEN = parse_fen("86000.00")
TIMING_DEPOSIT_FEN = parse_fen("500000.00")
TIMING_BOOKED_SECONDS = 16 * 3600 + 5 * 60  # 16:05, after the 15:30 transfer cut-off
CLIENT_MISMATCH_ACCOUNTS = 5
CLIENT_MISMATCH_EACH_MAX_FEN = parse_fen("50000.00")
GAP_FLOOR_FEN = parse_fen("1000000.00")
ROUND_UP_FEN = parse_fen("10000.00")


ADVANCES_OVERDRAFT = (
    "books the executions (the exchange filled them), covers each shortfall with an advance of "
    "its own funds (垫付) against a receivable from the client, halts the client for the next "
    "business day, and reports the negative balances in broker_daily: the monitor sees F2"
)


@dataclass(frozen=True)
class FaultKind:
    name: str
    label: str  # Chinese name used by regulators
    lives_in: str
    injected: str
    level: str  # the level the spec implies, or "none"
    criteria: str
    route: str
    back_office: str = "books its batches as usual"  # what clearwatch's own back office does


CATALOGUE: tuple[FaultKind, ...] = (
    FaultKind(
        "phantom_funds",
        "幽灵资金（事件A）",
        "broker trading batch",
        "two clients trade on doubled funds; after clearing they are overdrawn by "
        "about 50,222,600.00",
        "general",
        "G3, A5 (M2 when P ≥ 25% of client funds)",
        "broker's region",
        ADVANCES_OVERDRAFT,
    ),
    FaultKind(
        "duplicate_import",
        "重复导入（事件B）",
        "broker trading batch, delivered 4 times",
        "lending-dividend deductions of 272,500.00 on seven institutional clients; the "
        "same trading batch arrives four times",
        "none",
        "— (absorbed by idempotent import; imported 4× it would be F1 817,500.00, A4)",
        "—",
        "imports the batch once; the three retries are `already_imported`",
    ),
    FaultKind(
        "misappropriation",
        "挪用客户资金",
        "bank package",
        "an outflow to `other` from a client_settlement account, unknown to the books, "
        "larger than the broker's cushion",
        "major",
        "M1, G1, A1, A5 (+M2/G2 by size)",
        "broker's region, special report",
    ),
    FaultKind(
        "fund_gap",
        "资金缺口",
        "bank package",
        "client_settlement money moved to the broker's own credit_guarantee account "
        "(same_broker_special), unknown to the books",
        "general",
        "G1, A1, A5",
        "broker's region",
    ),
    FaultKind(
        "unfiled_account",
        "未报备专用账户",
        "registry and static batch (standing)",
        "a credit_guarantee account the broker books and the bank reports, never filed",
        "general",
        "G5 (+A5 when ≥ 1,000,000.00)",
        "broker's region",
    ),
    FaultKind(
        "overdraft",
        "客户透支",
        "broker trading batch",
        "three clients' buys accepted without a sufficiency check, each overdrawn by "
        "about 120,000.00",
        "general",
        "G3",
        "broker's region",
        ADVANCES_OVERDRAFT,
    ),
    FaultKind(
        "fault_deduction",
        "违规扣划（券商发起）",
        "bank package",
        "a deduction on a client's funds initiated by the broker with no legal basis",
        "general",
        "G4 (broker)",
        "broker's region",
    ),
    FaultKind(
        "fault_deduction_bank",
        "违规扣划（银行发起）",
        "bank package",
        "a deduction on a client's funds initiated by the bank with no legal basis",
        "general",
        "G4 (bank)",
        "the account's branch region",
    ),
    FaultKind(
        "late_package",
        "迟报",
        "submission schedule",
        "a bank's package submitted at 10:30 the next business day (after 09:00)",
        "none",
        "— (LATE reminder; G6 at the fifth in a year)",
        "—",
    ),
    FaultKind(
        "broken_package",
        "报送数据错误",
        "bank package",
        "a bank's first submission has a file whose sha256 does not match; a corrected "
        "one follows before the deadline",
        "none",
        "— (BATCH_ERROR reminder; G6 at the fifth in a year)",
        "—",
    ),
    FaultKind(
        "reserve_mismatch",
        "结算备付金不符",
        "csdc package",
        "CSDC reports 386,420.15 more in the broker's SZ reserve than its books",
        "attention",
        "A2",
        "broker's region",
    ),
    FaultKind(
        "account_mismatch",
        "专用账户余额不符",
        "bank package",
        "the bank credits 52,318.40 of interest to a special account the books lack",
        "attention",
        "A1",
        "broker's region",
    ),
    FaultKind(
        "client_mismatch",
        "客户资金明细不符",
        "bank package",
        "five clients' depository balances lower than the books (≤ 50,000.00 each)",
        "attention",
        "A4",
        "broker's region",
    ),
    FaultKind(
        "timing_difference",
        "跨日在途",
        "bank package today, broker bank batch tomorrow",
        "a 500,000.00 deposit booked by the bank at 16:05, after the cut-off, and by the "
        "broker the next day",
        "attention",
        "A1, A4 today, nothing tomorrow; never general or major",
        "broker's region",
    ),
)
# Faults for the watch over the event stream (issue 19). Kept out of CATALOGUE, whose every
# entry the monitor's scenario tests grade: these are graded by the watch's tests instead, and
# the monitor outcome stated is the oracle's on a small market.
STREAM_CATALOGUE: tuple[FaultKind, ...] = (
    FaultKind(
        "withdrawal_burst",
        "集中取款",
        "broker bank batch",
        "six withdrawals from one client within four minutes, 3% of its opening cash each",
        "none",
        "— (lawful transfers; the watch's withdrawal_burst)",
        "—",
    ),
    FaultKind(
        "unexpected_counterparty",
        "异常对手方转出",
        "bank package",
        "180,000.00 from a client_settlement account to an account of kind `other`",
        "major",
        "as misappropriation when it exceeds the cushion (the oracle's figure in faults.json)",
        "broker's region",
    ),
    FaultKind(
        "node_divergence",
        "节点资金分叉（事件A）",
        "nodes/ (what the trading nodes hold)",
        "a standby of node N1 takes over and re-syncs two clients from the central books while "
        "N1 still holds them: the nodes hold twice the central figure",
        "none",
        "— (nodes are not reported; the watch's node_divergence)",
        "—",
    ),
    FaultKind(
        "reserve_drain",
        "备付金异常减少",
        "csdc package",
        "CSDC reports the SH reserve 5% (at least 2,000,000.00) lower than the books",
        "attention",
        "A2 (the oracle's figure in faults.json)",
        "broker's region",
    ),
)
STREAM_FAULT_NAMES = tuple(kind.name for kind in STREAM_CATALOGUE)
FAULT_NAMES = tuple(kind.name for kind in CATALOGUE)
KIND_OF = {kind.name: kind for kind in CATALOGUE + STREAM_CATALOGUE}


class UnknownFaultError(ClearwatchError, ValueError):
    """A fault name the catalogue lacks, or a day outside the run."""


@dataclass(frozen=True)
class FaultPlan:
    """One requested fault: what, on which (0-based) day, against which broker and bank."""

    name: str
    day: int
    broker: int
    bank: int

    @property
    def standing(self) -> bool:
        """Present from the first day to the last rather than on one day."""
        return self.name == "unfiled_account"

    def active_on(self, day: int) -> bool:
        return self.standing or self.day == day


def plan_faults(text: str, *, days: int, brokers: int, banks: int) -> tuple[FaultPlan, ...]:
    """Parse `name[@day],...`: default day is the last (timing_difference: the one before)."""
    plans: list[FaultPlan] = []
    for position, item in enumerate(part.strip() for part in text.split(",") if part.strip()):
        name, _, day_text = item.partition("@")
        if name not in KIND_OF:
            known = ", ".join(FAULT_NAMES + STREAM_FAULT_NAMES)
            raise UnknownFaultError(f"unknown fault {name!r}; known: {known}")
        default = days - 2 if name == "timing_difference" and days >= 2 else days - 1
        day = int(day_text) - 1 if day_text else default
        if not 0 <= day < days:
            raise UnknownFaultError(f"fault {item!r}: day must be within 1..{days}")
        if name == "unfiled_account" and banks < 2:
            raise UnknownFaultError("unfiled_account needs at least 2 banks")
        plans.append(FaultPlan(name, day, position % brokers, position % banks))
    return tuple(plans)


class FaultHooks:
    """Applies the planned faults of one day at the steps of `clearwatch.sim.day.run_day`."""

    def __init__(self, plans: tuple[FaultPlan, ...], day_index: int) -> None:
        self.plans = tuple(plan for plan in plans if plan.active_on(day_index))

    def before_trading(self, day: DayState) -> None:
        for plan in self.plans:
            if plan.name == "duplicate_import" and plan.day == day.index:
                _duplicate_import(day, plan)
            elif plan.name == "withdrawal_burst" and plan.day == day.index:
                _withdrawal_burst(day, plan)

    def after_trading(self, day: DayState) -> None:
        for plan in self.plans:
            if plan.name == "phantom_funds":
                _overspend(
                    day,
                    plan,
                    clients=_richest(day, plan.broker, 2),
                    overdraft_fen=PHANTOM_OVERDRAFT_FEN // 2,
                )
            elif plan.name == "overdraft":
                _overspend(
                    day,
                    plan,
                    clients=_richest(day, plan.broker, 8)[5:],
                    overdraft_fen=OVERDRAFT_EACH_FEN,
                )

    def after_books(self, day: DayState) -> None:
        for plan in self.plans:
            action = _AFTER_BOOKS.get(plan.name)
            if action is not None:
                action(day, plan)
            elif plan.name == "unfiled_account":
                _record(day, plan, account=_unfiled_account(day, plan.broker))


def _record(day: DayState, plan: FaultPlan, **details: object) -> None:
    kind = KIND_OF[plan.name]
    day.fault_records.append(
        {
            "fault": plan.name,
            "label": kind.label,
            "lives_in": kind.lives_in,
            "broker_id": day.universe.broker_ids[plan.broker],
            "bank_id": day.universe.bank_ids[plan.bank],
            "injected": details,
            "nominal": {"level": kind.level, "criteria": kind.criteria, "route": kind.route},
            "clearwatch_back_office": kind.back_office,
        }
    )


def _clients_of(
    day: DayState, broker: int, kind: int = NORMAL, bank: int | None = None
) -> Int64Array:
    clients = day.universe.clients
    chosen = (clients.broker == broker) & (clients.kind == kind)
    if bank is not None:
        chosen &= clients.bank == bank
    return np.flatnonzero(chosen)


def _richest(day: DayState, broker: int, count: int) -> Int64Array:
    candidates = _clients_of(day, broker)
    order = np.lexsort((candidates, -day.opening.cash[candidates]))
    return candidates[order][:count]


def _projected_cash(day: DayState, clients: Int64Array) -> Int64Array:
    """Each client's cash after today's transfers, adjustments and executions so far."""
    cash = day.opening.cash.copy()
    np.add.at(cash, day.transfers.client, day.transfers.signed)
    assert day.adjustments is not None and day.executions is not None
    np.add.at(cash, day.adjustments.client, day.adjustments.amount)
    np.add.at(cash, day.executions.client, day.executions.cash_effect)
    return cash[clients]


def _overspend(day: DayState, plan: FaultPlan, *, clients: Int64Array, overdraft_fen: int) -> None:
    """Buys beyond each client's cash, in five orders across liquid stocks, at 14:50."""
    assert day.executions is not None
    securities = day.universe.securities
    stocks = np.flatnonzero(~securities.is_fund & (securities.market < 2))
    liquid = stocks[np.argsort(-securities.weight[stocks], kind="stable")][:5]
    projected = _projected_cash(day, clients)
    rows_client, rows_security, rows_quantity, rows_price = [], [], [], []
    for client, cash in zip(clients.tolist(), projected.tolist(), strict=True):
        spend = max(cash, 0) + overdraft_fen
        for security in liquid.tolist():
            price = int(securities.ref_price_milli[security])
            lots = -(-(spend // len(liquid)) * 10 // price // 100)  # round up to whole lots
            rows_client.append(client)
            rows_security.append(security)
            rows_quantity.append(max(lots, 1) * 100)
            rows_price.append(price)
    extra = make_executions(
        day.universe,
        client=np.array(rows_client, dtype=np.int64),
        security=np.array(rows_security, dtype=np.int64),
        is_sell=np.zeros(len(rows_client), np.bool_),
        quantity=np.array(rows_quantity, dtype=np.int64),
        price_milli=np.array(rows_price, dtype=np.int64),
        seconds=np.full(len(rows_client), 14 * 3600 + 50 * 60, dtype=np.int64),
    )
    day.executions = day.executions.concat(extra)
    closing = _projected_cash(day, clients)
    _record(
        day,
        plan,
        fund_accounts=_accounts(day, clients),
        executions_added=len(extra),
        overdraft=format_fen(int(-np.minimum(closing, 0).sum())),
    )


def _accounts(day: DayState, clients: Int64Array) -> list[str]:
    return [str(a) for a in day.universe.clients.fund_account.take(clients).to_pylist()]


def _duplicate_import(day: DayState, plan: FaultPlan) -> None:
    """Incident B: seven deductions in the trading batch, which is then delivered four times."""
    clients = day.universe.clients
    mine = np.flatnonzero((clients.broker == plan.broker) & (clients.kind == NORMAL))
    able = mine[day.buy_budget()[mine] >= max(INCIDENT_B_DEDUCTIONS_FEN)]
    institutional = able[clients.institutional[able]]
    chosen = np.concatenate([institutional, able[~clients.institutional[able]]])[:7]
    amounts = -np.array(INCIDENT_B_DEDUCTIONS_FEN[: len(chosen)], dtype=np.int64)
    assert day.adjustments is not None
    day.adjustments = day.adjustments.concat(
        Adjustments(chosen.astype(np.int64), amounts, np.full(len(chosen), LENDING_DEDUCTION))
    )
    day.trading_retries[plan.broker] = DUPLICATE_DELIVERIES - 1
    _record(
        day,
        plan,
        fund_accounts=_accounts(day, chosen),
        deductions=format_fen(int(-amounts.sum())),
        deliveries=DUPLICATE_DELIVERIES,
    )


def _normal_cushion(day: DayState, broker: int) -> int:
    """A − L of the normal kind as F3 reads it: special accounts plus the reserve after D's
    clearing (reserve + net settlement, the net due to CSDC taken off) less the clients'
    cash: the commission kept (≥ 0)."""
    books = day.closing
    assert books is not None
    accounts = day.universe.accounts
    mine = (accounts.broker == broker) & (accounts.purpose == NORMAL)
    bank = books.account_book[mine] + books.account_offset[mine]
    reserve = books.reserve[broker] + books.reserve_offset[broker] - books.due[broker]
    assets = int(bank.sum() + reserve.sum())
    liabilities = int(np.maximum(books.cash[_clients_of(day, broker)], 0).sum())
    return assets - liabilities


def _largest_normal_account(day: DayState, broker: int) -> int:
    books, accounts = day.closing, day.universe.accounts
    assert books is not None
    mine = np.flatnonzero((accounts.broker == broker) & (accounts.purpose == NORMAL))
    return int(mine[np.argmax(books.account_book[mine] + books.account_offset[mine])])


def _liabilities(day: DayState, broker: int) -> int:
    assert day.closing is not None
    return int(np.maximum(day.closing.cash[_clients_of(day, broker)], 0).sum())


def _round_up(fen: int) -> int:
    return -(-fen // ROUND_UP_FEN) * ROUND_UP_FEN


def _move_out(day: DayState, account: int, amount: int, counterparty: str, kind: str) -> None:
    assert day.closing is not None
    day.closing.account_offset[account] -= amount
    day.bank_transactions.append(
        BankTransaction(account, False, amount, 14 * 3600 + 7 * 60, counterparty, kind)
    )


def _misappropriation(day: DayState, plan: FaultPlan) -> None:
    account = _largest_normal_account(day, plan.broker)
    gap = max(_liabilities(day, plan.broker) // 10, GAP_FLOOR_FEN)
    amount = _round_up(_normal_cushion(day, plan.broker) + gap)
    _move_out(day, account, amount, "31050161393700012345", "other")
    _record(
        day,
        plan,
        account_no=day.universe.accounts.account_no[account],
        amount=format_fen(amount),
        counterparty_kind="other",
    )


def _fund_gap(day: DayState, plan: FaultPlan) -> None:
    accounts = day.universe.accounts
    source = _largest_normal_account(day, plan.broker)
    target = int(
        accounts.route[
            plan.broker,
            accounts.bank[
                np.flatnonzero(
                    (accounts.broker == plan.broker) & (accounts.purpose == CREDIT) & accounts.filed
                )[0]
            ],
            CREDIT,
        ]
    )
    gap = max(_liabilities(day, plan.broker) * 3 // 100, GAP_FLOOR_FEN)
    amount = _round_up(_normal_cushion(day, plan.broker) + gap)
    _move_out(day, source, amount, accounts.account_no[target], "same_broker_special")
    assert day.closing is not None
    day.closing.account_offset[target] += amount
    day.bank_transactions.append(
        BankTransaction(
            target,
            True,
            amount,
            14 * 3600 + 7 * 60,
            accounts.account_no[source],
            "same_broker_special",
        )
    )
    _record(
        day,
        plan,
        from_account=accounts.account_no[source],
        to_account=accounts.account_no[target],
        amount=format_fen(amount),
    )


def _unfiled_account(day: DayState, broker: int) -> str:
    accounts = day.universe.accounts
    return accounts.account_no[
        int(np.flatnonzero((accounts.broker == broker) & ~accounts.filed)[0])
    ]


def _deduction(day: DayState, plan: FaultPlan, initiator: str) -> None:
    assert day.closing is not None
    bank = plan.bank
    holders = _clients_of(day, plan.broker, bank=bank)
    holders = holders[day.closing.cash[holders] > 0]
    if len(holders) == 0:  # a tiny market: take any client of the broker, at its own bank
        holders = _clients_of(day, plan.broker)
        bank = int(day.universe.clients.bank[holders[0]])
    client = int(holders[np.argmax(day.closing.cash[holders])])
    amount = min(FAULT_DEDUCTION_FEN, int(day.closing.cash[client]))
    region = day.universe.broker_regions[plan.broker]
    day.fund_actions.append(FundAction(bank, client, "deduct", amount, initiator, "", region))
    _record(
        day,
        plan,
        fund_account=_accounts(day, np.array([client]))[0],
        amount=format_fen(amount),
        initiator=initiator,
        branch_region=region,
    )


def _reserve_mismatch(day: DayState, plan: FaultPlan) -> None:
    assert day.closing is not None
    day.closing.reserve_offset[plan.broker, SZ] += RESERVE_MISMATCH_FEN
    _record(day, plan, market="SZ", csdc_minus_books=format_fen(RESERVE_MISMATCH_FEN))


def _account_mismatch(day: DayState, plan: FaultPlan) -> None:
    assert day.closing is not None
    account = int(day.universe.accounts.route[plan.broker, plan.bank, NORMAL])
    day.closing.account_offset[account] += ACCOUNT_MISMATCH_FEN
    day.bank_transactions.append(
        BankTransaction(account, True, ACCOUNT_MISMATCH_FEN, 15 * 3600 + 40 * 60, "", "other")
    )
    _record(
        day,
        plan,
        account_no=day.universe.accounts.account_no[account],
        bank_minus_books=format_fen(ACCOUNT_MISMATCH_FEN),
    )


def _client_mismatch(day: DayState, plan: FaultPlan) -> None:
    assert day.closing is not None
    holders = _clients_of(day, plan.broker, bank=plan.bank)
    holders = holders[day.closing.cash[holders] > 1000][:CLIENT_MISMATCH_ACCOUNTS]
    short = np.minimum(day.closing.cash[holders] // 10, CLIENT_MISMATCH_EACH_MAX_FEN)
    day.closing.depository_offset[holders] -= short
    _record(
        day, plan, fund_accounts=_accounts(day, holders), bank_short=format_fen(int(short.sum()))
    )


def _timing_difference(day: DayState, plan: FaultPlan) -> None:
    """A deposit the bank books today after the cut-off and the broker books tomorrow."""
    client = int(_richest(day, plan.broker, 12)[-1])
    clients, accounts = day.universe.clients, day.universe.accounts
    account = int(accounts.route[plan.broker, clients.bank[client], NORMAL])
    day.account_offset_today[account] = (
        day.account_offset_today.get(account, 0) + TIMING_DEPOSIT_FEN
    )
    day.depository_offset_today[client] = (
        day.depository_offset_today.get(client, 0) + TIMING_DEPOSIT_FEN
    )
    day.bank_transactions.append(
        BankTransaction(
            account,
            True,
            TIMING_DEPOSIT_FEN,
            TIMING_BOOKED_SECONDS,
            "6217" + str(clients.fund_account[client]),
            "client_bank",
        )
    )
    day.carry_to_next_day = day.carry_to_next_day.concat(
        Transfers(
            client=np.array([client], dtype=np.int64),
            incoming=np.array([True]),
            amount=np.array([TIMING_DEPOSIT_FEN], dtype=np.int64),
            seconds=np.array([TIMING_BOOKED_SECONDS], dtype=np.int64),
            booked_ordinal=np.array([day.business_date.toordinal()], dtype=np.int64),
            bank_booked_earlier=np.array([True]),
        )
    )
    _record(
        day,
        plan,
        fund_account=str(clients.fund_account[client]),
        amount=format_fen(TIMING_DEPOSIT_FEN),
        bank_booked_at=f"{day.day_text}T16:05:00+08:00",
        broker_books_on=day.next_business_date.isoformat(),
    )


def _late(day: DayState, plan: FaultPlan) -> None:
    day.late_banks.add(plan.bank)
    _record(
        day,
        plan,
        package=PackageKind.BANK_DAILY,
        submitted=f"{day.next_business_date.isoformat()}T10:30:00+08:00",
    )


def _broken(day: DayState, plan: FaultPlan) -> None:
    day.broken_banks.add(plan.bank)
    _record(
        day,
        plan,
        package=PackageKind.BANK_DAILY,
        broken_file="client_depository.csv",
        error="manifest sha256 does not match the file",
    )


_AFTER_BOOKS = {
    "misappropriation": _misappropriation,
    "fund_gap": _fund_gap,
    "fault_deduction": lambda day, plan: _deduction(day, plan, "broker"),
    "fault_deduction_bank": lambda day, plan: _deduction(day, plan, "bank"),
    "reserve_mismatch": _reserve_mismatch,
    "account_mismatch": _account_mismatch,
    "client_mismatch": _client_mismatch,
    "timing_difference": _timing_difference,
    "late_package": _late,
    "broken_package": _broken,
}


# -- faults for the watch over the stream (issue 19) ------------------------------------------

BURST_WITHDRAWALS = 6
BURST_STEP_SECONDS = 40  # six withdrawals in four minutes
BURST_START_SECONDS = 10 * 3600 + 41 * 60
BURST_SHARE_PERMILLE = 30  # each withdrawal 3% of the client's opening cash
UNEXPECTED_OUTFLOW_FEN = parse_fen("180000.00")
UNEXPECTED_COUNTERPARTY = "6222020200112233445"
RESERVE_DRAIN_PERMILLE = 50
RESERVE_DRAIN_FLOOR_FEN = parse_fen("2000000.00")


def _withdrawal_burst(day: DayState, plan: FaultPlan) -> None:
    """A client drained in minutes: withdrawals the books, the bank and the monitor all accept."""
    client = int(_richest(day, plan.broker, 20)[-1])
    each = max(
        int(day.opening.cash[client]) * BURST_SHARE_PERMILLE // 1000 // 10000 * 10000, 100000
    )
    each = min(each, TRANSFER_MAX_FEN)
    count = BURST_WITHDRAWALS
    day.transfers = day.transfers.concat(
        Transfers(
            client=np.full(count, client, dtype=np.int64),
            incoming=np.zeros(count, np.bool_),
            amount=np.full(count, each, dtype=np.int64),
            seconds=BURST_START_SECONDS + BURST_STEP_SECONDS * np.arange(count, dtype=np.int64),
            booked_ordinal=np.full(count, day.business_date.toordinal(), dtype=np.int64),
            bank_booked_earlier=np.zeros(count, np.bool_),
        )
    )
    _record(
        day,
        plan,
        fund_account=_accounts(day, np.array([client]))[0],
        withdrawals=count,
        each=format_fen(each),
        window_seconds=int(BURST_STEP_SECONDS * (count - 1)),
    )


def _unexpected_counterparty(day: DayState, plan: FaultPlan) -> None:
    account = _largest_normal_account(day, plan.broker)
    _move_out(day, account, UNEXPECTED_OUTFLOW_FEN, UNEXPECTED_COUNTERPARTY, "other")
    _record(
        day,
        plan,
        account_no=day.universe.accounts.account_no[account],
        amount=format_fen(UNEXPECTED_OUTFLOW_FEN),
        counterparty=UNEXPECTED_COUNTERPARTY,
    )


def _node_divergence(day: DayState, plan: FaultPlan) -> None:
    """Recorded here; `clearwatch.sim.nodes` writes the takeover's rows."""
    clients = resynced_clients(day, plan.broker)
    _record(
        day,
        plan,
        fund_accounts=_accounts(day, clients),
        phantom=format_fen(int(np.maximum(day.opening.cash[clients], 0).sum())),
    )


def _reserve_drain(day: DayState, plan: FaultPlan) -> None:
    assert day.closing is not None
    reserve = int(day.closing.reserve[plan.broker, SH])
    amount = _round_up(max(reserve * RESERVE_DRAIN_PERMILLE // 1000, RESERVE_DRAIN_FLOOR_FEN))
    day.closing.reserve_offset[plan.broker, SH] -= amount
    _record(day, plan, market="SH", csdc_minus_books=format_fen(-amount))


_AFTER_BOOKS |= {
    "unexpected_counterparty": _unexpected_counterparty,
    "node_divergence": _node_divergence,
    "reserve_drain": _reserve_drain,
}
