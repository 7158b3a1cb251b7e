"""The risk desk's reviews of the watch's alerts and the flows it halted, in the store."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, insert, select, true
from sqlalchemy.exc import IntegrityError

from clearwatch.adapters.db.watch.tables import (
    watch_alert_reviews,
    watch_flow_halt_lifts,
    watch_flow_halts,
)
from clearwatch.domain.watch.flow_halts import Flow, FlowHalt
from clearwatch.domain.watch.reviews import AlertReview, ReviewDecision


class SqlAlertReviews:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def review(self, alert_key: str) -> AlertReview | None:
        table = watch_alert_reviews
        row = self._connection.execute(select(table).where(table.c.alert_key == alert_key)).first()
        return None if row is None else _review(row)

    def add(self, review: AlertReview, *, alert: dict[str, object]) -> bool:
        try:
            with self._connection.begin_nested():
                self._connection.execute(
                    insert(watch_alert_reviews).values(
                        alert_key=review.alert_key,
                        broker_id=review.broker_id,
                        business_date=review.business_date,
                        rule=review.rule,
                        level=review.level,
                        decision=review.decision.value,
                        reason=review.reason,
                        reviewer=review.reviewer,
                        reviewed_at=review.reviewed_at.isoformat(),
                        alert_json=json.dumps(alert, ensure_ascii=False, sort_keys=True),
                    )
                )
        except IntegrityError:  # another reviewer's row won: one review per alert
            return False
        return True

    def reviews(self, *, broker_id: str | None = None) -> list[AlertReview]:
        table = watch_alert_reviews
        query = select(table).order_by(table.c.review_id)
        if broker_id is not None:
            query = query.where(table.c.broker_id == broker_id)
        return [_review(row) for row in self._connection.execute(query)]


def _review(row: Any) -> AlertReview:
    return AlertReview(
        alert_key=row.alert_key,
        broker_id=row.broker_id,
        business_date=row.business_date,
        rule=row.rule,
        level=row.level,
        decision=ReviewDecision(row.decision),
        reason=row.reason,
        reviewer=row.reviewer,
        reviewed_at=datetime.fromisoformat(row.reviewed_at),
    )


class SqlFlowHalts:
    """Flow halts and their lifts: two append-only tables, joined when read."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(self, flow: Flow, *, approval_id: int, alert_key: str, at: datetime, by: str) -> int:
        result = self._connection.execute(
            insert(watch_flow_halts).values(
                broker_id=flow.broker_id,
                account=flow.account,
                counterparty=flow.counterparty,
                approval_id=approval_id,
                alert_key=alert_key,
                raised_at=at.isoformat(),
                raised_by=by,
            )
        )
        assert result.inserted_primary_key is not None
        return int(result.inserted_primary_key[0])

    def lift(self, halt_id: int, *, approval_id: int, at: datetime, by: str) -> bool:
        """False when the halt was lifted already (one lift per halt, held by the store)."""
        try:
            with self._connection.begin_nested():
                self._connection.execute(
                    insert(watch_flow_halt_lifts).values(
                        halt_id=halt_id,
                        approval_id=approval_id,
                        lifted_at=at.isoformat(),
                        lifted_by=by,
                    )
                )
        except IntegrityError:
            return False
        return True

    def halt(self, halt_id: int) -> FlowHalt | None:
        found = self._select(watch_flow_halts.c.halt_id == halt_id)
        return found[0] if found else None

    def by_approval(self, approval_id: int) -> FlowHalt | None:
        found = self._select(watch_flow_halts.c.approval_id == approval_id)
        return found[0] if found else None

    def halts(self, *, broker_id: str | None = None, in_force: bool = False) -> list[FlowHalt]:
        condition = true() if broker_id is None else watch_flow_halts.c.broker_id == broker_id
        if in_force:
            condition = and_(condition, watch_flow_halt_lifts.c.lift_id.is_(None))
        return self._select(condition)

    def _select(self, condition: Any) -> list[FlowHalt]:
        h, lifts = watch_flow_halts, watch_flow_halt_lifts
        query = (
            select(
                h,
                lifts.c.approval_id.label("lift_approval_id"),
                lifts.c.lifted_at,
                lifts.c.lifted_by,
            )
            .select_from(h.outerjoin(lifts, lifts.c.halt_id == h.c.halt_id))
            .where(condition)
            .order_by(h.c.halt_id)
        )
        return [_flow_halt(row) for row in self._connection.execute(query)]


def _flow_halt(row: Any) -> FlowHalt:
    return FlowHalt(
        halt_id=int(row.halt_id),
        flow=Flow(row.broker_id, row.account, row.counterparty),
        approval_id=int(row.approval_id),
        alert_key=row.alert_key,
        raised_at=datetime.fromisoformat(row.raised_at),
        raised_by=row.raised_by,
        lifted_at=None if row.lifted_at is None else datetime.fromisoformat(row.lifted_at),
        lifted_by=row.lifted_by or "",
        lift_approval_id=None if row.lift_approval_id is None else int(row.lift_approval_id),
    )
