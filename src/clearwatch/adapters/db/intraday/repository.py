"""Intraday node state in the relational store: leases, start of day, the fenced journal."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from clearwatch.adapters.db.intraday.tables import (
    intraday_central_figures,
    intraday_claims,
    intraday_halt_lifts,
    intraday_halts,
    intraday_journal,
    intraday_lease_epochs,
    intraday_leases,
    intraday_start_of_day,
)
from clearwatch.domain.intraday.book import NodeEntry, NodeEntryKind
from clearwatch.domain.intraday.conservation import NodeClaim
from clearwatch.domain.intraday.lease import (
    IntradayRefused,
    IntradayRejection,
    Lease,
    LeaseMove,
)
from clearwatch.domain.shared.kinds import CASH
from clearwatch.services.intraday.ports import HaltRecord, StartOfDayRecord

journal_read_batch_rows = 10_000
# Halts of one client's day racing for the next seq: each loser reads the new last and retries.
_SEQ_ATTEMPTS = 8

_JOURNAL_INSERT = (
    "INSERT INTO intraday_journal (node_id, seq, business_date, epoch, recorded_at_us, kind, "
    "fund_account, order_id, side, security, quantity, price_milli, cash_delta_fen, "
    "frozen_cash_delta_fen, proceeds_delta_fen, shares_delta, frozen_shares_delta, "
    "commission_rate) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# Both SQLite (≥ 3.24) and PostgreSQL speak this upsert.
_CLAIMS_UPSERT = (
    "INSERT INTO intraday_claims (node_id, business_date, broker_id, fund_account, asset, "
    "quantity) VALUES (?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (node_id, business_date, fund_account, asset) "
    "DO UPDATE SET quantity = intraday_claims.quantity + excluded.quantity"
)
_FIGURES_UPSERT = (
    "INSERT INTO intraday_central_figures (business_date, broker_id, fund_account, asset, "
    "quantity) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (business_date, broker_id, fund_account, asset) "
    "DO UPDATE SET quantity = excluded.quantity"
)
_ENTRY_COLUMNS = (
    "kind",
    "fund_account",
    "order_id",
    "side",
    "security",
    "quantity",
    "price_milli",
    "cash_delta_fen",
    "frozen_cash_delta_fen",
    "proceeds_delta_fen",
    "shares_delta",
    "frozen_shares_delta",
    "commission_rate",
)


class SqlIntradayRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def lease(self, node_id: str, *, lock: bool) -> Lease | None:
        query = select(intraday_leases).where(intraday_leases.c.node_id == node_id)
        if lock:
            # PostgreSQL: a takeover's UPDATE waits for every write holding this row lock, so
            # the epoch a write checked is still current when it commits. SQLite writers already
            # hold the database lock (BEGIN IMMEDIATE).
            query = query.with_for_update()
        row = self._connection.execute(query).first()
        if row is None:
            return None
        return Lease(row.node_id, row.holder, int(row.epoch), int(row.expires_at_us))

    def put_lease(
        self,
        lease: Lease,
        *,
        move: LeaseMove,
        at: datetime,
        approval_request_id: int | None = None,
    ) -> None:
        values = {
            "holder": lease.holder,
            "epoch": lease.epoch,
            "expires_at_us": lease.expires_at_us,
            "acquired_at": at.isoformat(),
        }
        try:
            with self._connection.begin_nested():
                if move is LeaseMove.FIRST:
                    self._connection.execute(
                        insert(intraday_leases).values(node_id=lease.node_id, **values)
                    )
                else:
                    self._connection.execute(
                        update(intraday_leases)
                        .where(intraday_leases.c.node_id == lease.node_id)
                        .values(**values)
                    )
                if move not in (LeaseMove.RENEW, LeaseMove.RELEASE):
                    self._connection.execute(
                        insert(intraday_lease_epochs).values(
                            node_id=lease.node_id,
                            epoch=lease.epoch,
                            holder=lease.holder,
                            move=move.value,
                            approval_request_id=approval_request_id,
                            at=at.isoformat(),
                        )
                    )
        except IntegrityError as error:
            # Two instances raced for the same new epoch (or one approval was reused).
            rejection = (
                IntradayRejection.OVERRIDE_APPROVAL_MUST_NOT_BE_REUSED
                if approval_request_id is not None and move is LeaseMove.OVERRIDE
                else IntradayRejection.LEASE_MUST_BE_FREE_OR_EXPIRED
            )
            raise IntradayRefused(rejection, lease.node_id) from error

    def start_of_day(self, node_id: str, business_date: date) -> StartOfDayRecord | None:
        table = intraday_start_of_day
        row = self._connection.execute(
            select(table).where(table.c.node_id == node_id, table.c.business_date == business_date)
        ).first()
        if row is None:
            return None
        return StartOfDayRecord(
            node_id=row.node_id,
            business_date=row.business_date,
            broker_id=row.broker_id,
            epoch=int(row.epoch),
            holder=row.holder,
            clients=int(row.clients),
            cash_allocated_fen=int(row.cash_allocated_fen),
            started_at=datetime.fromisoformat(row.started_at),
        )

    def add_start_of_day(self, record: StartOfDayRecord) -> None:
        try:
            with self._connection.begin_nested():
                self._connection.execute(
                    insert(intraday_start_of_day).values(
                        node_id=record.node_id,
                        business_date=record.business_date,
                        broker_id=record.broker_id,
                        epoch=record.epoch,
                        holder=record.holder,
                        clients=record.clients,
                        cash_allocated_fen=record.cash_allocated_fen,
                        started_at=record.started_at.isoformat(),
                    )
                )
        except IntegrityError as error:
            raise IntradayRefused(
                IntradayRejection.START_OF_DAY_MUST_BE_ONCE_PER_NODE_AND_DATE,
                f"{record.node_id} {record.business_date}",
            ) from error

    def last_seq(self, node_id: str) -> int:
        value = self._connection.execute(
            select(func.max(intraday_journal.c.seq)).where(intraday_journal.c.node_id == node_id)
        ).scalar_one()
        return 0 if value is None else int(value)

    def append(
        self,
        *,
        node_id: str,
        broker_id: str,
        business_date: date,
        epoch: int,
        first_seq: int,
        recorded_at_us: int,
        entries: Sequence[NodeEntry],
    ) -> None:
        if not entries:
            return
        self._project_claims(node_id, broker_id, business_date, entries)
        day = business_date.isoformat()
        # Plain DB-API executemany: SQLAlchemy's per-row parameter processing would cost more
        # than the insert itself at a node's rate. Dates go as ISO text, as SQLAlchemy stores
        # them on SQLite and PostgreSQL casts them.
        self._executemany(
            _JOURNAL_INSERT,
            [
                (node_id, first_seq + offset, day, epoch, recorded_at_us, entry.kind.value,
                 *entry[1:])
                for offset, entry in enumerate(entries)
            ],
        )  # fmt: skip

    def _executemany(self, statement: str, rows: list[tuple[object, ...]]) -> None:
        marker = "%s" if self._connection.dialect.paramstyle in ("format", "pyformat") else "?"
        self._connection.exec_driver_sql(statement.replace("?", marker), rows)

    def journal(self, node_id: str, business_date: date) -> Iterator[NodeEntry]:
        table = intraday_journal
        columns = [table.c.seq, *(table.c[name] for name in _ENTRY_COLUMNS)]
        last_seq = 0
        while True:
            rows = self._connection.execute(
                select(*columns)
                .where(
                    table.c.node_id == node_id,
                    table.c.business_date == business_date,
                    table.c.seq > last_seq,
                )
                .order_by(table.c.seq)
                .limit(journal_read_batch_rows)
            ).all()
            if not rows:
                return
            for row in rows:
                yield NodeEntry(NodeEntryKind(row[1]), *row[2:])
            last_seq = int(rows[-1].seq)

    def journal_epochs(self, node_id: str) -> list[tuple[int, int, int]]:
        table = intraday_journal
        rows = self._connection.execute(
            select(table.c.seq, table.c.epoch, table.c.recorded_at_us)
            .where(table.c.node_id == node_id)
            .order_by(table.c.seq)
        )
        return [(int(seq), int(epoch), int(at)) for seq, epoch, at in rows]

    def claims(
        self,
        *,
        broker_id: str,
        business_date: date,
        fund_accounts: Collection[str] | None = None,
        assets: Collection[str] | None = None,
    ) -> list[NodeClaim]:
        c = intraday_claims.c
        where = (c.business_date == business_date) & (c.broker_id == broker_id)
        if fund_accounts is not None:
            where = where & c.fund_account.in_(sorted(fund_accounts))
        if assets is not None:
            where = where & c.asset.in_(sorted(assets))
        rows = self._connection.execute(
            select(c.node_id, c.fund_account, c.asset, c.quantity).where(where)
        ).all()
        return [NodeClaim(str(r[0]), str(r[1]), str(r[2]), int(r[3])) for r in rows]

    def put_central_figures(
        self, *, broker_id: str, business_date: date, figures: Mapping[tuple[str, str], int]
    ) -> None:
        day = business_date.isoformat()
        self._executemany(
            _FIGURES_UPSERT,
            [
                (day, broker_id, account, asset, quantity)
                for (account, asset), quantity in sorted(figures.items())
            ],
        )

    def central_figures(
        self, *, broker_id: str, business_date: date, fund_accounts: Collection[str]
    ) -> dict[tuple[str, str], int]:
        f = intraday_central_figures.c
        rows = self._connection.execute(
            select(f.fund_account, f.asset, f.quantity).where(
                f.business_date == business_date,
                f.broker_id == broker_id,
                f.fund_account.in_(sorted(fund_accounts)),
            )
        )
        return {(str(account), str(asset)): int(quantity) for account, asset, quantity in rows}

    def breaching_clients(
        self, *, broker_id: str, business_date: date, fund_accounts: Collection[str]
    ) -> set[str]:
        """Clients among `fund_accounts` whose claims across nodes exceed the central figures."""
        c, f = intraday_claims.c, intraday_central_figures.c
        joined = intraday_claims.outerjoin(
            intraday_central_figures,
            (f.business_date == c.business_date)
            & (f.broker_id == c.broker_id)
            & (f.fund_account == c.fund_account)
            & (f.asset == c.asset),
        )
        query = (
            select(c.fund_account)
            .select_from(joined)
            .where(
                c.business_date == business_date,
                c.broker_id == broker_id,
                c.fund_account.in_(sorted(fund_accounts)),
            )
            .group_by(c.fund_account, c.asset)
            .having(func.sum(c.quantity) > func.coalesce(func.max(f.quantity), 0))
        )
        return {str(account) for account in self._connection.execute(query).scalars()}

    def _project_claims(
        self, node_id: str, broker_id: str, business_date: date, entries: Sequence[NodeEntry]
    ) -> None:
        """Add the entries' claim deltas to the projection, in the append's transaction."""
        deltas: dict[tuple[str, str], int] = {}
        for entry in entries:
            cash = entry.cash_delta_fen + entry.frozen_cash_delta_fen - entry.proceeds_delta_fen
            if cash:
                key = (entry.fund_account, CASH)
                deltas[key] = deltas.get(key, 0) + cash
            shares = entry.shares_delta + entry.frozen_shares_delta
            if shares and entry.side != "B":
                key = (entry.fund_account, entry.security)
                deltas[key] = deltas.get(key, 0) + shares
        if not deltas:
            return
        day = business_date.isoformat()
        self._executemany(
            _CLAIMS_UPSERT,
            [
                (node_id, day, broker_id, account, asset, quantity)
                for (account, asset), quantity in sorted(deltas.items())
            ],
        )

    def journal_claims(
        self,
        *,
        broker_id: str,
        business_date: date,
        fund_accounts: Collection[str] | None = None,
    ) -> list[NodeClaim]:
        j, s = intraday_journal, intraday_start_of_day
        joined = j.join(s, (s.c.node_id == j.c.node_id) & (s.c.business_date == j.c.business_date))
        where = (j.c.business_date == business_date) & (s.c.broker_id == broker_id)
        if fund_accounts is not None:
            where = where & j.c.fund_account.in_(sorted(fund_accounts))
        cash = self._connection.execute(
            select(
                j.c.node_id,
                j.c.fund_account,
                func.sum(j.c.cash_delta_fen + j.c.frozen_cash_delta_fen - j.c.proceeds_delta_fen),
            )
            .select_from(joined)
            .where(where)
            .group_by(j.c.node_id, j.c.fund_account)
        )
        shares = self._connection.execute(
            select(
                j.c.node_id,
                j.c.fund_account,
                j.c.security,
                func.sum(j.c.shares_delta + j.c.frozen_shares_delta),
            )
            .select_from(joined)
            .where(where & (j.c.side != "B") & (j.c.security != ""))
            .group_by(j.c.node_id, j.c.fund_account, j.c.security)
        )
        claims = [NodeClaim(node, account, CASH, int(total)) for node, account, total in cash]
        claims.extend(
            NodeClaim(node, account, security, int(total))
            for node, account, security, total in shares
        )
        return claims

    def allocated_cash(self, *, broker_id: str, business_date: date) -> list[tuple[str, str, int]]:
        j, s = intraday_journal, intraday_start_of_day
        joined = j.join(s, (s.c.node_id == j.c.node_id) & (s.c.business_date == j.c.business_date))
        rows = self._connection.execute(
            select(j.c.node_id, j.c.fund_account, func.sum(j.c.cash_delta_fen))
            .select_from(joined)
            .where(
                j.c.business_date == business_date,
                s.c.broker_id == broker_id,
                j.c.kind == NodeEntryKind.ALLOCATE.value,
            )
            .group_by(j.c.node_id, j.c.fund_account)
        )
        return [(str(node), str(account), int(total)) for node, account, total in rows]

    def halted(self, *, broker_id: str, business_date: date) -> set[str]:
        h, lifts = intraday_halts, intraday_halt_lifts
        return set(
            self._connection.execute(
                select(h.c.fund_account)
                .select_from(h.outerjoin(lifts, lifts.c.halt_id == h.c.halt_id))
                .where(
                    h.c.business_date == business_date,
                    h.c.broker_id == broker_id,
                    lifts.c.lift_id.is_(None),
                )
            ).scalars()
        )

    def add_halt(
        self,
        *,
        broker_id: str,
        business_date: date,
        fund_account: str,
        evidence: Mapping[str, Any],
        raised_at: datetime,
        raised_by: str,
        cause: str,
    ) -> int | None:
        table = intraday_halts
        client_day = (
            table.c.business_date == business_date,
            table.c.broker_id == broker_id,
            table.c.fund_account == fund_account,
        )
        row = {
            "business_date": business_date,
            "broker_id": broker_id,
            "fund_account": fund_account,
            "raised_at": raised_at.isoformat(),
            "raised_by": raised_by,
            "evidence_json": json.dumps(evidence, sort_keys=True),
            "cause": cause,
        }
        for _ in range(_SEQ_ATTEMPTS):
            last = self._connection.execute(select(func.max(table.c.seq)).where(*client_day))
            seq = int(last.scalar_one() or 0) + 1
            try:
                with self._connection.begin_nested():
                    self._connection.execute(insert(table).values(**row, seq=seq))
            except IntegrityError:
                # The same cause again: its halt stands. Else a concurrent halt of another
                # cause took this seq: take the next one, so this cause's halt is recorded too.
                if self._cause_halted(client_day, cause):
                    return None
                continue
            return seq
        raise RuntimeError(f"no free halt seq for {broker_id}/{fund_account} on {business_date}")

    def _cause_halted(self, client_day: tuple[ColumnElement[bool], ...], cause: str) -> bool:
        table = intraday_halts
        found = self._connection.execute(
            select(table.c.halt_id).where(*client_day, table.c.cause == cause)
        )
        return found.first() is not None

    def halts(
        self, *, business_date: date, broker_id: str | None = None, fund_account: str | None = None
    ) -> list[HaltRecord]:
        h, lifts = intraday_halts, intraday_halt_lifts
        query = (
            select(h, lifts.c.approval_request_id)
            .select_from(h.outerjoin(lifts, lifts.c.halt_id == h.c.halt_id))
            .where(h.c.business_date == business_date)
            .order_by(h.c.halt_id)
        )
        if broker_id is not None:
            query = query.where(h.c.broker_id == broker_id)
        if fund_account is not None:
            query = query.where(h.c.fund_account == fund_account)
        return [
            HaltRecord(
                halt_id=int(row.halt_id),
                business_date=row.business_date,
                broker_id=row.broker_id,
                fund_account=row.fund_account,
                raised_at=datetime.fromisoformat(row.raised_at),
                raised_by=row.raised_by,
                evidence=json.loads(row.evidence_json),
                seq=int(row.seq),
                cause=row.cause,
                lifted_by_approval=(
                    None if row.approval_request_id is None else int(row.approval_request_id)
                ),
            )
            for row in self._connection.execute(query)
        ]

    def add_lift(
        self, *, halt_id: int, approval_request_id: int, lifted_at: datetime, lifted_by: str
    ) -> bool:
        try:
            with self._connection.begin_nested():
                self._connection.execute(
                    insert(intraday_halt_lifts).values(
                        halt_id=halt_id,
                        approval_request_id=approval_request_id,
                        lifted_at=lifted_at.isoformat(),
                        lifted_by=lifted_by,
                    )
                )
        except IntegrityError:
            return False
        return True
