"""Web sessions: signing a browser in (the sign-in service's checks), knowing it, signing it out.

The browser's cookie holds only a random id; the store keeps its sha256, the user, the form
(CSRF) token and when it ends, so any number of servers on one store know the same sessions
and a stolen copy of the store opens none. A session ends with the sign-in's access token
(`access_token_minutes`) on the server's real clock, and is deleted at logout. Opening and
closing one are audited; a session past its end signs nobody in. Like the token, a session
keeps its user's credential epoch at sign-in (a later change of password or second factor
ends it) and whether that sign-in verified a second factor.

A session that ended without a logout (the browser was closed) is deleted by a sweep: of at most
`sessions_swept_at_sign_in_max` at anyone's sign-in, and of up to `sessions_swept_max` a round
by `clearwatch serve` now and then, so that the table holds live sessions and few others.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from clearwatch.services.access.ports import AccessUnitOfWork, AuthenticationTools, CallerRecord
from clearwatch.services.access.sign_in import sign_in
from clearwatch.services.audit.audit_log import record_audit

WEB_SESSION_OPENED = "access.web_session_opened"
WEB_SESSION_CLOSED = "access.web_session_closed"
WEB_FORM_FORGED = "access.web_form_forged"  # a POST without its session's CSRF token
WEB_SESSIONS_SWEPT = "access.web_sessions_swept"
session_id_bytes = 32  # the cookie's random id: 256 bits from the system's CSPRNG
csrf_token_bytes = 32
# Ended sessions deleted by one sign-in (a bounded cost on the way in) and by one sweep round.
sessions_swept_at_sign_in_max = 100
sessions_swept_max = 10_000


@dataclass(frozen=True)
class StoredWebSession:
    """A session's row: never its id, only the id's sha256."""

    session_sha256: str
    user_id: str
    csrf_token: str
    opened_at: datetime
    expires_at: datetime
    credential_epoch: int = 0
    second_factor: bool = False


@dataclass(frozen=True)
class OpenedWebSession:
    """What the browser gets once: the id for its cookie; and the session as stored."""

    session_id: str
    session: StoredWebSession


class WebSessionRepository(Protocol):
    def add(self, session: StoredWebSession) -> None: ...

    def get(self, session_sha256: str) -> StoredWebSession | None: ...

    def remove(self, session_sha256: str) -> bool: ...

    def remove_expired(self, *, user_id: str, at: datetime) -> int: ...

    def remove_ended(self, *, at: datetime, limit: int) -> int:
        """Delete up to `limit` sessions of anyone that ended by `at`, the oldest first."""
        ...


class WebSessionUnitOfWork(AccessUnitOfWork, Protocol):
    @property
    def web_sessions(self) -> WebSessionRepository: ...


def _sha256(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def open_web_session(
    *,
    uow: WebSessionUnitOfWork,
    tools: AuthenticationTools,
    user_id: str,
    password: str,
    code: str | None,
    at: datetime,
) -> OpenedWebSession:
    """Sign in exactly as the API does (password, second factor, lockout, all audited), then
    keep a session that ends when that sign-in's token would."""
    signed = sign_in(uow=uow, tools=tools, user_id=user_id, password=password, code=code, at=at)
    session_id = secrets.token_urlsafe(session_id_bytes)
    stored = StoredWebSession(
        session_sha256=_sha256(session_id),
        user_id=signed.user_id,
        csrf_token=secrets.token_urlsafe(csrf_token_bytes),
        opened_at=at.astimezone(UTC),
        expires_at=signed.expires_at.astimezone(UTC),
        credential_epoch=signed.credential_epoch,
        second_factor=signed.second_factor,
    )
    with uow:
        uow.web_sessions.remove_expired(user_id=stored.user_id, at=stored.opened_at)
        swept = uow.web_sessions.remove_ended(
            at=stored.opened_at, limit=sessions_swept_at_sign_in_max
        )
        uow.web_sessions.add(stored)
        record_audit(
            uow,
            actor=stored.user_id,
            action=WEB_SESSION_OPENED,
            object_ref=f"user:{stored.user_id}",
            payload={"expires_at": stored.expires_at.isoformat(), "ended_swept": swept},
            recorded_at=at,
        )
        uow.commit()
    return OpenedWebSession(session_id, stored)


@dataclass(frozen=True)
class LiveWebSession:
    """A session that opens now, and its user as the same read of the store found them."""

    session: StoredWebSession
    record: CallerRecord


def web_session(
    *, uow: WebSessionUnitOfWork, session_id: str, at: datetime
) -> LiveWebSession | None:
    """The session this cookie's id opens now, or None (unknown, ended, its user removed, or
    opened before a change of their password or second factor). Only reads, so a page costs
    no write lock; an ended row is deleted at its owner's next sign-in or logout."""
    with uow:
        found = uow.web_sessions.get(_sha256(session_id))
        record = None if found is None else uow.access.caller_record(found.user_id)
    if found is None or record is None or at >= found.expires_at:
        return None
    if found.credential_epoch != record.credential_epoch:
        return None
    return LiveWebSession(found, record)


def close_web_session(*, uow: WebSessionUnitOfWork, session_id: str, at: datetime) -> bool:
    """Logout: the session's row is deleted, audited; False when there was none."""
    key = _sha256(session_id)
    with uow:
        found = uow.web_sessions.get(key)
        if found is None:
            return False
        uow.web_sessions.remove(key)
        record_audit(
            uow,
            actor=found.user_id,
            action=WEB_SESSION_CLOSED,
            object_ref=f"user:{found.user_id}",
            payload={"opened_at": found.opened_at.isoformat()},
            recorded_at=at,
        )
        uow.commit()
    return True


def sweep_web_sessions(
    *, uow: WebSessionUnitOfWork, at: datetime, actor: str, limit: int = sessions_swept_max
) -> int:
    """Delete sessions of anyone that ended by `at` (up to `limit`), audited when any was;
    how many. The server's housekeeping of its own sessions: no caller asks it, so no policy
    is asked, and the audit record names the server (`actor`)."""
    with uow:
        swept = uow.web_sessions.remove_ended(at=at.astimezone(UTC), limit=limit)
        if swept:
            record_audit(
                uow,
                actor=actor,
                action=WEB_SESSIONS_SWEPT,
                object_ref="web_sessions",
                payload={"swept": swept, "ended_by": at.astimezone(UTC).isoformat()},
                recorded_at=at,
            )
        uow.commit()
    return swept


def csrf_matches(session: StoredWebSession, presented: str | None) -> bool:
    """The form's token is the session's own (compared in constant time)."""
    return presented is not None and hmac.compare_digest(
        session.csrf_token.encode(), presented.encode()
    )


def refuse_forged_form(*, uow: WebSessionUnitOfWork, user_id: str, path: str, at: datetime) -> None:
    """Record a POST that came without its session's CSRF token; it changed nothing else."""
    with uow:
        record_audit(
            uow,
            actor=user_id,
            action=WEB_FORM_FORGED,
            object_ref=f"web:{path}",
            payload={"rule": "csrf_token_must_match"},
            recorded_at=at,
        )
        uow.commit()
