"""Halts of a flow, not only of a client (issue 19).

A flow halt is an approval request (`account_status`, subject `watch-flow-halt:…`) and, once
approved, a row here that the back office reads before booking a withdrawal; lifting it is an
approved override and a row of its own. Both tables are append-only.

Revision ID: 0850_watch_flow_halts
Revises: 0840_access_password_epoch
"""

import sqlalchemy as sa
from alembic import op

from clearwatch.adapters.db.append_only import allow_update_and_delete, refuse_update_and_delete

revision = "0850_watch_flow_halts"
down_revision = "0840_access_password_epoch"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "watch_flow_halts",
        sa.Column("halt_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("broker_id", sa.String(32), nullable=False),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("counterparty", sa.String(128), nullable=False),
        sa.Column("approval_id", sa.Integer(), nullable=False),
        sa.Column("alert_key", sa.String(512), nullable=False),
        sa.Column("raised_at", sa.String(40), nullable=False),
        sa.Column("raised_by", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("halt_id", name=op.f("pk_watch_flow_halts")),
        sa.UniqueConstraint("approval_id", name=op.f("uq_watch_flow_halts_approval_id")),
    )
    op.create_index(
        "ix_watch_flow_halts_broker_account", "watch_flow_halts", ["broker_id", "account"]
    )
    op.create_table(
        "watch_flow_halt_lifts",
        sa.Column("lift_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("halt_id", sa.Integer(), nullable=False),
        sa.Column("approval_id", sa.Integer(), nullable=False),
        sa.Column("lifted_at", sa.String(40), nullable=False),
        sa.Column("lifted_by", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("lift_id", name=op.f("pk_watch_flow_halt_lifts")),
        sa.ForeignKeyConstraint(
            ["halt_id"],
            ["watch_flow_halts.halt_id"],
            name=op.f("fk_watch_flow_halt_lifts_halt_id_watch_flow_halts"),
        ),
        sa.UniqueConstraint("halt_id", name=op.f("uq_watch_flow_halt_lifts_halt_id")),
        sa.UniqueConstraint("approval_id", name=op.f("uq_watch_flow_halt_lifts_approval_id")),
    )
    # A halt and its lifting are decisions on the record: never edited, never removed.
    refuse_update_and_delete("watch_flow_halts")
    refuse_update_and_delete("watch_flow_halt_lifts")


def downgrade() -> None:
    allow_update_and_delete("watch_flow_halt_lifts")
    allow_update_and_delete("watch_flow_halts")
    op.drop_table("watch_flow_halt_lifts")
    op.drop_index("ix_watch_flow_halts_broker_account", table_name="watch_flow_halts")
    op.drop_table("watch_flow_halts")
