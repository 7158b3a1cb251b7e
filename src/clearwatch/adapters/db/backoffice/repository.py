"""Repositories of the back office over SQLAlchemy Core: journal, batches, EOD step log."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

import pyarrow as pa
from sqlalchemy import Connection, and_, case, func, insert, literal, not_, select
from sqlalchemy.exc import IntegrityError

from clearwatch.adapters.columnar import ParquetStore
from clearwatch.adapters.db.backoffice.account_records import SqlAccountRecords
from clearwatch.adapters.db.backoffice.bulk_postings import BulkEntry, BulkPostings
from clearwatch.adapters.db.backoffice.tables import (
    bo_applied_records,
    bo_batch_files,
    bo_batch_status,
    bo_batches,
    bo_entries,
    bo_eod_steps,
    bo_postings,
)
from clearwatch.domain.backoffice.batch_manifest import BatchManifest
from clearwatch.domain.backoffice.journal import EntryKind, JournalEntry, Posting, Source
from clearwatch.domain.shared.kinds import CASH, BatchStatus
from clearwatch.services.backoffice.ports import AppliedFile, BatchKeyTaken, BatchRecord

keys_per_query_max = 500  # bound parameter lists (SQLite allows 32,766 variables)


class SqlBooks(SqlAccountRecords):
    """The journal (and, from the mixin, account events and breaks). Rows are only ever
    inserted; the database refuses anything else.

    An ordinary entry's postings are rows of `bo_postings`. A bulk entry's postings (a day's
    trades netted per client, the opening balances: millions of rows) are one Parquet object
    in the columnar store, named by the entry row's `postings_digest`. Every read adds both,
    so the answers do not depend on where an entry's postings live.
    """

    def __init__(self, connection: Connection, store: ParquetStore) -> None:
        self._c = connection
        self._bulk = BulkPostings(store)

    def close(self) -> None:
        """Free what the reads of this unit of work kept (DuckDB and its sums)."""
        self._bulk.close()

    def _prefix(self, prefix: str) -> Any:
        """Accounts starting with `prefix`. On SQLite (binary collation) a range lets the
        account index serve the scan, which LIKE cannot; PostgreSQL keeps LIKE, whose
        meaning does not depend on the collation.

        Under binary collation the half-open range [prefix, prefix with its last character
        incremented) holds exactly the texts starting with `prefix`, so SQLite needs no LIKE
        besides (its LIKE, ASCII case-blind, would only re-test every row of the range)."""
        like = bo_postings.c.account.startswith(prefix, autoescape=True)
        if self._c.dialect.name != "sqlite" or not prefix:
            return like
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        return and_(bo_postings.c.account >= prefix, bo_postings.c.account < upper)

    def _bulk_entries(self, *conditions: Any) -> list[BulkEntry]:
        """The entries matching `conditions` whose postings are in the columnar store."""
        e = bo_entries.c
        rows = self._c.execute(
            select(e.entry_pk, e.idempotency_key, e.business_date, e.postings_digest)
            .where(e.postings_digest.is_not(None), *conditions)
            .order_by(e.entry_pk)
        ).all()
        return [BulkEntry(int(pk), str(key), day, str(digest)) for pk, key, day, digest in rows]

    def has_entry(self, idempotency_key: str) -> bool:
        found = self._c.execute(
            select(bo_entries.c.entry_pk).where(bo_entries.c.idempotency_key == idempotency_key)
        ).first()
        return found is not None

    def _insert_entry(self, entry: JournalEntry, recorded_at: datetime, **extra: Any) -> int:
        row = _entry_row(entry, recorded_at) | extra
        result = self._c.execute(insert(bo_entries).values(**row))
        primary_key = result.inserted_primary_key
        assert primary_key is not None
        return int(primary_key[0])

    def post_records(
        self,
        entries: Sequence[JournalEntry],
        *,
        role: str,
        keys: Sequence[str],
        recorded_at: datetime,
    ) -> None:
        """Three executemany statements for any number of records, instead of three
        statements per record; RETURNING in parameter order pairs each entry with its key."""
        if not entries:
            return
        if len(entries) != len(keys):
            raise ValueError("one record key per entry")
        returned = self._c.execute(
            insert(bo_entries).returning(bo_entries.c.entry_pk, sort_by_parameter_order=True),
            [_entry_row(entry, recorded_at) for entry in entries],
        )
        entry_pks = [int(row[0]) for row in returned]
        postings = [
            _posting_row(entry_pk, entry, p)
            for entry_pk, entry in zip(entry_pks, entries, strict=True)
            for p in entry.postings
        ]
        if postings:
            self._c.execute(insert(bo_postings), postings)
        self._c.execute(
            insert(bo_applied_records),
            [
                {"broker_id": e.broker_id, "role": role, "record_key": k, "entry_pk": pk}
                for e, k, pk in zip(entries, keys, entry_pks, strict=True)
            ],
        )

    def post(self, entry: JournalEntry, *, recorded_at: datetime) -> int:
        entry_pk = self._insert_entry(entry, recorded_at)
        if entry.postings:
            self._c.execute(
                insert(bo_postings), [_posting_row(entry_pk, entry, p) for p in entry.postings]
            )
        return entry_pk

    def post_bulk(self, entry: JournalEntry, postings: pa.Table, *, recorded_at: datetime) -> int:
        """The postings go to the columnar store first (refused unless they balance per
        asset); only the entry row, naming them, goes to the database. An object left behind
        by a crash before the commit is harmless: content-addressed, and named by no entry."""
        digest, rows = self._bulk.write(postings)
        return self._insert_entry(entry, recorded_at, postings_digest=digest, postings_rows=rows)

    def entry(self, idempotency_key: str) -> JournalEntry | None:
        row = self._c.execute(
            select(bo_entries).where(bo_entries.c.idempotency_key == idempotency_key)
        ).first()
        if row is None:
            return None
        m = row._mapping
        postings: Iterable[Sequence[Any]]
        if m["postings_digest"] is not None:
            stored = self._bulk.postings(m["postings_digest"])
            postings = zip(
                stored.column("account").to_pylist(),
                stored.column("asset").to_pylist(),
                stored.column("quantity").to_pylist(),
                strict=True,
            )
        else:
            postings = self._c.execute(
                select(bo_postings.c.account, bo_postings.c.asset, bo_postings.c.quantity)
                .where(bo_postings.c.entry_pk == m["entry_pk"])
                .order_by(bo_postings.c.account, bo_postings.c.asset)
            ).all()
        return JournalEntry(
            broker_id=m["broker_id"],
            business_date=m["business_date"],
            kind=EntryKind(m["kind"]),
            idempotency_key=m["idempotency_key"],
            source=Source(
                batch_ref=m["batch_ref"],
                file_sha256=m["file_sha256"],
                line=m["source_line"],
                user=m["source_user"],
                detail_digest=m["detail_digest"],
                record_first=m["record_first"],
                record_last=m["record_last"],
            ),
            postings=tuple(Posting(a, s, int(q)) for a, s, q in postings),
            memo=m["memo"],
            reverses_key=m["reverses_key"],
        )

    def applied_keys(self, broker_id: str, role: str, keys: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(keys), keys_per_query_max):
            chunk = list(keys[start : start + keys_per_query_max])
            found.update(
                self._c.execute(
                    select(bo_applied_records.c.record_key).where(
                        bo_applied_records.c.broker_id == broker_id,
                        bo_applied_records.c.role == role,
                        bo_applied_records.c.record_key.in_(chunk),
                    )
                ).scalars()
            )
        return found

    def _relational_sums(self, *conditions: Any) -> pa.Table:
        """Σ quantity per (account, asset) of the relational postings matching `conditions`,
        in a fixed order, so that equal sums make an equal table (and an equal search key)."""
        p = bo_postings.c
        rows = self._c.execute(
            select(p.account, p.asset, func.sum(p.quantity))
            .where(and_(*conditions))
            .group_by(p.account, p.asset)
            .order_by(p.account, p.asset)
        ).all()
        return _balance_table(rows)

    def balances(
        self,
        *,
        broker_id: str,
        as_of: date,
        account_prefix: str = "",
        asset: str | None = None,
        exclude_trades_on: date | None = None,
    ) -> pa.Table:
        p, e = bo_postings.c, bo_entries.c
        conditions = [p.broker_id == broker_id, p.business_date <= as_of]
        if account_prefix:
            conditions.append(self._prefix(account_prefix))
        if asset is not None:
            conditions.append(p.asset == asset)
        entry_conditions = [e.broker_id == broker_id, e.business_date <= as_of]
        if exclude_trades_on is not None:
            trades_of_the_day = and_(
                e.business_date == exclude_trades_on,
                e.kind == EntryKind.TRADE_SETTLEMENT.value,
            )
            trades = select(e.entry_pk).where(e.broker_id == broker_id, trades_of_the_day)
            conditions.append(not_(p.entry_pk.in_(trades)))
            entry_conditions.append(not_(trades_of_the_day))
        return self._bulk.sums(
            self._bulk_entries(*entry_conditions),
            self._relational_sums(*conditions),
            account_prefix=account_prefix,
            asset=asset,
        )

    def cash_sums_by_class(self, *, broker_id: str, as_of: date) -> list[tuple[str, int]]:
        p = bo_postings.c
        account_class: Any
        if self._c.dialect.name == "sqlite":
            colon = func.instr(p.account, ":")
            account_class = case((colon > 0, func.substr(p.account, 1, colon - 1)), else_=p.account)
        else:
            account_class = func.split_part(p.account, ":", 1)
        # A few rows instead of one per account: the invariant needs only the class totals.
        # Grouped in an outer query so PostgreSQL sees one expression, not two bound copies.
        cash = (
            select(account_class.label("account_class"), p.quantity)
            .where(p.broker_id == broker_id, p.business_date <= as_of, p.asset == CASH)
            .subquery()
        )
        rows = self._c.execute(
            select(cash.c.account_class, func.sum(cash.c.quantity)).group_by(cash.c.account_class)
        ).all()
        sums = {str(c): int(q) for c, q in rows}
        bulk = self._bulk.cash_sums_by_class(
            self._bulk_entries(
                bo_entries.c.broker_id == broker_id, bo_entries.c.business_date <= as_of
            )
        )
        for account_class, quantity in bulk.items():
            sums[account_class] = sums.get(account_class, 0) + quantity
        return [(f"{c}:", q) for c, q in sorted(sums.items())]

    def unbalanced_entries(
        self,
        *,
        broker_id: str,
        batch_ref: str | None = None,
        business_date: date | None = None,
    ) -> list[tuple[str, str, int]]:
        p, e = bo_postings.c, bo_entries.c
        total = func.sum(p.quantity)
        entry_conditions = [e.broker_id == broker_id]
        if batch_ref is not None:
            entry_conditions.append(e.batch_ref == batch_ref)
        if business_date is not None:
            entry_conditions.append(e.business_date == business_date)
        # Grouped by the integer entry key over the covering (entry_pk, asset, quantity) index;
        # the entries' text keys are looked up only for the few that do not balance.
        relational_entries = select(e.entry_pk).where(
            e.postings_digest.is_(None), *entry_conditions
        )
        off = (
            select(p.entry_pk, p.asset, total.label("total"))
            .where(p.entry_pk.in_(relational_entries))
            .group_by(p.entry_pk, p.asset)
            .having(total != 0)
            .subquery()
        )
        rows = self._c.execute(
            select(e.idempotency_key, off.c.asset, off.c.total).join_from(
                off, bo_entries, off.c.entry_pk == e.entry_pk
            )
        ).all()
        found = [(str(k), str(a), int(q)) for k, a, q in rows]
        # A bulk entry's Parquet postings, plus any relational row naming it (none, unless
        # someone inserted one by hand: the check must see it).
        bulk = self._bulk_entries(*entry_conditions)
        totals: dict[tuple[str, str], int] = defaultdict(int)
        for key, asset, quantity in self._bulk.asset_sums(bulk):
            totals[(key, asset)] += quantity
        if bulk:
            added = self._c.execute(
                select(e.idempotency_key, p.asset, func.sum(p.quantity))
                .join_from(bo_postings, bo_entries, p.entry_pk == e.entry_pk)
                .where(e.postings_digest.is_not(None), *entry_conditions)
                .group_by(e.idempotency_key, p.asset)
            ).all()
            for key, asset, quantity in added:
                totals[(str(key), str(asset))] += int(quantity)
        found += [(k, a, q) for (k, a), q in totals.items() if q != 0]
        return sorted(found)

    def negative_client_balances(
        self, *, broker_id: str, as_of: date
    ) -> list[tuple[str, str, int]]:
        """Client accounts whose natural balance (minus the posted sum) is below zero."""
        p, e = bo_postings.c, bo_entries.c
        prefix = "client:"
        relational = self._relational_sums(
            p.broker_id == broker_id, p.business_date <= as_of, self._prefix(prefix)
        )
        positive = self._bulk.sums(
            self._bulk_entries(e.broker_id == broker_id, e.business_date <= as_of),
            relational,
            account_prefix=prefix,
            having_positive=True,
        )
        return [
            (str(a), str(s), -int(q))
            for a, s, q in zip(
                positive.column("account").to_pylist(),
                positive.column("asset").to_pylist(),
                positive.column("quantity").to_pylist(),
                strict=True,
            )
        ]

    def detail_digests(self, *, broker_id: str, kind: str, business_date: date) -> list[str]:
        e = bo_entries.c
        query = (
            select(e.detail_digest)
            .where(
                e.broker_id == broker_id,
                e.kind == kind,
                e.business_date == business_date,
                e.detail_digest.is_not(None),
            )
            .order_by(e.entry_pk)
        )
        return [str(d) for d in self._c.execute(query).scalars()]

    def movements(
        self, *, broker_id: str, business_date: date, kind: str, account_prefix: str
    ) -> pa.Table:
        p, e = bo_postings.c, bo_entries.c
        entry_conditions = [
            e.broker_id == broker_id,
            e.business_date == business_date,
            e.kind == kind,
        ]
        # Postings carry the broker and date, so the account index drives the scan and the
        # entries only filter by kind.
        relational = self._relational_sums(
            p.broker_id == broker_id,
            p.business_date == business_date,
            self._prefix(account_prefix),
            p.entry_pk.in_(select(e.entry_pk).where(*entry_conditions)),
        )
        return self._bulk.sums(
            self._bulk_entries(*entry_conditions), relational, account_prefix=account_prefix
        )

    def books_digest(self, *, broker_id: str) -> str:
        """Entries in key order with their postings summed per account and asset."""
        p, e = bo_postings.c, bo_entries.c
        rows = self._c.execute(
            select(e.idempotency_key, e.business_date, p.account, p.asset, func.sum(p.quantity))
            .join_from(bo_postings, bo_entries, p.entry_pk == e.entry_pk)
            .where(e.broker_id == broker_id)
            .group_by(e.idempotency_key, e.business_date, p.account, p.asset)
        ).all()
        bulk = self._bulk.per_entry_sums(self._bulk_entries(e.broker_id == broker_id))
        every = [tuple(r) for r in rows] + list(
            zip(*(bulk.column(i).to_pylist() for i in range(bulk.num_columns)), strict=True)
        )
        digest = hashlib.sha256()
        for row in sorted(every, key=lambda r: (r[0], r[2], r[3])):
            digest.update(repr(tuple(str(v) for v in row)).encode("utf-8"))
        return digest.hexdigest()


def _posting_row(entry_pk: int, entry: JournalEntry, posting: Posting) -> dict[str, Any]:
    return {
        "entry_pk": entry_pk,
        "broker_id": entry.broker_id,
        "business_date": entry.business_date,
        "account": posting.account,
        "asset": posting.asset,
        "quantity": posting.quantity,
    }


def _entry_row(entry: JournalEntry, recorded_at: datetime) -> dict[str, Any]:
    s = entry.source
    return {
        "broker_id": entry.broker_id,
        "business_date": entry.business_date,
        "kind": entry.kind.value,
        "idempotency_key": entry.idempotency_key,
        "batch_ref": s.batch_ref,
        "file_sha256": s.file_sha256,
        "source_line": s.line,
        "source_user": s.user,
        "detail_digest": s.detail_digest,
        "record_first": s.record_first,
        "record_last": s.record_last,
        "reverses_key": entry.reverses_key,
        "memo": entry.memo,
        "recorded_at": recorded_at.isoformat(),
    }


def _balance_table(rows: Sequence[Any]) -> pa.Table:
    return pa.table(
        {
            "account": pa.array([r[0] for r in rows], pa.string()),
            "asset": pa.array([r[1] for r in rows], pa.string()),
            "quantity": pa.array([int(r[2]) for r in rows], pa.int64()),
        }
    )


class SqlBatches:
    """Batches received, their files, and their status as append-only events."""

    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def _latest_status(self) -> Any:
        s = bo_batch_status.c
        latest = (
            select(s.batch_pk, func.max(s.event_pk).label("event_pk"))
            .group_by(s.batch_pk)
            .subquery()
        )
        return select(s.batch_pk, s.status).join(latest, s.event_pk == latest.c.event_pk).subquery()

    def _records(self, *conditions: Any) -> list[BatchRecord]:
        b = bo_batches.c
        status = self._latest_status()
        files = (
            select(bo_batch_files.c.batch_pk, func.count().label("files"))
            .group_by(bo_batch_files.c.batch_pk)
            .subquery()
        )
        rows = self._c.execute(
            select(bo_batches, status.c.status, func.coalesce(files.c.files, 0))
            .outerjoin(status, status.c.batch_pk == b.batch_pk)
            .outerjoin(files, files.c.batch_pk == b.batch_pk)
            .where(*conditions)
            .order_by(b.batch_pk)
        ).all()
        return [
            BatchRecord(
                batch_pk=r.batch_pk,
                broker_id=r.broker_id,
                batch_id=r.batch_id,
                kind=r.kind,
                business_date=r.business_date,
                content_sha256=r.content_sha256,
                corrects_batch_id=r.corrects_batch_id,
                received_at=r.received_at,
                status=r.status or BatchStatus.RECEIVED,
                files=int(r[-1]),
            )
            for r in rows
        ]

    def find(self, broker_id: str, batch_id: str) -> BatchRecord | None:
        found = self._records(
            bo_batches.c.broker_id == broker_id, bo_batches.c.batch_id == batch_id
        )
        return found[0] if found else None

    def of_kind_and_date(self, broker_id: str, kind: str, business_date: date) -> list[BatchRecord]:
        b = bo_batches.c
        return self._records(
            b.broker_id == broker_id, b.kind == kind, b.business_date == business_date
        )

    def add(
        self,
        manifest: BatchManifest,
        *,
        manifest_json: str,
        received_at: datetime,
        approval_ref: str | None,
    ) -> int:
        """The batch's row; `BatchKeyTaken` when another import holds its id or its slot.

        The savepoint keeps the transaction usable after the refusal (PostgreSQL aborts a
        transaction on any error), so the caller can still read what the winner committed."""
        try:
            with self._c.begin_nested():
                result = self._c.execute(
                    insert(bo_batches).values(
                        broker_id=manifest.broker_id,
                        batch_id=manifest.batch_id,
                        kind=manifest.kind,
                        business_date=manifest.business_date,
                        content_sha256=manifest.content_sha256,
                        corrects_batch_id=manifest.corrects_batch_id,
                        approval_ref=approval_ref,
                        manifest_json=manifest_json,
                        received_at=received_at.isoformat(),
                    )
                )
        except IntegrityError as taken:
            raise BatchKeyTaken(manifest.batch_ref) from taken
        primary_key = result.inserted_primary_key
        assert primary_key is not None
        return int(primary_key[0])

    def add_status(
        self, batch_pk: int, *, status: str, at: datetime, actor: str, detail: dict[str, Any]
    ) -> None:
        self._c.execute(
            insert(bo_batch_status).values(
                batch_pk=batch_pk,
                status=status,
                at=at.isoformat(),
                actor=actor,
                detail_json=json.dumps(detail, sort_keys=True, default=str),
            )
        )

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
    ) -> int:
        result = self._c.execute(
            insert(bo_batch_files).values(
                batch_pk=batch_pk,
                broker_id=broker_id,
                role=role,
                sha256=sha256,
                rows=rows,
                parquet_digest=parquet_digest,
                duplicate_of_file_pk=duplicate_of,
                applied=duplicate_of is None,
            )
        )
        primary_key = result.inserted_primary_key
        assert primary_key is not None
        return int(primary_key[0])

    def applied_file_with(self, broker_id: str, role: str, sha256: str) -> int | None:
        f = bo_batch_files.c
        found = self._c.execute(
            select(f.file_pk)
            .where(f.broker_id == broker_id, f.role == role, f.sha256 == sha256, f.applied)
            .order_by(f.file_pk)
            .limit(1)
        ).first()
        return None if found is None else int(found[0])

    def applied_files(
        self, broker_id: str, role: str, *, business_date: date | None = None
    ) -> list[AppliedFile]:
        f, b = bo_batch_files.c, bo_batches.c
        query = (
            select(b.business_date, f.parquet_digest, f.sha256, b.broker_id, b.batch_id)
            .join_from(bo_batch_files, bo_batches, f.batch_pk == b.batch_pk)
            .where(
                f.broker_id == broker_id,
                f.role == role,
                f.applied,
                f.parquet_digest.is_not(None),
            )
            .order_by(f.file_pk)
        )
        if business_date is not None:
            query = query.where(b.business_date == business_date)
        return [
            AppliedFile(role, r[0], str(r[1]), str(r[2]), f"{r[3]}:{r[4]}")
            for r in self._c.execute(query)
        ]

    def listing(self, broker_id: str | None = None) -> list[BatchRecord]:
        if broker_id is None:
            return self._records(literal(True))
        return self._records(bo_batches.c.broker_id == broker_id)


class SqlEodLog:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def completed_steps(self, broker_id: str, business_date: date) -> dict[str, dict[str, Any]]:
        s = bo_eod_steps.c
        rows = self._c.execute(
            select(s.step, s.detail_json)
            .where(
                s.broker_id == broker_id,
                s.business_date == business_date,
                s.event == "completed",
            )
            .order_by(s.event_pk)
        ).all()
        # In log order, so a step completed again (its outputs rewritten) keeps the latest.
        return {str(step): json.loads(detail) for step, detail in rows}

    def events(
        self, broker_id: str, business_date: date
    ) -> list[tuple[str, str, str, dict[str, Any]]]:
        s = bo_eod_steps.c
        rows = self._c.execute(
            select(s.step, s.event, s.at, s.detail_json)
            .where(s.broker_id == broker_id, s.business_date == business_date)
            .order_by(s.event_pk)
        ).all()
        return [(str(step), str(event), str(at), json.loads(d)) for step, event, at, d in rows]

    def record(
        self,
        broker_id: str,
        business_date: date,
        *,
        step: str,
        event: str,
        at: datetime,
        detail: dict[str, Any],
    ) -> None:
        self._c.execute(
            insert(bo_eod_steps).values(
                broker_id=broker_id,
                business_date=business_date,
                step=step,
                event=event,
                at=at.isoformat(),
                detail_json=json.dumps(detail, sort_keys=True, default=str),
            )
        )
