"""Warning approvals, the delivery outbox and inboxes in the relational store (append-only)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, RowMapping, Select, and_, func, insert, or_, select
from sqlalchemy.exc import IntegrityError

from clearwatch.adapters.db.monitor.cases_repository import insert_ignoring_conflict
from clearwatch.adapters.db.monitor.cases_tables import (
    deliveries,
    delivery_events,
    inbox,
    warning_decisions,
)
from clearwatch.adapters.db.monitor.intake_repository import from_db, to_utc
from clearwatch.adapters.db.monitor.runs_tables import monitor_runs, monitor_warnings
from clearwatch.domain.monitor.cases_notice import (
    Channel,
    DeliveryEvent,
    NoticeKind,
    WarningStatus,
    warning_key,
)
from clearwatch.services.monitor.delivery_ports import (
    Delivery,
    InboxMessage,
    NewDelivery,
    NewWarningDecision,
    ReviewWarning,
)


def _content(m: RowMapping) -> dict[str, Any]:
    """What a warning is, without the version or row that carried it."""
    return {
        "business_date": m["business_date"].isoformat(),
        "institution_id": m["institution_id"],
        "level": m["level"],
        "criteria": m["criteria"],
        "route_to": m["route_to"],
        "cc": m["cc"],
        "special_report": bool(m["special_report"]),
        "problem_amount_fen": int(m["problem_amount_fen"]),
        "rules_version": m["rules_version"],
        "evidence_json": m["evidence_json"],
    }


class SqlWarningReviewRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def _rows(self, business_dates: Iterable[date] | None) -> list[Row[Any]]:
        query = (
            select(monitor_warnings, monitor_runs.c.ran_by)
            .join(monitor_runs, monitor_runs.c.run_id == monitor_warnings.c.run_id)
            .order_by(
                monitor_warnings.c.business_date,
                monitor_warnings.c.result_version,
                monitor_warnings.c.warning_id,
            )
        )
        if business_dates is not None:
            query = query.where(monitor_warnings.c.business_date.in_(list(business_dates)))
        return list(self._connection.execute(query))

    def _reviewed(self, rows: list[Row[Any]]) -> list[ReviewWarning]:
        """Every row with its key, its first proposer, whether it is of its date's latest
        version, and the decision on its key."""
        latest: dict[date, int] = {}
        proposer: dict[str, str] = {}
        keyed = []
        for row in rows:
            m = row._mapping
            key = warning_key(_content(m))
            proposer.setdefault(key, m["ran_by"])
            latest[m["business_date"]] = max(latest.get(m["business_date"], 0), m["result_version"])
            keyed.append((m, key))
        decided = self._decisions({key for _, key in keyed})
        return [
            _review(m, key, proposer[key], m["result_version"] == latest[m["business_date"]],
                    decided.get(key))
            for m, key in keyed
        ]  # fmt: skip

    def _decisions(self, keys: set[str]) -> dict[str, Row[Any]]:
        if not keys:
            return {}
        rows = self._connection.execute(
            select(warning_decisions).where(warning_decisions.c.warning_key.in_(sorted(keys)))
        )
        return {row.warning_key: row for row in rows}

    def warnings(
        self, *, business_date: date | None = None, latest_only: bool = True
    ) -> list[ReviewWarning]:
        rows = self._rows(None if business_date is None else [business_date])
        return [w for w in self._reviewed(rows) if w.latest or not latest_only]

    def warning(self, warning_id: int) -> ReviewWarning | None:
        day = self._connection.execute(
            select(monitor_warnings.c.business_date).where(
                monitor_warnings.c.warning_id == warning_id
            )
        ).scalar()
        if day is None:
            return None
        found = self._reviewed(self._rows([day]))
        return next(w for w in found if w.warning_id == warning_id)

    def decide(self, decision: NewWarningDecision) -> bool:
        warning = decision.warning
        try:
            with self._connection.begin_nested():
                self._connection.execute(
                    insert(warning_decisions).values(
                        warning_key=warning.warning_key,
                        warning_id=warning.warning_id,
                        business_date=warning.business_date,
                        institution_id=warning.institution_id,
                        decision=decision.status.value,
                        proposed_by=warning.proposed_by,
                        decided_by=decision.decided_by,
                        decided_at=to_utc(decision.decided_at),
                        reason=decision.reason,
                    )
                )
        except IntegrityError:
            return False
        return True


def _review(
    m: RowMapping, key: str, proposer: str, latest: bool, decided: Row[Any] | None
) -> ReviewWarning:
    return ReviewWarning(
        warning_id=int(m["warning_id"]),
        business_date=m["business_date"],
        result_version=int(m["result_version"]),
        latest=latest,
        institution_id=m["institution_id"],
        level=m["level"],
        criteria=tuple(str(m["criteria"]).split(",")),
        route_to=m["route_to"],
        cc=m["cc"],
        special_report=bool(m["special_report"]),
        problem_amount_fen=int(m["problem_amount_fen"]),
        rules_version=m["rules_version"],
        evidence_json=m["evidence_json"],
        proposed_by=proposer,
        warning_key=key,
        status=WarningStatus.PROPOSED if decided is None else WarningStatus(decided.decision),
        decided_by=None if decided is None else decided.decided_by,
        reason=None if decided is None else decided.reason,
    )


class SqlOutboxRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(self, rows: list[NewDelivery]) -> int:
        added = 0
        for row in rows:
            inserted = self._connection.execute(
                insert_ignoring_conflict(self._connection, deliveries)
                .values(
                    delivery_key=row.delivery_key,
                    warning_key=row.warning_key,
                    recipient=row.recipient,
                    channel=row.channel.value,
                    notice=row.notice.value,
                    payload_json=json.dumps(row.payload, ensure_ascii=False, sort_keys=True),
                    created_at=to_utc(row.created_at),
                )
                .returning(deliveries.c.delivery_id)
            ).scalar()
            added += inserted is not None
        return added

    def _select(self) -> tuple[Select[Any], Any]:
        """Every delivery with its last event and the number of claims made."""
        last = (
            select(delivery_events.c.delivery_id, func.max(delivery_events.c.seq).label("seq"))
            .group_by(delivery_events.c.delivery_id)
            .subquery()
        )
        claims = (
            select(delivery_events.c.delivery_id, func.count().label("claims"))
            .where(delivery_events.c.event == DeliveryEvent.CLAIMED.value)
            .group_by(delivery_events.c.delivery_id)
            .subquery()
        )
        event = delivery_events.alias("last_event")
        query = (
            select(
                deliveries,
                event.c.seq.label("last_seq"),
                event.c.event.label("last_event"),
                event.c.at.label("last_at"),
                event.c.retry_at,
                event.c.error,
                claims.c.claims,
            )
            .outerjoin(last, last.c.delivery_id == deliveries.c.delivery_id)
            .outerjoin(
                event,
                and_(event.c.delivery_id == last.c.delivery_id, event.c.seq == last.c.seq),
            )
            .outerjoin(claims, claims.c.delivery_id == deliveries.c.delivery_id)
            .order_by(deliveries.c.delivery_id)
        )
        return query, event

    def due(self, *, now: datetime, claim_lease: timedelta, limit: int) -> list[Delivery]:
        query, event = self._select()
        query = query.where(
            or_(
                event.c.event.is_(None),
                and_(
                    event.c.event == DeliveryEvent.FAILED.value,
                    event.c.retry_at <= to_utc(now),
                ),
                and_(
                    event.c.event == DeliveryEvent.CLAIMED.value,
                    event.c.at <= to_utc(now - claim_lease),
                ),
            )
        ).limit(limit)
        return [_delivery(row) for row in self._connection.execute(query)]

    def deliveries(self) -> list[Delivery]:
        query, _ = self._select()
        return [_delivery(row) for row in self._connection.execute(query)]

    def append_event(
        self,
        delivery: Delivery,
        event: DeliveryEvent,
        *,
        at: datetime,
        worker: str,
        error: str = "",
        retry_at: datetime | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> bool:
        try:
            with self._connection.begin_nested():
                self._connection.execute(
                    insert(delivery_events).values(
                        delivery_id=delivery.delivery_id,
                        seq=delivery.last_seq + 1,
                        event=event.value,
                        at=to_utc(at),
                        worker=worker,
                        error=error,
                        retry_at=None if retry_at is None else to_utc(retry_at),
                        detail_json=json.dumps(detail or {}, ensure_ascii=False, sort_keys=True),
                    )
                )
        except IntegrityError:
            return False
        return True

    def put_inbox(self, message: InboxMessage) -> bool:
        inserted = self._connection.execute(
            insert_ignoring_conflict(self._connection, inbox)
            .values(
                recipient=message.recipient,
                delivery_key=message.delivery_key,
                business_date=message.business_date,
                institution_id=message.institution_id,
                level=message.level,
                notice=message.notice.value,
                special_report=message.special_report,
                body_json=json.dumps(message.body, ensure_ascii=False, sort_keys=True),
                delivered_at=to_utc(message.delivered_at),
            )
            .returning(inbox.c.message_id)
        ).scalar()
        return inserted is not None

    def inbox(self, *, recipient: str | None = None) -> list[InboxMessage]:
        query = select(inbox).order_by(inbox.c.message_id)
        if recipient is not None:
            query = query.where(inbox.c.recipient == recipient)
        return [
            InboxMessage(
                message_id=int(row.message_id),
                recipient=row.recipient,
                delivery_key=row.delivery_key,
                business_date=row.business_date,
                institution_id=row.institution_id,
                level=row.level,
                notice=NoticeKind(row.notice),
                special_report=bool(row.special_report),
                body=json.loads(row.body_json),
                delivered_at=from_db(row.delivered_at),
            )
            for row in self._connection.execute(query)
        ]


def _delivery(row: Row[Any]) -> Delivery:
    m = row._mapping
    return Delivery(
        delivery_id=int(m["delivery_id"]),
        delivery_key=m["delivery_key"],
        warning_key=m["warning_key"],
        recipient=m["recipient"],
        channel=Channel(m["channel"]),
        notice=NoticeKind(m["notice"]),
        payload=json.loads(m["payload_json"]),
        created_at=from_db(m["created_at"]),
        last_event=None if m["last_event"] is None else DeliveryEvent(m["last_event"]),
        last_seq=int(m["last_seq"] or 0),
        attempts=int(m["claims"] or 0),
        last_at=None if m["last_at"] is None else from_db(m["last_at"]),
        retry_at=None if m["retry_at"] is None else from_db(m["retry_at"]),
        error=m["error"] or "",
    )
