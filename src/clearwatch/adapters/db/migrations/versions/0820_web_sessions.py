"""Server-side sessions of the web platform (cookie holds only a random id).

Revision ID: 0820_web_sessions
Revises: 0810_bureau_reminders
"""

import sqlalchemy as sa
from alembic import op

revision = "0820_web_sessions"
down_revision = "0810_bureau_reminders"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The row is keyed by the sha256 of the cookie's id, never the id: whoever reads the
    # store (a backup, a replica) learns nothing that signs anyone in.
    op.create_table(
        "web_sessions",
        sa.Column("session_sha256", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.String(64), sa.ForeignKey("access_users.user_id"), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("opened_at", sa.String(40), nullable=False),
        sa.Column("expires_at", sa.String(40), nullable=False),
    )
    op.create_index("ix_web_sessions_user", "web_sessions", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_web_sessions_user", table_name="web_sessions")
    op.drop_table("web_sessions")
