"""Passwords, second factors and machines' API tokens in the relational store."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, insert, or_, select, update

from clearwatch.adapters.db.access.tables import (
    access_api_tokens,
    access_credentials,
    access_users,
)
from clearwatch.domain.access.api_tokens import ApiToken
from clearwatch.domain.access.callers import TokenScope
from clearwatch.domain.access.credentials import SignInRecord
from clearwatch.services.access.ports import StoredCredentials


def _moment(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


class SqlCredentialsRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def credentials(self, user_id: str) -> StoredCredentials | None:
        table = access_credentials
        row = self._connection.execute(select(table).where(table.c.user_id == user_id)).first()
        if row is None:
            return None
        return StoredCredentials(
            password_hash=row.password_hash,
            totp_secret=row.totp_secret,
            totp_last_step=row.totp_last_step,
            sign_ins=SignInRecord(int(row.failures), _moment(row.locked_until)),
            credential_epoch=int(row.credential_epoch),
        )

    def set_password(self, *, user_id: str, password_hash: str, at: datetime) -> None:
        table = access_credentials
        changed = self._connection.execute(
            update(table)
            .where(table.c.user_id == user_id)
            .values(
                password_hash=password_hash,
                failures=0,
                locked_until=None,
                changed_at=at.isoformat(),
                # In the statement, so two changes racing both move it on.
                credential_epoch=table.c.credential_epoch + 1,
            )
        ).rowcount
        if not changed:
            self._connection.execute(
                insert(table).values(
                    user_id=user_id,
                    password_hash=password_hash,
                    failures=0,
                    changed_at=at.isoformat(),
                )
            )

    def set_second_factor(self, *, user_id: str, secret: str) -> None:
        table = access_credentials
        self._connection.execute(
            update(table)
            .where(table.c.user_id == user_id)
            .values(
                totp_secret=secret,
                totp_last_step=None,
                credential_epoch=table.c.credential_epoch + 1,
            )
        )

    def record_sign_ins(self, *, user_id: str, record: SignInRecord) -> None:
        table = access_credentials
        locked = None if record.locked_until is None else record.locked_until.isoformat()
        self._connection.execute(
            update(table)
            .where(table.c.user_id == user_id)
            .values(failures=record.failures, locked_until=locked)
        )

    def use_totp_step(self, *, user_id: str, step: int) -> bool:
        # Conditional, so two sign-ins racing with one code cannot both win.
        table = access_credentials
        used = self._connection.execute(
            update(table)
            .where(table.c.user_id == user_id)
            .where(or_(table.c.totp_last_step.is_(None), table.c.totp_last_step < step))
            .values(totp_last_step=step)
        ).rowcount
        return bool(used)

    def add_token(self, token: ApiToken) -> None:
        self._connection.execute(
            insert(access_api_tokens).values(
                token_id=token.token_id,
                user_id=token.user_id,
                scope=token.scope.value,
                secret_sha256=token.secret_sha256,
                created_at=token.created_at.isoformat(),
                created_by=token.created_by,
                expires_at=token.expires_at.isoformat(),
            )
        )

    def token(self, token_id: str) -> ApiToken | None:
        table = access_api_tokens
        row = self._connection.execute(select(table).where(table.c.token_id == token_id)).first()
        return None if row is None else _token(row)

    def tokens_of_organisation(self, organisation: str) -> list[ApiToken]:
        table, users = access_api_tokens, access_users
        rows = self._connection.execute(
            select(table)
            .join(users, users.c.user_id == table.c.user_id)
            .where(users.c.organisation == organisation)
            .order_by(table.c.created_at, table.c.token_id)
        )
        return [_token(row) for row in rows]

    def revoke_token(self, *, token_id: str, at: datetime, by: str) -> bool:
        table = access_api_tokens
        revoked = self._connection.execute(
            update(table)
            .where(table.c.token_id == token_id)
            .where(table.c.revoked_at.is_(None))
            .values(revoked_at=at.isoformat(), revoked_by=by)
        ).rowcount
        return bool(revoked)


def _token(row: Row[Any]) -> ApiToken:
    return ApiToken(
        token_id=row.token_id,
        user_id=row.user_id,
        scope=TokenScope(row.scope),
        secret_sha256=row.secret_sha256,
        created_at=datetime.fromisoformat(row.created_at),
        created_by=row.created_by,
        expires_at=datetime.fromisoformat(row.expires_at),
        revoked_at=_moment(row.revoked_at),
    )
