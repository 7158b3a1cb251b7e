"""The risk desk's review of the watch's alerts, and the halts they ask for.

The halts themselves need no table: a halt is an approval request (`access_approval_requests`,
kind `account_status`, subject `watch-halt:…`) and, once approved, the intraday halt
(`intraday_halts`) every trading node obeys.

Revision ID: 0830_watch_alert_reviews
Revises: 0820_web_sessions
"""

import sqlalchemy as sa
from alembic import op

from clearwatch.adapters.db.append_only import allow_update_and_delete, refuse_update_and_delete

revision = "0830_watch_alert_reviews"
down_revision = "0820_web_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "watch_alert_reviews",
        sa.Column("review_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("alert_key", sa.String(512), nullable=False),
        sa.Column("broker_id", sa.String(32), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("rule", sa.String(64), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("reviewer", sa.String(64), nullable=False),
        sa.Column("reviewed_at", sa.String(40), nullable=False),
        sa.Column("alert_json", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("review_id", name=op.f("pk_watch_alert_reviews")),
        sa.UniqueConstraint("alert_key", name=op.f("uq_watch_alert_reviews_alert_key")),
    )
    op.create_index(
        "ix_watch_alert_reviews_broker_date",
        "watch_alert_reviews",
        ["broker_id", "business_date"],
    )
    # A review is a decision on the record: never edited, never removed.
    refuse_update_and_delete("watch_alert_reviews")


def downgrade() -> None:
    allow_update_and_delete("watch_alert_reviews")
    op.drop_index("ix_watch_alert_reviews_broker_date", table_name="watch_alert_reviews")
    op.drop_table("watch_alert_reviews")
