"""Passwords, second factors and machines' API tokens (spec platform §2).

Revision ID: 0430_access_credentials
Revises: 0420_approval_content
"""

import sqlalchemy as sa
from alembic import op

revision = "0430_access_credentials"
down_revision = "0420_approval_content"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "access_credentials",
        sa.Column(
            "user_id", sa.String(64), sa.ForeignKey("access_users.user_id"), primary_key=True
        ),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("totp_secret", sa.String(64), nullable=True),
        sa.Column("totp_last_step", sa.Integer, nullable=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("locked_until", sa.String(40), nullable=True),
        sa.Column("changed_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "access_api_tokens",
        sa.Column("token_id", sa.String(16), primary_key=True),
        sa.Column("user_id", sa.String(64), sa.ForeignKey("access_users.user_id"), nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("secret_sha256", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("expires_at", sa.String(40), nullable=False),
        sa.Column("revoked_at", sa.String(40), nullable=True),
        sa.Column("revoked_by", sa.String(64), nullable=True),
    )
    op.create_index("ix_access_api_tokens_user", "access_api_tokens", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_access_api_tokens_user", table_name="access_api_tokens")
    op.drop_table("access_api_tokens")
    op.drop_table("access_credentials")
