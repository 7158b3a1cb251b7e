"""The store counts changes to the rows the API keeps between requests (issue 13).

`store_generations` holds one row per area (`access`: users, roles, credential epochs,
emergency grants; `warnings`: results, warnings, reviewers' decisions); on SQLite a trigger on
each of those tables adds one to its area's row in the writing transaction, so a server keeps
a caller's record or a listing only while nothing it came from has changed
(`adapters/db/generations.py`). PostgreSQL gets the table but no triggers: it keeps nothing.

Revision ID: 0890_store_generations
Revises: 0870_access_second_factor, 0200_monitor_runs
"""

import sqlalchemy as sa
from alembic import op

from clearwatch.adapters.db.generations import ACCESS, WARNINGS, sqlite_triggers

revision = "0890_store_generations"
# A merge: the triggers need the results' tables (0200) beside the access and cases ones.
down_revision = ("0870_access_second_factor", "0200_monitor_runs")
branch_labels = None
depends_on = None

# The tables this revision watches (a later one adds its own).
WATCHED_HERE = (
    "access_users",
    "access_user_roles",
    "access_credentials",
    "access_emergency_grants",
    "monitor_runs",
    "monitor_warnings",
    "monitor_warning_decisions",
)


def upgrade() -> None:
    op.create_table(
        "store_generations",
        sa.Column("area", sa.String(16), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("area", name=op.f("pk_store_generations")),
    )
    op.execute(
        "INSERT INTO store_generations (area, generation) "
        f"VALUES ('{ACCESS}', 0), ('{WARNINGS}', 0)"
    )
    if op.get_bind().dialect.name == "sqlite":
        for statement in sqlite_triggers(WATCHED_HERE).values():
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in sqlite_triggers(WATCHED_HERE):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("store_generations")
