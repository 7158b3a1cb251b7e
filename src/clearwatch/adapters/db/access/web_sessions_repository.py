"""Web sessions in the relational store (table `web_sessions`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, insert, select

from clearwatch.adapters.db.access.web_session_tables import web_sessions
from clearwatch.services.access.web_sessions import StoredWebSession


class SqlWebSessionRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(self, session: StoredWebSession) -> None:
        self._connection.execute(
            insert(web_sessions).values(
                session_sha256=session.session_sha256,
                user_id=session.user_id,
                csrf_token=session.csrf_token,
                opened_at=session.opened_at.isoformat(),
                expires_at=session.expires_at.isoformat(),
                credential_epoch=session.credential_epoch,
                second_factor=session.second_factor,
            )
        )

    def get(self, session_sha256: str) -> StoredWebSession | None:
        table = web_sessions
        row = self._connection.execute(
            select(table).where(table.c.session_sha256 == session_sha256)
        ).first()
        if row is None:
            return None
        return StoredWebSession(
            session_sha256=row.session_sha256,
            user_id=row.user_id,
            csrf_token=row.csrf_token,
            opened_at=datetime.fromisoformat(row.opened_at),
            expires_at=datetime.fromisoformat(row.expires_at),
            credential_epoch=row.credential_epoch,
            second_factor=bool(row.second_factor),
        )

    def remove(self, session_sha256: str) -> bool:
        table = web_sessions
        removed = self._connection.execute(
            delete(table).where(table.c.session_sha256 == session_sha256)
        ).rowcount
        return bool(removed)

    def remove_expired(self, *, user_id: str, at: datetime) -> int:
        # Timestamps are ISO text in UTC from one clock, so text order is time order.
        table = web_sessions
        return int(
            self._connection.execute(
                delete(table).where(
                    table.c.user_id == user_id, table.c.expires_at <= at.isoformat()
                )
            ).rowcount
        )

    def remove_ended(self, *, at: datetime, limit: int) -> int:
        table = web_sessions
        oldest = (
            select(table.c.session_sha256)
            .where(table.c.expires_at <= at.isoformat())
            .order_by(table.c.expires_at)
            .limit(limit)
        )
        return int(
            self._connection.execute(
                delete(table).where(table.c.session_sha256.in_(oldest.scalar_subquery()))
            ).rowcount
        )
