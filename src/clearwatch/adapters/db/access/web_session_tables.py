"""The web platform's server-side sessions: one row per signed-in browser, deleted at logout."""

from sqlalchemy import Column, ForeignKey, Index, String, Table

from clearwatch.adapters.db.metadata import metadata

# Keyed by the sha256 of the cookie's random id (never the id itself); `csrf_token` is the
# session's form token, compared on every POST. Rows past `expires_at` sign nobody in and are
# removed when met or at the owner's next sign-in.
web_sessions = Table(
    "web_sessions",
    metadata,
    Column("session_sha256", String(64), primary_key=True),
    Column("user_id", String(64), ForeignKey("access_users.user_id"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("opened_at", String(40), nullable=False),
    Column("expires_at", String(40), nullable=False),
    Index("ix_web_sessions_user", "user_id"),
)
