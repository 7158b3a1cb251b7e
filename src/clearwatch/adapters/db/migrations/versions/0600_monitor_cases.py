"""Verification cases (核实说明): cases, their timelines and explanations, all append-only.

Revision ID: 0600_monitor_cases
Revises: 0500_account_status_and_breaks
"""

import sqlalchemy as sa
from alembic import op

from clearwatch.adapters.db.append_only import allow_update_and_delete, refuse_update_and_delete

revision = "0600_monitor_cases"
down_revision = "0500_account_status_and_breaks"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TABLES = ("monitor_cases", "monitor_case_events", "monitor_case_explanations")


def upgrade() -> None:
    _create_cases()
    _create_timeline()
    for table in _TABLES:
        refuse_update_and_delete(table)


def _create_cases() -> None:
    op.create_table(
        "monitor_cases",
        sa.Column("case_id", _ID, primary_key=True, autoincrement=True),
        sa.Column("institution_id", sa.String(64), nullable=False),
        sa.Column("business_date", sa.Date, nullable=False),
        sa.Column("finding_code", sa.String(8), nullable=False),
        sa.Column("amount_fen", sa.BigInteger, nullable=False),
        sa.Column("region", sa.String(16)),
        sa.Column("bureaus", sa.String(200), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opened_by", sa.String(128), nullable=False),
        sa.Column("opened_in_version", sa.Integer, nullable=False),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_monitor_cases")),
        sa.UniqueConstraint(
            "institution_id",
            "business_date",
            "finding_code",
            name=op.f("uq_monitor_cases_institution_id_business_date_finding_code"),
        ),
    )
    op.create_index(op.f("ix_monitor_cases_business_date"), "monitor_cases", ["business_date"])


def _create_timeline() -> None:
    op.create_table(
        "monitor_case_events",
        sa.Column("event_id", _ID, primary_key=True, autoincrement=True),
        sa.Column("case_id", _ID, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("move", sa.String(16), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("criterion", sa.String(4)),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_monitor_case_events")),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["monitor_cases.case_id"],
            name=op.f("fk_monitor_case_events_case_id_monitor_cases"),
        ),
        sa.UniqueConstraint("case_id", "seq", name=op.f("uq_monitor_case_events_case_id_seq")),
    )
    op.create_table(
        "monitor_case_explanations",
        sa.Column("explanation_id", _ID, primary_key=True, autoincrement=True),
        sa.Column("case_id", _ID, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("responsible_party", sa.String(200), nullable=False),
        sa.Column("attachments_json", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("explanation_id", name=op.f("pk_monitor_case_explanations")),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["monitor_cases.case_id"],
            name=op.f("fk_monitor_case_explanations_case_id_monitor_cases"),
        ),
        sa.UniqueConstraint(
            "case_id", "seq", name=op.f("uq_monitor_case_explanations_case_id_seq")
        ),
    )


def downgrade() -> None:
    for table in reversed(_TABLES):
        allow_update_and_delete(table)
    op.drop_table("monitor_case_explanations")
    op.drop_table("monitor_case_events")
    op.drop_index(op.f("ix_monitor_cases_business_date"), table_name="monitor_cases")
    op.drop_table("monitor_cases")
