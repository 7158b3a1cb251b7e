"""Verification cases in the relational store: open once, append moves, derive statuses."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Insert, Row, Select, and_, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from clearwatch.adapters.db.monitor.cases_tables import case_events, case_explanations, cases
from clearwatch.adapters.db.monitor.intake_repository import from_db, to_utc
from clearwatch.domain.monitor.cases import (
    Attachment,
    Case,
    CaseEvent,
    CaseMove,
    CaseStatus,
    Explanation,
    ExplanationCategory,
)
from clearwatch.domain.monitor.criteria import Criterion, ReviewerDesignation
from clearwatch.domain.monitor.findings import FindingCode
from clearwatch.services.monitor.cases_ports import CaseConflict, NewCase, NewCaseEvent


def insert_ignoring_conflict(connection: Connection, table: Any) -> Insert:
    """INSERT … ON CONFLICT DO NOTHING on the dialects the store runs on."""
    dialect = connection.dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    raise NotImplementedError(f"insert ignoring conflicts on {dialect}")


def _latest_events() -> Any:
    """The last event of every case: its status now."""
    last = (
        select(case_events.c.case_id, func.max(case_events.c.seq).label("seq"))
        .group_by(case_events.c.case_id)
        .subquery()
    )
    return (
        select(case_events.c.case_id, case_events.c.seq, case_events.c.status)
        .join(last, and_(case_events.c.case_id == last.c.case_id, case_events.c.seq == last.c.seq))
        .subquery()
    )


class SqlCaseRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def open(self, case: NewCase) -> int | None:
        case_id = self._connection.execute(
            insert_ignoring_conflict(self._connection, cases)
            .values(
                institution_id=case.institution_id,
                business_date=case.business_date,
                finding_code=case.finding_code.value,
                amount_fen=case.amount_fen,
                region=case.region,
                bureaus=",".join(case.bureaus),
                opened_at=to_utc(case.opened_at),
                opened_by=case.opened_by,
                opened_in_version=case.opened_in_version,
                deadline_at=to_utc(case.deadline_at),
            )
            .returning(cases.c.case_id)
        ).scalar()
        if case_id is None:
            return None
        self._connection.execute(
            insert(case_events).values(
                case_id=case_id,
                seq=1,
                move=CaseMove.OPEN.value,
                status=CaseStatus.OPEN.value,
                actor=case.opened_by,
                at=to_utc(case.opened_at),
                reason=f"finding {case.finding_code.value} in result version "
                f"{case.opened_in_version}",
                criterion=None,
            )
        )
        return int(case_id)

    def _select(self) -> Select[Any]:
        latest = _latest_events()
        return select(cases, latest.c.seq, latest.c.status).join(
            latest, latest.c.case_id == cases.c.case_id
        )

    def get(self, case_id: int) -> Case | None:
        row = self._connection.execute(self._select().where(cases.c.case_id == case_id)).first()
        return None if row is None else _case(row)

    def cases(
        self,
        *,
        business_date: date | None = None,
        institution_id: str | None = None,
        status: CaseStatus | None = None,
    ) -> list[Case]:
        query = self._select()
        if business_date is not None:
            query = query.where(cases.c.business_date == business_date)
        if institution_id is not None:
            query = query.where(cases.c.institution_id == institution_id)
        found = [_case(row) for row in self._connection.execute(query.order_by(cases.c.case_id))]
        return [c for c in found if status is None or c.status is status]

    def past_deadline(self, at: datetime) -> list[Case]:
        query = self._select().where(cases.c.deadline_at <= to_utc(at))
        found = [_case(row) for row in self._connection.execute(query.order_by(cases.c.case_id))]
        return [c for c in found if c.status is CaseStatus.OPEN]

    def events(self, case_id: int) -> tuple[CaseEvent, ...]:
        explained = {
            int(row.seq): _explanation(row)
            for row in self._connection.execute(
                select(case_explanations).where(case_explanations.c.case_id == case_id)
            )
        }
        rows = self._connection.execute(
            select(case_events).where(case_events.c.case_id == case_id).order_by(case_events.c.seq)
        )
        return tuple(
            CaseEvent(
                seq=int(row.seq),
                move=CaseMove(row.move),
                status=CaseStatus(row.status),
                actor=row.actor,
                at=from_db(row.at),
                reason=row.reason,
                criterion=None if row.criterion is None else Criterion(row.criterion),
                explanation=explained.get(int(row.seq)),
            )
            for row in rows
        )

    def append(self, event: NewCaseEvent) -> None:
        try:
            with self._connection.begin_nested():
                self._insert_event(event)
        except IntegrityError as error:
            raise CaseConflict(f"case {event.case_id} seq {event.seq}") from error

    def _insert_event(self, event: NewCaseEvent) -> None:
        self._connection.execute(
            insert(case_events).values(
                case_id=event.case_id,
                seq=event.seq,
                move=event.move.value,
                status=event.status.value,
                actor=event.actor,
                at=to_utc(event.at),
                reason=event.reason,
                criterion=None if event.criterion is None else event.criterion.value,
            )
        )
        explanation = event.explanation
        if explanation is None:
            return
        self._connection.execute(
            insert(case_explanations).values(
                case_id=event.case_id,
                seq=event.seq,
                category=explanation.category.value,
                text=explanation.text,
                responsible_party=explanation.responsible_party,
                attachments_json=json.dumps(
                    [[a.name, a.sha256, a.size_bytes] for a in explanation.attachments],
                    ensure_ascii=False,
                ),
            )
        )

    def designations(self, business_date: date) -> list[ReviewerDesignation]:
        rows = self._connection.execute(
            select(
                cases.c.case_id,
                cases.c.institution_id,
                cases.c.region,
                case_events.c.move,
                case_events.c.seq,
                case_events.c.criterion,
            )
            .join(case_events, case_events.c.case_id == cases.c.case_id)
            .where(
                cases.c.business_date == business_date,
                case_events.c.move.in_([CaseMove.FALSIFIED.value, CaseMove.APPROVE.value]),
                case_events.c.criterion.is_not(None),
            )
            .order_by(cases.c.case_id, case_events.c.seq)
        )
        return [
            ReviewerDesignation(
                institution_id=row.institution_id,
                criterion=Criterion(row.criterion),
                reference=f"case:{row.case_id}:{row.move}:{row.seq}",
                region=row.region,
            )
            for row in rows
        ]


def _explanation(row: Row[Any]) -> Explanation:
    return Explanation(
        category=ExplanationCategory(row.category),
        text=row.text,
        responsible_party=row.responsible_party,
        attachments=tuple(
            Attachment(name, sha256, int(size))
            for name, sha256, size in json.loads(row.attachments_json)
        ),
    )


def _case(row: Row[Any]) -> Case:
    m = row._mapping
    return Case(
        case_id=int(m["case_id"]),
        institution_id=m["institution_id"],
        business_date=m["business_date"],
        finding_code=FindingCode(m["finding_code"]),
        amount_fen=int(m["amount_fen"]),
        region=m["region"],
        bureaus=tuple(b for b in str(m["bureaus"]).split(",") if b),
        opened_at=from_db(m["opened_at"]),
        opened_in_version=int(m["opened_in_version"]),
        deadline_at=from_db(m["deadline_at"]),
        status=CaseStatus(m["status"]),
        last_seq=int(m["seq"]),
    )
