"""Journal entries: balanced per asset, keyed for idempotency, traceable to their source."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class EntryKind(StrEnum):
    OPENING = "opening"
    TRADE_SETTLEMENT = "trade_settlement"  # a batch's executions, netted per client and asset
    BANK_TRANSFER = "bank_transfer"
    CASH_ADJUSTMENT = "cash_adjustment"
    CSDC_SETTLEMENT = "csdc_settlement"  # D's net paid from or into the reserve on D+1
    REVERSAL = "reversal"
    ADVANCE = "advance"  # 垫付: the broker's own funds cover a client's overdrawn cash


@dataclass(frozen=True)
class Posting:
    account: str
    asset: str
    quantity: int  # fen for CASH, shares for a security; debit-positive


@dataclass(frozen=True)
class Source:
    """Where an entry came from: a batch file (and line), or a user's request."""

    batch_ref: str | None = None  # "<broker_id>:<batch_id>"
    file_sha256: str | None = None
    line: int | None = None
    user: str | None = None
    detail_digest: str | None = None  # columnar object holding the rows behind the entry
    record_first: str | None = None  # e.g. the first and last exec_id netted into the entry
    record_last: str | None = None


@dataclass(frozen=True)
class JournalEntry:
    broker_id: str
    business_date: date
    kind: EntryKind
    idempotency_key: str
    source: Source
    postings: tuple[Posting, ...]
    memo: str = ""
    reverses_key: str | None = None


class EntryNotBalanced(ValueError):
    """An entry whose postings do not sum to zero for some asset: a bug, never input."""


def imbalances(postings: Iterable[Posting]) -> Mapping[str, int]:
    """Assets whose postings do not sum to zero, with the sum."""
    sums: dict[str, int] = defaultdict(int)
    for posting in postings:
        sums[posting.asset] += posting.quantity
    return {asset: total for asset, total in sorted(sums.items()) if total != 0}


def balanced_entry(entry: JournalEntry) -> JournalEntry:
    """The entry itself when it balances per asset; an `EntryNotBalanced` otherwise."""
    off = imbalances(entry.postings)
    if off:
        raise EntryNotBalanced(f"entry_must_balance_per_asset: {entry.idempotency_key} {off}")
    return entry


def reversal_of(entry: JournalEntry, *, business_date: date, user: str) -> JournalEntry:
    """The correcting entry: every posting negated, pointing at what it reverses."""
    return JournalEntry(
        broker_id=entry.broker_id,
        business_date=business_date,
        kind=EntryKind.REVERSAL,
        idempotency_key=f"reversal:{entry.idempotency_key}",
        source=Source(user=user),
        postings=tuple(Posting(p.account, p.asset, -p.quantity) for p in entry.postings),
        memo=f"reverses {entry.idempotency_key}",
        reverses_key=entry.idempotency_key,
    )


def merge_postings(postings: Iterable[Posting]) -> tuple[Posting, ...]:
    """One posting per (account, asset), zero sums dropped, in a stable order."""
    sums: dict[tuple[str, str], int] = defaultdict(int)
    for posting in postings:
        sums[(posting.account, posting.asset)] += posting.quantity
    return tuple(
        Posting(account, asset, quantity)
        for (account, asset), quantity in sorted(sums.items())
        if quantity != 0
    )
