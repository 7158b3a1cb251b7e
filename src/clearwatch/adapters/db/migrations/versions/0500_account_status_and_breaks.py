"""Account events (approved status changes, amount freezes) and reconciliation breaks.

Revision ID: 0500_account_status_and_breaks
Revises: 0430_access_credentials
"""

import sqlalchemy as sa
from alembic import op

from clearwatch.adapters.db.append_only import allow_update_and_delete, refuse_update_and_delete

revision = "0500_account_status_and_breaks"
down_revision = "0430_access_credentials"
branch_labels = None
depends_on = None

_TABLES = ("bo_account_events", "bo_breaks", "bo_break_events")


def upgrade() -> None:
    op.create_table(
        "bo_account_events",
        sa.Column("event_pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("broker_id", sa.String(64), nullable=False),
        sa.Column("fund_account", sa.String(64), nullable=False),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16)),
        sa.Column("freeze_id", sa.String(128)),
        sa.Column("amount_fen", sa.BigInteger, nullable=False),
        sa.Column("approval_ref", sa.String(128), nullable=False, unique=True),
        sa.Column("recorded_at", sa.String(40), nullable=False),
    )
    op.create_index(
        "ix_bo_account_events_account", "bo_account_events", ["broker_id", "fund_account"]
    )
    op.create_table(
        "bo_breaks",
        sa.Column("break_pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("broker_id", sa.String(64), nullable=False),
        sa.Column("business_date", sa.Date, nullable=False),
        sa.Column("check_name", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(160), nullable=False),
        sa.Column("books_fen", sa.BigInteger, nullable=False),
        sa.Column("counterpart_fen", sa.BigInteger, nullable=False),
        sa.Column("evidence_json", sa.Text, nullable=False),
        sa.Column("raised_at", sa.String(40), nullable=False),
        sa.UniqueConstraint("broker_id", "business_date", "check_name", "subject"),
    )
    op.create_table(
        "bo_break_events",
        sa.Column("event_pk", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("break_pk", sa.Integer, sa.ForeignKey("bo_breaks.break_pk"), nullable=False),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
    )
    op.create_index("ix_bo_break_events_break", "bo_break_events", ["break_pk"])
    for table in _TABLES:
        refuse_update_and_delete(table)


def downgrade() -> None:
    for table in reversed(_TABLES):
        allow_update_and_delete(table)
    op.drop_index("ix_bo_break_events_break", table_name="bo_break_events")
    op.drop_table("bo_break_events")
    op.drop_table("bo_breaks")
    op.drop_index("ix_bo_account_events_account", table_name="bo_account_events")
    op.drop_table("bo_account_events")
