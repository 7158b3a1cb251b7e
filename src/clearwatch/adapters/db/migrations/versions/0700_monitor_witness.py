"""The monitor as witness: the signed audit heads packages carried, and each sender's pinned key.

Revision ID: 0700_monitor_witness
Revises: 0610_monitor_delivery, 0100_monitor_intake
"""

import sqlalchemy as sa
from alembic import op

from clearwatch.adapters.db.append_only import allow_update_and_delete, refuse_update_and_delete

revision = "0700_monitor_witness"
# Also after the intake branch: the heads point at its packages, so it must run first (a
# merge, not `depends_on`, so that the store's heads and the scripts' heads stay the same).
down_revision = ("0610_monitor_delivery", "0100_monitor_intake")
branch_labels = None
depends_on = None

_TABLES = ("monitor_audit_heads", "monitor_witness_keys")


def upgrade() -> None:
    op.create_table(
        "monitor_audit_heads",
        sa.Column("package_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite")),
        sa.Column("institution_id", sa.String(64), nullable=False),
        sa.Column("business_date", sa.Date, nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("tree_head", sa.String(64), nullable=False),
        sa.Column("chain_head", sa.String(64), nullable=False),
        sa.Column("made_at", sa.String(64), nullable=False),
        sa.Column("frontier_json", sa.Text, nullable=False),
        sa.Column("signature", sa.String(128), nullable=False),
        sa.Column("public_key", sa.String(64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("package_id", name=op.f("pk_monitor_audit_heads")),
        sa.ForeignKeyConstraint(
            ["package_id"],
            ["monitor_packages.package_id"],
            name=op.f("fk_monitor_audit_heads_package_id_monitor_packages"),
        ),
    )
    op.create_index(
        op.f("ix_monitor_audit_heads_institution_id"), "monitor_audit_heads", ["institution_id"]
    )
    op.create_table(
        "monitor_witness_keys",
        sa.Column("institution_id", sa.String(64), nullable=False),
        sa.Column("public_key", sa.String(64), nullable=False),
        sa.Column(
            "package_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("pinned_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("institution_id", name=op.f("pk_monitor_witness_keys")),
        sa.ForeignKeyConstraint(
            ["package_id"],
            ["monitor_packages.package_id"],
            name=op.f("fk_monitor_witness_keys_package_id_monitor_packages"),
        ),
    )
    for table in _TABLES:
        refuse_update_and_delete(table)


def downgrade() -> None:
    for table in reversed(_TABLES):
        allow_update_and_delete(table)
    op.drop_table("monitor_witness_keys")
    op.drop_index(op.f("ix_monitor_audit_heads_institution_id"), table_name="monitor_audit_heads")
    op.drop_table("monitor_audit_heads")
