"""Monitor daily runs: append-only result versions and their warnings.

Revision ID: 0200_monitor_runs
Revises: 0001_audit_log
"""

import sqlalchemy as sa
from alembic import op

from clearwatch.adapters.db.append_only import allow_update_and_delete, refuse_update_and_delete

revision = "0200_monitor_runs"
down_revision = "0001_audit_log"
branch_labels = ("monitor_runs",)
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "monitor_runs",
        sa.Column("run_id", _ID, primary_key=True, autoincrement=True),
        sa.Column("business_date", sa.Date, nullable=False),
        sa.Column("result_version", sa.Integer, nullable=False),
        sa.Column("input_key", sa.String(64), nullable=False),
        sa.Column("result_sha256", sa.String(64), nullable=False),
        sa.Column("rules_version", sa.String(128), nullable=False),
        sa.Column("registry_version", sa.Integer, nullable=False),
        sa.Column("package_ids_json", sa.Text, nullable=False),
        sa.Column("engine", sa.String(16), nullable=False),
        sa.Column("ran_at", sa.String(40), nullable=False),
        sa.Column("ran_by", sa.String(128), nullable=False),
        sa.Column("document_json", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_monitor_runs")),
        sa.UniqueConstraint(
            "business_date",
            "result_version",
            name=op.f("uq_monitor_runs_business_date_result_version"),
        ),
    )
    op.create_table(
        "monitor_warnings",
        sa.Column("warning_id", _ID, primary_key=True, autoincrement=True),
        sa.Column("run_id", _ID, nullable=False),
        sa.Column("business_date", sa.Date, nullable=False),
        sa.Column("result_version", sa.Integer, nullable=False),
        sa.Column("institution_id", sa.String(64), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("criteria", sa.String(128), nullable=False),
        sa.Column("route_to", sa.String(16), nullable=False),
        sa.Column("cc", sa.String(64), nullable=False),
        sa.Column("special_report", sa.Boolean, nullable=False),
        sa.Column("problem_amount_fen", sa.BigInteger, nullable=False),
        sa.Column("rules_version", sa.String(128), nullable=False),
        sa.Column("evidence_json", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("warning_id", name=op.f("pk_monitor_warnings")),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["monitor_runs.run_id"],
            name=op.f("fk_monitor_warnings_run_id_monitor_runs"),
        ),
    )
    op.create_index(
        op.f("ix_monitor_warnings_business_date"), "monitor_warnings", ["business_date"]
    )
    refuse_update_and_delete("monitor_runs")
    refuse_update_and_delete("monitor_warnings")


def downgrade() -> None:
    allow_update_and_delete("monitor_warnings")
    allow_update_and_delete("monitor_runs")
    op.drop_index(op.f("ix_monitor_warnings_business_date"), table_name="monitor_warnings")
    op.drop_table("monitor_warnings")
    op.drop_table("monitor_runs")
