"""Drill: the exchange fills buys beyond a client's cash; the broker advances its own funds (垫付).

What the spec asks (backoffice.md §3): the trades happened, so the books take them; an entry
from the broker's own funds to a receivable from the client covers the shortfall; the client is
halted and an alert names the cause; the `broker_daily` package shows the negative balance, so
the monitor raises F2/G3. The drill runs the real end of day, a trading node of the next day,
and (when the entrypoint hands it one) the regulator's monitor in a store of its own.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from clearwatch.domain.backoffice import accounts as acc
from clearwatch.domain.intraday.book import Order, Refusal
from clearwatch.domain.intraday.fee_estimates import fee_rates
from clearwatch.domain.shared.calendar import SHANGHAI, BusinessCalendar
from clearwatch.domain.shared.kinds import Side
from clearwatch.domain.shared.money import format_fen, parse_fen
from clearwatch.services.backoffice.advances import owed_by_clients
from clearwatch.services.backoffice.books_check import check_books
from clearwatch.services.backoffice.books_reference import client_cash_balances
from clearwatch.services.backoffice.run_eod import EodReport, EodRequest, run_eod
from clearwatch.services.drills.harness import (
    DRILL_BANK,
    DRILL_BROKER,
    DRILL_DAY,
    DrillClock,
    DrillLog,
    DrillReport,
    DrillStore,
    audit_intact,
    money,
    register_people,
    static_batch,
    write_batch,
)
from clearwatch.services.intraday.central_funds import BooksCentralFunds
from clearwatch.services.intraday.trading_node import TradingNode

CASH_FEN = {"F0001": 10_000_000_00, "F0002": 500_000_00}
OVERDRAWN = "F0002"
SHARES = 100_000  # bought at 10.00: 1,000,000.00 against 500,000.00 of cash
PRICE = "10.00"
# Fees of the buy (backoffice.md §3): commission 250.00, transfer 10.00, handling 34.10,
# regulatory 20.00; the client is short by the amount and fees less its cash.
SHORTFALL_FEN = 1_000_314_10 - CASH_FEN[OVERDRAWN]
CSDC_ID = "CSDC"
REGION = "CN-SH"


class DrillMonitor(Protocol):
    """The regulator's monitor, a deployment of its own: it loads the registry, receives the
    day's packages and runs the day, returning the run-day document (monitoring.md §7)."""

    def judge(
        self, *, registry: Path, packages: Sequence[Path], business_date: date, at: datetime
    ) -> Mapping[str, Any]: ...


def run_overdraft_advance_drill(
    *, store: DrillStore, monitor: DrillMonitor | None = None
) -> DrillReport:
    log = DrillLog(clients=frozenset(CASH_FEN))
    clock = DrillClock(datetime.combine(DRILL_DAY, datetime.min.time(), SHANGHAI))
    clock.advance(timedelta(hours=17, minutes=30))
    register_people(store, clock.now())
    report = _end_of_day(store, clock, log)
    _books(store, log)
    _halt(store, clock, log)
    package = report.out_dir / "package"
    _package(log, package)
    if monitor is not None:
        _monitor(store, log, monitor, package)
    audit_intact(store, log)
    return DrillReport("overdraft-advance", tuple(log.lines), tuple(log.checks), log.clients)


def _end_of_day(store: DrillStore, clock: DrillClock, log: DrillLog) -> EodReport:
    inbox = store.workdir / "inbox"
    static_batch(inbox / "static", cash_by_client=CASH_FEN)
    fill = ["E0001", "SH", "600000", "B", str(SHARES), PRICE, OVERDRAWN, "O1"]
    write_batch(
        inbox / "trading",
        kind="trading",
        batch_id="TRADING-1",
        files={"executions.csv": [[*fill, f"{DRILL_DAY.isoformat()}T14:50:00+08:00"]]},
    )
    log.say(
        f"{OVERDRAWN} holds {money(CASH_FEN[OVERDRAWN])}; the exchange reports a fill of "
        f"{SHARES:,} SH.600000 at {PRICE} for it (an order no sufficiency check stopped): "
        f"1,000,000.00 plus fees"
    )
    request = EodRequest(
        business_date=DRILL_DAY, inbox=inbox, out_root=store.workdir / "out", broker_id=DRILL_BROKER
    )
    report = run_eod(uow=store.uow(), tools=store.tools, clock=clock, request=request)
    statuses = [result.status.value for result in report.imports]
    advances = [a for result in report.imports for a in result.advances]
    log.say(
        f"end of day imports {len(statuses)} batches ({', '.join(statuses)}) and books the "
        f"fill; {len(advances)} advance: {advances[0]['cause'] if advances else 'none'}",
        control="the books take what the exchange filled (垫付)",
    )
    log.check(
        "the overdrawing trading batch is booked, not refused",
        statuses == ["applied", "applied"] and len(advances) == 1,
        ", ".join(statuses),
    )
    return report


def _books(store: DrillStore, log: DrillLog) -> None:
    with store.read_uow() as uow:
        cash = client_cash_balances(uow, DRILL_BROKER, DRILL_DAY)
        owed = owed_by_clients(uow, DRILL_BROKER, DRILL_DAY)
        own = uow.books.balances(
            broker_id=DRILL_BROKER, as_of=DRILL_DAY, account_prefix=acc.OWN_FUNDS, asset=acc.CASH
        )
        breaches = check_books(uow=uow, broker_id=DRILL_BROKER, as_of=DRILL_DAY)
    balances = dict(
        zip(
            cash.column("fund_account").to_pylist(), cash.column("balance").to_pylist(), strict=True
        )
    )
    own_fen = acc.natural_balance(acc.OWN_FUNDS, sum(own.column("quantity").to_pylist()))
    log.say(
        f"the books: {OVERDRAWN} cash {money(balances[OVERDRAWN])}, receivable from "
        f"{OVERDRAWN} {money(owed.get(OVERDRAWN, 0))}, broker's own funds advanced "
        f"{money(own_fen)}; F0001 keeps {money(balances['F0001'])}",
        control="double entry: own funds → receivable from the client",
    )
    log.check(
        "own funds cover the shortfall exactly",
        balances[OVERDRAWN] == -SHORTFALL_FEN
        and owed == {OVERDRAWN: SHORTFALL_FEN}
        and own_fen == SHORTFALL_FEN,
        money(SHORTFALL_FEN),
    )
    log.check(
        "another client's money does not pay for the overdraft",
        balances["F0001"] == CASH_FEN["F0001"],
        f"F0001 {money(balances['F0001'])}",
    )
    log.say(f"broker check: {len(breaches)} breaches", control="books invariants")
    log.check("the books hold with the advance", not breaches, f"{len(breaches)} breaches")


def _halt(store: DrillStore, clock: DrillClock, log: DrillLog) -> None:
    next_day = BusinessCalendar().next_business_day(DRILL_DAY)
    with store.read_uow() as uow:
        halts = uow.intraday.halts(business_date=next_day)
    cause = halts[0].evidence.get("rule", "") if halts else ""
    log.say(
        f"{OVERDRAWN} is halted for {next_day}: "
        + "; ".join(f"{h.fund_account} {h.evidence.get('cause', '')}" for h in halts),
        control=str(cause) or None,
    )
    opening = datetime.combine(next_day, datetime.min.time(), SHANGHAI) + timedelta(hours=9)
    clock.advance(opening - clock.now())  # the next business day's morning
    node = TradingNode(
        uow_factory=store.uow,
        clock=clock,
        node_id="fast-1",
        instance_id="fast-1@host-a",
        broker_id=DRILL_BROKER,
        business_date=next_day,
        rates=fee_rates(store.tools.schedule),
        lease_ttl=timedelta(minutes=2),
    )
    node.acquire()
    node.start_of_day(central=BooksCentralFunds(store.read_uow, store.tools))
    outcome = node.submit([Order("N1", OVERDRAWN, Side.BUY, "SH.600000", 100, 10_000)])[0]
    refused = outcome.rejection.value if isinstance(outcome, Refusal) else "accepted"
    log.say(
        f"{next_day} 09:00 a trading node starts the day; {OVERDRAWN} orders 100 shares: {refused}",
        control=refused,
    )
    log.check(
        "the client is halted with the cause, and its next order refused",
        [h.fund_account for h in halts] == [OVERDRAWN]
        and cause == "client_cash_overdrawn_by_executions"
        and refused == "client_trading_must_not_be_halted",
        refused,
    )


def _package(log: DrillLog, package: Path) -> None:
    with (package / "client_funds.csv").open(encoding="utf-8", newline="") as handle:
        rows = {row["fund_account"]: row["balance"] for row in csv.DictReader(handle)}
    shown = rows.get(OVERDRAWN, "")
    log.say(f"broker_daily client_funds.csv: {OVERDRAWN} balance {shown}")
    log.check(
        "the package shows the negative balance",
        shown == f"-{format_fen(SHORTFALL_FEN)}",
        shown,
    )


def _monitor(store: DrillStore, log: DrillLog, monitor: DrillMonitor, package: Path) -> None:
    """The monitor compares the broker's package with the bank's and CSDC's for the day."""
    registry = _registry(store.workdir / "registry")
    bank = _bank_package(store.workdir / "bank")
    csdc = _package_dir(
        store.workdir / "csdc",
        "csdc_daily",
        CSDC_ID,
        {
            "settlement_reserve.csv": [
                ["broker_id", "market", "balance", "net_settlement"],
                [DRILL_BROKER, "SH", "0.00", _net_settlement(package, "SH")],
            ]
        },
    )
    at = datetime.combine(DRILL_DAY, datetime.min.time(), SHANGHAI) + timedelta(hours=18)
    document = monitor.judge(
        registry=registry, packages=[package, bank, csdc], business_date=DRILL_DAY, at=at
    )
    broker: Mapping[str, Any] = next(
        (i for i in document["institutions"] if i["institution_id"] == DRILL_BROKER), {}
    )
    findings = {f["code"]: f["amount"] for f in broker.get("findings", []) if f["code"] != "F9"}
    criteria = sorted({c for w in broker.get("warnings", []) for c in w["criteria"]})
    levels = sorted({w["level"] for w in broker.get("warnings", [])})
    log.say(
        f"the monitor's run for {DRILL_DAY}: {DRILL_BROKER} findings {findings}, "
        f"warning {'/'.join(levels) or 'none'} {criteria}",
        control="monitor F2 OVERDRAFT → G3; F3 FUND_GAP → G1",
    )
    log.check(
        "the monitor raises F2/G3 for the overdraft",
        findings.get("F2") == format_fen(SHORTFALL_FEN) and "G3" in criteria,
        f"F2 {money(parse_fen(findings.get('F2', '0.00')))}, {', '.join(criteria)}",
    )
    # The advance is a claim on the client, not money: until the broker's own money reaches
    # the reserve, D+1's settlement would take the shortfall from other clients' money (less
    # the commission still held), and F3 says so (docs/decisions.md, issue #16 continued).
    log.check(
        "the monitor sees the gap the unfunded advance leaves (F3/G1)",
        parse_fen(findings.get("F3", "0.00")) > 0 and "G1" in criteria,
        f"F3 {money(parse_fen(findings.get('F3', '0.00')))}",
    )


def _net_settlement(package: Path, market: str) -> str:
    """CSDC's net settlement of D for the market: here the broker's own figure, as CSDC
    computes it from the same fills (an F7 difference is not this drill's subject)."""
    with (package / "settlement_reserve.csv").open(encoding="utf-8", newline="") as handle:
        rows = {row["market"]: row["net_settlement"] for row in csv.DictReader(handle)}
    return rows[market]


def _registry(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "institutions.csv").write_text(
        "institution_id,kind,name,region\n"
        f"{DRILL_BROKER},broker,Drill Securities,{REGION}\n"
        f"{DRILL_BANK},bank,Drill Bank,{REGION}\n"
        f"{CSDC_ID},csdc,China Securities Depository and Clearing,CN-BJ\n",
        "utf-8",
    )
    (directory / "special_accounts.csv").write_text(
        "account_no,bank_id,broker_id,purpose,branch_region,filed_on\n"
        f"SA001,{DRILL_BANK},{DRILL_BROKER},client_settlement,{REGION},2026-01-05\n",
        "utf-8",
    )
    return directory


def _bank_package(directory: Path) -> Path:
    """The bank holds every yuan the clients deposited; its depository shows no debt."""
    total = format_fen(sum(CASH_FEN.values()))
    depository = [
        [
            DRILL_BROKER,
            account,
            f"C-{account}",
            format_fen(max(cash, 0) if account != OVERDRAWN else 0),
        ]
        for account, cash in CASH_FEN.items()
    ]
    return _package_dir(
        directory,
        "bank_daily",
        DRILL_BANK,
        {
            "special_account_balances.csv": [
                ["account_no", "broker_id", "purpose", "branch_region", "balance"],
                ["SA001", DRILL_BROKER, "client_settlement", REGION, total],
            ],
            "special_account_transactions.csv": [
                [
                    "txn_id",
                    "account_no",
                    "booked_at",
                    "direction",
                    "amount",
                    "counterparty_account",
                    "counterparty_kind",
                ]
            ],
            "client_depository.csv": [
                ["broker_id", "fund_account", "client_id", "balance"],
                *depository,
            ],
            "fund_actions.csv": [
                [
                    "action_id",
                    "broker_id",
                    "fund_account",
                    "action",
                    "amount",
                    "initiator",
                    "legal_basis",
                    "branch_region",
                ]
            ],
        },
    )


def _package_dir(
    directory: Path, kind: str, institution: str, files: Mapping[str, Sequence[Sequence[str]]]
) -> Path:
    """A `clearwatch.package/1` directory (monitoring.md §2); the first row of each file is
    its header."""
    directory.mkdir(parents=True, exist_ok=True)
    entries = []
    for name, rows in files.items():
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(rows)
        data = buffer.getvalue().encode("utf-8")
        (directory / name).write_bytes(data)
        digest = hashlib.sha256(data).hexdigest()
        entries.append({"name": name, "sha256": digest, "rows": len(rows) - 1})
    manifest = {
        "format": "clearwatch.package/1",
        "kind": kind,
        "institution_id": institution,
        "business_date": DRILL_DAY.isoformat(),
        "sequence": 1,
        "encoding": "utf-8",
        "files": entries,
    }
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=2), "utf-8")
    return directory
