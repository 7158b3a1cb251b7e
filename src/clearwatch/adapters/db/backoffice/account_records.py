"""Account events (approved status changes, amount freezes) and breaks, over SQLAlchemy Core.

A mixin of the books repository: both are the back office's record of one transaction, and
the unit of work binds the books already. Rows are only ever inserted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError

from clearwatch.adapters.db.backoffice.tables import bo_account_events, bo_break_events, bo_breaks
from clearwatch.domain.backoffice.account_status import AccountEvent, AccountRecord, AccountStatus
from clearwatch.services.backoffice.ports import BreakEvent, BreakRecord


class SqlAccountRecords:
    _c: Connection

    def account_records(self, broker_id: str) -> list[AccountRecord]:
        t = bo_account_events.c
        rows = self._c.execute(
            select(t.fund_account, t.event, t.status, t.freeze_id, t.amount_fen)
            .where(t.broker_id == broker_id)
            .order_by(t.event_pk)
        ).all()
        return [
            AccountRecord(
                fund_account=str(account),
                event=AccountEvent(event),
                status=None if status is None else AccountStatus(status),
                freeze_id=freeze_id,
                amount_fen=int(amount),
            )
            for account, event, status, freeze_id, amount in rows
        ]

    def add_account_record(
        self, broker_id: str, record: AccountRecord, *, approval_ref: str, at: datetime
    ) -> bool:
        """False when this approval was applied already (its reference is unique)."""
        try:
            with self._c.begin_nested():
                self._c.execute(
                    insert(bo_account_events).values(
                        broker_id=broker_id,
                        fund_account=record.fund_account,
                        event=record.event.value,
                        status=None if record.status is None else record.status.value,
                        freeze_id=record.freeze_id,
                        amount_fen=record.amount_fen,
                        approval_ref=approval_ref,
                        recorded_at=at.isoformat(),
                    )
                )
        except IntegrityError:
            return False
        return True

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
        """False when the day already has this break (a re-run finds the same difference)."""
        try:
            with self._c.begin_nested():
                self._c.execute(
                    insert(bo_breaks).values(
                        broker_id=broker_id,
                        business_date=business_date,
                        check_name=check,
                        subject=subject,
                        books_fen=books_fen,
                        counterpart_fen=counterpart_fen,
                        evidence_json=json.dumps(evidence, sort_keys=True, ensure_ascii=False),
                        raised_at=at.isoformat(),
                    )
                )
        except IntegrityError:
            return False
        return True

    def add_break_event(
        self, break_pk: int, *, event: str, actor: str, note: str, at: datetime
    ) -> None:
        self._c.execute(
            insert(bo_break_events).values(
                break_pk=break_pk, event=event, actor=actor, note=note, at=at.isoformat()
            )
        )

    def break_record(self, break_pk: int) -> BreakRecord | None:
        found = self._break_records(select(bo_breaks).where(bo_breaks.c.break_pk == break_pk))
        return found[0] if found else None

    def breaks(
        self, *, broker_id: str | None = None, business_date: date | None = None
    ) -> list[BreakRecord]:
        b = bo_breaks.c
        query = select(bo_breaks).order_by(b.business_date, b.check_name, b.subject)
        if broker_id is not None:
            query = query.where(b.broker_id == broker_id)
        if business_date is not None:
            query = query.where(b.business_date == business_date)
        return self._break_records(query)

    def _break_records(self, query: Any) -> list[BreakRecord]:
        rows = self._c.execute(query).all()
        events = self._break_events([int(row.break_pk) for row in rows])
        return [
            BreakRecord(
                break_pk=int(row.break_pk),
                broker_id=row.broker_id,
                business_date=row.business_date,
                check=row.check_name,
                subject=row.subject,
                books_fen=int(row.books_fen),
                counterpart_fen=int(row.counterpart_fen),
                evidence=json.loads(row.evidence_json),
                raised_at=row.raised_at,
                events=tuple(events.get(int(row.break_pk), ())),
            )
            for row in rows
        ]

    def _break_events(self, break_pks: list[int]) -> dict[int, list[BreakEvent]]:
        found: dict[int, list[BreakEvent]] = {}
        if not break_pks:
            return found
        e = bo_break_events.c
        rows = self._c.execute(
            select(e.break_pk, e.event, e.actor, e.note, e.at)
            .where(e.break_pk.in_(break_pks))
            .order_by(e.event_pk)
        ).all()
        for pk, event, actor, note, at in rows:
            found.setdefault(int(pk), []).append(BreakEvent(event, actor, note, at))
        return found
