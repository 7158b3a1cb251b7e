"""Access tokens issued before a password change stop working (issue 13).

Each person's credentials carry a credential epoch that moves on whenever their password or
second factor is set; a signed access token names the epoch it was issued at and is refused
once the store's has moved past it. Existing rows start at 0, as fixtures' tokens do.

Revision ID: 0840_access_password_epoch
Revises: 0830_watch_alert_reviews
"""

import sqlalchemy as sa
from alembic import op

revision = "0840_access_password_epoch"
down_revision = "0830_watch_alert_reviews"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain added column with a default: no table rebuild, on SQLite as on PostgreSQL.
    op.add_column(
        "access_credentials",
        sa.Column("credential_epoch", sa.Integer(), nullable=False, server_default=sa.text("0")),
    )


def downgrade() -> None:
    # SQLite 3.35+ drops a column in place.
    op.drop_column("access_credentials", "credential_epoch")
