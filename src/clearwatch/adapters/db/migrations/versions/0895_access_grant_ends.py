"""An emergency grant can be ended before its hours are out (issue 13).

`access_emergency_grant_ends` records, once per grant, when it stopped counting and who ended
it (`user revoke` of its role by the organisation's admin); append-only like the grants, and
counted in the store's access generation (0890) so that servers read their callers afresh.

Revision ID: 0895_access_grant_ends
Revises: 0890_store_generations
"""

import sqlalchemy as sa
from alembic import op

from clearwatch.adapters.db.append_only import allow_update_and_delete, refuse_update_and_delete
from clearwatch.adapters.db.generations import sqlite_triggers

revision = "0895_access_grant_ends"
down_revision = "0890_store_generations"
branch_labels = None
depends_on = None

TABLE = "access_emergency_grant_ends"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("grant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("ended_at", sa.String(40), nullable=False),
        sa.Column("ended_by", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["access_emergency_grants.grant_id"],
            name=op.f("fk_access_emergency_grant_ends_grant_id_access_emergency_grants"),
        ),
        sa.PrimaryKeyConstraint("grant_id", name=op.f("pk_access_emergency_grant_ends")),
    )
    refuse_update_and_delete(TABLE)
    if op.get_bind().dialect.name == "sqlite":
        for statement in sqlite_triggers((TABLE,)).values():
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in sqlite_triggers((TABLE,)):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    allow_update_and_delete(TABLE)
    op.drop_table(TABLE)
