"""The web platform's server-side sessions: one row per signed-in browser, deleted at logout."""

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Table, false, text

from clearwatch.adapters.db.metadata import metadata

# Keyed by the sha256 of the cookie's random id (never the id itself); `csrf_token` is the
# session's form token, compared on every POST. Rows past `expires_at` sign nobody in and are
# removed when met or at the owner's next sign-in. `credential_epoch` is the user's at sign-in
# (a session of an older one is refused); `second_factor`: that sign-in verified a TOTP code.
web_sessions = Table(
    "web_sessions",
    metadata,
    Column("session_sha256", String(64), primary_key=True),
    Column("user_id", String(64), ForeignKey("access_users.user_id"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("opened_at", String(40), nullable=False),
    Column("expires_at", String(40), nullable=False),
    Column("credential_epoch", Integer, nullable=False, server_default=text("0")),
    Column("second_factor", Boolean, nullable=False, server_default=false()),
    Index("ix_web_sessions_user", "user_id"),
)
