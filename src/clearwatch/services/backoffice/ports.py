"""Ports of the back office: the books, the batches, the EOD step log, the engine, file reading."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa

from clearwatch.domain.audit.witness import PublishedHead
from clearwatch.domain.backoffice.account_status import AccountRecord
from clearwatch.domain.backoffice.batch_manifest import BatchManifest
from clearwatch.domain.backoffice.fees import FeeSchedule
from clearwatch.domain.backoffice.journal import JournalEntry
from clearwatch.domain.shared.errors import Refused
from clearwatch.domain.shared.file_schema import FileSpec
from clearwatch.services.access.ports import AccessUnitOfWork
from clearwatch.services.intraday.ports import IntradayRepository
from clearwatch.services.shared.ports import ColumnarStore
from clearwatch.services.watch.ports import FlowHalts


@dataclass(frozen=True)
class BatchRecord:
    batch_pk: int
    broker_id: str
    batch_id: str
    kind: str
    business_date: date
    content_sha256: str
    corrects_batch_id: str | None
    received_at: str
    status: str  # the latest status event
    files: int


@dataclass(frozen=True)
class AppliedFile:
    role: str
    business_date: date
    parquet_digest: str
    sha256: str
    batch_ref: str


@dataclass(frozen=True)
class BreakEvent:
    """What happened to a break: `matched` or `explained` by an operator, `approved` or
    `rejected` by a checker."""

    event: str
    actor: str
    note: str
    at: str


@dataclass(frozen=True)
class BreakRecord:
    """A difference found on a day (spec §6), with its evidence and what happened since."""

    break_pk: int
    broker_id: str
    business_date: date
    check: str  # e.g. `client_vs_bank`, `execution_on_closed_account`
    subject: str  # the client, special account or market concerned
    books_fen: int
    counterpart_fen: int
    evidence: Mapping[str, Any]
    raised_at: str
    events: tuple[BreakEvent, ...] = ()


class AccountRecordsRepository(Protocol):
    """Approved account changes and breaks: appended, never changed."""

    def account_records(self, broker_id: str) -> list[AccountRecord]: ...

    def add_account_record(
        self, broker_id: str, record: AccountRecord, *, approval_ref: str, at: datetime
    ) -> bool:
        """False (nothing added) when this approval was applied already."""
        ...

    def add_break(
        self,
        *,
        broker_id: str,
        business_date: date,
        check: str,
        subject: str,
        books_fen: int,
        counterpart_fen: int,
        evidence: Mapping[str, Any],
        at: datetime,
    ) -> bool:
        """False (nothing added) when the day already has a break of this check and subject."""
        ...

    def breaks(
        self, *, broker_id: str | None = None, business_date: date | None = None
    ) -> list[BreakRecord]: ...

    def break_record(self, break_pk: int) -> BreakRecord | None: ...

    def add_break_event(
        self, break_pk: int, *, event: str, actor: str, note: str, at: datetime
    ) -> None:
        """What happened to a break (appended; a break itself never changes)."""
        ...


class BooksRepository(AccountRecordsRepository, Protocol):
    """The journal: append entries, read balances; nothing is ever updated or deleted."""

    def has_entry(self, idempotency_key: str) -> bool: ...

    def post(self, entry: JournalEntry, *, recorded_at: datetime) -> int: ...

    def post_bulk(self, entry: JournalEntry, postings: pa.Table, *, recorded_at: datetime) -> int:
        """An entry whose many postings (account, asset, quantity) arrive as one Arrow table
        (`entry.postings` is not read). Raises `EntryNotBalanced`, posting nothing, unless
        they sum to zero per asset. Every read of the books answers as if they were posted
        one by one."""
        ...

    def entry(self, idempotency_key: str) -> JournalEntry | None: ...

    def applied_keys(self, broker_id: str, role: str, keys: Sequence[str]) -> set[str]: ...

    def post_records(
        self,
        entries: Sequence[JournalEntry],
        *,
        role: str,
        keys: Sequence[str],
        recorded_at: datetime,
    ) -> None:
        """Post one entry per record and mark each record key applied, in few statements:
        the same rows as posting each entry and recording its key applied, in order."""
        ...

    def balances(
        self,
        *,
        broker_id: str,
        as_of: date,
        account_prefix: str = "",
        asset: str | None = None,
        exclude_trades_on: date | None = None,
    ) -> pa.Table:
        """Σ postings per (account, asset) dated ≤ as_of: columns account, asset, quantity."""
        ...

    def cash_sums_by_class(self, *, broker_id: str, as_of: date) -> list[tuple[str, int]]:
        """Σ CASH postings dated ≤ as_of per account class, as (`<class>:`, Σ) pairs: the
        sums `balances(asset=CASH)` would give per account, added up per class in the
        database (a class is the text before the first `:`, the whole name if none)."""
        ...

    def unbalanced_entries(
        self,
        *,
        broker_id: str,
        batch_ref: str | None = None,
        business_date: date | None = None,
    ) -> list[tuple[str, str, int]]:
        """(entry key, asset, Σ) of entries that do not balance; only a batch's or a date's
        entries when named."""
        ...

    def negative_client_balances(
        self, *, broker_id: str, as_of: date
    ) -> list[tuple[str, str, int]]: ...

    def detail_digests(self, *, broker_id: str, kind: str, business_date: date) -> list[str]:
        """Columnar objects behind the entries of a kind on a date, in posting order."""
        ...

    def movements(
        self, *, broker_id: str, business_date: date, kind: str, account_prefix: str
    ) -> pa.Table:
        """Σ postings per (account, asset) of the entries of one kind on one date."""
        ...

    def books_digest(self, *, broker_id: str) -> str:
        """A hash of every entry key and posting, for comparing two runs' books."""
        ...


class BatchKeyTaken(Refused):
    """Another import committed this batch id, or a batch for the same kind, date and
    correction slot, first; raised by `BatchRepository.add`, nothing added."""

    def __init__(self, batch_ref: str) -> None:
        super().__init__("batch_key_must_be_free", batch_ref)


class BatchRepository(Protocol):
    def find(self, broker_id: str, batch_id: str) -> BatchRecord | None: ...

    def of_kind_and_date(
        self, broker_id: str, kind: str, business_date: date
    ) -> list[BatchRecord]: ...

    def add(
        self,
        manifest: BatchManifest,
        *,
        manifest_json: str,
        received_at: datetime,
        approval_ref: str | None,
    ) -> int:
        """Raises `BatchKeyTaken` (the transaction still usable) when the id or the kind and
        date slot is already taken: the database's unique indexes decide a race."""
        ...

    def add_status(
        self, batch_pk: int, *, status: str, at: datetime, actor: str, detail: dict[str, Any]
    ) -> None: ...

    def add_file(
        self,
        batch_pk: int,
        *,
        broker_id: str,
        role: str,
        sha256: str,
        rows: int,
        parquet_digest: str | None,
        duplicate_of: int | None,
    ) -> int: ...

    def applied_file_with(self, broker_id: str, role: str, sha256: str) -> int | None: ...

    def applied_files(
        self, broker_id: str, role: str, *, business_date: date | None = None
    ) -> list[AppliedFile]: ...

    def listing(self, broker_id: str | None = None) -> list[BatchRecord]: ...


class EodLog(Protocol):
    def completed_steps(self, broker_id: str, business_date: date) -> dict[str, dict[str, Any]]:
        """Each completed step with the detail of its latest completion."""
        ...

    def events(
        self, broker_id: str, business_date: date
    ) -> list[tuple[str, str, str, dict[str, Any]]]:
        """Every (step, event, at, detail) of the day's log in log order (the web's page)."""
        ...

    def record(
        self,
        broker_id: str,
        business_date: date,
        *,
        step: str,
        event: str,
        at: datetime,
        detail: dict[str, Any],
    ) -> None: ...


class BackOfficeUnitOfWork(AccessUnitOfWork, Protocol):
    """The back office's transaction; approvals (for corrections) live in the access area,
    and the halts an advance raises (垫付) in intraday control's store."""

    @property
    def books(self) -> BooksRepository: ...

    @property
    def intraday(self) -> IntradayRepository: ...

    @property
    def flow_halts(self) -> FlowHalts:
        """Flows the risk desk halted (issue 19): a withdrawal through one is refused."""
        ...

    @property
    def batches(self) -> BatchRepository: ...

    @property
    def eod(self) -> EodLog: ...


@dataclass(frozen=True)
class TradeClearing:
    """A trading batch's executions cleared: detail with fees, and the netted postings."""

    detail: pa.Table  # one row per execution with amount and every fee (fen)
    client_cash: pa.Table  # fund_account, cash_fen (signed), sell_proceeds_fen
    holdings: pa.Table  # fund_account, asset, quantity (signed shares)
    counters: pa.Table  # account, quantity: the broker-side cash postings (debit-positive)
    custody: pa.Table  # market, asset, quantity: securities delivered by CSDC (debit-positive)
    exec_id_first: str
    exec_id_last: str


class BatchFileReader(Protocol):
    """Batch files, each read once: the bytes hashed against the manifest are the bytes
    parsed; a symbolic link, a missing file or another hash is `BatchRejected`."""

    def read(
        self, path: Path, spec: FileSpec, *, encoding: str, rows: int, sha256: str
    ) -> pa.Table:
        """Typed rows of a batch file, or `BatchRejected` naming file, line and column of
        every error found (up to the cap)."""
        ...

    def count_rows(self, path: Path, *, encoding: str, sha256: str) -> int: ...


class BackOfficeEngine(Protocol):
    """The row work: one engine expression per step, never a Python loop per row."""

    def clear_trades(
        self, *, executions: pa.Table, clients: pa.Table, schedule: FeeSchedule
    ) -> TradeClearing: ...

    def oversold(self, *, executions: pa.Table, sellable: pa.Table) -> pa.Table:
        """Rows (fund_account, asset, sold, sellable) where a sale exceeds sellable shares."""
        ...

    def current_clients(self, *, tables: Sequence[str], store: ColumnarStore) -> pa.Table: ...

    def write_statements(
        self, *, detail_uris: Sequence[str], clients: pa.Table, path: Path
    ) -> int: ...

    def first_unknown_account(self, *, rows: pa.Table, clients: pa.Table) -> int | None: ...

    def overdrawn(self, *, changes: pa.Table, balances: pa.Table) -> pa.Table:
        """(fund_account, change, balance) where balance + change < 0."""
        ...

    def plan_opening(
        self, *, opening: pa.Table, clients: pa.Table, special_accounts: pa.Table
    ) -> tuple[pa.Table, int | None, int]:
        """(postings, first line with an unknown account, client cash − funds held)."""
        ...

    def first_rate_above(
        self, *, clients: pa.Table, numerator_max: int, default_rate_text: str
    ) -> int | None: ...

    def new_executions(self, *, executions: pa.Table, previous_uris: Sequence[str]) -> pa.Table: ...

    def format_money_table(self, table: pa.Table, money_columns: Sequence[str]) -> pa.Table: ...

    def write_csv(self, table: pa.Table, path: Path) -> tuple[str, int]:
        """Write the table as CSV (header, comma, UTF-8) at once; return (sha256, rows)."""
        ...

    def sold_shares(self, *, detail_uris: Sequence[str]) -> pa.Table:
        """(fund_account, asset, sold) over cleared executions."""
        ...

    def sale_proceeds(self, *, detail_uris: Sequence[str]) -> pa.Table:
        """(fund_account, proceeds_fen): net cash from sales over cleared executions."""
        ...

    def settlement_summary(self, *, detail_uris: Sequence[str]) -> pa.Table:
        """Per market: buy_fen, sell_fen, fees_fen (non-commission), net_due_fen."""
        ...


@dataclass(frozen=True)
class BackOfficeTools:
    """What the back-office use cases need besides the unit of work."""

    store: ColumnarStore
    reader: BatchFileReader
    engine: BackOfficeEngine
    schedule: FeeSchedule  # fees and the transfer approval threshold, versioned by its hash
    # Signs the audit log's head now, for the broker_daily package to carry (issue 17); None
    # when the application keeps no anchored log (tests that build tools alone).
    audit_head: Callable[[], PublishedHead | None] | None = None
