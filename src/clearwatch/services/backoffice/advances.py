"""The broker's advance (垫付): executions that overdraw a client are booked, because the exchange
filled them; the broker's own funds cover the shortfall against a receivable from the client,
the client is halted for the next business day, and the halt's alert names the cause."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from clearwatch.domain.backoffice import accounts as acc
from clearwatch.domain.backoffice.journal import (
    EntryKind,
    JournalEntry,
    Posting,
    Source,
    balanced_entry,
)
from clearwatch.domain.shared.calendar import BusinessCalendar
from clearwatch.domain.shared.money import format_fen
from clearwatch.services.backoffice.books_reference import client_cash_balances
from clearwatch.services.backoffice.ports import BackOfficeTools, BackOfficeUnitOfWork

ADVANCE_RULE = "client_cash_overdrawn_by_executions"  # the alert's cause, by name
HALTED_BY = "books"


@dataclass(frozen=True)
class Advance:
    """One client's shortfall after a trading batch, and where it came from."""

    fund_account: str
    shortfall_fen: int  # what the broker's own funds cover now (beyond earlier advances)
    balance_before_fen: int  # the client's cash before the batch
    trades_fen: int  # the batch's net cash change for the client (negative: it bought)
    executions: int  # the client's executions in the batch
    exec_id_first: str
    exec_id_last: str

    def evidence(self, *, batch_ref: str, entry_key: str) -> dict[str, Any]:
        """The alert: the rule, the batch and executions that overdrew, the figures."""
        return {
            "rule": ADVANCE_RULE,
            "cause": (
                f"executions {self.exec_id_first}..{self.exec_id_last} ({self.executions}) of "
                f"batch {batch_ref} overdrew {self.fund_account}: cash "
                f"{format_fen(self.balance_before_fen)}, trades {format_fen(self.trades_fen)}"
            ),
            "batch": batch_ref,
            "advance_entry": entry_key,
            "shortfall": format_fen(self.shortfall_fen),
            "balance_before": format_fen(self.balance_before_fen),
            "trades": format_fen(self.trades_fen),
        }


def advance_key(broker_id: str, day: date, batch_id: str) -> str:
    return f"advance:{broker_id}:{day.isoformat()}:{batch_id}"


def shortfalls(
    uow: BackOfficeUnitOfWork,
    tools: BackOfficeTools,
    *,
    broker_id: str,
    day: date,
    changes: pa.Table,
    executions: pa.Table,
) -> list[Advance]:
    """Clients the batch's net cash `changes` (fund_account, cash_fen) leave below zero by
    more than the broker already advanced them, with the batch's executions behind it."""
    balances = client_cash_balances(uow, broker_id, day)
    overdrawn = tools.engine.overdrawn(changes=changes, balances=balances)
    if not overdrawn.num_rows:
        return []
    owed = owed_by_clients(uow, broker_id, day)
    behind = _executions_behind(executions, overdrawn.column("fund_account"))
    found: list[Advance] = []
    for row in overdrawn.to_pylist():
        account = str(row["fund_account"])
        short = -(int(row["balance"]) + int(row["change"])) - owed.get(account, 0)
        if short <= 0:
            continue  # already covered by an earlier advance
        count, first, last = behind.get(account, (0, None, None))
        found.append(
            Advance(
                fund_account=account,
                shortfall_fen=short,
                balance_before_fen=int(row["balance"]),
                trades_fen=int(row["change"]),
                executions=count,
                exec_id_first=str(first),
                exec_id_last=str(last),
            )
        )
    return found


def _executions_behind(
    executions: pa.Table, accounts: pa.ChunkedArray
) -> dict[str, tuple[int, str, str]]:
    """Per overdrawn account: its executions in the batch, the first and the last exec_id.
    One pass over the batch for every overdrawn client together, not one pass per client."""
    mine = executions.filter(pc.is_in(executions.column("fund_account"), value_set=accounts))
    groups = mine.group_by("fund_account").aggregate(
        [("exec_id", "count", pc.CountOptions(mode="all")), ("exec_id", "min"), ("exec_id", "max")]
    )
    return {
        str(account): (int(count), str(first), str(last))
        for account, count, first, last in zip(
            groups.column("fund_account").to_pylist(),
            groups.column("exec_id_count").to_pylist(),
            groups.column("exec_id_min").to_pylist(),
            groups.column("exec_id_max").to_pylist(),
            strict=True,
        )
    }


def owed_by_clients(uow: BackOfficeUnitOfWork, broker_id: str, day: date) -> dict[str, int]:
    """What each client owes the broker for its advances, as of `day` (fen, by fund account)."""
    table = uow.books.balances(
        broker_id=broker_id, as_of=day, account_prefix="receivable:", asset=acc.CASH
    )
    return {
        str(account).partition(":")[2]: acc.natural_balance(str(account), int(quantity))
        for account, quantity in zip(
            table.column("account").to_pylist(), table.column("quantity").to_pylist(), strict=True
        )
        if quantity
    }


def post_advances(
    uow: BackOfficeUnitOfWork,
    *,
    broker_id: str,
    day: date,
    batch_id: str,
    batch_ref: str,
    advances: list[Advance],
    at: datetime,
) -> str:
    """One entry for the batch's advances: each client's receivable from the broker's own
    funds; each client halted on the next business day with the cause as the alert."""
    key = advance_key(broker_id, day, batch_id)
    postings = [
        Posting(acc.receivable(a.fund_account), acc.CASH, a.shortfall_fen) for a in advances
    ]
    postings.append(Posting(acc.OWN_FUNDS, acc.CASH, -sum(a.shortfall_fen for a in advances)))
    entry = JournalEntry(
        broker_id=broker_id,
        business_date=day,
        kind=EntryKind.ADVANCE,
        idempotency_key=key,
        source=Source(batch_ref=batch_ref),
        postings=tuple(postings),
        memo=f"垫付: own funds cover {len(advances)} overdrawn client(s)",
    )
    uow.books.post(balanced_entry(entry), recorded_at=at)
    # Trading on D is over when its executions arrive: the halt stops the client's next day.
    halt_day = BusinessCalendar().next_business_day(day)
    for advance in advances:
        uow.intraday.add_halt(
            broker_id=broker_id,
            business_date=halt_day,
            fund_account=advance.fund_account,
            evidence=advance.evidence(batch_ref=batch_ref, entry_key=key),
            raised_at=at,
            raised_by=HALTED_BY,
            cause=f"advance:{key}",  # one halt per advance entry, however often it is applied
        )
    return key
