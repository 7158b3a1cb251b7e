"""Lifting an intraday halt, and halting a client again after a lift (issue 16).

A halt is no longer one per client and day: each has a sequence within the client's day and
a cause (the conservation breach it records, or the watch approval that raised it), unique
per client and day so the same cause re-checked never halts twice. A lift is a row of its
own pointing to the halt and the approved override that lifted it; one approval lifts one
halt, and a halt is lifted once. Both tables are append-only.

Revision ID: 0860_intraday_halt_lifts
Revises: 0850_watch_flow_halts
"""

import sqlalchemy as sa
from alembic import op

from clearwatch.adapters.db.append_only import allow_update_and_delete, refuse_update_and_delete

revision = "0860_intraday_halt_lifts"
down_revision = "0850_watch_flow_halts"
branch_labels = None
depends_on = None

_ONE_PER_DAY = "uq_intraday_halts_business_date_broker_id_fund_account"
_BY_SEQ = "uq_intraday_halts_business_date_broker_id_fund_account_seq"
_BY_CAUSE = "uq_intraday_halts_business_date_broker_id_fund_account_cause"
_CLIENT_DAY = ["business_date", "broker_id", "fund_account"]


def upgrade() -> None:
    # The append-only triggers refuse the table rebuild SQLite needs; they are set again below.
    allow_update_and_delete("intraday_halts")
    with op.batch_alter_table("intraday_halts", recreate="auto") as batch:
        batch.add_column(sa.Column("seq", sa.Integer, nullable=False, server_default="1"))
        # Halts before this revision were one per client and day: one `legacy` cause each.
        batch.add_column(
            sa.Column("cause", sa.String(128), nullable=False, server_default="legacy")
        )
        batch.drop_constraint(_ONE_PER_DAY, type_="unique")
        batch.create_unique_constraint(_BY_SEQ, [*_CLIENT_DAY, "seq"])
        batch.create_unique_constraint(_BY_CAUSE, [*_CLIENT_DAY, "cause"])
    op.create_table(
        "intraday_halt_lifts",
        sa.Column("lift_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("halt_id", sa.Integer(), nullable=False),
        sa.Column("approval_request_id", sa.Integer(), nullable=False),
        sa.Column("lifted_at", sa.String(40), nullable=False),
        sa.Column("lifted_by", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("lift_id", name=op.f("pk_intraday_halt_lifts")),
        sa.ForeignKeyConstraint(
            ["halt_id"],
            ["intraday_halts.halt_id"],
            name=op.f("fk_intraday_halt_lifts_halt_id_intraday_halts"),
        ),
        sa.UniqueConstraint("halt_id", name=op.f("uq_intraday_halt_lifts_halt_id")),
        sa.UniqueConstraint(
            "approval_request_id", name=op.f("uq_intraday_halt_lifts_approval_request_id")
        ),
    )
    refuse_update_and_delete("intraday_halts")
    refuse_update_and_delete("intraday_halt_lifts")


def downgrade() -> None:
    # Lossy by nature: a store where a client was halted twice in a day cannot go back (the
    # restored one-per-day constraint refuses it), and lifts are dropped with their table.
    allow_update_and_delete("intraday_halt_lifts")
    op.drop_table("intraday_halt_lifts")
    allow_update_and_delete("intraday_halts")
    with op.batch_alter_table("intraday_halts", recreate="auto") as batch:
        batch.drop_constraint(_BY_CAUSE, type_="unique")
        batch.drop_constraint(_BY_SEQ, type_="unique")
        batch.drop_column("cause")
        batch.drop_column("seq")
        batch.create_unique_constraint(_ONE_PER_DAY, _CLIENT_DAY)
    refuse_update_and_delete("intraday_halts")
