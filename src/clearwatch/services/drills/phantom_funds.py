"""Drill A (phantom funds): a primary/standby switch with the old primary still up and a re-sync.

The incident: before the open a fast trading node restarted; a defective switch made the backup
primary while the old primary was still up, and the backup's initialisation re-synced client
funds from the central system. Two clients' funds were doubled (195,000,000.00 of phantom money),
they traded on it, and after clearing their accounts were overdrawn by 50,222,600.00.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from clearwatch.domain.intraday.book import Execution, NodeEntry, Order, Refusal
from clearwatch.domain.intraday.fee_estimates import fee_rates
from clearwatch.domain.intraday.lease import IntradayRefused
from clearwatch.domain.shared.calendar import SHANGHAI
from clearwatch.domain.shared.kinds import CASH, Side
from clearwatch.services.backoffice.books_reference import client_cash_balances
from clearwatch.services.backoffice.import_batch import import_batch
from clearwatch.services.drills.harness import (
    DRILL_BROKER,
    DRILL_DAY,
    DrillClock,
    DrillLog,
    DrillReport,
    DrillStore,
    approve_with_segregation,
    audit_intact,
    money,
    register_people,
    static_batch,
    write_batch,
)
from clearwatch.services.intraday.central_funds import BooksCentralFunds
from clearwatch.services.intraday.trading_node import (
    TradingNode,
    check_conservation,
    takeover_subject,
)

CENTRAL_CASH_FEN = {"F0001": 120_000_000_00, "F0002": 75_000_000_00}  # 195,000,000.00 in all
INCIDENT_OVERDRAFT_FEN = 50_222_600_00
PRICE_MILLI = 10_000  # 10.000 yuan a share
SECURITY = "SH.600000"
TEN_MILLION_FEN = 10_000_000_00


def _buy(order_id: str, account: str, amount_fen: int) -> Order:
    shares = amount_fen // (PRICE_MILLI // 10)
    return Order(order_id, account, Side.BUY, SECURITY, shares, PRICE_MILLI)


def _orders_before_switch() -> list[Order]:
    return [_buy(f"A{n}", "F0001", TEN_MILLION_FEN) for n in range(1, 4)] + [
        _buy(f"B{n}", "F0002", TEN_MILLION_FEN) for n in range(1, 3)
    ]


def _orders_after_switch() -> list[Order]:
    """With the earlier five, the clients try to spend their real funds plus the overdraft."""
    return (
        [_buy(f"A{n}", "F0001", TEN_MILLION_FEN) for n in range(4, 13)]
        + [_buy("A13", "F0001", 30_222_600_00)]
        + [_buy(f"B{n}", "F0002", TEN_MILLION_FEN) for n in range(3, 10)]
        + [_buy("B10", "F0002", 5_000_000_00)]
    )


def _amount(order: Order) -> int:
    return order.quantity * order.price_milli // 10


def _node(store: DrillStore, clock: DrillClock, node_id: str, host: str) -> TradingNode:
    return TradingNode(
        uow_factory=store.uow,
        clock=clock,
        node_id=node_id,
        instance_id=f"{node_id}@{host}",
        broker_id=DRILL_BROKER,
        business_date=DRILL_DAY,
        rates=fee_rates(store.tools.schedule),
        lease_ttl=timedelta(minutes=2),
    )


def _claims_fen(store: DrillStore) -> dict[str, int]:
    with store.read_uow() as uow:
        claims = uow.intraday.claims(broker_id=DRILL_BROKER, business_date=DRILL_DAY)
    totals: dict[str, int] = {}
    for claim in claims:
        if claim.asset == CASH:
            totals[claim.fund_account] = totals.get(claim.fund_account, 0) + claim.quantity
    return totals


def _phantom(store: DrillStore, filled: dict[str, int]) -> int:
    """Money the nodes could spend beyond the central books: claims + filled − central.

    A claim already counts the cash frozen by open orders; only fills have left it."""
    claims = _claims_fen(store)
    return sum(
        max(0, claims.get(account, 0) + filled.get(account, 0) - central)
        for account, central in CENTRAL_CASH_FEN.items()
    )


def _accepted(outcomes: Sequence[NodeEntry | Refusal]) -> list[NodeEntry]:
    return [outcome for outcome in outcomes if isinstance(outcome, NodeEntry)]


def run_phantom_funds_drill(*, store: DrillStore) -> DrillReport:
    log = DrillLog(clients=frozenset(CENTRAL_CASH_FEN))
    clock = DrillClock(
        datetime.combine(DRILL_DAY, datetime.min.time(), SHANGHAI) + timedelta(hours=8)
    )
    register_people(store, clock.now())
    static = static_batch(store.workdir / "static", cash_by_client=CENTRAL_CASH_FEN)
    import_batch(directory=static, uow=store.uow(), tools=store.tools, at=clock.now())
    central = BooksCentralFunds(store.read_uow, store.tools)
    log.say(
        f"Central books for {DRILL_DAY}: F0001 {money(CENTRAL_CASH_FEN['F0001'])}, "
        f"F0002 {money(CENTRAL_CASH_FEN['F0002'])} "
        f"(together {money(sum(CENTRAL_CASH_FEN.values()))})."
    )
    spent: dict[str, int] = {}
    primary = _start(store, clock, log, central)
    accepted = _accepted(primary.submit(_orders_before_switch()))
    _count_spent(spent, accepted)
    log.say(
        f"08:00 the primary accepts {len(accepted)} buy orders "
        f"worth {money(_spent_amount(accepted))}."
    )
    standby = _switch(store, clock, log, central, primary)
    _resync_attempts(store, clock, log, central, standby, spent)
    _old_primary_writes(log, primary)
    accepted += _spend_attempt(store, log, standby, spent, accepted)
    _fills_and_clearing(store, clock, log, central, standby, accepted)
    audit_intact(store, log)
    return DrillReport("phantom-funds", tuple(log.lines), tuple(log.checks), log.clients)


def _start(
    store: DrillStore, clock: DrillClock, log: DrillLog, central: BooksCentralFunds
) -> TradingNode:
    primary = _node(store, clock, "fast-1", "host-a")
    primary.acquire()
    report = primary.start_of_day(central=central)
    log.say(
        f"08:00 {primary.instance_id} takes the lease (epoch {report.epoch}) and starts the day "
        f"once: {report.clients} clients, {money(report.cash_allocated_fen)} available."
    )
    return primary


def _switch(
    store: DrillStore,
    clock: DrillClock,
    log: DrillLog,
    central: BooksCentralFunds,
    primary: TradingNode,
) -> TradingNode:
    clock.advance(timedelta(minutes=1))
    log.say(
        "08:01 the node restarts; the switch makes the standby primary while host-a is still up."
    )
    primary.acquire()  # host-a is alive and keeps renewing its lease
    standby = _node(store, clock, "fast-1", "host-b")
    try:
        standby.acquire()
        log.check("a live lease is not taken without approval", False, "standby took it")
    except IntradayRefused as refusal:
        log.say(
            "host-b asks for the lease: refused, host-a's lease is live",
            control=refusal.rejection.value,
        )
        log.check("a live lease is not taken without approval", True, refusal.rejection.value)
    request_id = approve_with_segregation(
        store, log, kind="override", subject_ref=takeover_subject("fast-1"), at=clock.now()
    )
    report = standby.take_over(central=central, override_request_id=request_id)
    assert primary.book is not None, "primary"
    assert standby.book is not None, "standby"
    same = standby.book.clients() == primary.book.clients()
    log.say(
        f"host-b takes over with epoch {report.epoch} and rebuilds the day by replaying "
        f"{report.entries_replayed} journal entries, not by a fresh sync",
        control="takeover from the journal",
    )
    log.check(
        "the standby's book equals the primary's journal",
        same,
        f"{report.entries_replayed} entries",
    )
    return standby


def _resync_attempts(
    store: DrillStore,
    clock: DrillClock,
    log: DrillLog,
    central: BooksCentralFunds,
    standby: TradingNode,
    spent: dict[str, int],
) -> None:
    try:
        standby.start_of_day(central=central)
        log.check("a second start of day is refused", False, "it ran")
    except IntradayRefused as refusal:
        log.say(
            "host-b's initialisation tries to re-sync client funds from the central books: refused",
            control=refusal.rejection.value,
        )
        log.check("a second start of day is refused", True, refusal.rejection.value)
    shadow = _node(store, clock, "fast-1-shadow", "host-b")
    shadow.acquire()
    report = shadow.start_of_day(central=central)
    log.say(
        f"a re-sync under another node id ({shadow.node_id}) gets only what no node holds: "
        f"{money(report.cash_allocated_fen)}",
        control="Σ node available ≤ central available",
    )
    phantom = _phantom(store, filled={})  # nothing has filled yet
    log.check("no phantom money after the switch and re-sync", phantom == 0, money(phantom))
    log.say(f"phantom money across all nodes: {money(phantom)} (the incident: 195,000,000.00)")


def _old_primary_writes(log: DrillLog, primary: TradingNode) -> None:
    try:
        primary.submit([_buy("X1", "F0001", TEN_MILLION_FEN)])
        log.check("the old primary's writes are refused", False, "accepted")
    except IntradayRefused as refusal:
        log.say(
            f"{primary.instance_id}, still up, accepts an order "
            f"with epoch {primary.epoch}: refused",
            control=refusal.rejection.value,
        )
        log.check("the old primary's writes are refused", True, refusal.rejection.value)


def _count_spent(spent: dict[str, int], accepted: Sequence[NodeEntry]) -> None:
    for entry in accepted:
        spent[entry.fund_account] = spent.get(entry.fund_account, 0) - entry.cash_delta_fen


def _spent_amount(accepted: Sequence[NodeEntry]) -> int:
    return sum(entry.quantity * entry.price_milli // 10 for entry in accepted)


def _spend_attempt(
    store: DrillStore,
    log: DrillLog,
    standby: TradingNode,
    spent: dict[str, int],
    earlier: Sequence[NodeEntry],
) -> list[NodeEntry]:
    orders = _orders_after_switch()
    attempted = sum(map(_amount, _orders_before_switch() + orders))
    outcomes = standby.submit(orders)
    accepted = _accepted(outcomes)
    refused = [o for o in outcomes if isinstance(o, Refusal)]
    _count_spent(spent, accepted)
    log.say(
        f"the two clients try to buy {money(attempted)} in all — their real funds plus the "
        f"incident's overdraft of {money(INCIDENT_OVERDRAFT_FEN)}; host-b accepts "
        f"{len(accepted)} more orders and refuses {len(refused)}",
        control=refused[0].rejection.value if refused else None,
    )
    everything = [*earlier, *accepted]
    over = {
        account: spent.get(account, 0) - CENTRAL_CASH_FEN[account] for account in CENTRAL_CASH_FEN
    }
    log.check(
        "no order uses money the central books do not hold",
        all(excess <= 0 for excess in over.values()),
        ", ".join(f"{a} spent {money(spent.get(a, 0))}" for a in sorted(CENTRAL_CASH_FEN)),
    )
    log.say(f"orders accepted in all: {len(everything)} worth {money(_spent_amount(everything))}")
    return accepted


def _executions(accepted: Sequence[NodeEntry]) -> list[list[str]]:
    """The exchange's execution report of the day, as the trading system returns it."""
    return [
        [
            f"E{n:04d}",
            "SH",
            SECURITY.split(".")[1],
            "B",
            str(e.quantity),
            "10.000",
            e.fund_account,
            e.order_id,
            f"{DRILL_DAY.isoformat()}T10:00:00+08:00",
        ]
        for n, e in enumerate(accepted, start=1)
    ]


def _fills_and_clearing(
    store: DrillStore,
    clock: DrillClock,
    log: DrillLog,
    central: BooksCentralFunds,
    standby: TradingNode,
    accepted: Sequence[NodeEntry],
) -> None:
    standby.fill([Execution(e.order_id, e.quantity, e.price_milli) for e in accepted])
    report = check_conservation(
        uow=store.uow(),
        clock=clock,
        broker_id=DRILL_BROKER,
        business_date=DRILL_DAY,
        central=central,
        actor="conservation-check",
    )
    log.say(
        f"every accepted order fills; conservation check over {report.clients_checked} clients: "
        f"{len(report.breaches)} breaches",
        control="conservation check",
    )
    log.check("conservation holds after the fills", not report.breaches, f"{len(report.breaches)}")
    trading = write_batch(
        store.workdir / "trading",
        kind="trading",
        batch_id="TRADING-1",
        files={"executions.csv": _executions(accepted)},
    )
    clock.advance(timedelta(hours=8))
    import_batch(directory=trading, uow=store.uow(), tools=store.tools, at=clock.now())
    with store.read_uow() as uow:
        table = client_cash_balances(uow, DRILL_BROKER, DRILL_DAY)
    balances = dict(
        zip(
            table.column("fund_account").to_pylist(),
            table.column("balance").to_pylist(),
            strict=True,
        )
    )
    overdraft = sum(max(0, -int(balance)) for balance in balances.values())
    log.say(
        "after the day's clearing the books show "
        + ", ".join(f"{a} {money(int(balances[a]))}" for a in sorted(balances))
        + f"; overdraft {money(overdraft)} (the incident: {money(INCIDENT_OVERDRAFT_FEN)})",
        control="books invariant client_cash_must_not_go_negative",
    )
    log.check(
        "no overdraft after clearing", overdraft == 0 and len(balances) == 2, money(overdraft)
    )
