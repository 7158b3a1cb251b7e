"""Web sessions carry their sign-in's credential epoch and second factor (issue 13).

A session's row keeps the credential epoch its user had at sign-in, so a change of password or
second factor ends the sessions opened before it, as it ends the access tokens (0840); and
whether that sign-in verified a TOTP code, so that a role that decides counts only then.
Existing rows start at epoch 0 and without a second factor: a session of a user whose epoch
has moved on is refused, and its deciding roles count once its person signs in again.

Revision ID: 0870_access_second_factor
Revises: 0860_intraday_halt_lifts
"""

import sqlalchemy as sa
from alembic import op

revision = "0870_access_second_factor"
down_revision = "0860_intraday_halt_lifts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain added columns with defaults: no table rebuild, on SQLite as on PostgreSQL.
    op.add_column(
        "web_sessions",
        sa.Column("credential_epoch", sa.Integer(), nullable=False, server_default=sa.text("0")),
    )
    op.add_column(
        "web_sessions",
        sa.Column("second_factor", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    # SQLite 3.35+ drops a column in place.
    op.drop_column("web_sessions", "second_factor")
    op.drop_column("web_sessions", "credential_epoch")
