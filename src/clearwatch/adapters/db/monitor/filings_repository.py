"""Special-account filings in the relational store: filed once, decided once, status derived."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Select, insert, select, text
from sqlalchemy.exc import IntegrityError

from clearwatch.adapters.db.monitor.filings_tables import filing_decisions, filings
from clearwatch.adapters.db.monitor.intake_repository import from_db, to_utc
from clearwatch.domain.monitor.filings import Filing, FilingKind, FilingStatus
from clearwatch.domain.monitor.registry import SpecialAccountFiling
from clearwatch.services.monitor.filings_ports import FilingConflict, NewFiling, NewFilingDecision

_PG_FILINGS_LOCK_KEY = 0x_C1EA_F11E  # serialises filing and deciding on PostgreSQL


class SqlFilingRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def lock(self) -> None:
        # SQLite writers already hold the store's lock from their first statement; on
        # PostgreSQL two filings of one account (or two decisions) must not interleave.
        if self._connection.dialect.name == "postgresql":
            self._connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_FILINGS_LOCK_KEY}
            )

    def add(self, filing: NewFiling) -> int:
        account = filing.account
        filing_id = self._connection.execute(
            insert(filings)
            .values(
                kind=filing.kind.value,
                account_no=account.account_no,
                bank_id=account.bank_id,
                broker_id=account.broker_id,
                purpose=account.purpose,
                branch_region=account.branch_region,
                filed_on=account.filed_on,
                institution_id=filing.institution_id,
                reason=filing.reason,
                filed_by=filing.filed_by,
                filed_at=to_utc(filing.filed_at),
            )
            .returning(filings.c.filing_id)
        ).scalar_one()
        return int(filing_id)

    def decide(self, decision: NewFilingDecision) -> None:
        try:
            with self._connection.begin_nested():
                self._connection.execute(
                    insert(filing_decisions).values(
                        filing_id=decision.filing_id,
                        status=decision.status.value,
                        decided_by=decision.decided_by,
                        decided_at=to_utc(decision.decided_at),
                        reason=decision.reason,
                        registry_version=decision.registry_version,
                    )
                )
        except IntegrityError as taken:
            raise FilingConflict(f"filing {decision.filing_id} was decided already") from taken

    def _select(self) -> Select[Any]:
        d = filing_decisions.c
        return select(
            filings,
            d.status,
            d.decided_by,
            d.decided_at,
            d.reason.label("decision_reason"),
            d.registry_version,
        ).outerjoin(filing_decisions, d.filing_id == filings.c.filing_id)

    def get(self, filing_id: int) -> Filing | None:
        row = self._connection.execute(
            self._select().where(filings.c.filing_id == filing_id)
        ).first()
        return None if row is None else _filing(row)

    def filings(
        self, *, institution_id: str | None = None, status: FilingStatus | None = None
    ) -> list[Filing]:
        query = self._select()
        if institution_id is not None:
            query = query.where(filings.c.institution_id == institution_id)
        if status is FilingStatus.PENDING:
            query = query.where(filing_decisions.c.status.is_(None))
        elif status is not None:
            query = query.where(filing_decisions.c.status == status.value)
        rows = self._connection.execute(query.order_by(filings.c.filing_id))
        return [_filing(row) for row in rows]

    def pending_accounts(self) -> set[str]:
        rows = self._connection.execute(
            select(filings.c.account_no)
            .outerjoin(filing_decisions, filing_decisions.c.filing_id == filings.c.filing_id)
            .where(filing_decisions.c.filing_id.is_(None))
        ).scalars()
        return set(rows)


def _filing(row: Any) -> Filing:
    return Filing(
        filing_id=int(row.filing_id),
        kind=FilingKind(row.kind),
        account=SpecialAccountFiling(
            row.account_no, row.bank_id, row.broker_id, row.purpose, row.branch_region, row.filed_on
        ),
        institution_id=row.institution_id,
        reason=row.reason,
        filed_by=row.filed_by,
        filed_at=from_db(row.filed_at),
        status=FilingStatus.PENDING if row.status is None else FilingStatus(row.status),
        decided_by=row.decided_by,
        decided_at=None if row.decided_at is None else from_db(row.decided_at),
        decision_reason=row.decision_reason,
        registry_version=row.registry_version,
    )
