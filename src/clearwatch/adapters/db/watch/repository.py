"""The risk desk's reviews of the watch's alerts, on the relational store."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError

from clearwatch.adapters.db.watch.tables import watch_alert_reviews
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
