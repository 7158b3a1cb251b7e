"""Special-account filings by institutions, approved by SIPF's registry officer.

Revision ID: 0800_registry_filings
Revises: 0700_monitor_witness
"""

import sqlalchemy as sa
from alembic import op

from clearwatch.adapters.db.append_only import allow_update_and_delete, refuse_update_and_delete

revision = "0800_registry_filings"
down_revision = "0700_monitor_witness"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TABLES = ("monitor_filings", "monitor_filing_decisions")


def upgrade() -> None:
    _create_filings()
    _create_decisions()
    for table in _TABLES:
        refuse_update_and_delete(table)


def _create_filings() -> None:
    op.create_table(
        "monitor_filings",
        sa.Column("filing_id", _ID, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("account_no", sa.String(64), nullable=False),
        sa.Column("bank_id", sa.String(64), nullable=False),
        sa.Column("broker_id", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("branch_region", sa.String(16), nullable=False),
        sa.Column("filed_on", sa.Date, nullable=False),
        sa.Column("institution_id", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("filed_by", sa.String(128), nullable=False),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("filing_id", name=op.f("pk_monitor_filings")),
    )
    op.create_index(op.f("ix_monitor_filings_account_no"), "monitor_filings", ["account_no"])
    op.create_index(
        op.f("ix_monitor_filings_institution_id"), "monitor_filings", ["institution_id"]
    )


def _create_decisions() -> None:
    op.create_table(
        "monitor_filing_decisions",
        sa.Column("decision_id", _ID, primary_key=True, autoincrement=True),
        sa.Column("filing_id", _ID, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("decided_by", sa.String(128), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("registry_version", sa.Integer, nullable=True),
        sa.PrimaryKeyConstraint("decision_id", name=op.f("pk_monitor_filing_decisions")),
        sa.ForeignKeyConstraint(
            ["filing_id"],
            ["monitor_filings.filing_id"],
            name=op.f("fk_monitor_filing_decisions_filing_id_monitor_filings"),
        ),
        sa.UniqueConstraint("filing_id", name=op.f("uq_monitor_filing_decisions_filing_id")),
        sa.UniqueConstraint(
            "registry_version", name=op.f("uq_monitor_filing_decisions_registry_version")
        ),
    )


def downgrade() -> None:
    for table in reversed(_TABLES):
        allow_update_and_delete(table)
    op.drop_table("monitor_filing_decisions")
    op.drop_index(op.f("ix_monitor_filings_institution_id"), table_name="monitor_filings")
    op.drop_index(op.f("ix_monitor_filings_account_no"), table_name="monitor_filings")
    op.drop_table("monitor_filings")
