"""The postings of bulk entries, kept as Parquet in the columnar store and read with DuckDB.

A bulk entry (a day's trades netted per client, the opening balances) has millions of
postings. Inserting them as relational rows cost most of an end of day, and so did scanning
them back. Here each bulk entry's postings are one content-addressed Parquet object, sorted
by (account, asset); the entry row in the database carries its digest. Readers sum them with
DuckDB, after checking the object's hash as the store's own reads do.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.ipc as ipc

from clearwatch.adapters.columnar import ParquetStore
from clearwatch.adapters.columnar_keys import duckdb_parquet_scan
from clearwatch.domain.backoffice.journal import EntryNotBalanced
from clearwatch.domain.shared.kinds import CASH

if TYPE_CHECKING:
    import duckdb

POSTINGS_SCHEMA = pa.schema(
    [("account", pa.string()), ("asset", pa.string()), ("quantity", pa.int64())]
)
SUMS_KEPT = 6  # e.g. client sums before and after a batch's posting, a few small classes
SEARCHES_KEPT = 16
BROKER_SIDE_KEPT = 16
ASSET_SUMS_KEPT = 64
CLIENT_PREFIX = "client:"  # the one class with an account per client: millions of them

# Answers of the positive-sum search (negative client balances: normally none), kept for the
# process by what they are a function of: the bulk objects' digests (content that never
# changes), the filter, and the relational sums' own digest. The check step of an end of day
# asks exactly what the batch's check asked a moment before, in another unit of work; the
# objects are still hash-checked on every ask, only the aggregation is not repeated.
_positive_searches: OrderedDict[tuple[tuple[str, ...], str, str | None, str], pa.Table] = (
    OrderedDict()
)


# Σ per (account, asset) of every posting outside the clients' accounts, and Σ of the clients'
# cash postings together (account null), kept for the process by the bulk objects' digests.
# A few thousand rows (the broker's own accounts, custody per security) answer what the
# settlement, each check and the package ask of the broker's side: settle_csdc, the funds
# invariant and the receivables after the batch and again at the check step, then special,
# reserve, transit, payable and fee income for the package. Each was a scan of every posting.
# The objects are still hash-checked on every ask.
_broker_side: OrderedDict[tuple[str, ...], pa.Table] = OrderedDict()


# Σ per client account of the cash postings of a set of bulk objects (the objects alone, before
# any relational sums are added), kept for the process by the objects' digests. The negative-
# balance search after a batch groups every client posting anyway: it keeps the cash groups it
# met, so the package's client cash of the same day (and the reconciliation's) is not a second
# grouping of millions of postings. One row per client (about 70 MB at 2 M clients), two sets
# kept. The objects are still hash-checked on every ask.
CLIENT_CASH_KEPT = 2
_client_cash: OrderedDict[tuple[str, ...], pa.Table] = OrderedDict()


# Each object's Σ per asset (the balance check of its entry), by its digest, for the process.
_asset_sums_kept: OrderedDict[str, list[tuple[str, int]]] = OrderedDict()


def _keep_client_cash(entries: Sequence[BulkEntry], cash: pa.Table) -> None:
    _client_cash[tuple(sorted(e.digest for e in entries))] = cash
    while len(_client_cash) > CLIENT_CASH_KEPT:
        _client_cash.popitem(last=False)


def _keep_broker_side(entries: Sequence[BulkEntry], table: pa.Table) -> None:
    _broker_side[tuple(sorted(e.digest for e in entries))] = table
    while len(_broker_side) > BROKER_SIDE_KEPT:
        _broker_side.popitem(last=False)


def _keep_asset_sums(digest: str, sums: list[tuple[str, int]]) -> None:
    _asset_sums_kept[digest] = sums
    while len(_asset_sums_kept) > ASSET_SUMS_KEPT:
        _asset_sums_kept.popitem(last=False)


def outside_clients(account_prefix: str) -> bool:
    """Whether every account starting with `account_prefix` is outside the clients' class."""
    return bool(account_prefix) and not (
        account_prefix.startswith(CLIENT_PREFIX) or CLIENT_PREFIX.startswith(account_prefix)
    )


@dataclass(frozen=True)
class BulkEntry:
    """An entry row whose postings live in the columnar store."""

    entry_pk: int
    idempotency_key: str
    business_date: date
    digest: str


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class BulkPostings:
    """One DuckDB connection per unit of work. Sums per (account, asset) over a set of bulk
    entries are computed once and kept for the unit of work: the sellable-shares and overdraft
    checks of a batch read the same client sums, and so do the invariants after the batch."""

    def __init__(self, store: ParquetStore) -> None:
        self._store = store
        self._duck: duckdb.DuckDBPyConnection | None = None
        self._sums: OrderedDict[tuple[tuple[str, ...], str, str | None], str] = OrderedDict()
        self._asset_sums: dict[str, list[tuple[str, int]]] = {}
        self._tables = 0

    def _connection(self) -> duckdb.DuckDBPyConnection:
        if self._duck is None:
            # Imported here: every unit of work holds this class, most never read postings.
            import duckdb

            self._duck = duckdb.connect()
            self._duck.execute("SET enable_progress_bar = false")
            if self._store.data_key is not None:
                self._store.data_key.register_in_duckdb(self._duck)
        return self._duck

    def close(self) -> None:
        """Free the sums kept for this unit of work."""
        if self._duck is not None:
            self._duck.close()
        self._duck = None
        self._sums.clear()
        self._asset_sums.clear()

    # -- writing -------------------------------------------------------------------------

    def write(self, postings: pa.Table) -> tuple[str, int]:
        """Refuse postings that do not sum to zero per asset; store them sorted by
        (account, asset); return the object's digest and its row count."""
        table = postings.select(POSTINGS_SCHEMA.names).cast(POSTINGS_SCHEMA)
        duck = self._connection()
        duck.register("bulk_new", table)
        try:
            sums = duck.execute(
                "SELECT asset, sum(quantity) FROM bulk_new GROUP BY asset ORDER BY asset"
            ).fetchall()
            off = {str(a): int(q) for a, q in sums if q != 0}
            if off:
                raise EntryNotBalanced(
                    f"entry_must_balance_per_asset: {dict(list(off.items())[:5])}"
                )
            # Quantity last, so that the same postings in any order give the same bytes.
            result = duck.sql("SELECT * FROM bulk_new ORDER BY account, asset, quantity")
            assert result is not None
            ordered = result.to_arrow_table().cast(POSTINGS_SCHEMA)
        finally:
            duck.unregister("bulk_new")
        digest = self._store.put_table(ordered)
        self._asset_sums[digest] = [(str(a), int(q)) for a, q in sums]
        _keep_asset_sums(digest, self._asset_sums[digest])
        return digest, ordered.num_rows

    # -- reading -------------------------------------------------------------------------

    def _verify(self, digests: Sequence[str]) -> None:
        """Check each object (its hash; an encrypted one's authenticated name), as the store's
        own `read_table` does: a tampered object stops the read."""
        for digest in dict.fromkeys(digests):
            self._store.verify(digest)

    def _scan(self, digests: Sequence[str]) -> str:
        """`read_parquet` of the objects (with the store's key if it is encrypted), each
        checked just before DuckDB reads it."""
        self._verify(digests)
        return duckdb_parquet_scan([self._store.uri(d) for d in digests], self._store.data_key)

    def _scans(self, entries: Sequence[BulkEntry]) -> str:
        """The entries' postings as one DuckDB relation (account, asset, quantity). An
        object shared by two entries (identical postings) is read once for each."""
        return " UNION ALL ".join(
            f"SELECT account, asset, quantity FROM {self._scan([e.digest])}" for e in entries
        )

    def _kept_sums(
        self, entries: Sequence[BulkEntry], account_prefix: str, asset: str | None
    ) -> str | None:
        """A DuckDB table kept by this unit of work holding Σ quantity per (account, asset)
        over the same entries for a filter at least as wide as the one asked, if any."""
        digests = tuple(sorted(e.digest for e in entries))
        for kept, name in reversed(self._sums.items()):
            kept_digests, kept_prefix, kept_asset = kept
            if (
                kept_digests == digests
                and account_prefix.startswith(kept_prefix)
                and kept_asset in (None, asset)
            ):
                self._sums.move_to_end(kept)
                return name
        if asset == CASH and account_prefix.startswith(CLIENT_PREFIX):
            return self._client_cash_table(digests)
        return None

    def _client_cash_table(self, digests: tuple[str, ...]) -> str | None:
        """The client cash sums the process keeps for these objects, as a table kept by this
        unit of work (each object checked first, as on any read); None if none are kept."""
        cash = _client_cash.get(digests)  # one lookup: another thread may drop it meanwhile
        if cash is None:
            return None
        self._verify(digests)
        with suppress(KeyError):
            _client_cash.move_to_end(digests)
        duck = self._connection()
        self._tables += 1
        name = f"bulk_sums_{self._tables}"
        duck.register("client_cash_kept", cash)
        try:
            duck.execute(f"CREATE TEMP TABLE {name} AS SELECT * FROM client_cash_kept")
        finally:
            duck.unregister("client_cash_kept")
        self._remember(digests, CLIENT_PREFIX, CASH, name)
        return name

    def _keep_sums(
        self, entries: Sequence[BulkEntry], account_prefix: str, asset: str | None
    ) -> str:
        """Sum the entries' postings per (account, asset) for the accounts starting with
        `account_prefix` (and only `asset`, if named) into a table kept for the unit of work."""
        duck = self._connection()
        self._tables += 1
        name = f"bulk_sums_{self._tables}"
        conditions = ["starts_with(account, $prefix)"]
        params: dict[str, object] = {"prefix": account_prefix}
        if asset is not None:
            conditions.append("asset = $asset")
            params["asset"] = asset
        duck.execute(
            f"CREATE TEMP TABLE {name} AS SELECT account, asset, "
            f"CAST(sum(quantity) AS BIGINT) AS quantity FROM ({self._scans(entries)}) "
            f"WHERE {' AND '.join(conditions)} GROUP BY account, asset",
            params,
        )
        self._remember(tuple(sorted(e.digest for e in entries)), account_prefix, asset, name)
        return name

    def _remember(
        self, digests: tuple[str, ...], account_prefix: str, asset: str | None, name: str
    ) -> None:
        self._sums[(digests, account_prefix, asset)] = name
        while len(self._sums) > SUMS_KEPT:
            _, dropped = self._sums.popitem(last=False)
            self._connection().execute(f"DROP TABLE {dropped}")

    def sums(
        self,
        entries: Sequence[BulkEntry],
        relational: pa.Table,
        *,
        account_prefix: str = "",
        asset: str | None = None,
        having_positive: bool = False,
    ) -> pa.Table:
        """Σ per (account, asset) of the entries' postings and the relational sums given
        (account, asset, quantity), filtered, ordered by account and asset.

        Balances keep the bulk sums for the unit of work (the next check reads them again);
        a search for the positive sums (a breach, normally none) scans without keeping, but
        the search over every client keeps the clients' cash sums for the process."""
        relational = relational.cast(POSTINGS_SCHEMA)
        search_key = None
        if having_positive and entries:
            search_key = (
                tuple(e.digest for e in entries),
                account_prefix,
                asset,
                _table_digest(relational),
            )
            if search_key in _positive_searches:
                self._verify([e.digest for e in entries])  # as on any read
                _positive_searches.move_to_end(search_key)
                return _positive_searches[search_key]
        if search_key is not None and self._searches_every_client(entries, account_prefix, asset):
            answer = self._positive_client_sums(entries, relational)
        else:
            answer = self._answer(
                entries, relational, account_prefix, asset, having_positive=having_positive
            )
        if search_key is not None:
            _positive_searches[search_key] = answer
            while len(_positive_searches) > SEARCHES_KEPT:
                _positive_searches.popitem(last=False)
        return answer

    def _answer(
        self,
        entries: Sequence[BulkEntry],
        relational: pa.Table,
        account_prefix: str,
        asset: str | None,
        *,
        having_positive: bool,
    ) -> pa.Table:
        query, params = self._sums_query(
            entries,
            has_relational=relational.num_rows > 0,
            account_prefix=account_prefix,
            asset=asset,
            having_positive=having_positive,
        )
        duck = self._connection()
        duck.register("relational_sums", relational)
        if entries and outside_clients(account_prefix):
            duck.register("broker_side_sums", self._broker_side_sums(entries))
        try:
            result = duck.sql(query + " ORDER BY account, asset", params=params)
            assert result is not None
            answer = result.to_arrow_table().cast(POSTINGS_SCHEMA)
        finally:
            duck.unregister("relational_sums")
            if entries and outside_clients(account_prefix):
                duck.unregister("broker_side_sums")
        return answer

    def _searches_every_client(
        self, entries: Sequence[BulkEntry], account_prefix: str, asset: str | None
    ) -> bool:
        """A search over every client posting (the invariant's), not answered by kept sums."""
        return (
            account_prefix == CLIENT_PREFIX
            and asset is None
            and self._kept_sums(entries, account_prefix, asset) is None
        )

    def _positive_client_sums(self, entries: Sequence[BulkEntry], relational: pa.Table) -> pa.Table:
        """The clients' positive sums (objects and relational sums together), from one grouping
        of the objects' postings that also keeps, for the process, the clients' cash sums and
        the broker's side (`_broker_side_sums`: the receivables check asks it next).

        The grouping keeps every sum outside the clients', and of the clients' the positive
        ones, the cash ones and those of an account the relational sums name (they may turn a
        sum positive); the answer adds the relational sums to those, so it is the same as
        grouping everything together."""
        duck = self._connection()
        self._tables += 1
        grouped = f"bulk_grouped_{self._tables}"
        params = {"client": CLIENT_PREFIX, "cash": CASH}
        duck.register("relational_sums", relational)
        try:
            duck.execute(
                f"CREATE TEMP TABLE {grouped} AS SELECT account, asset, "
                f"CAST(sum(quantity) AS BIGINT) AS quantity FROM ({self._scans(entries)}) "
                "GROUP BY account, asset HAVING NOT starts_with(account, $client) "
                "OR sum(quantity) > 0 OR asset = $cash "
                "OR account IN (SELECT account FROM relational_sums)",
                params,
            )
            clients = f"SELECT * FROM {grouped} WHERE starts_with(account, $client)"
            cash = duck.sql(clients + " AND asset = $cash", params=params)
            positive = duck.sql(
                "SELECT account, asset, CAST(sum(quantity) AS BIGINT) AS quantity FROM "
                f"({clients} UNION ALL SELECT account, asset, quantity FROM relational_sums) "
                "GROUP BY account, asset HAVING sum(quantity) > 0 ORDER BY account, asset",
                params={"client": CLIENT_PREFIX},
            )
            assert cash is not None and positive is not None
            _keep_client_cash(entries, cash.to_arrow_table().cast(POSTINGS_SCHEMA))
            if tuple(sorted(e.digest for e in entries)) not in _broker_side:
                _keep_broker_side(entries, self._broker_side_of(grouped))
            return positive.to_arrow_table().cast(POSTINGS_SCHEMA)
        finally:
            duck.unregister("relational_sums")
            duck.execute(f"DROP TABLE {grouped}")

    def _sums_query(
        self,
        entries: Sequence[BulkEntry],
        *,
        has_relational: bool,
        account_prefix: str,
        asset: str | None,
        having_positive: bool,
    ) -> tuple[str, dict[str, object]]:
        """The query of `sums` over the bulk postings (kept sums when there are) and the
        registered `relational_sums`, with its parameters."""
        params: dict[str, object] = {}
        sources = []
        kept = None
        if entries:
            conditions = ["starts_with(account, $prefix)"]
            params["prefix"] = account_prefix
            if asset is not None:
                conditions.append("asset = $asset")
                params["asset"] = asset
            # The broker's side is one small table for the process, registered by `sums`;
            # its row of the clients' total (account null) fails every prefix condition.
            kept = (
                "broker_side_sums"
                if outside_clients(account_prefix)
                else self._kept_sums(entries, account_prefix, asset)
            )
            if kept is None and not having_positive:
                kept = self._keep_sums(entries, account_prefix, asset)
            source = f"({self._scans(entries)})" if kept is None else kept
            sources.append(
                f"SELECT account, asset, quantity FROM {source} WHERE {' AND '.join(conditions)}"
            )
        if has_relational or not entries:
            sources.append("SELECT account, asset, quantity FROM relational_sums")
        if len(sources) == 1 and kept is not None:
            # The kept sums are one row per (account, asset) already.
            return sources[0] + (" AND quantity > 0" if having_positive else ""), params
        having = " HAVING sum(quantity) > 0" if having_positive else ""
        query = (
            "SELECT account, asset, CAST(sum(quantity) AS BIGINT) AS quantity "
            f"FROM ({' UNION ALL '.join(sources)}) GROUP BY account, asset{having}"
        )
        return query, params

    def cash_sums_by_class(self, entries: Sequence[BulkEntry]) -> dict[str, int]:
        """Σ of the entries' cash postings per account class (text before the first `:`),
        from the broker's side kept for the process and the clients' cash total beside it."""
        if not entries:
            return {}
        side = self._broker_side_sums(entries)
        sums: dict[str, int] = {}
        for account, asset, quantity in zip(
            side.column("account").to_pylist(),
            side.column("asset").to_pylist(),
            side.column("quantity").to_pylist(),
            strict=True,
        ):
            if asset == CASH:
                account_class = CLIENT_PREFIX[:-1] if account is None else account.split(":")[0]
                sums[account_class] = sums.get(account_class, 0) + int(quantity)
        return sums

    def _broker_side_sums(self, entries: Sequence[BulkEntry]) -> pa.Table:
        """(account, asset, quantity): Σ per account and asset outside the clients' accounts,
        and the clients' cash all together in a row whose account is null; one scan per set
        of objects for the process (see `_broker_side`), each object checked on every ask."""
        key = tuple(sorted(e.digest for e in entries))
        kept = _broker_side.get(key)  # one lookup: another thread may drop it meanwhile
        if kept is not None:
            self._verify(key)  # as on any read
            with suppress(KeyError):
                _broker_side.move_to_end(key)
            return kept
        table = self._broker_side_of(f"({self._scans(entries)})")
        _keep_broker_side(entries, table)
        return table

    def _broker_side_of(self, postings: str) -> pa.Table:
        """The broker's side of `postings` (a relation of account, asset, quantity: postings,
        or sums per account and asset, which add up the same)."""
        result = self._connection().sql(
            "SELECT CASE WHEN starts_with(account, $client) THEN NULL ELSE account END "
            "AS account, asset, CAST(sum(quantity) AS BIGINT) AS quantity "
            f"FROM {postings} "
            "WHERE NOT starts_with(account, $client) OR asset = $cash GROUP BY ALL",
            params={"client": CLIENT_PREFIX, "cash": CASH},
        )
        assert result is not None
        return result.to_arrow_table().cast(POSTINGS_SCHEMA)

    def asset_sums(self, entries: Sequence[BulkEntry]) -> list[tuple[str, str, int]]:
        """(entry key, asset, Σ) of each entry's postings per asset: zero when it balances."""
        return [
            (entry.idempotency_key, asset, total)
            for entry in entries
            for asset, total in self._sums_per_asset(entry.digest)
        ]

    def _sums_per_asset(self, digest: str) -> list[tuple[str, int]]:
        """One object's Σ per asset; known without a read for an object this unit of work
        wrote (it was checked then); known from an earlier unit of work of the process
        after the object is checked again (the check step asks what the batch's check did)."""
        kept = None if digest in self._asset_sums else _asset_sums_kept.get(digest)
        if kept is not None:
            self._verify([digest])  # as on any read
            self._asset_sums[digest] = kept
        if digest not in self._asset_sums:
            rows = (
                self._connection()
                .execute(
                    # Not cast to BIGINT: a tampered sum out of its range is still named.
                    f"SELECT asset, sum(quantity) FROM {self._scan([digest])} GROUP BY asset"
                )
                .fetchall()
            )
            self._asset_sums[digest] = [(str(a), int(q)) for a, q in rows]
            _keep_asset_sums(digest, self._asset_sums[digest])
        return self._asset_sums[digest]

    def per_entry_sums(self, entries: Sequence[BulkEntry]) -> pa.Table:
        """(idempotency_key, business_date, account, asset, quantity) summed per entry."""
        if not entries:
            return _per_entry_table([])
        duck = self._connection()
        parts = []
        for entry in entries:
            parts.append(
                f"SELECT {_literal(entry.idempotency_key)} AS idempotency_key, "
                f"DATE {_literal(entry.business_date.isoformat())} AS business_date, "
                f"account, asset, quantity FROM {self._scan([entry.digest])}"
            )
        result = duck.sql(
            "SELECT idempotency_key, business_date, account, asset, "
            f"CAST(sum(quantity) AS BIGINT) AS quantity FROM ({' UNION ALL '.join(parts)}) "
            "GROUP BY ALL"
        )
        assert result is not None
        return result.to_arrow_table()

    def postings(self, digest: str) -> pa.Table:
        """One entry's postings, as stored (the store checks the hash)."""
        return self._store.read_table(digest)


def _table_digest(table: pa.Table) -> str:
    """sha256 of the table's Arrow IPC bytes: equal tables (schema, rows, order) hash equal."""
    sink = pa.BufferOutputStream()
    with ipc.new_stream(sink, table.schema) as stream:
        stream.write_table(table)
    return hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()


def _per_entry_table(rows: Sequence[tuple[str, date, str, str, int]]) -> pa.Table:
    return pa.table(
        {
            "idempotency_key": pa.array([r[0] for r in rows], pa.string()),
            "business_date": pa.array([r[1] for r in rows], pa.date32()),
            "account": pa.array([r[2] for r in rows], pa.string()),
            "asset": pa.array([r[3] for r in rows], pa.string()),
            "quantity": pa.array([r[4] for r in rows], pa.int64()),
        }
    )
