"""Reconciliation (spec §6): the books against sources that are not the books.

- per client: the books' cash against the bank's depository statement (第三方存管), and the
  trading nodes' start-of-day allocation against the central books;
- per special account: the book balance, and the day's movement, against the bank's
  balances and transactions;
- per market: the reserve, and D's net settlement, against CSDC's settlement statement.

Statements arrive as `bank_statement` and `csdc_statement` batches, stored and never posted.
Each difference becomes a break with its evidence, open until an operator matches or explains
it and a checker approves (`services/backoffice/breaks.py`). The per-client comparison is one
Arrow join: only the differences reach Python, so two million clients cost a join.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from clearwatch.domain.backoffice import accounts as acc
from clearwatch.domain.backoffice.journal import EntryKind
from clearwatch.domain.shared.file_schema import MARKETS
from clearwatch.domain.shared.kinds import AuditAction
from clearwatch.domain.shared.money import format_fen
from clearwatch.services.audit.audit_log import record_audit
from clearwatch.services.backoffice.books_reference import (
    client_cash_balances,
    current_clients,
    current_special_accounts,
    net_settlement,
)
from clearwatch.services.backoffice.ports import BackOfficeTools, BackOfficeUnitOfWork

CLIENT_VS_BANK = "client_vs_bank"
NODE_VS_CENTRAL = "node_vs_central"
SPECIAL_VS_BANK = "special_account_vs_bank"
MOVEMENT_VS_BANK = "special_movement_vs_bank"
RESERVE_VS_CSDC = "reserve_vs_csdc"
NET_SETTLEMENT_VS_CSDC = "net_settlement_vs_csdc"
CHECKS = (
    CLIENT_VS_BANK,
    NODE_VS_CENTRAL,
    SPECIAL_VS_BANK,
    MOVEMENT_VS_BANK,
    RESERVE_VS_CSDC,
    NET_SETTLEMENT_VS_CSDC,
)
# A statement of the wrong day would differ on every client: the first breaks are raised one
# by one, and one more break counts the rest, so the desk is told without a million rows.
breaks_per_check_max = 10_000
ids_listed_max = 20  # evidence names at most this many transactions
MORE_SUBJECT = "*more*"
RECONCILER = "reconciliation"


@dataclass(frozen=True)
class Difference:
    subject: str  # a fund account, a special account number, a market
    books_fen: int
    counterpart_fen: int
    evidence: Mapping[str, Any]


@dataclass(frozen=True)
class Compared:
    """One check of one day: what the books were compared with, and where they differ."""

    check: str
    source: str  # the statement batch, or `nodes`
    compared: int  # subjects compared
    books_fen: int  # Σ of the books' side
    counterpart_fen: int  # Σ of the other side
    differences: tuple[Difference, ...]


@dataclass(frozen=True)
class _Statement:
    table: pa.Table  # the stored rows, with `line`: the file's line (the header is line 1)
    evidence: dict[str, Any]  # batch, file, sha256

    @property
    def source(self) -> str:
        return str(self.evidence["statement"])


def compare_day(
    uow: BackOfficeUnitOfWork, tools: BackOfficeTools, broker_id: str, day: date
) -> list[Compared]:
    """Every check whose other side arrived for the day (inside an open unit of work)."""
    found: list[Compared] = []
    found += _bank_checks(uow, tools, broker_id, day)
    nodes = _node_check(uow, broker_id, day)
    if nodes is not None:
        found.append(nodes)
    found += _csdc_checks(uow, tools, broker_id, day)
    order = {check: rank for rank, check in enumerate(CHECKS)}
    return sorted(found, key=lambda c: order[c.check])


def raise_breaks(
    uow: BackOfficeUnitOfWork, broker_id: str, day: date, compared: list[Compared], at: datetime
) -> int:
    """One break per difference (a re-run finds the same and adds nothing); how many new."""
    raised = 0
    for result in compared:
        for difference in result.differences:
            evidence = {
                "check": result.check,
                "source": result.source,
                "books": format_fen(difference.books_fen),
                "counterpart": format_fen(difference.counterpart_fen),
                "difference": format_fen(difference.books_fen - difference.counterpart_fen),
                **difference.evidence,
            }
            added = uow.books.add_break(
                broker_id=broker_id,
                business_date=day,
                check=result.check,
                subject=difference.subject,
                books_fen=difference.books_fen,
                counterpart_fen=difference.counterpart_fen,
                evidence=evidence,
                at=at,
            )
            if added:
                raised += 1
                record_audit(
                    uow,
                    actor=RECONCILER,
                    action=AuditAction.BREAK_RAISED,
                    object_ref=f"break:{broker_id}:{day}:{result.check}:{difference.subject}",
                    payload=evidence,
                    recorded_at=at,
                )
    return raised


def _statement(
    uow: BackOfficeUnitOfWork, tools: BackOfficeTools, broker_id: str, role: str, day: date
) -> _Statement | None:
    files = uow.batches.applied_files(broker_id, role, business_date=day)
    if not files:
        return None
    latest = files[-1]  # an approved correction comes after what it corrects
    table = tools.store.read_table(latest.parquet_digest)  # the reader kept each row's `line`
    evidence = {"statement": latest.batch_ref, "file": role, "sha256": latest.sha256}
    return _Statement(table, evidence)


def _of_broker(statement: _Statement | None, broker_id: str) -> _Statement | None:
    """Only the broker's rows: a bank's file may hold every broker it serves."""
    if statement is None:
        return None
    table = statement.table
    return _Statement(table.filter(pc.equal(table["broker_id"], broker_id)), statement.evidence)


def _bank_checks(
    uow: BackOfficeUnitOfWork, tools: BackOfficeTools, broker_id: str, day: date
) -> list[Compared]:
    """Clients and special accounts against the bank's statement, for the banks it covers.

    Missing data is not a difference (as the monitor reads it): a bank whose clients and
    accounts the statement never names has not reported, and is not compared."""
    depository = _of_broker(
        _statement(uow, tools, broker_id, "client_depository.csv", day), broker_id
    )
    balances = _of_broker(
        _statement(uow, tools, broker_id, "special_account_balances.csv", day), broker_id
    )
    transactions = _statement(uow, tools, broker_id, "special_account_transactions.csv", day)
    if depository is None and balances is None and transactions is None:
        return []
    clients = current_clients(uow, tools, broker_id).select(["fund_account", "bank_id"])
    specials = current_special_accounts(uow, tools, broker_id)
    covered = _covered_banks(clients, specials, depository, balances, transactions)
    found = []
    if depository is not None:
        found.append(_clients_vs_bank(uow, broker_id, day, depository, clients, covered))
    accounts = specials.filter(pc.is_in(specials["bank_id"], value_set=covered))
    if balances is not None:
        found.append(_special_vs_bank(uow, broker_id, day, balances, accounts))
    if transactions is not None:
        found.append(_movement_vs_bank(uow, broker_id, day, transactions, accounts))
    return found


def _covered_banks(
    clients: pa.Table,
    specials: pa.Table,
    depository: _Statement | None,
    balances: _Statement | None,
    transactions: _Statement | None,
) -> pa.Array:
    banks: set[str] = set()
    if depository is not None:
        listed = pc.is_in(clients["fund_account"], value_set=depository.table["fund_account"])
        banks.update(pc.unique(clients.filter(listed)["bank_id"]).to_pylist())
    for statement in (balances, transactions):
        if statement is not None:
            listed = pc.is_in(specials["account_no"], value_set=statement.table["account_no"])
            banks.update(pc.unique(specials.filter(listed)["bank_id"]).to_pylist())
    return pa.array(sorted(banks), pa.string())


def _clients_vs_bank(
    uow: BackOfficeUnitOfWork,
    broker_id: str,
    day: date,
    depository: _Statement,
    clients: pa.Table,
    covered: pa.Array,
) -> Compared:
    """Each client's cash against the bank's depository balance. An overdrawn client's bank
    balance is 0: the overdraft is the advance's alert (垫付), not a second break."""
    mine = clients.filter(pc.is_in(clients["bank_id"], value_set=covered))
    cash = client_cash_balances(uow, broker_id, day)
    books = mine.select(["fund_account"]).join(cash, "fund_account", join_type="left outer")
    bank = depository.table
    joined = books.join(
        pa.table(
            {"fund_account": bank["fund_account"], "bank": bank["balance"], "line": bank["line"]}
        ),
        "fund_account",
        join_type="full outer",
    )
    raw = pc.fill_null(joined["balance"], 0)
    books_side = pc.max_element_wise(raw, pa.scalar(0, pa.int64()))
    bank_side = pc.fill_null(joined["bank"], 0)
    table = pa.table(
        {
            "subject": joined["fund_account"],
            "books": books_side,
            "counterpart": bank_side,
            "books_cash": raw,
            "line": joined["line"],
        }
    )
    differs = table.filter(pc.not_equal(books_side, bank_side))
    return Compared(
        CLIENT_VS_BANK,
        depository.source,
        table.num_rows,
        _total(books_side),
        _total(bank_side),
        _differences(differs, depository.evidence, books_as_of=day.isoformat()),
    )


def _total(values: pa.ChunkedArray | pa.Array) -> int:
    return int(pc.sum(values).as_py() or 0)


def _differences(differs: pa.Table, base: Mapping[str, Any], **more: Any) -> tuple[Difference, ...]:
    """The differing rows as breaks' figures: the first `breaks_per_check_max`, then one that
    counts the rest."""
    listed = differs.slice(0, breaks_per_check_max)
    found = []
    for row in listed.to_pylist():
        subject, books, counterpart = row.pop("subject"), row.pop("books"), row.pop("counterpart")
        evidence = {**base, **more, **{k: v for k, v in row.items() if v is not None}}
        found.append(Difference(str(subject), int(books), int(counterpart), evidence))
    rest = differs.slice(breaks_per_check_max)
    if rest.num_rows:
        evidence = {**base, **more, "differences_not_listed": rest.num_rows}
        found.append(
            Difference(MORE_SUBJECT, _total(rest["books"]), _total(rest["counterpart"]), evidence)
        )
    return tuple(found)


def _pairs(
    check: str,
    source: str,
    books: Mapping[str, int],
    other: Mapping[str, int],
    evidence: Mapping[str, Mapping[str, Any]],
) -> Compared:
    """A few subjects (accounts, markets) compared as dictionaries; absent counts 0."""
    subjects = sorted(set(books) | set(other))
    differences = tuple(
        Difference(s, books.get(s, 0), other.get(s, 0), dict(evidence.get(s, {})))
        for s in subjects
        if books.get(s, 0) != other.get(s, 0)
    )
    return Compared(
        check, source, len(subjects), sum(books.values()), sum(other.values()), differences
    )


def _special_books(
    uow: BackOfficeUnitOfWork, broker_id: str, day: date, accounts: pa.Table
) -> dict[str, int]:
    raw = uow.books.balances(
        broker_id=broker_id, as_of=day, account_prefix="special:", asset=acc.CASH
    )
    held = dict(zip(raw["account"].to_pylist(), raw["quantity"].to_pylist(), strict=True))
    return {str(no): int(held.get(acc.special(no), 0)) for no in accounts["account_no"].to_pylist()}


def _special_vs_bank(
    uow: BackOfficeUnitOfWork,
    broker_id: str,
    day: date,
    balances: _Statement,
    accounts: pa.Table,
) -> Compared:
    """Each special account's book balance against the bank's (an account the bank holds
    for the broker and the books lack counts 0 in the books)."""
    bank: dict[str, int] = {}
    evidence: dict[str, dict[str, Any]] = {}
    for row in balances.table.select(["account_no", "balance", "line"]).to_pylist():
        bank[str(row["account_no"])] = int(row["balance"])
        evidence[str(row["account_no"])] = {**balances.evidence, "line": row["line"]}
    books = _special_books(uow, broker_id, day, accounts)
    for account in books:
        evidence.setdefault(account, dict(balances.evidence))
    return _pairs(SPECIAL_VS_BANK, balances.source, books, bank, evidence)


def _movement_vs_bank(
    uow: BackOfficeUnitOfWork,
    broker_id: str,
    day: date,
    transactions: _Statement,
    accounts: pa.Table,
) -> Compared:
    """Each special account's movement on D in the books (every entry but the opening one)
    against the bank's transactions of D: in − out."""
    numbers = accounts["account_no"]
    table = transactions.table.filter(pc.is_in(transactions.table["account_no"], numbers))
    signed = pc.if_else(
        pc.equal(table["direction"], "in"), table["amount"], pc.negate(table["amount"])
    )
    bank: dict[str, int] = {}
    ids: dict[str, list[str]] = {}
    for account, amount, txn in zip(
        table["account_no"].to_pylist(),
        signed.to_pylist(),
        table["txn_id"].to_pylist(),
        strict=True,
    ):
        bank[account] = bank.get(account, 0) + int(amount)
        ids.setdefault(account, []).append(str(txn))
    books = {str(no): 0 for no in numbers.to_pylist()}
    for kind in EntryKind:
        if kind is EntryKind.OPENING:
            continue
        moved = uow.books.movements(
            broker_id=broker_id, business_date=day, kind=kind.value, account_prefix="special:"
        )
        for account, asset, quantity in zip(
            moved["account"].to_pylist(),
            moved["asset"].to_pylist(),
            moved["quantity"].to_pylist(),
            strict=True,
        ):
            number = str(account).removeprefix("special:")
            if asset == acc.CASH and number in books:
                books[number] += int(quantity)
    evidence = {
        account: {
            **transactions.evidence,
            "transactions": len(ids.get(account, [])),
            "txn_ids": ids.get(account, [])[:ids_listed_max],
        }
        for account in set(books) | set(bank)
    }
    return _pairs(MOVEMENT_VS_BANK, transactions.source, books, bank, evidence)


def _node_check(uow: BackOfficeUnitOfWork, broker_id: str, day: date) -> Compared | None:
    """Per client, what the trading nodes were allocated at the start of D against the
    central books' available cash then (every entry dated before D; a client overdrawn
    has none). Only clients some node took are compared."""
    allocated = uow.intraday.allocated_cash(broker_id=broker_id, business_date=day)
    if not allocated:
        return None
    by_client: dict[str, dict[str, int]] = {}
    for node, account, cash in allocated:
        by_client.setdefault(account, {})[node] = cash
    before = client_cash_balances(uow, broker_id, day - timedelta(days=1))
    central = {
        str(account): max(0, int(balance))
        for account, balance in zip(
            before["fund_account"].to_pylist(), before["balance"].to_pylist(), strict=True
        )
        if account in by_client
    }
    nodes = {account: sum(by_node.values()) for account, by_node in by_client.items()}
    evidence = {
        account: {"by_node": dict(sorted(by_node.items())), "central_as_of": str(day - _DAY)}
        for account, by_node in by_client.items()
    }
    # The books are the central side here: `books` is central, `counterpart` the nodes.
    return _pairs(NODE_VS_CENTRAL, "nodes", {a: central.get(a, 0) for a in nodes}, nodes, evidence)


def _csdc_checks(
    uow: BackOfficeUnitOfWork, tools: BackOfficeTools, broker_id: str, day: date
) -> list[Compared]:
    """Per market, the reserve and D's net settlement against CSDC's settlement statement."""
    statement = _statement(uow, tools, broker_id, "settlement.csv", day)
    if statement is None:
        return []
    rows = statement.table.to_pylist()
    evidence = {str(r["market"]): {**statement.evidence, "line": r["line"]} for r in rows}
    reserve = {str(r["market"]): int(r["reserve_balance"]) for r in rows}
    net = {str(r["market"]): int(r["net_settlement"]) for r in rows}
    held = uow.books.balances(
        broker_id=broker_id, as_of=day, account_prefix="reserve:", asset=acc.CASH
    )
    books_reserve = {m: 0 for m in MARKETS}
    for account, quantity in zip(
        held["account"].to_pylist(), held["quantity"].to_pylist(), strict=True
    ):
        books_reserve[str(account).removeprefix("reserve:")] = int(quantity)
    books_net = {m: 0 for m in MARKETS} | net_settlement(uow, broker_id, day)
    return [
        _pairs(RESERVE_VS_CSDC, statement.source, books_reserve, reserve, evidence),
        _pairs(NET_SETTLEMENT_VS_CSDC, statement.source, books_net, net, evidence),
    ]


_DAY = timedelta(days=1)
